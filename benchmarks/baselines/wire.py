"""The institutions' wire formats, written once by hand from their interface documents.

A party is looked up at three kinds of institution, each with its own format:

* the real-estate registry: ``POST …/bdc/judicial/query``, XML (answers in GBK);
* the housing fund centre: ``POST …/gjj/api/v1/sfcx``, JSON, amounts in fen, persons only;
* a bank: ``POST …/api/judicial/v2/inquiries``, JSON; HTTP 202 and a ticket means
  "poll ``GET …/inquiries/{ticket}`` after ``pollAfterSeconds``".

Parsing keeps what a court needs from each answer: how many assets and their balance.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal
from xml.sax.saxutils import escape

import defusedxml.ElementTree as SafeXml

Kind = Literal["registry", "fund", "bank"]

REGISTRY_PATH = "/bdc/judicial/query"
FUND_PATH = "/gjj/api/v1/sfcx"
BANK_PATH = "/api/judicial/v2/inquiries"
XML_HEADERS = {"content-type": "application/xml; charset=utf-8"}
JSON_HEADERS = {"content-type": "application/json"}


@dataclass(frozen=True, slots=True)
class Institution:
    id: str
    kind: Kind
    base_url: str  # e.g. http://127.0.0.1:8765/registry


@dataclass(frozen=True, slots=True)
class Debtor:
    """One party of the batch, with its case (plain strings, as read from a file)."""

    name: str
    id_number: str
    kind: Literal["person", "organization"]
    case_number: str
    court: str
    operator: str


@dataclass(frozen=True, slots=True)
class Found:
    """What one institution holds of one party: how many assets, and their balance."""

    assets: int
    balance: Decimal


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request, whatever client sends it."""

    method: str
    url: str
    body: bytes | None
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class Pending:
    """The bank answered with a ticket: poll ``url`` after ``wait`` seconds."""

    url: str
    wait: float


def serves(institution: Institution, debtor: Debtor) -> bool:
    """The fund centre holds accounts of persons only; everyone else is asked about anyone."""
    return institution.kind != "fund" or debtor.kind == "person"


def inquiry(institution: Institution, debtor: Debtor) -> Request:
    request_id = uuid.uuid4().hex
    if institution.kind == "registry":
        id_type = "1" if debtor.kind == "person" else "7"
        xml = (
            '<?xml version="1.0" encoding="utf-8"?>'
            f"<CxRequest><Ywh>{request_id}</Ywh><Ah>{escape(debtor.case_number)}</Ah>"
            f"<Fy>{escape(debtor.court)}</Fy><Cbr>{escape(debtor.operator)}</Cbr>"
            f"<Qlr><Mc>{escape(debtor.name)}</Mc><Zjlx>{id_type}</Zjlx>"
            f"<Zjh>{debtor.id_number}</Zjh></Qlr></CxRequest>"
        )
        return Request("POST", institution.base_url + REGISTRY_PATH, xml.encode(), XML_HEADERS)
    if institution.kind == "fund":
        payload: dict[str, Any] = {
            "ywlsh": request_id,
            "ah": debtor.case_number,
            "fymc": debtor.court,
            "cbr": debtor.operator,
            "xm": debtor.name,
            "zjhm": debtor.id_number,
        }
        return Request("POST", institution.base_url + FUND_PATH, _json(payload), JSON_HEADERS)
    payload = {
        "requestId": request_id,
        "caseNo": debtor.case_number,
        "court": debtor.court,
        "officer": debtor.operator,
        "subject": {
            "name": debtor.name,
            "idType": "RESIDENT_ID" if debtor.kind == "person" else "USCC",
            "idNo": debtor.id_number,
        },
    }
    return Request("POST", institution.base_url + BANK_PATH, _json(payload), JSON_HEADERS)


def parse(
    institution: Institution, status: int, body: bytes, charset: str | None = None
) -> Found | Pending:
    """The answer's numbers, or :class:`Pending` when a bank hands out a ticket.

    ``charset`` is the one the ``content-type`` header names: the registry answers in GBK,
    which expat cannot decode itself.
    """
    if status not in (200, 202):
        raise RuntimeError(f"{institution.id} answered HTTP {status}")
    if institution.kind == "registry":
        root = SafeXml.fromstring(body.decode(charset or "utf-8"))
        code = root.findtext("Head/Jgdm")
        if code == "0001":
            return Found(0, Decimal(0))
        if code != "0000":
            raise RuntimeError(f"{institution.id} answered result code {code}")
        return Found(len(root.findall("Fcxx/Bdcdy")), Decimal(0))
    answer = json.loads(body)
    if institution.kind == "fund":
        if answer["code"] == "0001":
            return Found(0, Decimal(0))
        if answer["code"] != "0000":
            raise RuntimeError(f"{institution.id} answered result code {answer['code']}")
        accounts = answer["data"]["zhxx"]
        return Found(len(accounts), Decimal(sum(a["zhye"] for a in accounts)) / 100)
    state = answer["state"]
    if state in ("ACCEPTED", "PROCESSING"):
        base = institution.base_url + BANK_PATH
        return Pending(f"{base}/{answer['ticket']}", float(answer.get("pollAfterSeconds", 1)))
    if state != "COMPLETED":
        raise RuntimeError(f"{institution.id} answered state {state}")
    accounts = answer["accounts"]
    return Found(len(accounts), sum((Decimal(a["balance"]) for a in accounts), Decimal(0)))


def total_assets(results: list[dict[str, Found]]) -> int:
    return sum(found.assets for per_party in results for found in per_party.values())


def _json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()
