"""The bank adapter's control actions: JSON controls, decimal-string amounts, status by key."""

from __future__ import annotations

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
from assetquery.adapters._bank import BankAdapter
from assetquery.testing import ControlConformance

PATH = "/api/judicial/v2/controls"
INSTITUTION = Institution(id="bank-icbc", name="示例银行")


@pytest.fixture
def adapter() -> BankAdapter:
    return BankAdapter(INSTITUTION)


@pytest.fixture
def document_case(case: Case) -> Case:
    return case.model_copy(update={"enforcement_document": "（2024）甘0191执1234号之一"})


def freeze(party: Party, case: Case, **changes: Any) -> ControlRequest:
    fields: dict[str, Any] = {
        "operation": Operation.FREEZE,
        "idempotency_key": "ctl-0001",
        "party": party,
        "case": case,
        "asset_kind": "bank_account",
        "asset_identifier": "6217000012345678901",
        "amount": Money("50000.00"),
    }
    fields.update(changes)
    return ControlRequest(**fields)


def control(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
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
    body.update(changes)
    return body


def test_capabilities() -> None:
    assert BankAdapter.capabilities == {
        Operation.INQUIRY,
        Operation.FREEZE,
        Operation.DEDUCT,
        Operation.RENEW,
        Operation.RELEASE,
        Operation.STATUS,
    }


async def test_freeze_request_carries_everything_and_maps_the_answer(
    adapter: BankAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    party: Party,
    document_case: Case,
) -> None:
    route = router.post(PATH).respond(200, json=control())

    status = await adapter.submit(client, freeze(party, document_case, ends_on=date(2026, 1, 31)))

    assert json.loads(route.calls.last.request.content) == {
        "idempotencyKey": "ctl-0001",
        "operation": "FREEZE",
        "caseNo": "（2024）甘0191执1234号",
        "court": "兰州新区人民法院",
        "officer": "执行员甲",
        "document": "（2024）甘0191执1234号之一",
        "subject": {"name": "张三", "idType": "RESIDENT_ID", "idNo": "110105199003071239"},
        "accountNo": "6217000012345678901",
        "amount": "50000.00",
        "currency": "CNY",
        "targetControlId": None,
        "endDate": "2026-01-31",
    }
    assert status.state is ControlState.EFFECTIVE
    assert status.reference == "FZ-0001"
    assert (status.effective_on, status.ends_on) == (date(2025, 3, 10), date(2026, 3, 9))
    assert status.amount == Money("12345.67")  # less than asked: the balance was short
    assert status.waiting_position is None
    assert status.message == "可冻结余额不足，实际冻结 12345.67"


@pytest.mark.parametrize(
    ("operation", "wire"),
    [
        (Operation.DEDUCT, "DEDUCT"),
        (Operation.RENEW, "CONTINUE_FREEZE"),
        (Operation.RELEASE, "UNFREEZE"),
    ],
)
async def test_operations_name_their_target(
    adapter: BankAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    party: Party,
    document_case: Case,
    operation: Operation,
    wire: str,
) -> None:
    route = router.post(PATH).respond(
        200, json=control(controlId="OP-9", operation=wire, endDate=None, amount=None)
    )
    request = freeze(party, document_case, operation=operation, target="FZ-0001", amount=None)

    status = await adapter.submit(client, request)

    sent = json.loads(route.calls.last.request.content)
    assert (sent["operation"], sent["targetControlId"]) == (wire, "FZ-0001")
    assert sent["amount"] is None
    assert "currency" not in sent
    assert (status.state, status.reference) == (ControlState.EFFECTIVE, "OP-9")


@pytest.mark.parametrize(
    ("wire", "state"),
    [
        ("ACCEPTED", ControlState.RECEIVED),
        ("EFFECTIVE", ControlState.EFFECTIVE),
        ("WAITING", ControlState.WAITING),
        ("REJECTED", ControlState.REJECTED),
        ("RELEASED", ControlState.RELEASED),
        ("LAPSED", ControlState.LAPSED),
    ],
)
async def test_every_state_maps(
    adapter: BankAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    party: Party,
    document_case: Case,
    wire: str,
    state: ControlState,
) -> None:
    router.get(PATH, params={"idempotencyKey": "ctl-0001"}).respond(200, json=control(state=wire))

    status = await adapter.control_status(client, freeze(party, document_case))

    assert status.state is state


async def test_waiting_freeze_has_its_place_in_line(
    adapter: BankAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    party: Party,
    document_case: Case,
) -> None:
    router.post(PATH).respond(
        200,
        json=control(state="WAITING", effectiveDate=None, endDate=None, amount=None, queue=3),
    )

    status = await adapter.submit(client, freeze(party, document_case))

    assert status.state is ControlState.WAITING
    assert status.waiting_position == 3
    assert (status.effective_on, status.ends_on, status.amount) == (None, None, None)


async def test_a_bank_that_reports_no_end_date(
    adapter: BankAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    party: Party,
    document_case: Case,
) -> None:
    body = control()
    del body["endDate"], body["currency"]
    router.post(PATH).respond(200, json=body)

    status = await adapter.submit(client, freeze(party, document_case))

    assert status.ends_on is None  # the ledger works it out
    assert status.amount == Money("12345.67")


async def test_business_refusal_is_a_rejected_status(
    adapter: BankAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    party: Party,
    case: Case,
) -> None:
    route = router.post(PATH).respond(
        200,
        json=control(
            state="REJECTED",
            controlId=None,
            effectiveDate=None,
            endDate=None,
            amount=None,
            message="未提供协助执行通知书文号",
        ),
    )

    status = await adapter.submit(client, freeze(party, case))

    assert json.loads(route.calls.last.request.content)["document"] == ""
    assert status.state is ControlState.REJECTED
    assert status.reference is None
    assert status.message == "未提供协助执行通知书文号"


async def test_status_of_an_unknown_key(
    adapter: BankAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    party: Party,
    document_case: Case,
) -> None:
    route = router.get(PATH).respond(404, json={"errorCode": "NOT_FOUND"})

    status = await adapter.control_status(client, freeze(party, document_case))

    assert status.state is ControlState.UNKNOWN
    assert route.calls.last.request.url.params["idempotencyKey"] == "ctl-0001"


async def test_a_404_without_the_banks_code_is_not_unknown(
    adapter: BankAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    party: Party,
    document_case: Case,
) -> None:
    """A wrong path answers 404 too: that must not read as "never received"."""
    router.get(PATH).respond(404, text="Not Found")

    with pytest.raises(InstitutionRejected) as raised:
        await adapter.control_status(client, freeze(party, document_case))
    assert raised.value.code == "http_404"


async def test_a_submission_answered_404_is_refused(
    adapter: BankAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    party: Party,
    document_case: Case,
) -> None:
    router.post(PATH).respond(404, json={"errorCode": "NOT_FOUND"})

    with pytest.raises(InstitutionRejected) as raised:
        await adapter.submit(client, freeze(party, document_case))
    assert raised.value.code == "http_404"


async def test_a_reused_key_is_a_conflict(
    adapter: BankAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    party: Party,
    document_case: Case,
) -> None:
    router.post(PATH).respond(409, json={"errorCode": "IDEMPOTENCY_CONFLICT"})

    with pytest.raises(InstitutionRejected) as raised:
        await adapter.submit(client, freeze(party, document_case))
    assert raised.value.code == "idempotency_conflict"
    assert party.id_number not in raised.value.message


@pytest.mark.parametrize(
    ("status_code", "error"),
    [(400, InstitutionRejected), (401, InstitutionRejected), (503, InstitutionUnavailable),
     (500, InstitutionFailure)],
)  # fmt: skip
async def test_http_errors_are_typed(
    adapter: BankAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    party: Party,
    document_case: Case,
    status_code: int,
    error: type[Exception],
) -> None:
    router.post(PATH).respond(status_code, json={"errorCode": "X", "errorMessage": "no"})

    with pytest.raises(error):
        await adapter.submit(client, freeze(party, document_case))


@pytest.mark.parametrize(
    "body",
    [
        b"<html>502 Bad Gateway</html>",
        b'{"controlId": "FZ-1", "state": "EFFEC',
        json.dumps(control(state="DONE")).encode(),
        json.dumps(control(state=None)).encode(),
        json.dumps(control(controlId=None)).encode(),
        json.dumps(control(amount=12.5)).encode(),
        json.dumps(control(endDate="09/03/2026")).encode(),
        json.dumps(control(queue=0)).encode(),
        json.dumps(control(idempotencyKey="someone-else")).encode(),
        json.dumps([control()]).encode(),
    ],
    ids=[
        "html",
        "truncated",
        "unknown state",
        "no state",
        "effective without id",
        "float amount",
        "bad date",
        "queue 0",
        "another key",
        "list",
    ],
)
async def test_malformed_answers(
    adapter: BankAdapter,
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
    assert party.name not in raised.value.message


async def test_controls_path_is_an_option(
    router: respx.MockRouter, client: httpx.AsyncClient, party: Party, document_case: Case
) -> None:
    adapter = BankAdapter(
        Institution(id="b", name="b", options={"controls_path": "/judicial/v3/kz"})
    )
    router.post("/judicial/v3/kz").respond(200, json=control())

    assert (await adapter.submit(client, freeze(party, document_case))).reference == "FZ-0001"


@pytest.mark.parametrize(
    "changes",
    [{"operation": Operation.SEAL}, {"asset_kind": "real_estate"}],
    ids=["seal", "not an account"],
)
async def test_what_a_bank_does_not_do_is_refused_before_sending(
    adapter: BankAdapter,
    router: respx.MockRouter,  # nothing may be sent
    client: httpx.AsyncClient,
    party: Party,
    document_case: Case,
    changes: dict[str, Any],
) -> None:
    with pytest.raises(InstitutionRejected) as raised:
        await adapter.submit(client, freeze(party, document_case, **changes))
    assert raised.value.code == "unsupported_operation"


class TestBankControlConformance(ControlConformance):
    """The built-in bank adapter passes the kit adapter authors use."""

    adapter_class = BankAdapter
    institution = INSTITUTION
    base_url = "https://bank.test"

    def _answer(self, request: ControlRequest, state: str) -> dict[str, Any]:
        return control(
            idempotencyKey=request.idempotency_key,
            operation=request.operation.value.upper(),
            state=state,
            message=None,
        )

    def mock_submit(self, router: respx.MockRouter, request: ControlRequest) -> None:
        router.post(PATH).respond(200, json=self._answer(request, "ACCEPTED"))

    def mock_status(self, router: respx.MockRouter, request: ControlRequest) -> None:
        router.get(PATH, params={"idempotencyKey": request.idempotency_key}).respond(
            200, json=self._answer(request, "EFFECTIVE")
        )

    def mock_status_unknown(self, router: respx.MockRouter, request: ControlRequest) -> None:
        router.get(PATH).respond(404, json={"errorCode": "NOT_FOUND"})

    def mock_duplicate(self, router: respx.MockRouter, request: ControlRequest) -> None:
        # the bank answers a resend with the action it already holds under the key
        router.post(PATH).respond(200, json=self._answer(request, "EFFECTIVE"))

    def mock_conflict(self, router: respx.MockRouter, request: ControlRequest) -> None:
        router.post(PATH).respond(409, json={"errorCode": "IDEMPOTENCY_CONFLICT"})
