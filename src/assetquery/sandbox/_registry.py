"""The simulated real-estate registry: XML in, XML out, always encoded GBK.

``POST /bdc/judicial/query`` takes a ``<CxRequest>`` and answers a ``<CxResponse>`` with
result code 0000 (units found), 0001 (nothing registered), 1001 (request unreadable or
incomplete) or 9001 (busy), as the ``realestate`` adapter's module documents. Like many
registries' systems it answers in GBK whatever the request was encoded in.

Control actions: ``POST /bdc/judicial/control`` takes a ``<KzRequest>`` (查封 ``CF``, 续封
``XF``, 解封 ``JF``) and ``POST /bdc/judicial/control/status`` a ``<KzCx>``; both answer a
``<KzResponse>``, with result code 0000 (the control in ``<Kz>``), 0001 (no action with this
business number; status only), 1001 (request unreadable or incomplete), 1009 (the business
number was used for a different request, with HTTP 409) or 9001 (busy). Inquiries show the
seals as the controls left them; a unit that was disposed of is no longer listed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from xml.etree.ElementTree import Element, ParseError, SubElement, tostring

import defusedxml.ElementTree as SafeElementTree
from defusedxml import DefusedXmlException
from starlette.requests import Request
from starlette.responses import Response
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
from ._data import Control, Dataset, RealEstateUnit
from ._faults import NO_DELAY, Delay, FaultPlan
from ._http import respond, respond_applying, shanghai_now

__all__ = ["Registry"]

_DECLARATION = b'<?xml version="1.0" encoding="GBK"?>\n'
_MEDIA_TYPE = "application/xml; charset=GBK"
_ID_TYPES = {"1", "7"}  # resident ID, unified social credit code
_REQUIRED = ("Ywh", "Ah", "Qlr/Mc", "Qlr/Zjlx", "Qlr/Zjh")

_FOUND = ("0000", "查询成功")
_NOTHING = ("0001", "未查询到该权利人的不动产登记信息")
_BAD_REQUEST = "1001"
_BUSY = ("9001", "系统繁忙，请稍后重试")
_ANSWERED = ("0000", "办理结果查询成功")
_NO_SUCH_ACTION = ("0001", "未找到该业务号的控制业务")
_CONFLICT = ("1009", "业务号已用于其他请求")

_CONTROL_REQUIRED = ("Ywh", "Czlx", "Ah", "Qlr/Mc", "Qlr/Zjlx", "Qlr/Zjh", "Bdcdyh")
_CONTROL_OPTIONAL = ("Fy", "Cbr", "Wh", "Hcf", "Ykzbh", "Jssj")
_OPERATIONS = {"CF": Act.SEAL, "XF": Act.RENEW, "JF": Act.RELEASE}
_WIRE_OPERATIONS = {act: code for code, act in _OPERATIONS.items()}
_WIRE_STATES = {
    State.RECEIVED: "SL",
    State.EFFECTIVE: "YX",
    State.WAITING: "LH",
    State.RELEASED: "JC",
    State.LAPSED: "SX",
    State.REJECTED: "JJ",
}


class Registry:
    """The registry's inquiry and control services over one dataset."""

    def __init__(
        self, data: Dataset, faults: FaultPlan, *, control_feedback_delay: Delay = NO_DELAY
    ) -> None:
        self._data = data
        self._faults = faults
        self.book = ControlBook(
            "registry",
            seed=data.seed,
            prefix="KZ",
            rules=Rules(control=Act.SEAL, legal_years=3),
            resolve=_unit_finder(data),
            feedback_delay=control_feedback_delay,
        )

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/bdc/judicial/query", self.query, methods=["POST"]),
            Route("/bdc/judicial/control", self.submit, methods=["POST"]),
            Route("/bdc/judicial/control/status", self.control_status, methods=["POST"]),
        ]

    async def submit(self, request: Request) -> Response:
        action = _read_control(await request.body())
        if isinstance(action, tuple):
            ywh, reason = action
            return _control_answer(ywh, _BAD_REQUEST, reason)
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
        ywh = _status_key(await request.body())
        if ywh is None:
            return _control_answer("", _BAD_REQUEST, "请求报文应为含 Ywh 的 KzCx")
        return await respond(
            self._faults.decide(f"status:{ywh}"),
            lambda: self._status(ywh),
            busy=lambda: _control_answer(ywh, *_BUSY),
        )

    def _status(self, ywh: str) -> Response:
        entry = self.book.find(ywh)
        if entry is None:
            return _control_answer(ywh, *_NO_SUCH_ACTION)
        return self._control(entry)

    def _control(self, entry: Entry) -> Response:
        state = self.book.reported_state(entry)
        kz = Element("Kz")
        _add(kz, "Kzbh", entry.id)
        _add(kz, "Czlx", _WIRE_OPERATIONS[entry.act])
        _add(kz, "Zt", _WIRE_STATES[state])
        if state is not State.RECEIVED:
            if entry.effective_on is not None:
                _add(kz, "Qssj", f"{entry.effective_on:%Y%m%d}")
            if entry.ends_on is not None:
                _add(kz, "Jssj", f"{entry.ends_on:%Y%m%d}")
            if (position := self.book.position(entry)) is not None:
                _add(kz, "Lhsx", str(position))
        if entry.act is Act.SEAL:
            _add(kz, "Hcf", "1" if entry.live_seal else "0")
        if entry.target is not None:
            _add(kz, "Ykzbh", entry.target)
        message = "已受理，正在办理" if state is State.RECEIVED else entry.message
        if message:
            _add(kz, "Sm", message)
        return _control_answer(entry.key or "", *_ANSWERED, control=kz)

    async def query(self, request: Request) -> Response:
        fields = _read(await request.body())
        if isinstance(fields, str):
            return _answer("", _BAD_REQUEST, fields)
        missing = [tag for tag in _REQUIRED if not fields.get(tag)]
        ywh = fields.get("Ywh", "")
        if missing:
            return _answer(ywh, _BAD_REQUEST, f"必填项缺失：{'、'.join(missing)}")
        if fields["Qlr/Zjlx"] not in _ID_TYPES:
            return _answer(ywh, _BAD_REQUEST, "证件类型（Zjlx）应为 1 或 7")
        id_number = fields["Qlr/Zjh"]
        return await respond(
            self._faults.decide(ywh),
            lambda: self._found(ywh, id_number),
            busy=lambda: _answer(ywh, *_BUSY),
        )

    def _found(self, ywh: str, id_number: str) -> Response:
        party = self._data.get(id_number)
        units = () if party is None else self._current(party.properties)
        if not units:
            return _answer(ywh, *_NOTHING)
        return _answer(ywh, *_FOUND, units=units)

    def _current(self, units: tuple[RealEstateUnit, ...]) -> tuple[RealEstateUnit, ...]:
        """The units as the controls left them; a disposed unit has changed hands."""
        found = []
        for unit in units:
            current = self.book.current(unit.unit_number)
            if current is None:
                found.append(unit)
            elif not current.disposed:
                found.append(replace(unit, seals=self.book.holds(current)))
        return tuple(found)


