"""Reading institutions' answers strictly: JSON and XML bodies, fields, dates, amounts.

Every problem becomes a ``MalformedResponse`` whose message names the field path and
what was expected, never the value (it may be personal data).
"""

from __future__ import annotations

import codecs
import email.message
import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Self
from xml.etree.ElementTree import Element, ParseError, TreeBuilder

import httpx
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from .._errors import MalformedResponse
from .._internals import header_value
from .._money import LIMIT, Money

__all__ = ["JsonFields", "XmlFields", "json_body", "xml_body"]


_MEDIA_TYPE = re.compile(r"[a-z0-9!#$&^_.+-]{1,40}/[a-z0-9!#$&^_.+-]{1,60}")


def _declared_type(response: httpx.Response) -> str:
    """The declared media type, for messages; anything that is not one is not quoted."""
    content_type: str = response.headers.get("content-type", "")
    media_type = content_type.split(";")[0].strip().lower()
    if not media_type or _MEDIA_TYPE.fullmatch(media_type):
        return media_type
    return "an unreadable content type"


def json_body(response: httpx.Response, institution: str = "the institution") -> Any:
    """The decoded JSON body. A non-JSON content type is tolerated only if the body parses."""
    if not response.content:
        raise MalformedResponse(f"{institution} sent an empty body", code="empty_body")
    try:
        return json.loads(response.content)
    except (ValueError, RecursionError):
        declared = _declared_type(response) or "no content type"
        hint = "" if "json" in declared else f" (declared {declared})"
        raise MalformedResponse(
            f"{institution} sent a body that is not valid JSON{hint}", code="malformed_json"
        ) from None


_XML_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*?\?>", re.DOTALL)
_DECLARED_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_EXPAT_NATIVE = {"utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1"}


def _decode_xml(content: bytes, http_charset: str | None) -> str | bytes:
    """Expat cannot read multi-byte encodings such as GBK: decode those ourselves."""
    declaration = _XML_DECLARATION.match(content)
    declared = None
    if declaration is not None:
        found = _DECLARED_ENCODING.search(declaration.group())
        declared = found.group(1).decode("ascii").lower() if found else None
    encoding = (declared or http_charset or "utf-8").lower()
    if encoding in _EXPAT_NATIVE:
        return content
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        raise MalformedResponse("XML declares an unknown encoding", code="malformed_xml") from None
    if codec in ("gbk", "gb2312"):
        codec = "gb18030"  # a superset: institutions that say GBK often send GB18030 characters
    body = content[declaration.end() :] if declaration is not None else content
    try:
        return body.decode(codec)
    except (UnicodeDecodeError, LookupError, TypeError, ValueError):
        # LookupError, TypeError: a codec that is no text encoding ("hex", "rot13", ...)
        raise MalformedResponse(
            "XML body is not text in the encoding it declares", code="malformed_xml"
        ) from None


@lru_cache(maxsize=64)
def _charset(content_type: str) -> str | None:
    """The charset parameter of a Content-Type, parsed as httpx parses it.

    An institution sends the same header on every answer; httpx parses it afresh each time
    (through ``email.message``), which showed in profiles. Remembered per header value.
    """
    message = email.message.Message()
    message["content-type"] = content_type
    return message.get_content_charset(failobj=None)


@lru_cache(maxsize=512)
def _element_name(key: str) -> str:
    """An element or attribute name as ElementTree writes it ("{uri}local" for "uri}local")."""
    return "{" + key if "}" in key else key


class _SafeXmlParser(DefusedXMLParser):  # type: ignore[misc]  # defusedxml is untyped
    """defusedxml's parser (DTDs, entities and external references refused, as before), with
    one memo of element names for every document instead of one per parser.

    The standard parser memoizes names per instance, so every answer's first sight of each
    tag raised and caught a KeyError: a third of the parser's own time, and most of the
    objects it left for the garbage collector. The shared memo is bounded: an institution
    inventing tag names cannot grow it.
    """

    _fixname = staticmethod(_element_name)


