"""The simulated banks' judicial inquiry interface: JSON, amounts as decimal strings.

``POST /api/judicial/v2/inquiries`` as the ``bank`` adapter's module documents. A
:class:`Bank` answers at once (HTTP 200, ``COMPLETED``); a :class:`TicketBank` hands out a
ticket (HTTP 202, ``ACCEPTED``) and answers ``GET /api/judicial/v2/inquiries/{ticket}`` with
``PROCESSING`` until its feedback delay has passed. An unreadable request gets HTTP 400.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ._data import BankAccount, Control, Dataset, SandboxParty
from ._faults import FaultPlan
from ._http import respond, shanghai_now

__all__ = ["Bank", "TicketBank"]

_PATH = "/api/judicial/v2/inquiries"
_ID_TYPES = {"RESIDENT_ID", "USCC"}

#: Tickets a ticket bank remembers: a batch of 100,000 lookups fits, memory stays bounded.
REMEMBERED_TICKETS = 200_000


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
    ) -> None:
        self.institution_id = institution_id
        self._data = data
        self._faults = faults
        self._states_local_currency = states_local_currency

    def routes(self) -> list[BaseRoute]:
        return [Route(_PATH, self.inquire, methods=["POST"])]

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
        feedback_delay: float,
        poll_after_seconds: int,
        states_local_currency: bool = True,
    ) -> None:
        super().__init__(institution_id, data, faults, states_local_currency=states_local_currency)
        self._feedback_delay = feedback_delay
        self._poll_after = poll_after_seconds
        self._salt = f"{data.seed}:{institution_id}:"
        self._tickets: OrderedDict[str, _Ticket] = OrderedDict()

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
        if ticket not in self._tickets:
            ready_at = asyncio.get_running_loop().time() + self._feedback_delay
            party = self._data.get(inquiry.id_number)
            self._tickets[ticket] = _Ticket(inquiry.request_id, party, ready_at)
            if len(self._tickets) > REMEMBERED_TICKETS:
                self._tickets.popitem(last=False)
        return ticket

    def _feedback(self, ticket: str) -> Response:
        issued = self._tickets.get(ticket)
        if issued is None:
            return _error(404, "TICKET_NOT_FOUND", "no inquiry with this ticket")
        if asyncio.get_running_loop().time() < issued.ready_at:
            return JSONResponse(self._pending("PROCESSING", issued.request_id, ticket))
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
