"""The simulated housing provident fund centre: JSON with amounts in fen.

``POST /gjj/api/v1/sfcx`` answers code 0000 (accounts), 0001 (no account), 1001 (request
unreadable or incomplete) or 9001 (busy), as the ``housing_fund`` adapter's module documents.
Only persons hold fund accounts.

Control actions: ``POST /gjj/api/v1/sfkz`` (冻结 ``DJ``, 扣划 ``KH``, 续冻 ``XD``, 解冻
``JD``) and their status, ``POST /gjj/api/v1/sfkz/cx``, answer code 0000 (the control in
``data``), 0001 (no action with this serial number; status only), 1001 (request unreadable or
incomplete), 1009 (the serial number was used for a different request, with HTTP 409) or
9001 (busy). A deduction needs a withdrawal condition (``tqtj``). Inquiries show the accounts
as the controls left them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
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
from ._data import Control, Dataset, FundAccount, SandboxParty
from ._faults import NO_DELAY, Delay, FaultPlan
from ._http import respond, respond_applying, shanghai_now

__all__ = ["FundCentre"]

_REQUIRED = ("ywlsh", "ah", "xm", "zjhm")

_FOUND = ("0000", "查询成功")
_NOTHING = ("0001", "未查询到该人员的住房公积金账户")
_BAD_REQUEST = "1001"
_BUSY = ("9001", "系统繁忙，请稍后重试")
_ANSWERED = ("0000", "办理结果查询成功")
_NO_SUCH_ACTION = ("0001", "未找到该业务流水号的控制业务")
_CONFLICT = ("1009", "业务流水号已用于其他请求")

_CONTROL_REQUIRED = ("ywlsh", "czlx", "ah", "xm", "zjhm", "grzh")
_CONTROL_OPTIONAL = ("fymc", "cbr", "wsh", "tqtj", "ydjbh", "jsrq")
_OPERATIONS = {"DJ": Act.FREEZE, "KH": Act.DEDUCT, "XD": Act.RENEW, "JD": Act.RELEASE}
_WIRE_OPERATIONS = {act: code for code, act in _OPERATIONS.items()}
_WIRE_STATES = {
    State.RECEIVED: "01",
    State.EFFECTIVE: "02",
    State.WAITING: "03",
    State.RELEASED: "04",
    State.LAPSED: "05",
    State.REJECTED: "09",
}


class FundCentre:
    """The fund centre's inquiry and control services over one dataset."""

    def __init__(
        self, data: Dataset, faults: FaultPlan, *, control_feedback_delay: Delay = NO_DELAY
    ) -> None:
        self._data = data
        self._faults = faults
        self.book = ControlBook(
            "fund",
            seed=data.seed,
            prefix="DJ",
            rules=Rules(control=Act.FREEZE, legal_years=3, deduct_needs_withdrawal_condition=True),
            resolve=_account_finder(data),
            feedback_delay=control_feedback_delay,
        )

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/gjj/api/v1/sfcx", self.query, methods=["POST"]),
            Route("/gjj/api/v1/sfkz", self.submit, methods=["POST"]),
            Route("/gjj/api/v1/sfkz/cx", self.control_status, methods=["POST"]),
        ]

    async def submit(self, request: Request) -> Response:
        action = _read_control(await request.body())
        if isinstance(action, tuple):
            ywlsh, reason = action
            return _control_answer(ywlsh, _BAD_REQUEST, reason)
        return await respond_applying(
            self._faults.decide(action.key, control=True),
            lambda: self._apply(action),
            busy=lambda: _control_answer(action.key, *_BUSY),
        )

    def _apply(self, action: ActionRequest) -> tuple[Response, bool]:
        try:
            entry, applied = self.book.submit(action)
        except IdempotencyConflict:
            return _control_answer(action.key, *_CONFLICT, status=409), False
        return self._control(entry), applied

    async def control_status(self, request: Request) -> Response:
        try:
            payload = json.loads(await request.body())
        except (ValueError, RecursionError):
            payload = None
        ywlsh = _text(payload.get("ywlsh")) if isinstance(payload, dict) else ""
        if not ywlsh:
            return _control_answer("", _BAD_REQUEST, "必填项缺失：ywlsh")
        return await respond(
            self._faults.decide(f"status:{ywlsh}"),
            lambda: self._status(ywlsh),
            busy=lambda: _control_answer(ywlsh, *_BUSY),
        )

    def _status(self, ywlsh: str) -> Response:
        entry = self.book.find(ywlsh)
        if entry is None:
            return _control_answer(ywlsh, *_NO_SUCH_ACTION)
        return self._control(entry)

    def _control(self, entry: Entry) -> Response:
        state = self.book.reported_state(entry)
        data: dict[str, Any] = {
            "djbh": entry.id,
            "czlx": _WIRE_OPERATIONS[entry.act],
            "zt": _WIRE_STATES[state],
            "sxrq": None,
            "jsrq": None,
            "je": None,
            "lhsx": None,
            "ydjbh": entry.target,
            "sm": "已受理，正在办理" if state is State.RECEIVED else entry.message,
        }
        if state is not State.RECEIVED:
            if entry.effective_on is not None:
                data["sxrq"] = entry.effective_on.isoformat()
            if entry.ends_on is not None:
                data["jsrq"] = entry.ends_on.isoformat()
            if entry.amount is not None and state is not State.WAITING:
                data["je"] = _fen(entry.amount)
            data["lhsx"] = self.book.position(entry)
        return _control_answer(entry.key or "", *_ANSWERED, data=data)

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
        accounts = [_account(self._current(account), party) for account in party.fund_accounts]
        return _answer(ywlsh, *_FOUND, accounts=accounts)

    def _current(self, account: FundAccount) -> FundAccount:
        """The account as the controls left it: 04 (frozen) while a freeze is in force."""
        current = self.book.current(account.account_number)
        if current is None:
            return account
        assert current.balance is not None
        holds = self.book.holds(current)
        status = account.status
        if status in ("01", "04"):
            status = "04" if any(not hold.waiting for hold in holds) else "01"
        return replace(account, balance=current.balance, holds=holds, status=status)


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _read_control(body: bytes) -> ActionRequest | tuple[str, str]:
    """The control action, or the serial number (if any) and what is wrong."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return "", "请求不是有效的 JSON"
    if not isinstance(payload, dict):
        return "", "请求应为 JSON 对象"
    fields = {key: _text(payload.get(key)) for key in _CONTROL_REQUIRED + _CONTROL_OPTIONAL}
    ywlsh = fields["ywlsh"]
    missing = [key for key in _CONTROL_REQUIRED if not fields[key]]
    if missing:
        return ywlsh, f"必填项缺失：{'、'.join(missing)}"
    operation = _OPERATIONS.get(fields["czlx"])
    if operation is None:
        return ywlsh, "操作类型（czlx）应为 DJ、KH、XD 或 JD"
    fen = payload.get("je")
    if fen is not None and (isinstance(fen, bool) or not isinstance(fen, int)):
        return ywlsh, "金额（je）应为以分为单位的整数"
    ends_on: date | None = None
    if fields["jsrq"]:
        try:
            ends_on = datetime.strptime(fields["jsrq"], "%Y-%m-%d").date()  # noqa: DTZ007
        except ValueError:
            return ywlsh, "结束日期（jsrq）应为 YYYY-MM-DD"
    return ActionRequest(
        key=ywlsh,
        act=operation,
        court=fields["fymc"],
        case_number=fields["ah"],
        document=fields["wsh"],
        subject_id=fields["zjhm"].upper(),
        asset=fields["grzh"],
        amount=None if fen is None else Decimal(fen).scaleb(-2),
        target=fields["ydjbh"] or None,
        ends_on=ends_on,
        withdrawal_condition=fields["tqtj"] or None,
    )


def _account_finder(data: Dataset) -> Callable[[str], tuple[Asset, tuple[Control, ...]] | None]:
    """Finds a fund account by number, with the freezes other courts hold on it."""
    index: dict[str, tuple[FundAccount, str]] | None = None

    def find(number: str) -> tuple[Asset, tuple[Control, ...]] | None:
        nonlocal index
        if index is None:
            index = {
                account.account_number: (account, party.id_number)
                for party in data
                for account in party.fund_accounts
            }
        found = index.get(number)
        if found is None:
            return None
        account, owner = found
        asset = Asset(
            identifier=number,
            owners=frozenset({owner}),
            balance=account.balance,
            closed=account.status == "03",
        )
        return asset, account.holds

    return find


def _control_answer(
    ywlsh: str,
    code: str,
    message: str,
    *,
    data: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    body: dict[str, Any] = {
        "code": code,
        "msg": message,
        "ywlsh": ywlsh,
        "cxsj": f"{shanghai_now():%Y-%m-%d %H:%M:%S}",
    }
    if data is not None:
        body["data"] = data
    return JSONResponse(body, status_code=status)


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
