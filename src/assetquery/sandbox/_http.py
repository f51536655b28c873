"""What every simulated institution shares on the wire: faults acted out, and its clock.

The faults that damage an answer work on the real answer, whatever the institution: a
dropped connection or a slow body sends its bytes badly, a wrong content type relabels it,
and a wrong shape rebuilds it in a plausible wrong form of the institution's own dialect
(recognized from the answer: the fund centre's JSON has a ``code``, the banks' JSON has
none, the registry speaks XML).
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from datetime import date, datetime
from typing import Any, TypeVar
from xml.etree.ElementTree import Element, SubElement, tostring

import defusedxml.ElementTree as SafeElementTree
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from .._time import SHANGHAI
from ._faults import Decision, Fault

__all__ = [
    "SANDBOX_CLOCK",
    "DroppedConnection",
    "respond",
    "respond_applying",
    "shanghai_now",
    "shanghai_today",
]

T = TypeVar("T")

# What a proxy in front of an institution sends when the service behind it is gone; also
# not well-formed XML (unclosed elements), so it is garbage to every adapter.
_GARBAGE = (
    b"<html><head><title>502 Bad Gateway</title></head><body>"
    b"<center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center>\r\n"
)


#: What "now" is for the in-process sandbox: the wall clock, or, while ``run_simulated``
#: runs, its simulated clock (in-process requests run in the caller's context).
SANDBOX_CLOCK: ContextVar[Callable[[], datetime] | None] = ContextVar(
    "assetquery_sandbox_clock", default=None
)


def shanghai_now() -> datetime:
    """Institutions stamp their answers with Beijing time."""
    clock = SANDBOX_CLOCK.get()
    return clock().astimezone(SHANGHAI) if clock is not None else datetime.now(SHANGHAI)


def shanghai_today() -> date:
    """Today's date in Beijing: the day institutions date their controls with."""
    return shanghai_now().date()


async def respond(
    decision: Decision,
    answer: Callable[[], Response],
    busy: Callable[[], Response] | None = None,
) -> Response:
    """Wait as decided, then answer: with the fault, or with ``answer()``.

    ``answer`` is only called when the institution gets to handle the request, so its side
    effects (a ticket issued) happen only then. ``busy`` builds the institution's own busy
    answer, where it has one.
    """
    if decision.delay > 0:
        await asyncio.sleep(decision.delay)
    match decision.fault:
        case Fault.BUSY:
            if decision.busy_code and busy is not None:
                return busy()
            return PlainTextResponse("Service Unavailable", 503, headers={"Retry-After": "1"})
        case Fault.THROTTLE:
            return PlainTextResponse("Too Many Requests", 429, headers={"Retry-After": "2"})
        case Fault.ERROR:
            return PlainTextResponse("Internal Server Error", 500)
        case Fault.MALFORMED:
            return _garbled(answer(), truncate=decision.truncate)
        case Fault.RESET:
            return _CutShort(answer())
        case Fault.SLOW_BODY:
            return _Trickle(answer(), decision.slow_body)
        case Fault.WRONG_CONTENT_TYPE:
            return _relabelled(answer(), decision.variant)
        case Fault.WRONG_SHAPE:
            return _reshaped(answer(), decision.variant)
        case _:  # no fault, or a timeout that has been waited out
            return answer()


async def respond_applying(
    decision: Decision,
    handle: Callable[[], tuple[Response, bool]],
    busy: Callable[[], Response] | None = None,
) -> Response:
    """Like ``respond``, for a control submission: ``handle()`` applies the action and
    returns its answer and whether it applied anything new.

    Busy, throttled and failed requests apply nothing. With ``Fault.APPLY_THEN_TIMEOUT``
    the action is applied at once and the answer then hangs for ``decision.hang_after``
    seconds; a client that gives up first never learns the outcome. A duplicate (nothing
    new applied) is answered without the hang.
    """
    if decision.fault is not Fault.APPLY_THEN_TIMEOUT:
        return await respond(decision, lambda: handle()[0], busy)
    if decision.delay > 0:
        await asyncio.sleep(decision.delay)
    response, applied = handle()
    if applied and decision.hang_after > 0:
        await asyncio.sleep(decision.hang_after)
    return response


