"""The bank adapter: JSON with decimal-string amounts, answered at once or through a ticket."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx

from assetquery._errors import InstitutionFailure, MalformedResponse
from assetquery._models import AssetStatus, EncumbranceKind, Party, ResultStatus
from assetquery._money import Money
from assetquery.adapters import InquiryRequest, Institution
from assetquery.adapters._bank import BankAdapter
from assetquery.testing import AdapterConformance

PATH = "/api/judicial/v2/inquiries"
TICKET = "TK-20240506-000042"
INSTITUTION = Institution(
    id="bank-gs-001", name="示例银行甘肃省分行", options={"bank_name": "示例银行"}
)


def account(**changes: Any) -> dict[str, Any]:
    """A debit-card account as the bank reports it, with ``changes`` applied."""
    record: dict[str, Any] = {
        "accountNo": "6222020200112233445",
        "accountName": "张三",
        "accountType": "借记卡",
        "currency": "CNY",
        "balance": "52340.18",
        "availableBalance": "12340.18",
        "status": "NORMAL",
        "branch": "兰州城关支行",
        "openedOn": "2015-03-20",
        "holds": [
            {
                "type": "FREEZE",
                "authority": "兰州市城关区人民法院",
                "caseNo": "（2023）甘0102执567号",
                "amount": "40000.00",
                "from": "2023-08-01",
                "to": "2024-07-31",
                "queue": None,
            }
        ],
    }
    record.update(changes)
    return record


def completed(*accounts: dict[str, Any]) -> dict[str, Any]:
    return {
        "requestId": "req-0001",
        "state": "COMPLETED",
        "completedAt": "2024-05-06T10:15:30+08:00",
        "accounts": list(accounts),
    }


FOUND = completed(
    account(),
    account(
        accountNo="6222020200998877665",
        accountType="外币储蓄",
        currency="USD",
        balance="1200.50",
        availableBalance="1200.50",
        holds=[],
    ),
)
ACCEPTED = {"requestId": "req-0001", "state": "ACCEPTED", "ticket": TICKET, "pollAfterSeconds": 600}
PROCESSING = {"requestId": "req-0001", "state": "PROCESSING", "ticket": TICKET}


class TestBankConformance(AdapterConformance):
    adapter_class = BankAdapter
    institution = INSTITUTION
    base_url = "https://judicial.bank.test/gateway"

    def mock_found(self, router: respx.MockRouter, party: Party) -> None:
        router.post(PATH).respond(200, json=FOUND)

    def mock_not_found(self, router: respx.MockRouter, party: Party) -> None:
        router.post(PATH).respond(200, json=completed())

    def mock_pending(self, router: respx.MockRouter, party: Party) -> str:
        router.post(PATH).respond(202, json=ACCEPTED)
        return TICKET

    def mock_poll_found(self, router: respx.MockRouter, party: Party, ticket: str) -> None:
        router.get(f"{PATH}/{ticket}").respond(200, json=FOUND)


@pytest.fixture
def adapter() -> BankAdapter:
    return BankAdapter(INSTITUTION)


async def test_completed_answer_maps_every_field(
    adapter: BankAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    inquiry: InquiryRequest,
) -> None:
    router.post(PATH).respond(200, json=FOUND)

    answer = await adapter.inquire(client, inquiry)

    assert answer.status is ResultStatus.OK
    assert answer.reference == "req-0001"
    card, foreign = answer.assets
    assert card.kind == "bank_account"
    assert card.institution == "bank-gs-001"
    assert card.identifier == "6222020200112233445"
    assert card.identifier_type == "account_number"
    assert card.owner.name == "张三"
    assert card.value == Money("52340.18")
    assert card.available == Money("12340.18")
    assert card.status is AssetStatus.ACTIVE
    assert card.as_of == datetime(2024, 5, 6, 2, 15, 30, tzinfo=UTC)
    assert card.details == {
        "account_type": "借记卡",
        "branch": "兰州城关支行",
        "opened_on": "2015-03-20",
        "bank_status": "NORMAL",
        "bank": "示例银行",
    }
    (hold,) = card.encumbrances
    assert hold.kind is EncumbranceKind.FREEZE
    assert hold.authority == "兰州市城关区人民法院"
    assert hold.case_number == "（2023）甘0102执567号"
    assert hold.amount == Money("40000.00")
    assert (hold.start, hold.end) == (date(2023, 8, 1), date(2024, 7, 31))
    assert (hold.waiting, hold.position) == (False, None)
    assert card.provenance.adapter == "bank"
    assert card.provenance.reference == "req-0001"
    assert foreign.encumbrances == ()


async def test_request_names_the_subject_and_the_case(
    adapter: BankAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    inquiry: InquiryRequest,
    organization: Party,
) -> None:
    route = router.post(PATH).respond(200, json=completed())

    await adapter.inquire(client, inquiry)
    company = InquiryRequest(party=organization, case=inquiry.case, request_id="req-0002")
    await adapter.inquire(client, company)

    person_payload = json.loads(route.calls[0].request.content)
    assert person_payload == {
        "requestId": "req-0001",
        "caseNo": "（2024）甘0191执1234号",
        "court": "兰州新区人民法院",
        "officer": "执行员甲",
        "subject": {"name": "张三", "idType": "RESIDENT_ID", "idNo": "110105199003071239"},
    }
    company_subject = json.loads(route.calls[1].request.content)["subject"]
    assert company_subject["idType"] == "USCC"
    assert company_subject["idNo"] == organization.id_number


async def test_foreign_currency_account_keeps_its_currency(
    adapter: BankAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    inquiry: InquiryRequest,
) -> None:
    router.post(PATH).respond(200, json=FOUND)

    foreign = (await adapter.inquire(client, inquiry)).assets[1]

    assert foreign.value == Money("1200.50", "USD")
    assert foreign.available == Money("1200.50", "USD")
    assert isinstance(foreign.value.amount, Decimal)


async def test_available_is_computed_from_holds_in_force_when_the_bank_omits_it(
    adapter: BankAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    inquiry: InquiryRequest,
) -> None:
    holds = [
        {"type": "FREEZE", "amount": "3000.00"},
        {"type": "FREEZE", "amount": "2000.50"},
        # a waiting-line freeze is not in force yet: it must not reduce what is available
        {"type": "WAITING_FREEZE", "amount": "8000.00", "queue": 1},
    ]
    body = completed(account(balance="10000.00", availableBalance=None, holds=holds))
    router.post(PATH).respond(200, json=body)

    (record,) = (await adapter.inquire(client, inquiry)).assets

    assert record.value == Money("10000.00")
    assert record.available == Money("4999.50")
    waiting = record.encumbrances[2]
    assert (waiting.waiting, waiting.position) == (True, 1)


async def test_computed_available_never_goes_below_zero(
    adapter: BankAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    inquiry: InquiryRequest,
) -> None:
    holds = [{"type": "FREEZE", "amount": "5000.00"}]
    body = completed(account(balance="1000.00", availableBalance=None, holds=holds))
    router.post(PATH).respond(200, json=body)

    (record,) = (await adapter.inquire(client, inquiry)).assets

    assert record.available == Money("0.00")


@pytest.mark.parametrize(
    ("bank_status", "status"),
    [
        ("NORMAL", AssetStatus.ACTIVE),
        ("FROZEN", AssetStatus.ACTIVE),
        ("DORMANT", AssetStatus.DORMANT),
        ("CLOSED", AssetStatus.CLOSED),
        ("REPORTED_LOST", AssetStatus.UNKNOWN),
    ],
)
async def test_account_status(
    adapter: BankAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    inquiry: InquiryRequest,
    bank_status: str,
    status: AssetStatus,
) -> None:
    body = completed(account(status=bank_status, balance="0.00", availableBalance="0.00"))
    router.post(PATH).respond(200, json=body)

    (record,) = (await adapter.inquire(client, inquiry)).assets

    assert record.status is status
    assert record.details["bank_status"] == bank_status


async def test_unknown_hold_type_is_a_shape_error(
    adapter: BankAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    inquiry: InquiryRequest,
) -> None:
    body = completed(account(holds=[{"type": "PLEDGE", "amount": "100.00"}]))
    router.post(PATH).respond(200, json=body)

    with pytest.raises(MalformedResponse) as caught:
        await adapter.inquire(client, inquiry)

    assert caught.value.code == "unexpected_shape"
    assert "$.accounts[0].holds[0].type" in caught.value.message


async def test_amount_sent_as_a_json_number_is_refused(
    adapter: BankAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    inquiry: InquiryRequest,
) -> None:
    router.post(PATH).respond(200, json=completed(account(balance=52340.18)))

    with pytest.raises(MalformedResponse, match=r"\$\.accounts\[0\]\.balance"):
        await adapter.inquire(client, inquiry)


async def test_timestamp_without_offset_is_refused(
    adapter: BankAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    inquiry: InquiryRequest,
) -> None:
    body = {**completed(account()), "completedAt": "2024-05-06T10:15:30"}
    router.post(PATH).respond(200, json=body)

    with pytest.raises(MalformedResponse, match="completedAt"):
        await adapter.inquire(client, inquiry)


async def test_empty_account_list_is_not_found(
    adapter: BankAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    inquiry: InquiryRequest,
) -> None:
    router.post(PATH).respond(200, json=completed())

    answer = await adapter.inquire(client, inquiry)

    assert answer.status is ResultStatus.NOT_FOUND
    assert answer.assets == ()


async def test_ticket_then_processing_then_completed(
    adapter: BankAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    inquiry: InquiryRequest,
) -> None:
    router.post(PATH).respond(202, json=ACCEPTED)
    router.get(f"{PATH}/{TICKET}").mock(
        side_effect=[httpx.Response(200, json=PROCESSING), httpx.Response(200, json=FOUND)]
    )

    accepted = await adapter.inquire(client, inquiry)
    processing = await adapter.poll(client, TICKET, inquiry)
    done = await adapter.poll(client, TICKET, inquiry)

    assert accepted.status is ResultStatus.PENDING
    assert (accepted.ticket, accepted.poll_after) == (TICKET, 600.0)
    assert processing.status is ResultStatus.PENDING
    assert (processing.ticket, processing.poll_after) == (TICKET, None)
    assert done.status is ResultStatus.OK
    assert len(done.assets) == 2
    # the ticket identifies the feedback the records came from
    assert done.assets[0].provenance.reference == TICKET


async def test_poll_quotes_the_ticket_into_one_path_segment(
    adapter: BankAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    inquiry: InquiryRequest,
) -> None:
    route = router.get(url__regex=r"/inquiries/.+$").respond(200, json=PROCESSING)

    await adapter.poll(client, "TK/2024 42", inquiry)

    assert route.calls.last.request.url.raw_path.endswith(b"/inquiries/TK%2F2024%2042")


async def test_accepted_without_ticket_is_a_shape_error(
    adapter: BankAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    inquiry: InquiryRequest,
) -> None:
    router.post(PATH).respond(202, json={"requestId": "req-0001", "state": "ACCEPTED"})

    with pytest.raises(MalformedResponse, match=r"\$\.ticket"):
        await adapter.inquire(client, inquiry)


async def test_failed_state_is_a_permanent_institution_failure(
    adapter: BankAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    inquiry: InquiryRequest,
) -> None:
    body = {"state": "FAILED", "errorCode": "E1003", "errorMessage": "协查文书不完整"}
    router.post(PATH).respond(200, json=body)

    with pytest.raises(InstitutionFailure) as caught:
        await adapter.inquire(client, inquiry)

    assert caught.value.code == "bank_E1003"
    assert not caught.value.retryable
    assert "协查文书不完整" in caught.value.message


async def test_unknown_state_is_a_shape_error(
    adapter: BankAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    inquiry: InquiryRequest,
) -> None:
    router.post(PATH).respond(200, json={"state": "QUEUED"})

    with pytest.raises(MalformedResponse):
        await adapter.inquire(client, inquiry)


# --- what real registries get wrong --------------------------------------------------------


async def test_non_iso_currency_is_a_shape_error(
    adapter: BankAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    inquiry: InquiryRequest,
) -> None:
    # banks' core systems often send the numeric code 156 for yuan
    router.post(PATH).respond(200, json=completed(account(currency="156")))

    with pytest.raises(MalformedResponse, match=r"\$\.accounts\[0\]\.currency"):
        await adapter.inquire(client, inquiry)


async def test_waiting_position_zero_is_a_shape_error(
    adapter: BankAdapter,
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    inquiry: InquiryRequest,
) -> None:
    holds = [{"type": "WAITING_FREEZE", "amount": "100.00", "queue": 0}]
    router.post(PATH).respond(200, json=completed(account(holds=holds)))

    with pytest.raises(MalformedResponse, match=r"holds\[0\]\.queue"):
        await adapter.inquire(client, inquiry)
