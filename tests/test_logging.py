"""Logs never carry personal data: the processor masks, and real runs leak nothing."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator

import pytest
import structlog

from assetquery import Case, Dispatcher, LookupRequest, Party, configure_logging
from assetquery._logging import get_logger, mask_personal_data
from assetquery.sandbox import SandboxConfig, dataset

# An 18-character ID or credit code, or a run of 12+ digits (an account), standing alone.
LEAK = re.compile(
    r"(?<![0-9A-Za-z*])(?:\d{17}[\dXx]|[0-9A-HJ-NP-RTUWXY]{2}\d{6}[0-9A-HJ-NP-RTUWXY]{10}"
    r"|\d{12,32})(?![0-9A-Za-z*])"
)


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging(logging.DEBUG, stream=stream)
    yield stream
    configure_logging(logging.WARNING)


def test_processor_masks_keys_and_numbers_in_text() -> None:
    event = {
        "event": "asked about 110105199003071239 and account 6222021234567890128",
        "name": "张三丰",
        "id_number": "110105199003071239",
        "account_number": "6222021234567890128",
        "nested": {"address": "甘肃省兰州市城关区示例路1号"},
    }
    masked = mask_personal_data(None, "info", dict(event))
    assert "110105199003071239" not in str(masked)
    assert "6222021234567890128" not in str(masked)
    assert masked["name"] == "张**"
    assert masked["nested"]["address"].startswith("甘肃省兰州市")
    assert "示例路" not in masked["nested"]["address"]


def test_a_logger_is_bound_once_and_follows_the_level_set_later(
    captured: io.StringIO,
) -> None:
    # Not a lazy proxy, which would assemble a new logger on every attribute read...
    logger = get_logger("assetquery.test")
    assert isinstance(logger, structlog.stdlib.BoundLogger)
    # ...and still asking the standard library logger, so levels set later apply.
    logging.getLogger("assetquery").setLevel(logging.ERROR)
    assert not logger.isEnabledFor(logging.INFO)
    logger.info("hidden")
    logging.getLogger("assetquery").setLevel(logging.DEBUG)
    assert logger.isEnabledFor(logging.INFO)
    logger.info("shown")
    assert "shown" in captured.getvalue() and "hidden" not in captured.getvalue()


def test_a_careless_log_call_is_still_masked(captured: io.StringIO) -> None:
    get_logger("assetquery.test").info(
        "oops", party="张三 110105199003071239", id_number="110105199003071239"
    )
    text = captured.getvalue()
    assert "oops" in text
    assert not LEAK.search(text)


@pytest.mark.looptime
async def test_a_batch_of_lookups_with_failures_logs_no_personal_data(
    captured: io.StringIO,
) -> None:
    parties = dataset().parties[:40]
    flaky = SandboxConfig.uniform(busy_rate=0.2, error_rate=0.1, malformed_rate=0.1)
    requests = [
        LookupRequest(
            Party.parse(p.name, p.id_number, p.kind), Case(number=p.case_number, operator="李承办")
        )
        for p in parties
    ]
    async with Dispatcher.sandbox(flaky) as dispatcher:
        reports = [r async for r in dispatcher.lookup_many(requests)]

    text = captured.getvalue()
    assert len(reports) == 40
    assert "lookup finished" in text and "institution failed" in text
    assert not LEAK.search(text), LEAK.search(text)
    for p in parties:
        assert p.name not in text