def _garbled(response: Response, *, truncate: bool) -> Response:
    """The answer cut in half, or an unrelated page: HTTP 200 with the usual content type."""
    body = bytes(response.body)
    content = body[: len(body) // 2] if truncate else _GARBAGE
    content_type = response.headers.get("content-type", "application/octet-stream")
    return Response(content, status_code=200, headers={"content-type": content_type})


# --- the connection dropped, the body too slow ---------------------------------------------


class DroppedConnection(Exception):
    """A reset fault's doing: the server refused to end an answer cut short, so the
    connection is closed (what the fault wants). ``serve`` keeps it out of the log."""


class _CutShort(Response):
    """The headers of the whole answer (its ``Content-Length`` too), half its body, the end.

    Over HTTP the server cannot end a message shorter than it declared: it raises, and the
    connection is closed mid-body, which a client sees as a protocol error. In process there
    is no connection, and the client gets the half body.
    """

    def __init__(self, answer: Response) -> None:
        body = bytes(answer.body)
        super().__init__(body[: len(body) // 2], answer.status_code)
        self.raw_headers = list(answer.raw_headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = {"type": "http.response.start", "status": self.status_code}
        await send({**start, "headers": self.raw_headers})
        try:
            await send({"type": "http.response.body", "body": self.body, "more_body": False})
        except Exception as exc:  # h11's LocalProtocolError, httptools' RuntimeError, ...
            raise DroppedConnection("answer cut short on purpose (reset fault)") from exc


class _Trickle(Response):
    """The headers at once, then the body in ``_PIECES`` pieces, ``seconds`` in all."""

    def __init__(self, answer: Response, seconds: float) -> None:
        super().__init__(bytes(answer.body), answer.status_code)
        self.raw_headers = list(answer.raw_headers)
        self._seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = {"type": "http.response.start", "status": self.status_code}
        await send({**start, "headers": self.raw_headers})
        body = bytes(self.body)
        size = max(math.ceil(len(body) / _PIECES), 1)
        for offset in range(0, len(body), size):
            await asyncio.sleep(self._seconds / _PIECES)
            piece = body[offset : offset + size]
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


_PIECES = 4


# --- the wrong content type -----------------------------------------------------------------


def _relabelled(answer: Response, variant: float) -> Response:
    """The real answer declared as something it is not.

    JSON goes out as ``text/html`` or ``text/plain`` (a framework's default, a gateway's
    rewrite); the registry's XML as ``text/html`` (charset kept) or ``application/json``.
    """
    declared = answer.headers.get("content-type", "")
    charset = _charset(declared)
    if "xml" in declared:
        labels = [f"text/html; charset={charset or 'GBK'}", "application/json"]
    else:
        labels = ["text/html;charset=UTF-8", "text/plain;charset=UTF-8"]
    return _copy(answer, bytes(answer.body), content_type=_pick(labels, variant))


def _charset(content_type: str) -> str | None:
    found = re.search(r"charset=([A-Za-z0-9._-]+)", content_type)
    return found.group(1) if found else None


# --- the wrong shape --------------------------------------------------------------------------


def _reshaped(answer: Response, variant: float) -> Response:
    """The answer rebuilt in a plausible wrong shape of its institution's dialect.

    The fund centre (JSON with a ``code``): ``data`` null under code 0000; its account list
    as an object keyed by account number; amounts as yuan strings instead of whole fen. The
    banks (other JSON): the answer inside a gateway's ``{"code": 0, "data": …}`` envelope;
    ``accounts`` as an object keyed by account number; amounts as JSON numbers instead of
    decimal strings. The registry (XML): the answer inside a SOAP envelope; the head's
    fields as attributes of an empty ``<Head/>``; the payload (the units, the control) one
    element deeper than documented. A form that does not apply to an answer (no list, no
    amount, no payload to move) falls back to the first.
    """
    declared = answer.headers.get("content-type", "")
    body = bytes(answer.body)
    if "json" in declared:
        data = json.loads(body)
        if isinstance(data, dict):
            forms = _FUND_SHAPES if "code" in data else _BANK_SHAPES
            reshaped = _apply_form(forms, variant, data)
            content = json.dumps(reshaped, ensure_ascii=False).encode()
            return _copy(answer, content)
    elif "xml" in declared:
        encoding, root = _parse_xml(body)
        root = _apply_form(_REGISTRY_SHAPES, variant, root)
        return _copy(answer, _serialize_xml(root, encoding))
    return answer


def _apply_form(forms: Sequence[Callable[[Any], Any]], variant: float, answer: Any) -> Any:
    """The form ``variant`` picks; the first form when the one picked does not apply."""
    reshaped = _pick(forms, variant)(answer)
    return forms[0](answer) if reshaped is None else reshaped


def _fund_data_null(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "data": None}


def _fund_accounts_as_object(data: dict[str, Any]) -> dict[str, Any] | None:
    payload = data.get("data")
    if not isinstance(payload, dict) or not isinstance(payload.get("zhxx"), list):
        return None
    accounts = {str(a.get("grzh")): a for a in payload["zhxx"] if isinstance(a, dict)}
    return {**data, "data": {**payload, "zhxx": accounts}}


_FEN_FIELDS = frozenset({"zhye", "djje", "je"})


def _fund_yuan_strings(data: dict[str, Any]) -> dict[str, Any] | None:
    changed = _map_fields(data, _FEN_FIELDS, lambda fen: f"{fen / 100:.2f}", int)
    return None if changed == data else changed


def _bank_envelope(data: dict[str, Any]) -> dict[str, Any]:
    return {"code": 0, "msg": "success", "data": data}


def _bank_accounts_as_object(data: dict[str, Any]) -> dict[str, Any] | None:
    if not isinstance(data.get("accounts"), list):
        return None
    accounts = {str(a.get("accountNo")): a for a in data["accounts"] if isinstance(a, dict)}
    return {**data, "accounts": accounts}


_DECIMAL_FIELDS = frozenset({"balance", "availableBalance", "amount"})


def _bank_amounts_as_numbers(data: dict[str, Any]) -> dict[str, Any] | None:
    changed = _map_fields(data, _DECIMAL_FIELDS, float, str)
    return None if changed == data else changed


def _map_fields(
    value: Any, names: frozenset[str], convert: Callable[[Any], Any], kind: type
) -> Any:
    """``value`` with every field of ``names`` holding a ``kind`` converted, at any depth."""
    if isinstance(value, dict):
        return {
            key: (
                convert(item)
                if key in names and isinstance(item, kind) and not isinstance(item, bool)
                else _map_fields(item, names, convert, kind)
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_map_fields(item, names, convert, kind) for item in value]
    return value


_FUND_SHAPES: tuple[Callable[[Any], Any], ...] = (
    _fund_data_null,
    _fund_accounts_as_object,
    _fund_yuan_strings,
)
_BANK_SHAPES: tuple[Callable[[Any], Any], ...] = (
    _bank_envelope,
    _bank_accounts_as_object,
    _bank_amounts_as_numbers,
)


def _soap_envelope(root: Element) -> Element:
    envelope = Element("soap:Envelope", {"xmlns:soap": "http://schemas.xmlsoap.org/soap/envelope/"})
    SubElement(envelope, "soap:Body").append(root)
    return envelope


def _head_as_attributes(root: Element) -> Element | None:
    head = root.find("Head")
    if head is None:
        return None
    fields = {child.tag: child.text or "" for child in head}
    for child in list(head):
        head.remove(child)
    head.attrib.update(fields)
    return root


#: The payload of each answer, and the element the wrong shape wraps its content in.
_PAYLOADS = {"CxResponse": ("Fcxx", "Bdcdyxx"), "KzResponse": ("Kz", "Kzxx")}


def _payload_deeper(root: Element) -> Element | None:
    tag, wrapper = _PAYLOADS.get(root.tag, ("", ""))
    payload = root.find(tag) if tag else None
    if payload is None:
        return None
    if tag == "Kz":  # the control itself one level down
        index = list(root).index(payload)
        root.remove(payload)
        deeper = Element(wrapper)
        deeper.append(payload)
        root.insert(index, deeper)
        return root
    units = list(payload)  # the units one level down inside the listing
    for unit in units:
        payload.remove(unit)
    SubElement(payload, wrapper).extend(units)
    return root


_REGISTRY_SHAPES: tuple[Callable[[Any], Any], ...] = (
    _soap_envelope,
    _head_as_attributes,
    _payload_deeper,
)

_XML_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*?\?>\s*", re.DOTALL)
_DECLARED_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def _parse_xml(body: bytes) -> tuple[str, Element]:
    """The encoding an answer declares, and its root (expat cannot read GBK itself)."""
    declaration = _XML_DECLARATION.match(body)
    encoding = "utf-8"
    if declaration is not None:
        found = _DECLARED_ENCODING.search(declaration.group())
        encoding = found.group(1).decode("ascii") if found else encoding
        body = body[declaration.end() :]
    root: Element = SafeElementTree.fromstring(body.decode(encoding), forbid_dtd=True)
    return encoding, root


def _serialize_xml(root: Element, encoding: str) -> bytes:
    declaration = f'<?xml version="1.0" encoding="{encoding}"?>\n'.encode("ascii")
    return declaration + tostring(root, encoding="unicode").encode(encoding, "xmlcharrefreplace")


# --- helpers ----------------------------------------------------------------------------------


def _pick(choices: Sequence[T], variant: float) -> T:
    return choices[min(int(variant * len(choices)), len(choices) - 1)]


def _copy(answer: Response, content: bytes, *, content_type: str | None = None) -> Response:
    """A new answer with the status and headers of ``answer``: ``content``, its own length."""
    headers = {
        key: value for key, value in answer.headers.items() if key.lower() != "content-length"
    }
    if content_type is not None:
        headers["content-type"] = content_type
    return Response(content, status_code=answer.status_code, headers=headers)
