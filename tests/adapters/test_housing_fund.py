"""The housing provident fund adapter: JSON, amounts in integer fen, two-digit status codes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any, ClassVar

import httpx
import pytest
import respx

from assetquery._errors import (
    InstitutionFailure,
    InstitutionRejected,
    InstitutionUnavailable,
    MalformedResponse,
)
from assetquery._models import AssetStatus, EncumbranceKind, Party, ResultStatus
from assetquery._money import Money
from assetquery.adapters import InquiryRequest, Institution
from assetquery.adapters._housing_fund import HousingFundAdapter
from assetquery.testing import AdapterConformance

PATH = "/gjj/api/v1/sfcx"
INSTITUTION = Institution(id="gjj-lanzhou", name="兰州住房公积金管理中心")


def fund_account(**changes: Any) -> dict[str, Any]:
    """A frozen fund account as the centre reports it, with ``changes`` applied."""
    record: dict[str, Any] = {
        "grzh": "620100123456789",
        "xm": "张三",
        "zjhm": "110105199003071239",
        "zhye": 8654321,  # 86,543.21 yuan
        "djje": 2000000,  # 20,000.00 yuan in force
        "zhzt": "04",
        "dwmc": "甘肃示例科技有限公司",
        "gjjzxmc": "兰州住房公积金管理中心",
        "khrq": "2012-07-01",
        "djxx": [
            {
                "djjg": "兰州市城关区人民法院",
                "ah": "（2023）甘0102执567号",
                "djje": 2000000,
                "qsrq": "2023-08-01",
                "jsrq": "2024-07-31",
                "lhsx": None,
            },
            {
                "djjg": "兰州市七里河区人民法院",
                "ah": "（2024）甘0103执89号",
                "djje": 500000,
                "qsrq": "2024-01-10",
                "jsrq": None,
                "lhsx": 1,
            },
        ],
    }
    record.update(changes)
    return record


def centre_answer(
    *accounts: dict[str, Any], code: str = "0000", msg: str = "查询成功"
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": code,
        "msg": msg,
        "ywlsh": "GJJ-20240506-000077",
        "cxsj": "2024-05-06 10:15:30",
    }
    if accounts:
        body["data"] = {"zhxx": list(accounts)}
    return body


class TestHousingFundConformance(AdapterConformance):
    adapter_class = HousingFundAdapter
    institution = INSTITUTION
    base_url = "https://gjj.lanzhou.test"
    # a fund account answer that lost its balance is refused, not read as zero
    extra_malformed_bodies: ClassVar[Mapping[str, bytes]] = {
        "account_without_balance": json.dumps(centre_answer(fund_account(zhye=None))).encode(),
    }

    def mock_found(self, router: respx.MockRouter, party: Party) -> None:
        router.post(PATH).respond(200, json=centre_answer(fund_account()))

    def mock_not_found(self, router: respx.MockRouter, party: Party) -> None:
        router.post(PATH).respond(200, json=centre_answer(code="0001", msg="无此缴存人"))


@pytest.fixture
def adapter() -> HousingFundAdapter:
    return HousingFundAdapter(INSTITUTION)


async def test_frozen_account_maps_every_field(
    adapter: HousingFundAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    inquiry: InquiryRequest,
) -> None:
    router.post(PATH).respond(200, json=centre_answer(fund_account()))

    answer = await adapter.inquire(client, inquiry)

    assert answer.status is ResultStatus.OK
    assert answer.reference == "GJJ-20240506-000077"
    (record,) = answer.assets
    assert record.kind == "housing_fund"
    assert record.institution == "gjj-lanzhou"
    assert record.identifier == "620100123456789"
    assert record.identifier_type == "fund_account"
    assert (record.owner.name, record.owner.id_number) == ("张三", "110105199003071239")
    assert record.value == Money("86543.21")
    # the frozen amount is not available to another court
    assert record.available == Money("66543.21")
    assert record.status is AssetStatus.ACTIVE
    assert record.as_of == datetime(2024, 5, 6, 2, 15, 30, tzinfo=UTC)
    assert record.details == {
        "employer": "甘肃示例科技有限公司",
        "centre": "兰州住房公积金管理中心",
        "opened_on": "2012-07-01",
        "status_code": "04",
    }
    in_force, waiting = record.encumbrances
    assert in_force.kind is EncumbranceKind.FREEZE
    assert (in_force.authority, in_force.case_number) == (
        "兰州市城关区人民法院",
        "（2023）甘0102执567号",
    )
    assert in_force.amount == Money("20000.00")
    assert (in_force.start, in_force.end) == (date(2023, 8, 1), date(2024, 7, 31))
    assert (in_force.waiting, in_force.position) == (False, None)
    assert waiting.amount == Money("5000.00")
    assert (waiting.waiting, waiting.position) == (True, 1)
    assert waiting.end is None


async def test_request_carries_the_case_and_the_person(
    adapter: HousingFundAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    inquiry: InquiryRequest,
) -> None:
    route = router.post(PATH).respond(200, json=centre_answer(code="0001"))

    await adapter.inquire(client, inquiry)

    assert json.loads(route.calls.last.request.content) == {
        "ywlsh": "req-0001",
        "ah": "（2024）甘0191执1234号",
        "fymc": "兰州新区人民法院",
        "cbr": "执行员甲",
        "xm": "张三",
        "zjhm": "110105199003071239",
    }


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("01", AssetStatus.ACTIVE),
        ("02", AssetStatus.DORMANT),  # 封存: no contributions, balance still there
        ("03", AssetStatus.CLOSED),
        ("04", AssetStatus.ACTIVE),  # frozen: the freeze is an encumbrance
        ("09", AssetStatus.UNKNOWN),
    ],
)
async def test_account_status_codes(
    adapter: HousingFundAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    inquiry: InquiryRequest,
    code: str,
    status: AssetStatus,
) -> None:
    account = fund_account(zhzt=code, djje=None, djxx=None)
    router.post(PATH).respond(200, json=centre_answer(account))

    (record,) = (await adapter.inquire(client, inquiry)).assets

    assert record.status is status
    assert record.details["status_code"] == code
    assert record.available == record.value == Money("86543.21")
    assert record.encumbrances == ()


async def test_frozen_amount_above_the_balance_leaves_nothing_available(
    adapter: HousingFundAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    inquiry: InquiryRequest,
) -> None:
    router.post(PATH).respond(200, json=centre_answer(fund_account(zhye=150000, djje=2000000)))

    (record,) = (await adapter.inquire(client, inquiry)).assets

    assert record.value == Money("1500.00")
    assert record.available == Money("0.00")


async def test_no_account_is_not_found(
    adapter: HousingFundAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    inquiry: InquiryRequest,
) -> None:
    router.post(PATH).respond(200, json=centre_answer(code="0001", msg="无此缴存人"))

    answer = await adapter.inquire(client, inquiry)

    assert answer.status is ResultStatus.NOT_FOUND
    assert answer.assets == ()
    assert answer.reference == "GJJ-20240506-000077"


@pytest.mark.parametrize(
    ("code", "error", "retryable"),
    [
        ("1001", InstitutionRejected, False),
        ("1002", InstitutionRejected, False),
        ("9001", InstitutionUnavailable, True),
        ("5003", InstitutionFailure, False),
    ],
)
async def test_result_codes_map_to_typed_errors(
    adapter: HousingFundAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    inquiry: InquiryRequest,
    code: str,
    error: type[Exception],
    retryable: bool,
) -> None:
    router.post(PATH).respond(200, json=centre_answer(code=code, msg="业务处理失败"))

    with pytest.raises(error) as caught:
        await adapter.inquire(client, inquiry)

    assert type(caught.value) is error
    assert caught.value.code == f"fund_{code}"  # type: ignore[attr-defined]
    assert caught.value.retryable is retryable  # type: ignore[attr-defined]
    assert "业务处理失败" in str(caught.value)


def test_serves_persons_only(organization: Party, party: Party) -> None:
    adapter = HousingFundAdapter(INSTITUTION)

    assert adapter.serves(party)
    assert not adapter.serves(organization)


async def test_balance_in_yuan_instead_of_fen_is_refused(
    adapter: HousingFundAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    inquiry: InquiryRequest,
) -> None:
    router.post(PATH).respond(200, json=centre_answer(fund_account(zhye="86543.21")))

    with pytest.raises(MalformedResponse) as caught:
        await adapter.inquire(client, inquiry)

    assert "$.data.zhxx[0].zhye" in caught.value.message
    assert "86543.21" not in caught.value.message


async def test_unreadable_query_time_is_refused(
    adapter: HousingFundAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    inquiry: InquiryRequest,
) -> None:
    body = {**centre_answer(fund_account()), "cxsj": "2024/05/06 10:15"}
    router.post(PATH).respond(200, json=body)

    with pytest.raises(MalformedResponse, match=r"\$\.cxsj"):
        await adapter.inquire(client, inquiry)


async def test_found_without_data_is_refused(
    adapter: HousingFundAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    inquiry: InquiryRequest,
) -> None:
    router.post(PATH).respond(200, json=centre_answer())

    with pytest.raises(MalformedResponse, match=r"\$\.data"):
        await adapter.inquire(client, inquiry)


# --- what real registries get wrong --------------------------------------------------------


async def test_waiting_position_zero_is_a_shape_error(
    adapter: HousingFundAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    inquiry: InquiryRequest,
) -> None:
    holds = [{"djjg": "兰州市七里河区人民法院", "djje": 500000, "lhsx": 0}]
    router.post(PATH).respond(200, json=centre_answer(fund_account(djxx=holds)))

    with pytest.raises(MalformedResponse, match=r"djxx\[0\]\.lhsx"):
        await adapter.inquire(client, inquiry)
