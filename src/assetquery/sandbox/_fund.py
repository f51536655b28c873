"""The simulated housing provident fund centre: JSON with amounts in fen.

``POST /gjj/api/v1/sfcx`` answers code 0000 (accounts), 0001 (no account), 1001 (request
unreadable or incomplete) or 9001 (busy), as the ``housing_fund`` adapter's module documents.
Only persons hold fund accounts.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ._data import Control, Dataset, FundAccount, SandboxParty
from ._faults import FaultPlan
from ._http import respond, shanghai_now

__all__ = ["FundCentre"]

_REQUIRED = ("ywlsh", "ah", "xm", "zjhm")

_FOUND = ("0000", "查询成功")
_NOTHING = ("0001", "未查询到该人员的住房公积金账户")
_BAD_REQUEST = "1001"
_BUSY = ("9001", "系统繁忙，请稍后重试")


class FundCentre:
    """The fund centre's inquiry service over one dataset."""

    def __init__(self, data: Dataset, faults: FaultPlan) -> None:
        self._data = data
        self._faults = faults

    def routes(self) -> list[BaseRoute]:
        return [Route("/gjj/api/v1/sfcx", self.query, methods=["POST"])]

    async def query(self, request: Request) -> Response:
        try:
            payload = json.loads(await request.body())
        except (ValueError, RecursionError):
            return _answer("", _BAD_REQUEST, "请求不是有效的 JSON")
        if not isinstance(payload, dict):
            return _answer("", _BAD_REQUEST, "请求应为 JSON 对象")
        fields = {key: _text(payload.get(key)) for key in _REQUIRED}
        ywlsh = fields["ywlsh"]
        missing = [key for key, value in fields.items() if not value]
        if missing:
            return _answer(ywlsh, _BAD_REQUEST, f"必填项缺失：{'、'.join(missing)}")
        zjhm = fields["zjhm"]
        return await respond(
            self._faults.decide(ywlsh),
            lambda: self._found(ywlsh, zjhm),
            busy=lambda: _answer(ywlsh, *_BUSY),
        )

    def _found(self, ywlsh: str, id_number: str) -> Response:
        party = self._data.get(id_number)
        if party is None or not party.fund_accounts:
            return _answer(ywlsh, *_NOTHING)
        accounts = [_account(account, party) for account in party.fund_accounts]
        return _answer(ywlsh, *_FOUND, accounts=accounts)


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _answer(
    ywlsh: str, code: str, message: str, *, accounts: list[dict[str, Any]] | None = None
) -> Response:
    return JSONResponse(
        {
            "code": code,
            "msg": message,
            "ywlsh": ywlsh,
            "cxsj": f"{shanghai_now():%Y-%m-%d %H:%M:%S}",
            "data": {"zhxx": accounts or []},
        }
    )


def _fen(amount: Decimal) -> int:
    return int(amount.scaleb(2))


def _account(account: FundAccount, holder: SandboxParty) -> dict[str, Any]:
    encoded: dict[str, Any] = {
        "grzh": account.account_number,
        "xm": holder.name,
        "zjhm": holder.id_number,
        "zhye": _fen(account.balance),
        "djje": _fen(account.frozen),
        "zhzt": account.status,
        "dwmc": account.employer or "",
        "gjjzxmc": account.centre,
        "khrq": account.opened_on.isoformat(),
    }
    if account.holds:  # the centre leaves the list out when there is nothing on it
        encoded["djxx"] = [_hold(hold) for hold in account.holds]
    return encoded


def _hold(hold: Control) -> dict[str, Any]:
    return {
        "djjg": hold.authority,
        "ah": hold.case_number,
        "djje": _fen(hold.amount) if hold.amount is not None else None,
        "qsrq": hold.start.isoformat(),
        "jsrq": hold.end.isoformat() if hold.end is not None else None,
        "lhsx": hold.position,
    }