def _read(body: bytes) -> dict[str, str] | str:
    """The request's fields by path, or why it cannot be read. DTDs and entities are refused."""
    try:
        root = SafeElementTree.fromstring(body, forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError):
        return "请求报文不是格式正确的 XML"
    if root.tag != "CxRequest":
        return "请求报文根元素应为 CxRequest"
    fields: dict[str, str] = {}
    for path in _REQUIRED:
        element = root.find(path)
        if element is not None and element.text and element.text.strip():
            fields[path] = element.text.strip()
    return fields


def _read_control(body: bytes) -> ActionRequest | tuple[str, str]:
    """The control action, or the business number (if any) and what is wrong."""
    try:
        root = SafeElementTree.fromstring(body, forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError):
        return "", "请求报文不是格式正确的 XML"
    if root.tag != "KzRequest":
        return "", "请求报文根元素应为 KzRequest"
    fields = {path: _field(root, path) for path in _CONTROL_REQUIRED + _CONTROL_OPTIONAL}
    ywh = fields["Ywh"]
    missing = [tag for tag in _CONTROL_REQUIRED if not fields[tag]]
    if missing:
        return ywh, f"必填项缺失：{'、'.join(missing)}"
    operation = _OPERATIONS.get(fields["Czlx"])
    if operation is None:
        return ywh, "操作类型（Czlx）应为 CF、XF 或 JF"
    if fields["Qlr/Zjlx"] not in _ID_TYPES:
        return ywh, "证件类型（Zjlx）应为 1 或 7"
    if fields["Hcf"] not in ("", "0", "1"):
        return ywh, "活查封标志（Hcf）应为 1 或 0"
    ends_on: date | None = None
    if fields["Jssj"]:
        try:
            ends_on = datetime.strptime(fields["Jssj"], "%Y%m%d").date()  # noqa: DTZ007
        except ValueError:
            return ywh, "结束时间（Jssj）应为 YYYYMMDD"
    return ActionRequest(
        key=ywh,
        act=operation,
        court=fields["Fy"],
        case_number=fields["Ah"],
        document=fields["Wh"],
        subject_id=fields["Qlr/Zjh"].upper(),
        asset=fields["Bdcdyh"],
        target=fields["Ykzbh"] or None,
        ends_on=ends_on,
        live_seal=fields["Hcf"] == "1",
    )


