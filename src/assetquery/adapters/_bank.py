"""Banks' judicial inquiry interface: JSON, amounts as decimal strings, answers now or later.

One adapter serves every bank; each bank is an institution in the configuration.

Request, ``POST {path}`` (default ``/api/judicial/v2/inquiries``)::

    {"requestId": ..., "caseNo": ..., "court": ..., "officer": ...,
     "subject": {"name": ..., "idType": "RESIDENT_ID" | "USCC", "idNo": ...}}

A bank answers at once (HTTP 200, ``"state": "COMPLETED"``) or hands out a ticket (HTTP 202,
``"state": "ACCEPTED", "ticket": ..., "pollAfterSeconds": n``) to be fetched later with
``GET {path}/{ticket}``, which answers ``PROCESSING`` until the feedback is ready. A repeated
``requestId`` gets the same ticket back. A completed answer::

    {"requestId": ..., "state": "COMPLETED", "completedAt": ISO 8601 with offset,
     "accounts": [{"accountNo": ..., "accountName": ..., "accountType": ..., "currency": "CNY",
                   "balance": "1234.56", "availableBalance": "234.56",
                   "status": "NORMAL" | "DORMANT" | "CLOSED", "branch": ..., "openedOn": ...,
                   "holds": [{"type": "FREEZE" | "WAITING_FREEZE", "authority": ...,
                              "caseNo": ..., "amount": "1000.00", "from": ..., "to": ...,
                              "queue": waiting-line position or null}]}]}

``"state": "FAILED"`` carries ``errorCode`` and ``errorMessage``. An empty account list means
the party holds nothing at the bank.
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar
from urllib.parse import quote

import httpx

from .._errors import InstitutionFailure, MalformedResponse
from .._models import (
    AssetKind,
    AssetRecord,
    AssetStatus,
    Encumbrance,
    EncumbranceKind,
    Owner,
    PartyKind,
    Provenance,
)
from .._money import Money
from ._base import Adapter, InquiryAnswer, InquiryRequest, Operation
from ._wire import JsonFields, json_body

__all__ = ["BankAdapter"]

_ID_TYPE = {PartyKind.PERSON: "RESIDENT_ID", PartyKind.ORGANIZATION: "USCC"}
_STATUS = {
    "NORMAL": AssetStatus.ACTIVE,
    "FROZEN": AssetStatus.ACTIVE,
    "DORMANT": AssetStatus.DORMANT,
    "CLOSED": AssetStatus.CLOSED,
}
_HOLD_KINDS = {"FREEZE": False, "WAITING_FREEZE": True}


class BankAdapter(Adapter):
    name: ClassVar[str] = "bank"
    capabilities = frozenset({Operation.INQUIRY})
    asset_kinds = frozenset({AssetKind.BANK_ACCOUNT.value})

    @property
    def _path(self) -> str:
        return str(self.institution.options.get("path", "/api/judicial/v2/inquiries"))

    async def inquire(self, client: httpx.AsyncClient, request: InquiryRequest) -> InquiryAnswer:
        payload = {
            "requestId": request.request_id,
            "caseNo": request.case.number,
            "court": request.case.court or "",
            "officer": request.case.operator,
            "subject": {
                "name": request.party.name,
                "idType": _ID_TYPE[request.party.kind],
                "idNo": request.party.id_number,
            },
        }
        response = await self.send(client, "POST", self._path, json=payload)
        return self._answer(response)

    async def poll(
        self, client: httpx.AsyncClient, ticket: str, request: InquiryRequest
    ) -> InquiryAnswer:
        response = await self.send(client, "GET", f"{self._path}/{quote(ticket, safe='')}")
        return self._answer(response, ticket=ticket)

    def _answer(self, response: httpx.Response, ticket: str | None = None) -> InquiryAnswer:
        body = JsonFields(json_body(response, self.institution.name))
        state = body.text("state")
        if state in ("ACCEPTED", "PROCESSING"):
            poll_after = body.opt_integer("pollAfterSeconds")
            return InquiryAnswer.pending(
                ticket or body.text("ticket"),
                poll_after=float(poll_after) if poll_after is not None else None,
            )
        if state == "FAILED":
            code = body.opt_text("errorCode") or "unknown"
            message = body.opt_text("errorMessage") or "no reason given"
            raise InstitutionFailure(
                f"{self.institution.name} could not complete the inquiry: {message}",
                code=f"bank_{code}",
            )
        if state != "COMPLETED":
            raise MalformedResponse(
                f"{self.institution.name} answered an unknown state", code="unexpected_shape"
            )
        reference = body.opt_text("requestId")
        provenance = Provenance(
            institution=self.institution.id,
            adapter=self.name,
            reference=ticket or reference,
            received_at=body.timestamp("completedAt"),
        )
        accounts = body.items("accounts")
        return InquiryAnswer.found(
            tuple(self._account(a, provenance) for a in accounts), reference=reference
        )

    def _account(self, account: JsonFields, provenance: Provenance) -> AssetRecord:
        currency = account.currency("currency")
        balance = account.money("balance", currency)
        holds = [(hold, _hold_kind(hold)) for hold in account.items("holds", optional=True)]
        encumbrances = tuple(
            Encumbrance(
                kind=EncumbranceKind.FREEZE,
                authority=hold.opt_text("authority"),
                case_number=hold.opt_text("caseNo"),
                amount=hold.opt_money("amount", currency),
                start=hold.opt_day("from"),
                end=hold.opt_day("to"),
                waiting=waiting,
                position=hold.opt_position("queue") if waiting else None,
            )
            for hold, waiting in holds
        )
        available = account.opt_money("availableBalance", currency)
        if available is None:
            available = _free_after(balance, encumbrances)
        raw_status = account.text("status")
        details = {
            "account_type": account.opt_text("accountType"),
            "branch": account.opt_text("branch"),
            "opened_on": d.isoformat() if (d := account.opt_day("openedOn")) else None,
            "bank_status": raw_status,
            "bank": str(self.institution.options.get("bank_name", self.institution.name)),
        }
        return AssetRecord(
            kind=AssetKind.BANK_ACCOUNT,
            institution=self.institution.id,
            identifier=account.text("accountNo"),
            identifier_type="account_number",
            owner=Owner(name=account.text("accountName")),
            value=balance,
            available=available,
            encumbrances=encumbrances,
            status=_STATUS.get(raw_status, AssetStatus.UNKNOWN),
            as_of=provenance.received_at,
            details={k: v for k, v in details.items() if v},
            provenance=provenance,
        )


def _hold_kind(hold: JsonFields) -> bool:
    """True for a waiting-line freeze. Unknown hold types are a shape error, not a guess."""
    kind = hold.text("type")
    if kind not in _HOLD_KINDS:
        raise MalformedResponse(
            f"field {hold.path}.type is not FREEZE or WAITING_FREEZE", code="unexpected_shape"
        )
    return _HOLD_KINDS[kind]


def _free_after(balance: Money, encumbrances: tuple[Encumbrance, ...]) -> Money:
    """What the bank did not say: the balance less every freeze in force, never below 0.

    A freeze in force without an amount blocks the whole account, so nothing is free.
    """
    in_force = [e for e in encumbrances if not e.waiting]
    if any(e.amount is None for e in in_force):
        return Money(0, balance.currency)
    held = sum((e.amount.amount for e in in_force if e.amount is not None), Decimal(0))
    return Money(max(balance.amount - held, Decimal(0)), balance.currency)
