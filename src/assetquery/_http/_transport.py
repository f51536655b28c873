"""One HTTP client per institution: its base URL, credentials, TLS, pool and transport.

Each institution gets its own pool, sized to its concurrency cap, so that requests never
queue for a connection (and never hit the pool timeout) and one slow institution cannot
starve another. The API is httpx everywhere; the transport underneath is a per-institution
choice: aiohttp's through ``httpx-aiohttp`` (the default: measured fastest), httpx's own, or
HTTP/2 (``h2``).
"""

from __future__ import annotations

import ssl
import zlib
from collections.abc import AsyncIterator, Callable, Mapping
from contextvars import ContextVar
from importlib.metadata import PackageNotFoundError, version
from json import JSONEncoder
from typing import Any

import httpx

from .._config import InstitutionSettings
from .._errors import ConfigurationError, MalformedResponse
from .._internals import (
    CLIENT_SHORTCUTS,
    Field,
    LeanClient,
    fields_of,
    header_value,
    headers_of,
    loaded,
    request_of,
)
from .._logging import get_logger
from ._aiohttp import AiohttpBody, AiohttpTransport

__all__ = ["CappedTransport", "InstitutionClient", "build_client", "idempotent"]

log = get_logger("assetquery.transport")

try:
    _USER_AGENT = f"assetquery/{version('assetquery')}"
except PackageNotFoundError:  # pragma: no cover - running from an uninstalled checkout
    _USER_AGENT = "assetquery"


def _tls_context(settings: InstitutionSettings) -> ssl.SSLContext | bool:
    auth = settings.auth
    if not auth.verify_tls:
        log.warning(
            "TLS verification is off for this institution; use only against a test system",
            institution=settings.id,
        )
        return False
    if not (auth.client_cert or auth.ca_bundle):
        return True
    try:
        context = ssl.create_default_context(cafile=str(auth.ca_bundle) if auth.ca_bundle else None)
        if auth.client_cert:
            context.load_cert_chain(
                str(auth.client_cert), str(auth.client_key) if auth.client_key else None
            )
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(
            f"institution {settings.id}: TLS files cannot be loaded ({exc})"
        ) from None
    return context


def _transport(
    settings: InstitutionSettings, verify: ssl.SSLContext | bool, limits: httpx.Limits
) -> httpx.AsyncBaseTransport:
    if settings.transport == "aiohttp":
        # aiohttp underneath, httpx's API on top: per request it costs a fraction of httpx's
        # own transport, whose cost grows with the idle connections in its pool (see
        # docs/performance.md). Its pool has the institution's cap, as httpx's would.
        transport: httpx.AsyncBaseTransport = AiohttpTransport(verify=verify, limits=limits)
        return transport
    # encode/httpcore#1093: a request cancelled at the wrong moment (every deadline is a
    # cancellation) can leave its connection in httpcore's pool for good.
    log.warning(
        "httpx's own transport can lose pooled connections to cancelled requests "
        "(httpcore#1093); the default transport 'aiohttp' does not",
        institution=settings.id,
        transport=settings.transport,
    )
    http2 = settings.transport == "http2"
    if http2:
        try:
            import h2  # noqa: F401
        except ImportError:
            raise ConfigurationError(
                f"institution {settings.id}: transport 'http2' needs the http2 extra "
                "(pip install 'assetquery[http2]')"
            ) from None
    return httpx.AsyncHTTPTransport(verify=verify, limits=limits, http2=http2)


class _Inflater:
    """gzip or deflate, decoded here so that the size cap counts what the body becomes.

    httpx would decode after the cap, so a 10 MB gzip bomb could still become gigabytes.
    Output per chunk is bounded (``max_length``), so not even one chunk balloons in memory.
    """

    def __init__(self, coding: str) -> None:
        self._coding = coding
        wbits = zlib.MAX_WBITS | 16 if coding == "gzip" else zlib.MAX_WBITS
        self._zlib = zlib.decompressobj(wbits)
        self._started = False

    def decode(self, data: bytes, room: int) -> bytes:
        """At most ``room`` bytes of output; what does not fit stays in the decoder."""
        try:
            out = self._zlib.decompress(data, room)
        except zlib.error as exc:
            if self._coding != "deflate" or self._started:
                raise httpx.DecodingError(f"{self._coding} body is corrupt ({exc})") from None
            # "deflate" is often sent raw, without the zlib wrapper (as httpx also allows).
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            self._started = True
            return self.decode(data, room)
        self._started = True
        return out

    def pending(self) -> bool:
        return bool(self._zlib.unconsumed_tail)

    def more(self, room: int) -> bytes:
        return self.decode(self._zlib.unconsumed_tail, room)

    def flush(self) -> bytes:
        try:
            return self._zlib.flush()
        except zlib.error as exc:  # pragma: no cover - flush after a good stream does not fail
            raise httpx.DecodingError(f"{self._coding} body is corrupt ({exc})") from None


