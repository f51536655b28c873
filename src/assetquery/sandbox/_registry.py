"""The simulated real-estate registry: XML in, XML out, always encoded GBK.

``POST /bdc/judicial/query`` takes a ``<CxRequest>`` and answers a ``<CxResponse>`` with
result code 0000 (units found), 0001 (nothing registered), 1001 (request unreadable or
incomplete) or 9001 (busy), as the ``realestate`` adapter's module documents. Like many
registries' systems it answers in GBK whatever the request was encoded in.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError, SubElement, tostring

import defusedxml.ElementTree as SafeElementTree
from defusedxml import DefusedXmlException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ._data import Control, Dataset, RealEstateUnit
from ._faults import FaultPlan
from ._http import respond, shanghai_now

__all__ = ["Registry"]

_DECLARATION = b'<?xml version="1.0" encoding="GBK"?>\n'
_MEDIA_TYPE = "application/xml; charset=GBK"
_ID_TYPES = {"1", "7"}  # resident ID, unified social credit code
_REQUIRED = ("Ywh", "Ah", "Qlr/Mc", "Qlr/Zjlx", "Qlr/Zjh")

_FOUND = ("0000", "查询成功")
_NOTHING = ("0001", "未查询到该权利人的不动产登记信息")
_BAD_REQUEST = "1001"
_BUSY = ("9001", "系统繁忙，请稍后重试")


class Registry:
    """The registry's inquiry service over one dataset."""

    def __init__(self, data: Dataset, faults: FaultPlan) -> None:
        self._data = data
        self._faults = faults

    def routes(self) -> list[BaseRoute]:
        return [Route("/bdc/judicial/query", self.query, methods=["POST"])]

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
        if party is None or not party.properties:
            return _answer(ywh, *_NOTHING)
        return _answer(ywh, *_FOUND, units=party.properties)


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
    # Characters GBK lacks go out as character references, so no name is mangled.
    body = tostring(root, encoding="unicode").encode("gbk", "xmlcharrefreplace")
    return Response(_DECLARATION + body, media_type=_MEDIA_TYPE)


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
