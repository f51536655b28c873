"""aiohttp underneath httpx's API: the default transport to an institution.

httpx's own transport (httpcore) spends client CPU per request that grows with the idle
connections in its pool; aiohttp's does not, and at a court's batch sizes that decides
whether a batch waits on the institutions or on us (see docs/performance.md). The API above
stays httpx, so adapters, respx and the tests do not know which transport runs.

This builds on ``httpx-aiohttp``'s transport (its constructor, TLS context and pool) but
sends through a leaner path of its own, with aiohttp's own cookie jar and decompression
turned off (cookies are not kept, and bodies are decoded under the size cap), and says
what a failure was: ``httpx-aiohttp`` reports a connection the server dropped as a
``ConnectTimeout``, which is neither true nor a good basis for deciding on a retry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport as _BaseAiohttpTransport
from yarl import URL

from .._internals import fields_of, headers_of, response_of

__all__ = ["AiohttpBody", "AiohttpTransport"]

_HTTP_11 = b"HTTP/1.1"
_URL_MEMORY = 64  # URL objects remembered per transport: adapters use a handful of paths
#: headers aiohttp adds on its own when a request lacks them (lower case, as compared)
_AUTO_HEADERS = ("accept", "accept-encoding", "user-agent")


def _mapped(error: Exception, *, reading: bool) -> httpx.TransportError | None:
    """The httpx error that says what an aiohttp failure was, or None if it is not one."""
    message = str(error) or type(error).__name__
    if isinstance(error, aiohttp.ConnectionTimeoutError):  # no connection (or pool slot)
        return httpx.ConnectTimeout(message)
    if isinstance(error, aiohttp.SocketTimeoutError):  # connected, and the answer stalled
        return httpx.ReadTimeout(message)
    if isinstance(error, asyncio.TimeoutError):
        return httpx.ReadTimeout(message) if reading else httpx.TimeoutException(message)
    if isinstance(error, (aiohttp.NonHttpUrlClientError, aiohttp.InvalidURL)):
        return httpx.UnsupportedProtocol(message)
    if isinstance(error, (aiohttp.ClientProxyConnectionError, aiohttp.ClientHttpProxyError)):
        return httpx.ProxyError(message)
    if isinstance(error, aiohttp.ClientConnectorError):  # no connection was made
        return httpx.ConnectError(message)
    if isinstance(
        error,
        (
            aiohttp.ServerDisconnectedError,  # hung up before (or while) answering
            aiohttp.ClientResponseError,  # a status line or header that is not HTTP
            aiohttp.ClientPayloadError,  # a body cut short or badly framed
        ),
    ):
        return httpx.RemoteProtocolError(message)
    if isinstance(error, aiohttp.ClientConnectionError):  # reset, broken pipe…
        return httpx.ReadError(message)
    if isinstance(error, aiohttp.ClientError):
        return httpx.TransportError(message)
    return None


def _raise_read_failure(error: Exception) -> None:
    """Raise the httpx error a failure while reading a body is, if it is one."""
    mapped = _mapped(error, reading=True)
    if mapped is not None:
        raise mapped from error


class AiohttpBody(httpx.AsyncByteStream):
    """An aiohttp response body as httpx reads it: chunks as they arrive.

    An iterator object rather than an async generator: one is created per answer, and an
    async generator costs the event loop a registration and a finalizer each time.
    """

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    def __aiter__(self) -> AiohttpBody:
        return self

    async def __anext__(self) -> bytes:
        try:
            chunk = await self._response.content.readany()
        except Exception as error:
            _raise_read_failure(error)
            raise
        if not chunk:
            raise StopAsyncIteration
        return chunk

    async def aclose(self) -> None:
        # Back to the pool if the body was read to its end; otherwise the connection closes.
        self._response.release()

    async def read_capped(self, limit: int, refuse: Callable[[], Exception]) -> bytes:
        """The whole body, refused (``refuse()`` raised) once it passes ``limit`` bytes, and
        the connection released: what iterating and closing does, in one coroutine where
        those take one per chunk, one for the end and one to close (every answer is read)."""
        content = self._response.content
        chunks: list[bytes] = []
        read = 0
        try:
            while True:
                try:
                    chunk = await content.readany()
                except Exception as error:
                    _raise_read_failure(error)
                    raise
                if not chunk:
                    break
                read += len(chunk)
                if read > limit:
                    raise refuse()
                chunks.append(chunk)
        finally:
            self._response.release()
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class AiohttpTransport(_BaseAiohttpTransport):
    """httpx's transport interface over one aiohttp session and its connection pool."""

    def __init__(self, **options: Any) -> None:
        super().__init__(client=self._new_session, **options)
        self._timeouts: dict[tuple[float | None, ...], aiohttp.ClientTimeout] = {}
        self._urls: dict[int, tuple[httpx.URL, URL]] = {}

    def _new_session(self) -> aiohttp.ClientSession:
        limit = self.limits.max_connections
        connector = aiohttp.TCPConnector(
            limit=limit if limit is not None else 100,
            limit_per_host=0,  # one institution is one host: ``limit`` is its cap
            keepalive_timeout=self.limits.keepalive_expiry,
            ssl=self.ssl_context,
        )
        return aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            timeout=aiohttp.ClientTimeout(total=None),
        )

    def _timeout(self, request: httpx.Request) -> aiohttp.ClientTimeout:
        given = request.extensions.get("timeout", {})
        key = (given.get("connect"), given.get("read"), given.get("pool"))
        timeout = self._timeouts.get(key)
        if timeout is None:
            connect, read, pool = key
            timeout = aiohttp.ClientTimeout(sock_connect=connect, sock_read=read, connect=pool)
            if len(self._timeouts) < 16:  # a client uses one or two
                self._timeouts[key] = timeout
        return timeout

    def _url(self, url: httpx.URL) -> URL:
        """``url`` for aiohttp. A client sends the same few URL objects over and over (it
        remembers each path merged with its base URL), so each is converted once."""
        known = self._urls.get(id(url))
        if known is not None and known[0] is url:
            return known[1]
        converted = URL(str(url), encoded=True)
        if len(self._urls) < _URL_MEMORY:
            self._urls[id(url)] = (url, converted)  # holding ``url`` keeps its id unique
        return converted

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self.client
        if not isinstance(session, aiohttp.ClientSession):
            session = self.client = self.get_client()
        try:
            body = request.content  # read when it was built, as every adapter's request is
        except httpx.RequestNotRead:
            body = await request.aread()
        # As Headers.multi_items() has them (lower-case names), with the encoding asked once;
        # in a dict of strings unless a name repeats: the collector never tracks that dict.
        # (Loops, not comprehensions: a comprehension would make ``encoding`` and
        # ``headers`` cells, kept for as long as the answer is awaited.)
        fields = fields_of(request.headers)
        encoding = request.headers.encoding
        named: dict[str, str] = {}
        for _, name, value in fields:
            named[name.decode(encoding)] = value.decode(encoding)
        # What httpx sends is what goes out: aiohttp must not add a header httpx left out.
        # Asked only when one is missing, as skipping costs aiohttp two header copies.
        missing: list[str] = []
        for auto in _AUTO_HEADERS:
            if auto not in named:
                missing.append(auto)
        headers: dict[str, str] | list[tuple[str, str]] = named
        if len(named) < len(fields):  # a repeated name: every field, in order
            headers = []
            for _, name, value in fields:
                headers.append((name.decode(encoding), value.decode(encoding)))
        try:
            sending = session.request(
                request.method,
                self._url(request.url),
                headers=headers,
                skip_auto_headers=missing or None,
                data=body or None,
                allow_redirects=False,
                timeout=self._timeout(request),
                server_hostname=request.extensions.get("sni_hostname"),
            )
            del headers, named  # aiohttp copies them: not held while the answer is awaited
            response = await sending
        except Exception as error:
            mapped = _mapped(error, reading=False)
            if mapped is None:
                raise
            raise mapped from error
        extensions: dict[str, Any] = {"http_version": _HTTP_11}
        if response.reason:
            extensions["reason_phrase"] = response.reason.encode("ascii", "replace")
        # The fields as httpx would keep them, without its per-field normalizing calls.
        answered = [(name, name.lower(), value) for name, value in response.raw_headers]
        return response_of(
            response.status, headers_of(answered), AiohttpBody(response), request, extensions
        )