class _UnknownCoding:
    """A content coding we never asked for: refused when the body is read, not before (an
    error status is judged by its status first)."""

    def __init__(self) -> None:
        self._message = "the answer uses a content coding that was not asked for"

    def decode(self, data: bytes, room: int) -> bytes:
        raise httpx.DecodingError(self._message)

    def pending(self) -> bool:
        return False

    def more(self, room: int) -> bytes:  # pragma: no cover - never pending
        return b""

    def flush(self) -> bytes:
        raise httpx.DecodingError(self._message)


_Decoder = _Inflater | _UnknownCoding
#: what every client asks for, and so what the transport decodes
ACCEPTED_CODINGS = "gzip, deflate"


def _decoder_for(response: httpx.Response) -> _Decoder | None:
    """The body's decoder, taking decoding over from httpx (the header is removed)."""
    header = header_value(response.headers, b"content-encoding")
    if header is None:
        return None
    codings = [c.strip().lower() for c in header.split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    del response.headers["content-encoding"]
    if not codings:
        return None
    response.headers.pop("content-length", None)  # it counted the encoded bytes
    if len(codings) == 1 and codings[0] in ("gzip", "deflate"):
        return _Inflater(codings[0])
    return _UnknownCoding()


class _CappedStream(httpx.AsyncByteStream):
    """A response body, decoded, that stops being read once it passes the limit.

    An iterator object rather than an async generator: it is created for every answer, and
    an async generator costs the event loop a registration and a finalizer each time.
    """

    def __init__(
        self,
        inner: httpx.AsyncByteStream,
        limit: int,
        refuse: Callable[[], MalformedResponse],
        decoder: _Decoder | None,
    ) -> None:
        self._inner = inner
        self._chunks: AsyncIterator[bytes] | None = None
        self._limit = limit
        self._read = 0
        self._refuse = refuse
        self._decoder = decoder
        self._done = False

    def __aiter__(self) -> _CappedStream:
        self._chunks = self._inner.__aiter__()
        return self

    async def __anext__(self) -> bytes:
        assert self._chunks is not None
        decoder = self._decoder
        if decoder is not None and decoder.pending():
            return self._count(decoder.more(self._room()))
        if self._done:
            raise StopAsyncIteration
        try:
            chunk = await self._chunks.__anext__()
        except StopAsyncIteration:
            if decoder is None:
                raise
            self._done = True
            return self._count(decoder.flush())
        if decoder is not None:
            chunk = decoder.decode(chunk, self._room())
        return self._count(chunk)

    def _room(self) -> int:
        return self._limit - self._read + 1  # one byte more than allowed shows the excess

    def _count(self, chunk: bytes) -> bytes:
        self._read += len(chunk)
        if self._read > self._limit:
            raise self._refuse()
        return chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


_IDEMPOTENT: ContextVar[bool] = ContextVar("assetquery_idempotent", default=False)


class idempotent:  # lower case: it is used like a function, ``with idempotent():``
    """Requests sent inside may safely be sent twice (inquiries and polls, never controls).

    A pooled connection the server closed as its keep-alive ran out fails only when it is
    used again; such a request is sent once more at once, on a fresh connection, instead of
    waiting for a retry's backoff. A control action is never sent twice this way: it is not
    sent inside this block.

    A class rather than a generator-based context manager: it is entered for every
    inquiry, and a generator costs a frame and two more objects each time.
    """

    __slots__ = ("_token",)

    def __enter__(self) -> None:
        self._token = _IDEMPOTENT.set(True)

    def __exit__(self, *exc_info: object) -> None:
        _IDEMPOTENT.reset(self._token)


class CappedTransport(httpx.AsyncBaseTransport):
    """Refuses answers larger than ``limit`` bytes, declared or decoded, while reading them.

    It wraps every institution's transport and decodes gzip and deflate itself, so the cap
    counts the decoded body. A success (2xx) is read whole here, under the cap: adapters
    always read an answer, and handing httpx the bytes spares every answer httpx's layers
    of streaming. An error status stays a stream, judged by its status first and read (or
    not) afterwards.

    The refusal is a ``MalformedResponse`` (code ``too_large``): it travels up through
    httpx unchanged, and the dispatcher reports it like any other malformed answer.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport, limit: int, institution: str) -> None:
        self._inner = inner
        self._limit = limit
        self._message = f"{institution} sent an answer larger than the {limit:,}-byte limit"

    def _refuse(self) -> MalformedResponse:
        return MalformedResponse(self._message, code="too_large")

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await self._inner.handle_async_request(request)
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
            if not _IDEMPOTENT.get():
                raise
            # Most likely a pooled connection that had just been closed: once more, at once.
            response = await self._inner.handle_async_request(request)
        stream = response.stream
        assert isinstance(stream, httpx.AsyncByteStream)
        success = 200 <= response.status_code < 300
        declared = header_value(response.headers, b"content-length") or ""
        if (
            success
            and declared.isascii()
            and declared.isdigit()
            and (len(declared) > 15 or int(declared) > self._limit)
        ):
            await stream.aclose()
            raise self._refuse()
        decoder = _decoder_for(response)
        if not success:
            response.stream = _CappedStream(stream, self._limit, self._refuse, decoder)
            return response
        if decoder is None and isinstance(stream, AiohttpBody):
            loaded(response, await stream.read_capped(self._limit, self._refuse))
            return response
        # Loops, not async comprehensions: no nested coroutine per answer. A body that is
        # not encoded (most are) is counted here rather than through a _CappedStream: one
        # layer fewer for every chunk, and for the end of every body.
        body = (
            stream if decoder is None else _CappedStream(stream, self._limit, self._refuse, decoder)
        )
        chunks = []
        read = 0
        try:
            async for chunk in body:
                read += len(chunk)
                if read > self._limit:
                    raise self._refuse()
                chunks.append(chunk)
        finally:
            await body.aclose()
        loaded(response, b"".join(chunks))
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


class InstitutionClient(LeanClient):
    """httpx's client, less the per-request work an institution's API never needs.

    Measured on the loopback benchmark, httpx spent a fifth of the client's CPU turning
    the same few paths into URLs again and running every answer through a cookie jar, and
    more in layers for authentication flows, redirects and timing that an institution's
    client never uses. So: each path is merged with the (fixed) base URL once, no cookies
    are kept, and ``send`` hands a request straight to the transport when it needs
    nothing else (no ``auth``, no redirects to follow, no event hooks). That path does not
    set ``Response.elapsed``; the dispatcher times requests itself. The transport is still
    chosen per URL (``mounts=``), which is also where respx's ``using="httpx"`` mock hooks
    in.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._timeouts: tuple[httpx.Timeout | None, dict[str, float | None]] = (None, {})
        self._headers_seen: tuple[
            tuple[Field, ...], tuple[list[Field], frozenset[bytes], str | None]
        ] = ((), ([], frozenset(), None))

    def build_request(  # type: ignore[override]
        self,
        method: str,
        url: httpx.URL | str,
        *,
        content: bytes | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        **others: Any,
    ) -> httpx.Request:
        """httpx's ``build_request``; a bytes or JSON body with plain headers goes a shorter way.

        Adapters send small bodies with a header or two. For those the request is assembled
        here, with exactly the headers httpx would give it (the client's, ``Host``,
        ``Content-Length`` and, for JSON, ``Content-Type``), at a third of the cost; anything
        else (``params``, ``data``, ``files``, cookies, a timeout, a streamed body) is left to
        httpx.
        """
        plain_body = content is None or (json is None and isinstance(content, bytes))
        plain_headers = headers is None or type(headers) is dict
        if others or not (plain_body and plain_headers and CLIENT_SHORTCUTS):
            return super().build_request(
                method, url, content=content, json=json, headers=headers, **others
            )
        merged = self.merged_url(url)
        if json is not None:
            content = _JSON.encode(json).encode()
        fields, names, encoding = self._own_headers()
        if headers:
            given: list[Field] = []
            for name, value in headers.items():
                key = name.encode("ascii")
                given.append((key, key.lower(), value.encode("ascii")))
            replaced = {lower for _, lower, _ in given}
            fields = [field for field in fields if field[1] not in replaced] + given
            names = names | replaced
        auto: list[Field] = [] if b"host" in names else [(b"Host", b"host", merged.netloc)]
        added: list[Field] = []
        if content:
            if b"content-length" not in names:
                added.append((b"Content-Length", b"content-length", str(len(content)).encode()))
            if json is not None and b"content-type" not in names:
                added.append((b"Content-Type", b"content-type", b"application/json"))
        elif (
            method.upper() in ("POST", "PUT", "PATCH")
            and b"content-length" not in names
            and b"transfer-encoding" not in names
        ):
            auto.append((b"Content-Length", b"content-length", b"0"))
        # Every byte added here is ASCII: the request's encoding is the client headers'.
        return request_of(
            method,
            merged,
            headers_of([*auto, *fields, *added], encoding),
            content or b"",
            {"timeout": self._timeout_dict()},
        )

    def _own_headers(self) -> tuple[list[Field], frozenset[bytes], str | None]:
        """The client's header fields, their lower-case names, and "ascii" if they are all
        ASCII; worked out again only when the client's headers change."""
        current = fields_of(self.headers)
        if current != self._headers_seen[0]:
            names = frozenset(lower for _, lower, _ in current)
            # Not the client Headers' own encoding: httpx can leave that stale after a change.
            ascii_only = all(name.isascii() and value.isascii() for name, _, value in current)
            self._headers_seen = (current, (list(current), names, "ascii" if ascii_only else None))
        return self._headers_seen[1]

    def _timeout_dict(self) -> dict[str, float | None]:
        """The client's timeouts as a request carries them, made once per ``Timeout``."""
        timeout = self.timeout
        if self._timeouts[0] is not timeout:
            self._timeouts = (timeout, timeout.as_dict())
        return self._timeouts[1]

    async def send(
        self,
        request: httpx.Request,
        *,
        stream: bool = False,
        auth: httpx.Auth | Any = httpx.USE_CLIENT_DEFAULT,
        follow_redirects: bool | Any = httpx.USE_CLIENT_DEFAULT,
    ) -> httpx.Response:
        plain = (
            CLIENT_SHORTCUTS
            and auth is httpx.USE_CLIENT_DEFAULT
            and self.auth is None
            and follow_redirects is not True
            and not self.follow_redirects
            and not any(self.event_hooks.values())
        )
        if not plain:
            return await super().send(
                request, stream=stream, auth=auth, follow_redirects=follow_redirects
            )
        if self.is_closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        try:
            response = await self.transport_for(request.url).handle_async_request(request)
        except httpx.RequestError as error:
            error.request = request
            raise
        response.request = request
        if not stream:
            try:
                await response.aread()
            except BaseException:
                await response.aclose()
                raise
        return response


#: httpx's JSON body encoding, made once (json.dumps with options makes an encoder per call);
#: no check for cycles, which a body an adapter has just built cannot have
_JSON = JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), allow_nan=False, check_circular=False
)


