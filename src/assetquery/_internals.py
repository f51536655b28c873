"""The one module that touches private attributes of its dependencies, and why each pays.

httpx 0.28 (pinned) normalizes every header item through two function calls and streams a
body already in hand through four layers of generators. For an institution's answers and
requests, made by the thousand, that showed as a tenth of the library's own CPU. The httpx
helpers here set the fields those paths would set; tests/http/test_transport.py holds their
results to httpx's own.

pydantic validates every field of every model made the usual way, and ``model_construct``
still walks every field looking for aliases and defaults. A lookup makes results, totals,
sums of money and a report from values this library made or already validated; for those,
``assembled`` sets what ``model_construct`` would set, and nothing else.

Everything else in assetquery uses its dependencies' public API only (ruff's SLF001 holds
the rest of the package to that); docs/performance.md gives what each helper here is worth.
"""

from __future__ import annotations

import asyncio
import heapq
import os
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

__all__ = [
    "CLIENT_SHORTCUTS",
    "OFF",
    "SHORTCUTS",
    "JumpingLoop",
    "LeanClient",
    "assembled",
    "fields_of",
    "header_value",
    "headers_of",
    "loaded",
    "request_of",
    "response_of",
]

#: a header field as httpx keeps it: name as sent, name in lower case, value
Field = tuple[bytes, bytes, bytes]

#: Shortcuts switched off, by group (``ASSETQUERY_NO_SHORTCUTS=headers,messages,models,
#: client`` or ``all``): each then runs through its dependency's public API instead, a few
#: percent slower (docs/performance.md has the figures). For measuring what each is worth,
#: and as a way out should a new release of httpx or pydantic change what one relies on.
SHORTCUTS = frozenset({"headers", "messages", "models", "client"})
_OFF = {part.strip() for part in os.environ.get("ASSETQUERY_NO_SHORTCUTS", "").split(",")}
OFF = SHORTCUTS if "all" in _OFF else SHORTCUTS & _OFF


def _fast_fields_of(headers: httpx.Headers) -> tuple[Field, ...]:
    """The fields ``headers`` holds, as httpx keeps them (a snapshot)."""
    return tuple(headers._list)


def _fast_header_value(headers: httpx.Headers, name: bytes) -> str | None:
    """``headers.get(name)`` for a lower-case ``name``: repeated fields joined with ", ",
    None if there is none. Without the list and key encoding ``Headers.get`` makes."""
    found: str | None = None
    for _, lower, value in headers._list:
        if lower == name:
            # ASCII reads the same in every encoding httpx picks, so it need not pick one:
            # finding out tries to decode every field of the answer.
            text = value.decode("ascii") if value.isascii() else value.decode(headers.encoding)
            found = text if found is None else f"{found}, {text}"
    return found


def _fast_headers_of(fields: list[Field], encoding: str | None = None) -> httpx.Headers:
    """``httpx.Headers`` holding ``fields`` as they are.

    ``encoding`` is the one the bytes are known to be in ("ascii" for headers this library
    made), or None for httpx to find out on first use, as it does for headers off the wire.
    """
    headers = httpx.Headers()
    headers._list = fields
    headers._encoding = encoding
    return headers


def _fast_loaded(response: httpx.Response, content: bytes) -> None:
    """The response as ``Response.read()`` leaves it, with ``content`` as its body."""
    response.stream = httpx.ByteStream(content)
    response._content = content
    response._num_bytes_downloaded = len(content)
    response.is_stream_consumed = True
    response.is_closed = True


def _fast_request_of(
    method: str,
    url: httpx.URL,
    headers: httpx.Headers,
    content: bytes,
    extensions: dict[str, Any],
) -> httpx.Request:
    """``httpx.Request(method, url, stream=ByteStream(content), extensions=extensions)``
    with ``headers``, already read, as ``Request.__init__`` and ``read()`` leave it.

    ``url`` is kept as given, where httpx would copy it: a client sends the same few URL
    objects over and over, and a transport can then remember what it made of each.
    """
    request = httpx.Request.__new__(httpx.Request)
    request.method = method.upper()
    request.url = url
    request.headers = headers
    request.extensions = extensions
    request.stream = httpx.ByteStream(content)
    request._content = content
    return request