def _status_key(body: bytes) -> str | None:
    try:
        root = SafeElementTree.fromstring(body, forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError):
        return None
    if root.tag != "KzCx":
        return None
    return _field(root, "Ywh") or None


def _field(root: Element, path: str) -> str:
    element = root.find(path)
    if element is None or element.text is None:
        return ""
    return element.text.strip()


def _unit_finder(data: Dataset) -> Callable[[str], tuple[Asset, tuple[Control, ...]] | None]:
    """Finds a registered unit by number, with the seals other courts hold on it."""
    index: dict[str, RealEstateUnit] | None = None

    def find(number: str) -> tuple[Asset, tuple[Control, ...]] | None:
        nonlocal index
        if index is None:
            index = {unit.unit_number: unit for party in data for unit in party.properties}
        unit = index.get(number)
        if unit is None:
            return None
        owners = frozenset(owner.id_number for owner in unit.owners)
        return Asset(identifier=number, owners=owners, balance=None), unit.seals

    return find


def _control_answer(
    ywh: str, code: str, message: str, *, control: Element | None = None, status: int = 200
) -> Response:
    root = Element("KzResponse")
    head = SubElement(root, "Head")
    _add(head, "Ywh", ywh)
    _add(head, "Jgdm", code)
    _add(head, "Jgxx", message)
    _add(head, "Cxsj", f"{shanghai_now():%Y%m%d%H%M%S}")
    if control is not None:
        root.append(control)
    return _gbk(root, status)


def _gbk(root: Element, status: int = 200) -> Response:
    # Characters GBK lacks go out as character references, so no name is mangled.
    body = tostring(root, encoding="unicode").encode("gbk", "xmlcharrefreplace")
    return Response(_DECLARATION + body, status_code=status, media_type=_MEDIA_TYPE)


def _answer(
    ywh: str, code: str, message: str, *, units: tuple[RealEstateUnit, ...] = ()
) -> Response:
    root = Element("CxResponse")
    head = SubElement(root, "Head")
    _add(head, "Ywh", ywh)
    _add(head, "Jgdm", code)
    _add(head, "Jgxx", message)
    _add(head, "Cxsj", f"{shanghai_now():%Y%m%d%H%M%S}")
    if units:
        listing = SubElement(root, "Fcxx")
        for unit in units:
            _unit(SubElement(listing, "Bdcdy"), unit)
    return _gbk(root)


def _unit(element: Element, unit: RealEstateUnit) -> None:
    _add(element, "Bdcdyh", unit.unit_number)
    _add(element, "Bdcqzh", unit.certificate)
    _add(element, "Zl", unit.location)
    _add(element, "Mj", f"{unit.area:.2f}")
    if unit.use is not None:  # not every record has its use filled in
        _add(element, "Yt", unit.use)
    _add(element, "Djsj", f"{unit.registered_on:%Y%m%d}")
    _add(element, "Gyfs", unit.tenure)
    for owner in unit.owners:
        holder = SubElement(element, "Qlr")
        _add(holder, "Mc", owner.name)
        _add(holder, "Zjh", owner.id_number)
        if owner.share is not None:
            _add(holder, "Fe", f"{owner.share.numerator}/{owner.share.denominator}")
    for mortgage in unit.mortgages:
        entry = SubElement(element, "Dyxx")
        _add(entry, "Dyqr", mortgage.mortgagee)
        _add(entry, "Bdbzqse", f"{mortgage.amount:.2f}")
        _add(entry, "Qssj", f"{mortgage.start:%Y%m%d}")
        _add(entry, "Jssj", f"{mortgage.end:%Y%m%d}")
    for seal in unit.seals:
        _seal(SubElement(element, "Cfxx"), seal)


def _seal(element: Element, seal: Control) -> None:
    _add(element, "Cfjg", seal.authority)
    _add(element, "Cfwh", seal.case_number)
    _add(element, "Cflx", "轮候查封" if seal.waiting else "查封")
    _add(element, "Qssj", f"{seal.start:%Y%m%d}")
    if seal.end is not None:
        _add(element, "Jssj", f"{seal.end:%Y%m%d}")
    if seal.position is not None:
        _add(element, "Lhsx", str(seal.position))


def _add(parent: Element, tag: str, text: str) -> None:
    SubElement(parent, tag).text = text
