"""The simulated banks' judicial inquiry interface: JSON, amounts as decimal strings.

``POST /api/judicial/v2/inquiries`` as the ``bank`` adapter's module documents. A
``Bank`` answers at once (HTTP 200, ``COMPLETED``); a ``TicketBank`` hands out a
ticket (HTTP 202, ``ACCEPTED``) and answers ``GET /api/judicial/v2/inquiries/{ticket}`` with
``PROCESSING`` until its feedback delay has passed. An unreadable request gets HTTP 400.

Control actions, ``POST /api/judicial/v2/controls`` and their status,
``GET /api/judicial/v2/controls?idempotencyKey=...``, as the ``bank`` adapter's module
documents, applied by a ``ControlBook``. Both banks answer
control actions at once; ``reports_end_dates=False`` imitates a bank (``bank-west``) that
leaves ``endDate`` out of its answers, so the court must work out the end itself.
Inquiries show the accounts as the controls left them.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ._controls import (
    Act,
    ActionRequest,
    Asset,
    ControlBook,
    Entry,
    IdempotencyConflict,
    Rules,
    State,
)
from ._data import BankAccount, Control, Dataset, SandboxParty
from ._faults import NO_DELAY, Delay, FaultPlan
from ._http import respond, respond_applying, shanghai_now

__all__ = ["Bank", "TicketBank"]

_PATH = "/api/judicial/v2/inquiries"
_CONTROLS_PATH = "/api/judicial/v2/controls"
_ID_TYPES = {"RESIDENT_ID", "USCC"}
_OPERATIONS = {
    "FREEZE": Act.FREEZE,
    "DEDUCT": Act.DEDUCT,
    "CONTINUE_FREEZE": Act.RENEW,
    "UNFREEZE": Act.RELEASE,
}
_WIRE_OPERATIONS = {act: name for name, act in _OPERATIONS.items()}
_WIRE_STATES = {
    State.RECEIVED: "ACCEPTED",
    State.EFFECTIVE: "EFFECTIVE",
    State.WAITING: "WAITING",
    State.REJECTED: "REJECTED",
    State.RELEASED: "RELEASED",
    State.LAPSED: "LAPSED",
}

#: Open tickets a ticket bank remembers (answers not yet fetched): a batch of 100,000
#: lookups against a bank that takes hours fits, and memory stays bounded.
REMEMBERED_TICKETS = 200_000
#: Fetched answers kept for a repeated poll (one whose answer was lost on the way back).
#: Like a real bank, the sandbox does not keep every answer it ever gave: a long batch
#: against it would otherwise grow by every ticket.
REDELIVERABLE_TICKETS = 1_000


@dataclass(frozen=True, slots=True)
class _Inquiry:
    request_id: str
    id_number: str


class Bank:
    """A bank that answers inquiries at once.

    ``states_local_currency=False`` imitates a bank that leaves ``currency`` out of CNY
    accounts (the adapter assumes CNY then).
    """

    def __init__(
        self,
        institution_id: str,
        data: Dataset,
        faults: FaultPlan,
        *,
        states_local_currency: bool = True,
        reports_end_dates: bool = True,
        control_prefix: str = "BK",
        control_feedback_delay: Delay = NO_DELAY,
    ) -> None:
        self.institution_id = institution_id
        self._data = data
        self._faults = faults
        self._states_local_currency = states_local_currency
        self.book = ControlBook(
            institution_id,
            seed=data.seed,
            prefix=control_prefix,
            rules=Rules(control=Act.FREEZE, legal_years=1, reports_end_dates=reports_end_dates),
            resolve=_account_finder(data, institution_id),
            feedback_delay=control_feedback_delay,
        )

    def routes(self) -> list[BaseRoute]:
        return [
            Route(_PATH, self.inquire, methods=["POST"]),
            Route(_CONTROLS_PATH, self.controls, methods=["GET", "POST"]),
        ]

    async def controls(self, request: Request) -> Response:
        if request.method == "GET":
            return await self.control_status(request)
        return await self.submit(request)

    async def submit(self, request: Request) -> Response:
        action = _read_control(await request.body())
        if isinstance(action, str):
            return _error(400, "INVALID_REQUEST", action)
        return await respond_applying(
            self._faults.decide(action.key, control=True), lambda: self._apply(action)
        )

    def _apply(self, action: ActionRequest) -> tuple[Response, bool]:
        try:
            entry, applied = self.book.submit(action)
        except IdempotencyConflict:
            conflict = _error(
                409, "IDEMPOTENCY_CONFLICT", "idempotencyKey was used for a different request"
            )
            return conflict, False
        return JSONResponse(self._control(entry)), applied

    async def control_status(self, request: Request) -> Response:
        key = request.query_params.get("idempotencyKey", "").strip()
        if not key:
            return _error(400, "INVALID_REQUEST", "idempotencyKey is required")
        return await respond(self._faults.decide(f"status:{key}"), lambda: self._status(key))

    def _status(self, key: str) -> Response:
        entry = self.book.find(key)
        if entry is None:
            return _error(404, "NOT_FOUND", "no control action with this idempotencyKey")
        return JSONResponse(self._control(entry))

    def _control(self, entry: Entry) -> dict[str, Any]:
        state = self.book.reported_state(entry)
        encoded: dict[str, Any] = {
            "controlId": entry.id,
            "idempotencyKey": entry.key,
            "operation": _WIRE_OPERATIONS[entry.act],
            "state": _WIRE_STATES[state],
            "effectiveDate": None,
            "endDate": None,
            "amount": None,
            "queue": None,
            "targetControlId": entry.target,
            "message": "已受理，正在办理" if state is State.RECEIVED else entry.message,
        }
        if state is State.RECEIVED:
            return encoded
        if entry.effective_on is not None:
            encoded["effectiveDate"] = entry.effective_on.isoformat()
        if entry.ends_on is not None and self.book.reports_end(entry):
            encoded["endDate"] = entry.ends_on.isoformat()
        if entry.amount is not None and state is not State.WAITING:
            encoded["amount"] = f"{entry.amount:.2f}"
            encoded["currency"] = entry.currency
        encoded["queue"] = self.book.position(entry)
        return encoded

    async def inquire(self, request: Request) -> Response:
        inquiry = _read(await request.body())
        if isinstance(inquiry, str):
            return _error(400, "INVALID_REQUEST", inquiry)
        return await respond(self._faults.decide(inquiry.request_id), lambda: self._accept(inquiry))

    def _accept(self, inquiry: _Inquiry) -> Response:
        return JSONResponse(self._completed(inquiry.request_id, self._data.get(inquiry.id_number)))

    def _completed(self, request_id: str, party: SandboxParty | None) -> dict[str, Any]:
        accounts = (
            []
            if party is None
            else [self._account(a, party.name) for a in party.accounts_at(self.institution_id)]
        )
        return {
            "requestId": request_id,
            "state": "COMPLETED",
            "completedAt": shanghai_now().isoformat(timespec="seconds"),
            "accounts": accounts,
        }

    def _account(self, account: BankAccount, holder: str) -> dict[str, Any]:
        current = self.book.current(account.account_number)
        if current is not None:  # as the controls left it
            assert current.balance is not None
            account = replace(account, balance=current.balance, holds=self.book.holds(current))
        encoded: dict[str, Any] = {
            "accountNo": account.account_number,
            "accountName": holder,
            "accountType": account.account_type,
        }
        if self._states_local_currency or account.currency != "CNY":
            encoded["currency"] = account.currency
        encoded["balance"] = f"{account.balance:.2f}"
        if account.states_available:
            encoded["availableBalance"] = f"{account.available:.2f}"
        encoded.update(
            status=account.status,
            branch=account.branch,
            openedOn=account.opened_on.isoformat(),
            holds=[_hold(hold) for hold in account.holds],
        )
        return encoded


@dataclass(frozen=True, slots=True)
class _Ticket:
    request_id: str
    party: SandboxParty | None
    ready_at: float  # event-loop time


class TicketBank(Bank):
    """A bank whose feedback comes later: a ticket now, the accounts when polled later.

    ``feedback_delay`` is measured on the event loop's clock, so a test with a virtual clock
    need not wait. A repeated ``requestId`` gets the same ticket (derived from it and the
    seed) and, while the bank remembers it, the same feedback time.
    """

    def __init__(
        self,
        institution_id: str,
        data: Dataset,
        faults: FaultPlan,
        *,
        feedback_delay: Delay,
        poll_after_seconds: int,
        states_local_currency: bool = True,
        reports_end_dates: bool = True,
        control_prefix: str = "BK",
        control_feedback_delay: Delay = NO_DELAY,
    ) -> None:
        super().__init__(
            institution_id,
            data,
            faults,
            states_local_currency=states_local_currency,
            reports_end_dates=reports_end_dates,
            control_prefix=control_prefix,
            control_feedback_delay=control_feedback_delay,
        )
        self._feedback_delay = feedback_delay
        self._poll_after = poll_after_seconds
        self._salt = f"{data.seed}:{institution_id}:"
        self._tickets: OrderedDict[str, _Ticket] = OrderedDict()
        self._delivered: OrderedDict[str, _Ticket] = OrderedDict()

    def routes(self) -> list[BaseRoute]:
        return [*super().routes(), Route(_PATH + "/{ticket}", self.poll, methods=["GET"])]

    async def poll(self, request: Request) -> Response:
        ticket = str(request.path_params["ticket"])
        return await respond(self._faults.decide(ticket), lambda: self._feedback(ticket))

    def _accept(self, inquiry: _Inquiry) -> Response:
        ticket = self._issue(inquiry)
        return JSONResponse(self._pending("ACCEPTED", inquiry.request_id, ticket), 202)

    def _issue(self, inquiry: _Inquiry) -> str:
        digest = hashlib.blake2b(
            (self._salt + inquiry.request_id).encode(), digest_size=10
        ).hexdigest()
        ticket = "T" + digest.upper()
        if ticket not in self._tickets and ticket not in self._delivered:
            # Keyed by the party, not the request: the same inquiry takes the same time in
            # every run, whatever ids the caller's requests carry.
            delay = self._feedback_delay.for_key(inquiry.id_number)
            ready_at = asyncio.get_running_loop().time() + delay
            party = self._data.get(inquiry.id_number)
            self._tickets[ticket] = _Ticket(inquiry.request_id, party, ready_at)
            if len(self._tickets) > REMEMBERED_TICKETS:
                self._tickets.popitem(last=False)
        return ticket

    def _feedback(self, ticket: str) -> Response:
        issued = self._tickets.get(ticket) or self._delivered.get(ticket)
        if issued is None:
            return _error(404, "TICKET_NOT_FOUND", "no inquiry with this ticket")
        if asyncio.get_running_loop().time() < issued.ready_at:
            return JSONResponse(self._pending("PROCESSING", issued.request_id, ticket))
        if self._tickets.pop(ticket, None) is not None:  # fetched: kept a while for a re-poll
            self._delivered[ticket] = issued
            if len(self._delivered) > REDELIVERABLE_TICKETS:
                self._delivered.popitem(last=False)
        return JSONResponse(self._completed(issued.request_id, issued.party))

    def _pending(self, state: str, request_id: str, ticket: str) -> dict[str, Any]:
        return {
            "requestId": request_id,
            "state": state,
            "ticket": ticket,
            "pollAfterSeconds": self._poll_after,
        }


def _read(body: bytes) -> _Inquiry | str:
    """The inquiry, or what is wrong with the request."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return "the request body is not valid JSON"
    if not isinstance(payload, dict):
        return "the request body must be a JSON object"
    subject = payload.get("subject")
    if not isinstance(subject, dict):
        return "subject is missing"
    fields = {
        "requestId": payload.get("requestId"),
        "caseNo": payload.get("caseNo"),
        "subject.name": subject.get("name"),
        "subject.idType": subject.get("idType"),
        "subject.idNo": subject.get("idNo"),
    }
    missing = [
        key for key, value in fields.items() if not (isinstance(value, str) and value.strip())
    ]
    if missing:
        return f"missing or empty: {', '.join(missing)}"
    if fields["subject.idType"] not in _ID_TYPES:
        return "subject.idType must be RESIDENT_ID or USCC"
    return _Inquiry(str(fields["requestId"]).strip(), str(fields["subject.idNo"]).strip())