def _fast_response_of(
    status_code: int,
    headers: httpx.Headers,
    stream: httpx.AsyncByteStream,
    request: httpx.Request,
    extensions: dict[str, Any],
) -> httpx.Response:
    """``httpx.Response(status_code, stream=stream, request=request, extensions=extensions)``
    with ``headers``, as ``Response.__init__`` leaves it, without the empty ``Headers`` it
    makes only for the transport to replace."""
    response = httpx.Response.__new__(httpx.Response)
    response.status_code = status_code
    response.headers = headers
    response._request = request
    response.next_request = None
    response.extensions = extensions
    response.history = []
    response.is_closed = False
    response.is_stream_consumed = False
    response.default_encoding = "utf-8"
    response.stream = stream
    response._num_bytes_downloaded = 0
    return response


# -- the same through the public API (ASSETQUERY_NO_SHORTCUTS) ---------------------------


def _plain_fields_of(headers: httpx.Headers) -> tuple[Field, ...]:
    return tuple((name, name.lower(), value) for name, value in headers.raw)


def _plain_header_value(headers: httpx.Headers, name: bytes) -> str | None:
    value: str | None = headers.get(name.decode("ascii"))
    return value


def _plain_headers_of(fields: list[Field], encoding: str | None = None) -> httpx.Headers:
    return httpx.Headers([(name, value) for name, _, value in fields], encoding=encoding)


def _plain_loaded(response: httpx.Response, content: bytes) -> None:
    response.stream = httpx.ByteStream(content)
    response.read()


def _plain_request_of(
    method: str,
    url: httpx.URL,
    headers: httpx.Headers,
    content: bytes,
    extensions: dict[str, Any],
) -> httpx.Request:
    return httpx.Request(method, url, headers=headers, content=content, extensions=extensions)


def _plain_response_of(
    status_code: int,
    headers: httpx.Headers,
    stream: httpx.AsyncByteStream,
    request: httpx.Request,
    extensions: dict[str, Any],
) -> httpx.Response:
    return httpx.Response(
        status_code, headers=headers, stream=stream, request=request, extensions=extensions
    )


_headers_off = "headers" in OFF
fields_of = _plain_fields_of if _headers_off else _fast_fields_of
header_value = _plain_header_value if _headers_off else _fast_header_value
headers_of = _plain_headers_of if _headers_off else _fast_headers_of
_messages_off = "messages" in OFF
loaded = _plain_loaded if _messages_off else _fast_loaded
request_of = _plain_request_of if _messages_off else _fast_request_of
response_of = _plain_response_of if _messages_off else _fast_response_of
#: the institution client's short request path (see _http/_transport.py) is taken
CLIENT_SHORTCUTS = "client" not in OFF


# -- httpx's client ---------------------------------------------------------------------

#: how many distinct paths a client remembers merged with its base URL
_URL_MEMORY = 64


