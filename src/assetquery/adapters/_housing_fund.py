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
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import httpx

from .._errors import (
    MalformedResponse,
)
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
from ._base import Adapter, InquiryAnswer, InquiryRequest, Operation, ResultCodes
from ._wire import JsonFields, json_body

__all__ = ["HousingFundAdapter"]

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


class HousingFundAdapter(Adapter):
    name: ClassVar[str] = "housing_fund"
    capabilities = frozenset({Operation.INQUIRY})
    asset_kinds = frozenset({AssetKind.HOUSING_FUND.value})
    party_kinds = frozenset({PartyKind.PERSON})

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
        _CODES.check(code, body.opt_text("msg"), self.institution.name)
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
        return InquiryAnswer.found(
            tuple(self._account(a, provenance) for a in accounts), reference=reference
        )

    def _account(self, account: JsonFields, provenance: Provenance) -> AssetRecord:
        balance = account.fen("zhye")
        frozen = account.opt_fen("djje") or Money(0)
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
            available=max(balance - frozen, Money(0)),
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
        return shanghai_datetime(datetime.strptime(text, "%Y-%m-%d %H:%M:%S"))  # noqa: DTZ007
    except ValueError:
        raise MalformedResponse(
            "field $.cxsj is not a time (YYYY-MM-DD HH:MM:SS)", code="unexpected_shape"
        ) from None