def xml_body(response: httpx.Response, institution: str = "the institution") -> XmlFields:
    """The parsed XML root. DTDs, entities and external references are refused."""
    if not response.content:
        raise MalformedResponse(f"{institution} sent an empty body", code="empty_body")
    content_type = header_value(response.headers, b"content-type")
    source = _decode_xml(response.content, _charset(content_type) if content_type else None)
    try:
        parser = _SafeXmlParser(target=TreeBuilder(), forbid_dtd=True)
        parser.feed(source)
        root = parser.close()
    except DefusedXmlException as exc:
        raise MalformedResponse(
            f"{institution} sent XML with a forbidden construct ({type(exc).__name__})",
            code="forbidden_xml",
        ) from None
    except (ParseError, ValueError):
        declared = _declared_type(response) or "no content type"
        raise MalformedResponse(
            f"{institution} sent a body that is not well-formed XML (declared {declared})",
            code="malformed_xml",
        ) from None
    return XmlFields(root, root.tag)


# --- typed field access ------------------------------------------------------------------


# ASCII digits only, and not absurdly many: str.isdigit() also accepts "²" and "٣".
_WHOLE = re.compile(r"[0-9]{1,9}", re.ASCII)


def _shape_error(path: str, expected: str) -> MalformedResponse:
    return MalformedResponse(f"field {path} is not {expected}", code="unexpected_shape")


def _to_date(value: str, formats: tuple[str, ...], path: str) -> date:
    # The two formats institutions use, without strptime's cost (it is on every record).
    if len(value) == 10 and "%Y-%m-%d" in formats and value[4] == "-" == value[7]:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    elif len(value) == 8 and "%Y%m%d" in formats and value.isdigit() and value.isascii():
        try:
            return date(int(value[:4]), int(value[4:6]), int(value[6:]))
        except ValueError:
            pass
    for fmt in formats:
        try:
            return datetime.strptime(value, fmt).date()  # noqa: DTZ007 - a date, no time zone
        except ValueError:
            continue
    raise _shape_error(path, f"a date ({' or '.join(formats)})")


