"""Requests as the adapters send them, and readers for the sandbox's answers."""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

import defusedxml.ElementTree as SafeElementTree
import httpx
from starlette.applications import Starlette

from assetquery.sandbox import SandboxParty

BASE_URL = "http://sandbox.test"
REGISTRY = "/registry/bdc/judicial/query"
FUND = "/fund/gjj/api/v1/sfcx"
EAST = "/banks/east/api/judicial/v2/inquiries"
WEST = "/banks/west/api/judicial/v2/inquiries"

#: A valid resident ID that is not in any sandbox dataset (area code 110105, Beijing).
STRANGER_ID = "110105199003071239"
CASE = "（2025）甘0102执1234号"


def client(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)


def registry_request(ywh: str, id_number: str, *, name: str = "某人", id_type: str = "1") -> bytes:
    root = Element("CxRequest")
    for tag, text in (("Ywh", ywh), ("Ah", CASE), ("Fy", "兰州市城关区人民法院"), ("Cbr", "测试")):
        SubElement(root, tag).text = text
    holder = SubElement(root, "Qlr")
    SubElement(holder, "Mc").text = name
    SubElement(holder, "Zjlx").text = id_type
    SubElement(holder, "Zjh").text = id_number
    body: bytes = tostring(root, encoding="utf-8", xml_declaration=True)
    return body


def registry_request_for(party: SandboxParty, ywh: str = "Q-1") -> bytes:
    kind = "1" if party.kind == "person" else "7"
    return registry_request(ywh, party.id_number, name=party.name, id_type=kind)


def fund_request(ywlsh: str, id_number: str, name: str = "某人") -> dict[str, Any]:
    return {"ywlsh": ywlsh, "ah": CASE, "fymc": "兰州市城关区人民法院", "cbr": "测试",
            "xm": name, "zjhm": id_number}  # fmt: skip


def bank_request(request_id: str, id_number: str, *, organization: bool = False) -> dict[str, Any]:
    return {
        "requestId": request_id,
        "caseNo": CASE,
        "court": "兰州市城关区人民法院",
        "officer": "测试",
        "subject": {
            "name": "某人",
            "idType": "USCC" if organization else "RESIDENT_ID",
            "idNo": id_number,
        },
    }


def registry_xml(response: httpx.Response) -> Any:
    """The registry's answer parsed the way a careful client does: GBK, no DTDs."""
    text = response.content.decode("gbk")
    declaration, _, document = text.partition("?>")
    assert declaration == '<?xml version="1.0" encoding="GBK"'
    return SafeElementTree.fromstring(document.strip(), forbid_dtd=True)