def build_client(
    settings: InstitutionSettings,
    transport: httpx.AsyncBaseTransport | None = None,
    *,
    timed: bool = True,
) -> httpx.AsyncClient:
    """The client for one institution. ``transport`` replaces the network (sandbox, tests).

    ``timed=False`` leaves the transport without timeouts of its own, for a caller that
    times every exchange as a whole (the dispatcher does, with the same ``timeout``): a
    connect, read or pool timeout of that length could only fire after the caller's, and
    arming it costs every request timers (aiohttp re-arms its read timer on every chunk).
    """
    headers = {"user-agent": _USER_AGENT, "accept-encoding": ACCEPTED_CODINGS}
    token = settings.auth.token()
    if token is not None:
        scheme = settings.auth.scheme.strip()
        secret = token.get_secret_value()
        headers[settings.auth.header] = f"{scheme} {secret}" if scheme else secret
    if transport is None:
        limits = httpx.Limits(
            max_connections=settings.concurrency,
            max_keepalive_connections=settings.concurrency,
            keepalive_expiry=settings.keepalive_expiry,
        )
        # Cleartext needs no TLS context (loading the CA store costs ~20 ms per client).
        tls = _tls_context(settings) if settings.base_url.startswith("https:") else False
        transport = _transport(settings, tls, limits)
    transport = CappedTransport(transport, settings.max_response_bytes, settings.name)
    return InstitutionClient(
        base_url=settings.base_url,
        headers=headers,
        timeout=httpx.Timeout(settings.timeout if timed else None),
        transport=transport,
        follow_redirects=False,
    )