def _to_decimal(value: object, path: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _shape_error(path, "a decimal string")
    text = str(value).strip()
    if len(text) > 40:
        raise _shape_error(path, "an amount of money (it has more than 40 characters)")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise _shape_error(path, "a decimal number") from None
    if not amount.is_finite() or abs(amount) >= LIMIT:
        raise _shape_error(path, "a finite amount below 10^15")
    return amount


class JsonFields:
    """A JSON object read field by field, with the path in every error."""

    __slots__ = ("_data", "path")

    def __init__(self, data: object, path: str = "$") -> None:
        if not isinstance(data, dict):
            raise _shape_error(path, "an object")
        self._data: dict[str, Any] = data
        self.path = path

    def __contains__(self, key: str) -> bool:
        return self._data.get(key) is not None

    def raw(self, key: str) -> Any:
        return self._data.get(key)

    def text(self, key: str) -> str:
        value = self._data.get(key)
        if not isinstance(value, str) or not value.strip():
            raise _shape_error(f"{self.path}.{key}", "a non-empty string")
        return value.strip()

    def opt_text(self, key: str) -> str | None:
        value = self._data.get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise _shape_error(f"{self.path}.{key}", "a string")
        return value.strip() or None

    def integer(self, key: str) -> int:
        value = self._data.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise _shape_error(f"{self.path}.{key}", "an integer")
        return value

    def opt_integer(self, key: str) -> int | None:
        return None if self._data.get(key) is None else self.integer(key)

    def opt_position(self, key: str) -> int | None:
        """A waiting-line position: a whole number of 1 or more."""
        value = self.opt_integer(key)
        if value is not None and value < 1:
            raise _shape_error(f"{self.path}.{key}", "a position of 1 or more")
        return value

    def currency(self, key: str, default: str = "CNY") -> str:
        """An ISO 4217 currency code; absent means ``default``."""
        code = (self.opt_text(key) or default).upper()
        if not (len(code) == 3 and code.isascii() and code.isalpha()):
            raise _shape_error(f"{self.path}.{key}", "an ISO 4217 currency code")
        return code

    def child(self, key: str) -> JsonFields:
        return JsonFields(self._data.get(key), f"{self.path}.{key}")

    def items(self, key: str, *, optional: bool = False) -> list[JsonFields]:
        value = self._data.get(key)
        if value is None and optional:
            return []
        if not isinstance(value, list):
            raise _shape_error(f"{self.path}.{key}", "a list")
        return [JsonFields(item, f"{self.path}.{key}[{i}]") for i, item in enumerate(value)]

    def money(self, key: str, currency: str = "CNY", *, negative: bool = False) -> Money:
        """An amount sent as a decimal string (``"1234.50"``); negative only if allowed."""
        value = self._data.get(key)
        path = f"{self.path}.{key}"
        if not isinstance(value, str):
            raise _shape_error(path, "a decimal string")
        amount = _to_decimal(value, path)
        if amount < 0 and not negative:
            raise _shape_error(path, "an amount of 0 or more")
        return Money.of(amount, currency)

    def opt_money(self, key: str, currency: str = "CNY", *, negative: bool = False) -> Money | None:
        if self._data.get(key) in (None, ""):
            return None
        return self.money(key, currency, negative=negative)

    def fen(self, key: str) -> Money:
        """An amount sent as an integer number of fen, 0 or more."""
        value = self.integer(key)
        if not 0 <= value < LIMIT * 100:
            raise _shape_error(f"{self.path}.{key}", "a number of fen from 0 below 10^17")
        return Money.from_fen(value)

    def opt_fen(self, key: str) -> Money | None:
        return None if self._data.get(key) is None else self.fen(key)

    def day(self, key: str, *formats: str) -> date:
        return _to_date(self.text(key), formats or ("%Y-%m-%d",), f"{self.path}.{key}")

    def opt_day(self, key: str, *formats: str) -> date | None:
        value = self.opt_text(key)
        return None if value is None else self.day(key, *formats)

    def timestamp(self, key: str) -> datetime:
        """An ISO 8601 timestamp with its offset; a naive one is refused."""
        try:
            when = datetime.fromisoformat(self.text(key))
        except ValueError:
            raise _shape_error(f"{self.path}.{key}", "an ISO 8601 timestamp") from None
        if when.tzinfo is None:
            raise _shape_error(f"{self.path}.{key}", "a timestamp with a UTC offset")
        try:
            return when.astimezone(UTC)
        except OverflowError:
            raise _shape_error(f"{self.path}.{key}", "a timestamp in a plausible year") from None


class XmlFields:
    """An XML element read child by child, with the path in every error."""

    __slots__ = ("element", "path")

    def __init__(self, element: Element, path: str) -> None:
        self.element = element
        self.path = path

    @property
    def tag(self) -> str:
        return self.element.tag

    def _child_text(self, tag: str) -> str | None:
        child = self.element.find(tag)
        if child is None or child.text is None:
            return None
        return child.text.strip() or None

    def text(self, tag: str) -> str:
        value = self._child_text(tag)
        if value is None:
            raise _shape_error(f"{self.path}/{tag}", "present and non-empty")
        return value

    def opt_text(self, tag: str) -> str | None:
        return self._child_text(tag)

    def child(self, tag: str) -> Self:
        element = self.element.find(tag)
        if element is None:
            raise _shape_error(f"{self.path}/{tag}", "present")
        return type(self)(element, f"{self.path}/{tag}")

    def opt_child(self, tag: str) -> Self | None:
        element = self.element.find(tag)
        return None if element is None else type(self)(element, f"{self.path}/{tag}")

    def items(self, tag: str) -> Iterator[Self]:
        for i, element in enumerate(self.element.findall(tag)):
            yield type(self)(element, f"{self.path}/{tag}[{i}]")

    def day(self, tag: str, *formats: str) -> date:
        return _to_date(self.text(tag), formats or ("%Y%m%d",), f"{self.path}/{tag}")

    def opt_day(self, tag: str, *formats: str) -> date | None:
        value = self._child_text(tag)
        return None if value is None else self.day(tag, *formats)

    def opt_money(self, tag: str, currency: str = "CNY") -> Money | None:
        value = self._child_text(tag)
        if value is None:
            return None
        amount = _to_decimal(value, f"{self.path}/{tag}")
        if amount < 0:
            raise _shape_error(f"{self.path}/{tag}", "an amount of 0 or more")
        return Money.of(amount, currency)

    def opt_integer(self, tag: str) -> int | None:
        value = self._child_text(tag)
        if value is None:
            return None
        if not _WHOLE.fullmatch(value):
            raise _shape_error(f"{self.path}/{tag}", "a whole number")
        return int(value)

    def opt_position(self, tag: str) -> int | None:
        """A waiting-line position: a whole number of 1 or more."""
        value = self.opt_integer(tag)
        if value is not None and value < 1:
            raise _shape_error(f"{self.path}/{tag}", "a position of 1 or more")
        return value
