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

Control actions (冻结, 扣划, 续冻, 解冻), ``POST {controls_path}`` (option ``controls_path``,
default ``/api/judicial/v2/controls``)::

    {"idempotencyKey": ..., "operation": "FREEZE" | "DEDUCT" | "CONTINUE_FREEZE" | "UNFREEZE",
     "caseNo": ..., "court": ..., "officer": ..., "document": assistance notice number,
     "subject": {"name": ..., "idType": ..., "idNo": ...}, "accountNo": ...,
     "amount": "1234.50" or null, "currency": "CNY" (with an amount),
     "targetControlId": the bank's id of the freeze acted on, or null,
     "endDate": "YYYY-MM-DD" requested end, or null}

HTTP 200 answers with the control (or operation) as the bank holds it::

    {"controlId": ..., "idempotencyKey": ..., "operation": ...,
     "state": "ACCEPTED" | "EFFECTIVE" | "WAITING" | "REJECTED" | "RELEASED" | "LAPSED",
     "effectiveDate": ..., "endDate": ..., "amount": amount frozen (or deducted),
     "currency": ..., "queue": waiting-line position, "message": ...}

``REJECTED`` is the bank's refusal (no document, unknown account, ...), with its reason in
``message``. A renewal, deduction or release has its own ``controlId`` and is ``EFFECTIVE``
once done; a renewal's ``endDate`` is the freeze's new end. Some banks leave ``endDate`` out.
HTTP 409 ``{"errorCode": "IDEMPOTENCY_CONFLICT"}``: the key was used for a different request.

Status, ``GET {controls_path}?idempotencyKey=...``: the same object, or HTTP 404
``{"errorCode": "NOT_FOUND"}`` when the bank never received the key.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from .._errors import (
    InstitutionFailure,
    InstitutionRejected,
    MalformedResponse,
)
from .._identifiers import safe_code, scrub
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
from ._base import (
    Adapter,
    ControlRequest,
    ControlState,
    ControlStatus,
    InquiryAnswer,
    InquiryRequest,
    Operation,
    check_same_action,
    check_status,
    idempotency_conflict,
)
from ._wire import JsonFields, json_body

__all__ = ["BankAdapter"]

_NOTHING = Decimal(0)  # what a fully held account leaves free

_ID_TYPE = {PartyKind.PERSON: "RESIDENT_ID", PartyKind.ORGANIZATION: "USCC"}
_STATUS = {
    "NORMAL": AssetStatus.ACTIVE,
    "FROZEN": AssetStatus.ACTIVE,
    "DORMANT": AssetStatus.DORMANT,
    "CLOSED": AssetStatus.CLOSED,
}
_HOLD_KINDS = {"FREEZE": False, "WAITING_FREEZE": True}
_OPERATIONS = {
    Operation.FREEZE: "FREEZE",
    Operation.DEDUCT: "DEDUCT",
    Operation.RENEW: "CONTINUE_FREEZE",
    Operation.RELEASE: "UNFREEZE",
}
_CONTROL_STATES = {
    "ACCEPTED": ControlState.RECEIVED,
    "EFFECTIVE": ControlState.EFFECTIVE,
    "WAITING": ControlState.WAITING,
    "REJECTED": ControlState.REJECTED,
    "RELEASED": ControlState.RELEASED,
    "LAPSED": ControlState.LAPSED,
}
#: the HTTP statuses of the control interface that carry an answer to read, not an error
_CONFLICT = frozenset({409})
_READABLE = frozenset({404, 409})


