"""Shared fixtures: valid identities, a case, and dispatchers over mocked institutions."""

from __future__ import annotations

import pytest
from stdnum.cn import ric, uscc

from assetquery import Case, Party


def resident_id(body17: str) -> str:
    """A resident ID with the right check digit for a 17-digit body."""
    return body17 + ric.calc_check_digit(body17 + "0")


def credit_code(body17: str) -> str:
    """A unified social credit code with the right check character."""
    return body17 + uscc.calc_check_digit(body17)


@pytest.fixture
def person() -> Party:
    return Party.person("张三", "110105199003071239")


@pytest.fixture
def organization() -> Party:
    return Party.organization("兰州示例商贸有限公司", "911100007109288314")


@pytest.fixture
def case() -> Case:
    return Case(
        number="（2024）甘0191执1234号",
        court="兰州新区人民法院",
        operator="李承办",
        claim="150000.00",
    )
