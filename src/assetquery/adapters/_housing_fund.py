"""The housing provident fund centre (住房公积金管理中心): JSON with amounts in fen.

Request, ``POST {path}`` (default ``/gjj/api/v1/sfcx``)::

    {"ywlsh": request id, "ah": case number, "fymc": court, "cbr": operator,
     "xm": name, "zjhm": resident ID}

Answer::

    {"code": "0000", "msg": "...", "ywlsh": "...", "cxsj": "YYYY-MM-DD HH:MM:SS",
     "data": {"zhxx": [
        {"grzh": fund account, "xm": name, "zjhm": ID,
         "zhye": balance in fen, "djje": frozen amount in fen,
         "zhzt": "01" normal | "02" sealed (封存, no contributions) | "03" closed | "04" frozen,
         "dwmc": employer, "gjjzxmc": centre, "khrq": opened "YYYY-MM-DD",
         "djxx": [{"djjg": authority, "ah": case, "djje": fen, "qsrq": from, "jsrq": to,
                   "lhsx": waiting-line position or null}]}]}}

Result codes: 0000 found, 0001 no account, 1001 bad request, 1002 credentials, 9001 busy
(retryable); anything else is the centre's own failure. Only persons hold fund accounts.

Control actions (冻结, 扣划, 续冻, 解冻), ``POST {control_path}`` (default
``/gjj/api/v1/sfkz``)::

    {"ywlsh": idempotency key, "czlx": "DJ" freeze | "KH" deduct | "XD" renew | "JD" release,
     "ah": case number, "fymc": court, "cbr": operator, "wsh": assistance notice number,
     "xm": name, "zjhm": resident ID, "grzh": fund account, "je": amount in fen or null,
     "tqtj": withdrawal condition (needed to deduct) or null,
     "ydjbh": the centre's id of the freeze acted on, or null,
     "jsrq": requested end "YYYY-MM-DD" or null}

Answer::

    {"code": "0000", "msg": ..., "ywlsh": ..., "cxsj": ...,
     "data": {"djbh": the centre's id of the control or operation, "czlx": ...,
              "zt": "01" received | "02" effective | "03" waiting | "04" released
                    | "05" lapsed | "09" refused,
              "sxrq": effective date, "jsrq": end date, "je": fen frozen (or deducted),
              "lhsx": waiting-line position, "sm": message, the reason of a refusal}}

A renewal, deduction or release has its own ``djbh`` and is ``02`` once done; a renewal's
``jsrq`` is the freeze's new end. Status, ``POST {control_path}/cx`` with ``{"ywlsh": key}``:
the same answer, or code 0001 when the centre never received the key. Code 1009 (with HTTP
409): the key was used for a different request.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import httpx

from .._errors import (
    InstitutionRejected,
    MalformedResponse,
)
from .._identifiers import scrub
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
from .._time import shanghai_datetime
from ._base import (
    Adapter,
    ControlRequest,
    ControlState,
    ControlStatus,
    InquiryAnswer,
    InquiryRequest,
    Operation,
    ResultCodes,
    check_same_action,
    idempotency_conflict,
)
from ._wire import JsonFields, json_body

__all__ = ["HousingFundAdapter"]

#: no money: what a freeze beyond the balance leaves (Money is immutable: one is shared)
_NO_MONEY = Money(0)

_STATUS = {
    "01": AssetStatus.ACTIVE,
    "02": AssetStatus.DORMANT,
    "03": AssetStatus.CLOSED,
    "04": AssetStatus.ACTIVE,  # frozen: still an active account, the freeze is an encumbrance
}
_CODES = ResultCodes(
    prefix="fund",
    answered=frozenset({"0000", "0001"}),
    rejected={"1001": "bad request", "1002": "credentials refused"},
    busy=frozenset({"9001"}),
)
_CONTROL_CODES = ResultCodes(
    prefix="fund",
    answered=frozenset({"0000"}),
    rejected={"1001": "bad request", "1002": "credentials refused"},
    busy=frozenset({"9001"}),
)
_NO_SUCH_ACTION = "0001"
_CONFLICT = "1009"
_OPERATIONS = {
    Operation.FREEZE: "DJ",
    Operation.DEDUCT: "KH",
    Operation.RENEW: "XD",
    Operation.RELEASE: "JD",
}
_CONTROL_STATES = {
    "01": ControlState.RECEIVED,
    "02": ControlState.EFFECTIVE,
    "03": ControlState.WAITING,
    "04": ControlState.RELEASED,
    "05": ControlState.LAPSED,
    "09": ControlState.REJECTED,
}


class HousingFundAdapter(Adapter):
    name: ClassVar[str] = "housing_fund"
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
    asset_kinds = frozenset({AssetKind.HOUSING_FUND.value})
    party_kinds = frozenset({PartyKind.PERSON})

    @property
    def _control_path(self) -> str:
        return str(self.institution.options.get("control_path", "/gjj/api/v1/sfkz"))

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
        amount = request.amount
        if amount is not None and amount.currency != "CNY":
            raise InstitutionRejected(
                f"{self.institution.name} takes amounts in CNY fen only; nothing was sent",
                code="invalid_request",
            )
        payload: dict[str, Any] = {
            "ywlsh": request.idempotency_key,
            "czlx": operation,
            "ah": request.case.number,
            "fymc": request.case.court or "",
            "cbr": request.case.operator,
            "wsh": request.case.enforcement_document or "",
            "xm": request.party.name,
            "zjhm": request.party.id_number,
            "grzh": request.asset_identifier,
            "je": amount.fen if amount is not None else None,
            "tqtj": request.withdrawal_condition,
            "ydjbh": request.target,
            "jsrq": request.ends_on.isoformat() if request.ends_on else None,
        }
        return await self._exchange(client, self._control_path, payload, request, lookup=False)

    async def control_status(
        self, client: httpx.AsyncClient, request: ControlRequest
    ) -> ControlStatus:
        path = self._control_path.rstrip("/") + "/cx"
        payload = {"ywlsh": request.idempotency_key}
        return await self._exchange(client, path, payload, request, lookup=True)

    async def _exchange(
        self,
        client: httpx.AsyncClient,
        path: str,
        payload: dict[str, Any],
        request: ControlRequest,
        *,
        lookup: bool,
    ) -> ControlStatus:
        name = self.institution.name
        try:
            response = await self.send(client, "POST", path, json=payload)
        except InstitutionRejected as exc:
            if exc.code == "http_409":
                raise idempotency_conflict(name) from None
            raise
        body = JsonFields(json_body(response, name))
        code = body.text("code")
        said = body.opt_text("msg")
        if lookup and code == _NO_SUCH_ACTION:
            return ControlStatus(ControlState.UNKNOWN)
        if code == _CONFLICT:
            raise idempotency_conflict(name)
        _CONTROL_CODES.check(
            code, said, name, subject="control request", hide=(request.party.name,)
        )
        check_same_action(body.opt_text("ywlsh"), request, name, "$.ywlsh")
        data = body.child("data")
        state = _CONTROL_STATES.get(data.text("zt"))
        if state is None:
            raise MalformedResponse(
                f"field {data.path}.zt is not a known control state", code="unexpected_shape"
            )
        return ControlStatus(
            state=state,
            reference=data.opt_text("djbh")
            if state is ControlState.REJECTED
            else data.text("djbh"),
            effective_on=data.opt_day("sxrq"),
            ends_on=data.opt_day("jsrq"),
            amount=data.opt_fen("je"),
            waiting_position=data.opt_position("lhsx"),
            message=_said(data.opt_text("sm"), request),
        )

    async def inquire(self, client: httpx.AsyncClient, request: InquiryRequest) -> InquiryAnswer:
        path = str(self.institution.options.get("path", "/gjj/api/v1/sfcx"))
        payload = {
            "ywlsh": request.request_id,
            "ah": request.case.number,
            "fymc": request.case.court or "",
            "cbr": request.case.operator,
            "xm": request.party.name,
            "zjhm": request.party.id_number,
        }
        response = await self.send(client, "POST", path, json=payload)
        body = JsonFields(json_body(response, self.institution.name))
        code = body.text("code")
        _CODES.check(code, body.opt_text("msg"), self.institution.name, hide=(request.party.name,))
        reference = body.opt_text("ywlsh")
        if code == "0001":
            return InquiryAnswer.not_found(reference=reference)
        provenance = Provenance(
            institution=self.institution.id,
            adapter=self.name,
            reference=reference,
            received_at=_query_time(body),
        )
        accounts = body.child("data").items("zhxx")
        return InquiryAnswer.found(self._accounts(accounts, provenance), reference=reference)

    def _accounts(
        self, accounts: list[JsonFields], provenance: Provenance
    ) -> tuple[AssetRecord, ...]:
        # Apart from inquire(): a generator there would hold its variables for the whole
        # exchange, answer awaited included.
        return tuple(self._account(a, provenance) for a in accounts)

    def _account(self, account: JsonFields, provenance: Provenance) -> AssetRecord:
        balance = account.fen("zhye")
        frozen = account.opt_fen("djje")
        status_code = account.text("zhzt")
        status = _STATUS.get(status_code, AssetStatus.UNKNOWN)
        details = {
            "employer": account.opt_text("dwmc"),
            "centre": account.opt_text("gjjzxmc"),
            "opened_on": d.isoformat() if (d := account.opt_day("khrq")) else None,
            "status_code": status_code,
        }
        return AssetRecord(
            kind=AssetKind.HOUSING_FUND,
            institution=self.institution.id,
            identifier=account.text("grzh"),
            identifier_type="fund_account",
            owner=Owner(name=account.text("xm"), id_number=account.opt_text("zjhm")),
            value=balance,
            # Nothing frozen leaves the whole balance (never negative: fen are 0 or more).
            available=balance if frozen is None else max(balance - frozen, _NO_MONEY),
            encumbrances=tuple(
                Encumbrance(
                    kind=EncumbranceKind.FREEZE,
                    authority=hold.opt_text("djjg"),
                    case_number=hold.opt_text("ah"),
                    amount=hold.opt_fen("djje"),
                    start=hold.opt_day("qsrq"),
                    end=hold.opt_day("jsrq"),
                    waiting=(position := hold.opt_position("lhsx")) is not None,
                    position=position,
                )
                for hold in account.items("djxx", optional=True)
            ),
            status=status,
            as_of=provenance.received_at,
            details={k: v for k, v in details.items() if v},
            provenance=provenance,
        )


def _query_time(body: JsonFields) -> datetime:
    text = body.text("cxsj")
    try:
        if len(text) != 19 or text[10] != " ":
            raise ValueError(text)
        return shanghai_datetime(datetime.fromisoformat(text))
    except (ValueError, OverflowError):
        raise MalformedResponse(
            "field $.cxsj is not a time (YYYY-MM-DD HH:MM:SS)", code="unexpected_shape"
        ) from None


def _said(text: str | None, request: ControlRequest) -> str | None:
    """The institution's own words about an action, scrubbed of personal data."""
    return scrub(text, hide=(request.party.name,)) if text else None