class _NoCookies(httpx.Cookies):
    """A jar that keeps nothing: an institution's API is token-authenticated and stateless,
    and a cookie one answer sets must not ride along on the next party's request."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class LeanClient(httpx.AsyncClient):
    """httpx's AsyncClient, with the three private parts an institution's client changes.

    No cookie jar (httpx's ``cookies`` setter copies into a plain jar, so the jar is set
    where httpx keeps it); each path merged with the (fixed) base URL once, not on every
    request; and the transport for a URL (``mounts=``, where respx's mock hooks in too)
    reachable without the rest of ``send``'s layers.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._cookies = _NoCookies()
        self._urls: dict[str, httpx.URL] = {}

    def _merge_url(self, url: httpx.URL | str) -> httpx.URL:
        if not isinstance(url, str):
            return super()._merge_url(url)
        merged = self._urls.get(url)
        if merged is None:
            merged = super()._merge_url(url)
            if len(self._urls) < _URL_MEMORY:  # adapters use a handful of paths
                self._urls[url] = merged
        return merged

    def merged_url(self, url: httpx.URL | str) -> httpx.URL:
        """``url`` joined to the base URL, as httpx joins it for a request."""
        return self._merge_url(url)

    def transport_for(self, url: httpx.URL) -> httpx.AsyncBaseTransport:
        """The transport httpx would send a request for ``url`` through."""
        return self._transport_for_url(url)


# -- asyncio's loop ----------------------------------------------------------------------


class JumpingLoop(asyncio.SelectorEventLoop):
    """A selector loop told, each time it would wait for its next timer, when that timer is.

    asyncio has no public hook for "nothing is ready, about to wait": the check reads the
    loop's ready queue and timer heap. A subclass that says it ``may_jump`` gets
    ``jump_to`` the next live timer's time, so a simulated clock can move there instead
    of the loop sleeping (the sandbox's simulated days).
    """

    def __init__(self) -> None:
        super().__init__()
        # asyncio runs a timer once ``time() + resolution`` passes it. Far from zero (a
        # simulated year is 3e7 s) the monotonic clock's 1 ns is below half a float step:
        # the sum rounds back to ``time()``, a timer due now never runs, and the loop spins.
        resolution: float = self._clock_resolution  # type: ignore[has-type]
        self._clock_resolution = max(resolution, 1e-6)

    def may_jump(self) -> bool:
        return True

    def jump_to(self, when: float) -> None:
        """Called with the next live timer's loop time when the loop would wait for it."""

    def _run_once(self) -> None:
        ready: Any = self._ready  # type: ignore[attr-defined]
        scheduled: list[Any] = self._scheduled  # type: ignore[attr-defined]
        if not ready and scheduled and self.may_jump():
            # Drop cancelled timers first, so the clock never jumps to a time nobody waits for.
            while scheduled and scheduled[0]._cancelled:
                handle = heapq.heappop(scheduled)
                handle._scheduled = False
                self._timer_cancelled_count -= 1  # type: ignore[attr-defined]
            if scheduled:
                self.jump_to(scheduled[0]._when)
        super()._run_once()  # type: ignore[misc]


# -- pydantic ---------------------------------------------------------------------------

M = TypeVar("M", bound=BaseModel)

_set = object.__setattr__  # the models are frozen: their own __setattr__ refuses
_new = object.__new__

#: every field's name, per model class: the "fields set" of each model assembled from it
_ALL_SET: dict[type[BaseModel], set[str]] = {}


def _fast_assembled(cls: type[M], fields: dict[str, Any]) -> M:
    """A ``cls`` holding ``fields``: a value for every field, and no other.

    Only for frozen models with no aliases, no ``extra`` values kept and no
    ``model_post_init``; a missing or unknown field is a bug in the caller, and is refused.

    Every model of a class shares one set of field names as its ``model_fields_set``
    (it holds every field, as a model given every field has). pydantic changes that set in
    place only when a field is assigned, which a frozen model refuses, and copies it
    before ``model_copy`` adds to it. One set per model would be one more object for the
    garbage collector to track, for each of the thousands a batch makes.
    """
    everything = _ALL_SET.get(cls)
    if everything is None:
        if not cls.model_config.get("frozen"):
            raise TypeError(f"{cls.__name__} is not frozen: its models cannot be assembled")
        everything = _ALL_SET[cls] = set(cls.__pydantic_fields__)
    if fields.keys() != everything:
        given = set(fields)
        raise TypeError(
            f"{cls.__name__} assembled with missing fields {sorted(everything - given)} "
            f"and unknown fields {sorted(given - everything)}"
        )
    model = _new(cls)  # BaseModel has no __new__ of its own: object's, without the lookup
    _set(model, "__dict__", fields)
    _set(model, "__pydantic_fields_set__", everything)
    _set(model, "__pydantic_extra__", None)
    _set(model, "__pydantic_private__", None)
    return model


def _plain_assembled(cls: type[M], fields: dict[str, Any]) -> M:
    return cls.model_construct(**fields)


assembled = _plain_assembled if "models" in OFF else _fast_assembled