def _read_control(body: bytes) -> ActionRequest | str:
    """The control action, or what is wrong with the request."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return "the request body is not valid JSON"
    if not isinstance(payload, dict):
        return "the request body must be a JSON object"
    subject = payload.get("subject")
    if not isinstance(subject, dict):
        return "subject is missing"
    required = {
        "idempotencyKey": payload.get("idempotencyKey"),
        "operation": payload.get("operation"),
        "caseNo": payload.get("caseNo"),
        "accountNo": payload.get("accountNo"),
        "subject.name": subject.get("name"),
        "subject.idType": subject.get("idType"),
        "subject.idNo": subject.get("idNo"),
    }
    missing = [key for key, value in required.items() if not _filled(value)]
    if missing:
        return f"missing or empty: {', '.join(missing)}"
    optional = ("court", "officer", "document", "targetControlId", "currency", "amount", "endDate")
    wrong = [key for key in optional if not isinstance(payload.get(key), str | None)]
    if wrong:
        return f"not a string: {', '.join(wrong)}"
    operation = _OPERATIONS.get(str(required["operation"]).strip())
    if operation is None:
        return "operation must be FREEZE, DEDUCT, CONTINUE_FREEZE or UNFREEZE"
    if required["subject.idType"] not in _ID_TYPES:
        return "subject.idType must be RESIDENT_ID or USCC"
    amount = _amount(payload.get("amount"))
    if isinstance(amount, str):
        return amount
    ends_on: date | None = None
    if payload.get("endDate"):
        try:
            ends_on = datetime.strptime(payload["endDate"], "%Y-%m-%d").date()  # noqa: DTZ007
        except ValueError:
            return "endDate must be a date YYYY-MM-DD"
    return ActionRequest(
        key=str(required["idempotencyKey"]).strip(),
        act=operation,
        court=_text(payload.get("court")),
        case_number=str(required["caseNo"]).strip(),
        document=_text(payload.get("document")),
        subject_id=str(required["subject.idNo"]).strip().upper(),
        asset=str(required["accountNo"]).strip(),
        amount=amount,
        currency=_text(payload.get("currency")).upper() or None,
        target=_text(payload.get("targetControlId")) or None,
        ends_on=ends_on,
    )


def _filled(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _amount(value: object) -> Decimal | str | None:
    """A decimal-string amount with at most two decimals, or what is wrong with it."""
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return "amount must be a decimal string such as 1234.50"
    exponent = amount.as_tuple().exponent
    if not amount.is_finite() or (isinstance(exponent, int) and exponent < -2):
        return "amount must be a decimal string with at most two decimals"
    return amount


def _account_finder(
    data: Dataset, institution_id: str
) -> Callable[[str], tuple[Asset, tuple[Control, ...]] | None]:
    """Finds an account at this bank by number, with the holds other courts put on it."""
    index: dict[str, tuple[BankAccount, str]] | None = None

    def find(number: str) -> tuple[Asset, tuple[Control, ...]] | None:
        nonlocal index
        if index is None:
            index = {
                account.account_number: (account, party.id_number)
                for party in data
                for account in party.accounts_at(institution_id)
            }
        found = index.get(number)
        if found is None:
            return None
        account, owner = found
        asset = Asset(
            identifier=number,
            owners=frozenset({owner}),
            balance=account.balance,
            currency=account.currency,
            closed=account.status == "CLOSED",
        )
        return asset, account.holds

    return find


def _error(status: int, code: str, message: str) -> Response:
    return JSONResponse({"errorCode": code, "errorMessage": message}, status)


def _hold(hold: Control) -> dict[str, Any]:
    return {
        "type": "WAITING_FREEZE" if hold.waiting else "FREEZE",
        "authority": hold.authority,
        "caseNo": hold.case_number,
        "amount": f"{hold.amount:.2f}" if hold.amount is not None else None,
        "from": hold.start.isoformat(),
        "to": hold.end.isoformat() if hold.end is not None else None,
        "queue": hold.position,
    }