class BankAdapter(Adapter):
    name: ClassVar[str] = "bank"
    capabilities = frozenset(
        {
            Operation.INQUIRY,
            Operation.FREEZE,
            Operation.DEDUCT,
            Operation.RENEW,
            Operation.RELEASE,
            Operation.STATUS,
        }
    )
    asset_kinds = frozenset({AssetKind.BANK_ACCOUNT.value})

    @property
    def _path(self) -> str:
        return str(self.institution.options.get("path", "/api/judicial/v2/inquiries"))

    @property
    def _controls_path(self) -> str:
        return str(self.institution.options.get("controls_path", "/api/judicial/v2/controls"))

    async def submit(self, client: httpx.AsyncClient, request: ControlRequest) -> ControlStatus:
        operation = _OPERATIONS.get(request.operation)
        if operation is None:
            return await super().submit(client, request)  # refuses: not offered here
        if request.asset_kind not in self.asset_kinds:
            raise InstitutionRejected(
                f"{self.institution.name} holds no {request.asset_kind} assets for this adapter "
                "to act on",
                code="unsupported_operation",
            )
        payload: dict[str, Any] = {
            "idempotencyKey": request.idempotency_key,
            "operation": operation,
            "caseNo": request.case.number,
            "court": request.case.court or "",
            "officer": request.case.operator,
            "document": request.case.enforcement_document or "",
            "subject": {
                "name": request.party.name,
                "idType": _ID_TYPE[request.party.kind],
                "idNo": request.party.id_number,
            },
            "accountNo": request.asset_identifier,
            "amount": None,
            "targetControlId": request.target,
            "endDate": request.ends_on.isoformat() if request.ends_on else None,
        }
        if request.amount is not None:
            payload["amount"] = f"{request.amount.amount:.2f}"
            payload["currency"] = request.amount.currency
        # 409 (key used for another request) is read; a 404 only a status query may answer.
        response = await self.send(
            client, "POST", self._controls_path, json=payload, readable=_CONFLICT
        )
        return self._control(response, request)

    async def control_status(
        self, client: httpx.AsyncClient, request: ControlRequest
    ) -> ControlStatus:
        response = await self.send(
            client,
            "GET",
            self._controls_path,
            params={"idempotencyKey": request.idempotency_key},
            readable=_READABLE,
        )
        if response.status_code == 404:
            if _error_code(response) != "NOT_FOUND":
                check_status(response, self.institution.name)  # not the bank's "no such key"
            return ControlStatus(ControlState.UNKNOWN)
        return self._control(response, request)

    def _control(self, response: httpx.Response, request: ControlRequest) -> ControlStatus:
        name = self.institution.name
        if response.status_code == 409:
            reported = safe_code(_error_code(response) or "", "HTTP 409")
            raise idempotency_conflict(name, reported)
        body = JsonFields(json_body(response, name))
        check_same_action(body.opt_text("idempotencyKey"), request, name, "$.idempotencyKey")
        state = _CONTROL_STATES.get(body.text("state"))
        if state is None:
            raise MalformedResponse(
                f"{self.institution.name} answered an unknown control state",
                code="unexpected_shape",
            )
        currency = body.currency("currency")
        return ControlStatus(
            state=state,
            reference=(
                body.opt_text("controlId")
                if state is ControlState.REJECTED
                else body.text("controlId")
            ),
            effective_on=body.opt_day("effectiveDate"),
            ends_on=body.opt_day("endDate"),
            amount=body.opt_money("amount", currency),
            waiting_position=body.opt_position("queue"),
            message=_said(body.opt_text("message"), request),
        )

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
        return self._answer(response, hide=(request.party.name,))

    async def poll(
        self, client: httpx.AsyncClient, ticket: str, request: InquiryRequest
    ) -> InquiryAnswer:
        response = await self.send(client, "GET", f"{self._path}/{quote(ticket, safe='')}")
        return self._answer(response, ticket=ticket, hide=(request.party.name,))

    def _answer(
        self, response: httpx.Response, ticket: str | None = None, hide: tuple[str, ...] = ()
    ) -> InquiryAnswer:
        body = JsonFields(json_body(response, self.institution.name))
        state = body.text("state")
        if state in ("ACCEPTED", "PROCESSING"):
            poll_after = body.opt_integer("pollAfterSeconds")
            if poll_after is not None:
                # A negative wait would poll in a tight loop; a huge one overflows: keep to a day.
                poll_after = min(max(poll_after, 0), 86400)
            return InquiryAnswer.pending(
                ticket or body.text("ticket"),
                poll_after=float(poll_after) if poll_after is not None else None,
            )
        if state == "FAILED":
            code = safe_code(body.opt_text("errorCode") or "unknown")
            message = scrub(body.opt_text("errorMessage") or "no reason given", hide=hide)
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
        balance = account.money("balance", currency, negative=True)  # an overdrawn account
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
        if account.raw("availableBalance") == account.raw("balance") and balance.amount >= 0:
            available: Money | None = balance  # nothing held: the same amount, made once
        else:
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


def _error_code(response: httpx.Response) -> str | None:
    """The ``errorCode`` of an error answer, if it has one."""
    try:
        return JsonFields(json_body(response)).opt_text("errorCode")
    except MalformedResponse:
        return None


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
        return Money.of(_NOTHING, balance.currency)
    held = sum((e.amount.amount for e in in_force if e.amount is not None), _NOTHING)
    return Money.of(max(balance.amount - held, _NOTHING), balance.currency)


def _said(text: str | None, request: ControlRequest) -> str | None:
    """The institution's own words about an action, scrubbed of personal data."""
    return scrub(text, hide=(request.party.name,)) if text else None
