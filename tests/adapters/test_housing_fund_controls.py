"""The fund adapter's freezes, deductions, renewals and releases: JSON, fen, two-digit states."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from typing import Any

import httpx
import pytest
import respx

from assetquery._errors import (
    InstitutionFailure,
    InstitutionRejected,
    InstitutionUnavailable,
    MalformedResponse,
)
from assetquery._models import Case, Party
from assetquery._money import Money
from assetquery.adapters import ControlRequest, ControlState, Institution, Operation
from assetquery.adapters._housing_fund import HousingFundAdapter
from assetquery.testing import ControlConformance

PATH = "/gjj/api/v1/sfkz"
STATUS_PATH = "/gjj/api/v1/sfkz/cx"
INSTITUTION = Institution(id="gjj-lanzhou", name="兰州住房公积金管理中心")


@pytest.fixture
def adapter() -> HousingFundAdapter:
    return HousingFundAdapter(INSTITUTION)


@pytest.fixture
def document_case(case: Case) -> Case:
    return case.model_copy(update={"enforcement_document": "（2024）甘0191执1234号之三"})


def freeze(party: Party, case: Case, **changes: Any) -> ControlRequest:
    fields: dict[str, Any] = {
        "operation": Operation.FREEZE,
        "idempotency_key": "gjj-0001",
        "party": party,
        "case": case,
        "asset_kind": "housing_fund",
        "asset_identifier": "620100123456789",
        "amount": Money("30000.00"),
    }
    fields.update(changes)
    return ControlRequest(**fields)


def centre(data: dict[str, Any] | None = None, *, code: str = "0000", **top: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "msg": "办理成功", "ywlsh": "gjj-0001",
                            "cxsj": "2025-03-10 09:30:00"}  # fmt: skip
    if data is not None:
        body["data"] = data
    body.update(top)
    return body


def control(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "djbh": "DJ-42",
        "czlx": "DJ",
        "zt": "02",
        "sxrq": "2025-03-10",
        "jsrq": "2028-03-09",
        "je": 2500050,
        "lhsx": None,
        "sm": None,
    }
    data.update(changes)
    return data


def test_capabilities() -> None:
    assert HousingFundAdapter.capabilities == {
        Operation.INQUIRY,
        Operation.FREEZE,
        Operation.DEDUCT,
        Operation.RENEW,
        Operation.RELEASE,
        Operation.STATUS,
    }


async def test_freeze_request_and_answer(
    adapter: HousingFundAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    party: Party,
    document_case: Case,
) -> None:
    route = router.post(PATH).respond(200, json=centre(control()))

    status = await adapter.submit(client, freeze(party, document_case))

    assert json.loads(route.calls.last.request.content) == {
        "ywlsh": "gjj-0001",
        "czlx": "DJ",
        "ah": "（2024）甘0191执1234号",
        "fymc": "兰州新区人民法院",
        "cbr": "执行员甲",
        "wsh": "（2024）甘0191执1234号之三",
        "xm": "张三",
        "zjhm": "110105199003071239",
        "grzh": "620100123456789",
        "je": 3000000,
        "tqtj": None,
        "ydjbh": None,
        "jsrq": None,
    }
    assert status.state is ControlState.EFFECTIVE
    assert status.reference == "DJ-42"
    assert status.amount == Money("25000.50")  # the balance was short
    assert (status.effective_on, status.ends_on) == (date(2025, 3, 10), date(2028, 3, 9))


async def test_deduction_carries_the_withdrawal_condition(
    adapter: HousingFundAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    party: Party,
    document_case: Case,
) -> None:
    route = router.post(PATH).respond(
        200, json=centre(control(djbh="KH-1", czlx="KH", jsrq=None, je=100000))
    )
    request = freeze(
        party,
        document_case,
        operation=Operation.DEDUCT,
        amount=Money("1000.00"),
        target="DJ-42",
        withdrawal_condition="retirement",
    )

    status = await adapter.submit(client, request)

    sent = json.loads(route.calls.last.request.content)
    assert (sent["czlx"], sent["je"], sent["ydjbh"], sent["tqtj"]) == (
        "KH",
        100000,
        "DJ-42",
        "retirement",
    )
    assert (status.state, status.reference, status.amount) == (
        ControlState.EFFECTIVE,
        "KH-1",
        Money("1000.00"),
    )


@pytest.mark.parametrize(
    ("operation", "wire"), [(Operation.RENEW, "XD"), (Operation.RELEASE, "JD")]
)
async def test_renew_and_release(
    adapter: HousingFundAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    party: Party,
    document_case: Case,
    operation: Operation,
    wire: str,
) -> None:
    route = router.post(PATH).respond(200, json=centre(control(djbh="OP-2", czlx=wire, je=None)))
    request = freeze(
        party,
        document_case,
        operation=operation,
        amount=None,
        target="DJ-42",
        ends_on=date(2031, 3, 9),
    )

    status = await adapter.submit(client, request)

    sent = json.loads(route.calls.last.request.content)
    assert (sent["czlx"], sent["je"], sent["ydjbh"], sent["jsrq"]) == (
        wire,
        None,
        "DJ-42",
        "2031-03-09",
    )
    assert (status.state, status.reference) == (ControlState.EFFECTIVE, "OP-2")


@pytest.mark.parametrize(
    ("wire", "state"),
    [
        ("01", ControlState.RECEIVED),
        ("02", ControlState.EFFECTIVE),
        ("03", ControlState.WAITING),
        ("04", ControlState.RELEASED),
        ("05", ControlState.LAPSED),
        ("09", ControlState.REJECTED),
    ],
)
async def test_every_state_maps(
    adapter: HousingFundAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    party: Party,
    document_case: Case,
    wire: str,
    state: ControlState,
) -> None:
    route = router.post(STATUS_PATH).respond(200, json=centre(control(zt=wire)))

    status = await adapter.control_status(client, freeze(party, document_case))

    assert status.state is state
    assert json.loads(route.calls.last.request.content) == {"ywlsh": "gjj-0001"}


async def test_waiting_freeze(
    adapter: HousingFundAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    party: Party,
    document_case: Case,
) -> None:
    router.post(PATH).respond(
        200, json=centre(control(zt="03", sxrq=None, jsrq=None, je=None, lhsx=3))
    )

    status = await adapter.submit(client, freeze(party, document_case))

    assert (status.state, status.waiting_position, status.amount) == (
        ControlState.WAITING,
        3,
        None,
    )


async def test_unknown_key(
    adapter: HousingFundAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    party: Party,
    document_case: Case,
) -> None:
    router.post(STATUS_PATH).respond(200, json=centre(code="0001", msg="未找到"))

    assert (
        await adapter.control_status(client, freeze(party, document_case))
    ).state is ControlState.UNKNOWN


async def test_deduction_refused_without_withdrawal_condition(
    adapter: HousingFundAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    party: Party,
    document_case: Case,
) -> None:
    reason = "扣划住房公积金须符合提取条件，请提供提取条件（tqtj）"
    router.post(PATH).respond(
        200, json=centre(control(djbh="KH-2", czlx="KH", zt="09", sxrq=None, jsrq=None,
                                 je=None, sm=reason))
    )  # fmt: skip
    request = freeze(party, document_case, operation=Operation.DEDUCT, target="DJ-42")

    status = await adapter.submit(client, request)

    assert status.state is ControlState.REJECTED
    assert status.message == reason


@pytest.mark.parametrize("http_status", [200, 409])
async def test_a_reused_key_is_a_conflict(
    adapter: HousingFundAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    party: Party,
    document_case: Case,
    http_status: int,
) -> None:
    router.post(PATH).respond(http_status, json=centre(code="1009", msg="业务流水号已用于其他请求"))

    with pytest.raises(InstitutionRejected) as raised:
        await adapter.submit(client, freeze(party, document_case))
    assert raised.value.code == "idempotency_conflict"


@pytest.mark.parametrize(
    ("code", "error"),
    [("1001", InstitutionRejected), ("1002", InstitutionRejected),
     ("9001", InstitutionUnavailable), ("7777", InstitutionFailure)],
)  # fmt: skip
async def test_result_codes(
    adapter: HousingFundAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    party: Party,
    document_case: Case,
    code: str,
    error: type[Exception],
) -> None:
    router.post(PATH).respond(200, json=centre(code=code, msg="出错"))

    with pytest.raises(error) as raised:
        await adapter.submit(client, freeze(party, document_case))
    assert getattr(raised.value, "code", None) == f"fund_{code}"


@pytest.mark.parametrize(
    "body",
    [
        b"<html>502</html>",
        json.dumps(centre(control()))[:40].encode(),
        json.dumps(centre(control(zt="99"))).encode(),
        json.dumps(centre(control(djbh=None))).encode(),
        json.dumps(centre(control(je="250.00"))).encode(),
        json.dumps(centre(control(sxrq="20250310"))).encode(),
        json.dumps(centre()).encode(),
        json.dumps(centre(control(), ywlsh="other")).encode(),
    ],
    ids=[
        "html",
        "truncated",
        "unknown state",
        "effective without id",
        "yuan string",
        "compact date",
        "no data",
        "another key",
    ],
)
async def test_malformed_answers(
    adapter: HousingFundAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    party: Party,
    document_case: Case,
    body: bytes,
) -> None:
    router.post(PATH).respond(200, content=body, headers={"content-type": "application/json"})

    with pytest.raises(MalformedResponse) as raised:
        await adapter.submit(client, freeze(party, document_case))
    assert party.id_number not in raised.value.message


async def test_amounts_in_another_currency_are_refused_before_sending(
    adapter: HousingFundAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    party: Party,
    document_case: Case,
) -> None:
    with pytest.raises(InstitutionRejected) as raised:
        await adapter.submit(client, freeze(party, document_case, amount=Money("10", "USD")))
    assert raised.value.code == "invalid_request"


async def test_seals_are_refused(
    adapter: HousingFundAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    party: Party,
    document_case: Case,
) -> None:
    with pytest.raises(InstitutionRejected) as raised:
        await adapter.submit(client, freeze(party, document_case, operation=Operation.SEAL))
    assert raised.value.code == "unsupported_operation"


class TestFundControlConformance(ControlConformance):
    """The built-in fund adapter passes the kit adapter authors use."""

    adapter_class = HousingFundAdapter
    institution = INSTITUTION
    base_url = "https://gjj.test"
    asset_identifier = "620100123456789"

    def control_request(self, operation: Operation) -> ControlRequest:
        request = super().control_request(operation)
        if operation is Operation.DEDUCT:  # the centre deducts only on a withdrawal ground
            return dataclasses.replace(request, withdrawal_condition="retirement")
        return request

    def _answer(self, request: ControlRequest, state: str) -> dict[str, Any]:
        return centre(control(zt=state), ywlsh=request.idempotency_key)

    def mock_submit(self, router: respx.MockRouter, request: ControlRequest) -> None:
        router.post(PATH).respond(200, json=self._answer(request, "01"))

    def mock_status(self, router: respx.MockRouter, request: ControlRequest) -> None:
        router.post(STATUS_PATH).respond(200, json=self._answer(request, "02"))

    def mock_status_unknown(self, router: respx.MockRouter, request: ControlRequest) -> None:
        router.post(STATUS_PATH).respond(200, json=centre(code="0001", msg="未找到", ywlsh=None))

    def mock_duplicate(self, router: respx.MockRouter, request: ControlRequest) -> None:
        router.post(PATH).respond(200, json=self._answer(request, "02"))

    def mock_conflict(self, router: respx.MockRouter, request: ControlRequest) -> None:
        router.post(PATH).respond(409, json=centre(code="1009", msg="业务流水号已用于其他请求"))
