"""The per-institution client over real loopback sockets: what each transport reports."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import os
import re
import zlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from assetquery import Case, Dispatcher, Party, ResultStatus, Settings
from assetquery._config import InstitutionSettings, settings_from_mapping
from assetquery._errors import MalformedResponse
from assetquery._http._aiohttp import AiohttpTransport
from assetquery._http._transport import CappedTransport, build_client, idempotent
from assetquery._internals import CLIENT_SHORTCUTS, OFF, header_value, response_of
from assetquery.adapters import Institution, InstitutionTimeout, InstitutionUnreachable
from assetquery.adapters._bank import BankAdapter

from .. import samples


def _settings(base_url: str, **options: Any) -> InstitutionSettings:
    return InstitutionSettings(
        id="bank", name="测试银行", adapter="bank", base_url=base_url, **options
    )


async def _hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")  # the request arrived; no answer comes back
    writer.close()


async def _half_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 400\r\n\r\n{"
    )
    await writer.drain()
    writer.close()


@pytest.fixture(params=[_hang_up, _half_answer], ids=["before the answer", "mid-body"])
async def dropping_server(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    server = await asyncio.start_server(request.param, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
async def test_a_dropped_connection_is_unreachable_not_a_timeout(
    dropping_server: str, transport: str
) -> None:
    settings = InstitutionSettings(
        id="bank", name="测试银行", adapter="bank", base_url=dropping_server, transport=transport
    )
    adapter = BankAdapter(Institution(id="bank", name="测试银行"))
    async with build_client(settings) as client:
        with pytest.raises(InstitutionUnreachable) as caught:
            await adapter.send(client, "GET", "/x")
    assert not isinstance(caught.value, InstitutionTimeout)
    assert caught.value.code == "connection"
    assert "ConnectTimeout" not in caught.value.message


def test_httpxs_own_transport_warns_about_cancelled_requests(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = InstitutionSettings(
        id="bank", name="测试银行", adapter="bank", base_url="http://127.0.0.1:9", transport="httpx"
    )
    build_client(settings)
    assert "httpcore#1093" in caplog.text


class _Streamed(httpx.AsyncByteStream):
    """A body that arrives over the wire in pieces (``content=`` would be read at once)."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self._data), 16 * 1024):
            yield self._data[start : start + 16 * 1024]


def _compressed_answer(body: bytes, coding: str) -> httpx.MockTransport:
    if coding == "gzip":
        encoded = gzip.compress(body)
    elif coding == "deflate":
        encoded = zlib.compress(body)
    else:  # raw deflate, without the zlib wrapper, as some servers send "deflate"
        packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        encoded, coding = packer.compress(body) + packer.flush(), "deflate"

    def answer(request: httpx.Request) -> httpx.Response:
        assert request.headers["accept-encoding"] == "gzip, deflate"
        return httpx.Response(200, headers={"content-encoding": coding}, stream=_Streamed(encoded))

    return httpx.MockTransport(answer)


@pytest.mark.parametrize("coding", ["gzip", "deflate", "raw deflate"])
async def test_compressed_answers_are_decoded(coding: str) -> None:
    body = json.dumps({"accounts": ["张三"] * 1000}, ensure_ascii=False).encode()
    settings = _settings("http://bank.test")
    async with build_client(settings, _compressed_answer(body, coding)) as client:
        response = await client.get("/x")
    assert response.content == body


async def test_a_success_read_under_the_cap_is_what_httpx_would_have_read() -> None:
    # The capped read hands httpx the body directly; the response must be what read() makes.
    body = json.dumps({"accounts": ["张三"] * 500}, ensure_ascii=False).encode()

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"content-type": "application/json"}, stream=_Streamed(body)
        )

    async with build_client(_settings("http://bank.test"), httpx.MockTransport(answer)) as client:
        ours = await client.send(client.build_request("GET", "/x"), stream=True)
    reference = httpx.Response(200, headers={"content-type": "application/json"}, content=body)

    assert ours.content == reference.content == body
    assert await ours.aread() == body
    assert ours.json() == reference.json() and ours.text == reference.text
    assert list(ours.iter_bytes(chunk_size=1000)) == list(reference.iter_bytes(chunk_size=1000))
    assert [chunk async for chunk in ours.aiter_bytes()] == [body]
    assert (ours.is_stream_consumed, ours.is_closed) == (True, True)
    assert ours.num_bytes_downloaded == len(body)
    await ours.aclose()  # closing again does nothing


async def test_a_compression_bomb_is_cut_off_at_the_decoded_size() -> None:
    bomb = b"\0" * 64 * 1024 * 1024  # 64 MiB of zeros: about 64 KiB gzipped
    settings = _settings("http://bank.test", max_response_bytes=1024 * 1024)
    async with build_client(settings, _compressed_answer(bomb, "gzip")) as client:
        with pytest.raises(MalformedResponse) as caught:
            await client.get("/x")
    assert caught.value.code == "too_large"


async def test_a_coding_that_was_not_asked_for_is_a_decoding_error() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        headers = {"content-encoding": "br"}
        return httpx.Response(200, headers=headers, stream=_Streamed(b"\x0b\x02\x80"))

    async with build_client(_settings("http://bank.test"), httpx.MockTransport(answer)) as client:
        with pytest.raises(httpx.DecodingError):
            await client.get("/x")


# --- every transport reports the same failure as the same httpx error ------------------------

TRANSPORTS = ["aiohttp", "httpx"]


async def _not_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"SMTP ready\r\n\r\n")
    await writer.drain()
    writer.close()


async def _never_answers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    await asyncio.sleep(30)  # far beyond the client's read timeout


async def _serve(handler: Any) -> tuple[asyncio.Server, str]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(
    ("handler", "expected"),
    [
        (_hang_up, httpx.RemoteProtocolError),
        (_half_answer, httpx.RemoteProtocolError),
        (_not_http, httpx.RemoteProtocolError),
    ],
    ids=["hang-up", "half a body", "not HTTP"],
)
async def test_each_transport_names_a_broken_exchange_alike(
    transport: str, handler: Any, expected: type[httpx.TransportError]
) -> None:
    server, url = await _serve(handler)
    async with server, build_client(_settings(url, transport=transport)) as client:
        with pytest.raises(expected) as caught:
            await client.get("/x")
    assert caught.value.request.url == httpx.URL(f"{url}/x")


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_each_transport_says_a_refused_connection_is_a_connect_error(
    transport: str,
) -> None:
    server, url = await _serve(_hang_up)
    server.close()  # the port is free again: nothing listens there
    await server.wait_closed()
    async with build_client(_settings(url, transport=transport)) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get("/x")


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_each_transport_says_a_silent_server_is_a_read_timeout(transport: str) -> None:
    server, url = await _serve(_never_answers)
    async with server, build_client(_settings(url, transport=transport, timeout=0.05)) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get("/x")


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_the_dispatcher_times_a_silent_server_with_its_own_timer(
    transport: str, person: Party, case: Case
) -> None:
    # Its clients arm no transport timeouts; the attempt's timer alone ends the wait.
    server, url = await _serve(_never_answers)
    async with server, Dispatcher(_one_bank(url, transport, timeout=0.05)) as dispatcher:
        client = dispatcher._routes[0].client  # noqa: SLF001 - the dispatcher's own route
        assert client is not None and client.timeout == httpx.Timeout(None)
        report = await dispatcher.lookup(person, case)
    result = report.result_for("bank")
    assert result.status is ResultStatus.TIMEOUT
    assert result.error is not None and result.error.code == "timeout"


def _one_bank(url: str, transport: str, **options: Any) -> Settings:
    """Settings for a dispatcher that asks one bank, at ``url``, once per lookup."""
    bank = {"id": "bank", "name": "测试银行", "adapter": "bank", "base_url": url}
    return settings_from_mapping(
        {"institutions": [{**bank, "transport": transport, "retry": {"attempts": 1}, **options}]}
    )


class _KeepAliveServer:
    """Answers every request on a connection with ``answer``; shows each request's head to
    :meth:`seen` and counts connections."""

    answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"

    def __init__(self) -> None:
        self.connections = 0

    def seen(self, head: bytes) -> None:
        """One request's head (request line and header lines)."""

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.seen(head)
                length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                await reader.readexactly(int(length.group(1)) if length else 0)
                writer.write(self.answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


class _CountingServer(_KeepAliveServer):
    """Sets a cookie on every answer; keeps every cookie a request brought back."""

    answer = (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
        b"set-cookie: session=party-1\r\ncontent-length: 2\r\n\r\n{}"
    )

    def __init__(self) -> None:
        super().__init__()
        self.cookies_seen: list[bytes] = []

    def seen(self, head: bytes) -> None:
        self.cookies_seen += [
            line for line in head.lower().split(b"\r\n") if line.startswith(b"cookie:")
        ]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_each_transport_keeps_its_connection_and_no_cookies(transport: str) -> None:
    counting = _CountingServer()
    server, url = await _serve(counting)
    async with server, build_client(_settings(url, transport=transport)) as client:
        for _ in range(5):
            response = await client.post("/x", json={"n": 1})
            assert response.json() == {}
    assert counting.connections == 1  # one pooled connection, reused
    assert counting.cookies_seen == []  # what one answer set never rides on the next request


class _HeaderRecorder(_KeepAliveServer):
    """Keeps the names of the headers each request arrived with."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[list[str]] = []

    def seen(self, head: bytes) -> None:
        lines = head.decode("latin-1").split("\r\n")[1:]
        self.names.append(sorted(line.split(":")[0].lower() for line in lines if line))


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_each_transport_sends_the_headers_httpx_built_and_no_others(transport: str) -> None:
    recorder = _HeaderRecorder()
    server, url = await _serve(recorder)
    async with server, build_client(_settings(url, transport=transport)) as client:
        await client.post("/x", json={"n": 1})
        request = client.build_request("GET", "/y")
        del request.headers["accept"]  # a header the client's own defaults would add
        await client.send(request)
    plain, without_accept = recorder.names
    assert plain == [
        "accept",
        "accept-encoding",
        "connection",
        "content-length",
        "content-type",
        "host",
        "user-agent",
    ]
    assert without_accept == ["accept-encoding", "connection", "host", "user-agent"]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_each_transport_sends_a_repeated_header_field_every_time(transport: str) -> None:
    recorder = _HeaderRecorder()
    server, url = await _serve(recorder)
    async with server, build_client(_settings(url, transport=transport)) as client:
        await client.post("/x", json={}, headers=[("X-Trace", "a"), ("X-Trace", "b")])
    assert recorder.names[0].count("x-trace") == 2


async def test_the_plain_path_still_honours_auth_and_event_hooks() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization", ""))
        return httpx.Response(200, json={})

    async def hook(request: httpx.Request) -> None:
        seen.append("hook")

    async with build_client(_settings("http://bank.test"), httpx.MockTransport(answer)) as client:
        await client.get("/x", auth=("court", "secret"))
        client.event_hooks = {"request": [hook], "response": []}
        await client.get("/x")
    assert seen[0].startswith("Basic ") and seen[1:] == ["hook", ""]


# --- the client's short way to build a request gives what httpx's would ----------------------

_BODIES: list[dict[str, Any]] = [
    {"json": {"id_number": "110101199003074477", "name": "张三", "n": [1, 2.5, None]}},
    {"content": b"<?xml version='1.0'?><Query/>", "headers": {"content-type": "application/xml"}},
    {"content": b"x", "headers": {"Content-Length": "1", "X-Trace": "a"}},
    {"content": b""},
    {},
    {"headers": {"host": "other.test", "accept": "text/plain"}},
    {"json": {"a": 1}, "headers": {"content-type": "application/json; charset=utf-8"}},
]


@pytest.mark.parametrize("method", ["GET", "post", "PUT", "DELETE"])
@pytest.mark.parametrize("options", _BODIES)
async def test_the_short_way_builds_the_request_httpx_would(
    method: str, options: dict[str, Any]
) -> None:
    settings = _settings("https://bank.test:8443/api")
    async with build_client(settings, httpx.MockTransport(lambda r: httpx.Response(200))) as client:
        short = client.build_request(method, "/inquiry/1", **options)
        full = httpx.AsyncClient.build_request(client, method, "/inquiry/1", **options)
    assert (short.method, short.url) == (full.method, full.url)
    assert short.headers.raw == full.headers.raw
    assert short.headers.multi_items() == full.headers.multi_items()
    assert short.headers.encoding == full.headers.encoding
    assert short.content == full.content
    assert b"".join(short.stream) == b"".join(full.stream)  # type: ignore[arg-type]
    assert short.extensions == full.extensions
    assert vars(short).keys() == vars(full).keys()  # every field httpx sets, and no other


@pytest.mark.skipif(
    not CLIENT_SHORTCUTS or "messages" in OFF, reason="the shortcuts are switched off"
)
async def test_requests_to_one_path_share_a_url_the_aiohttp_transport_converts_once() -> None:
    settings = _settings("http://bank.test", transport="aiohttp")
    async with build_client(settings) as client:
        first = client.build_request("POST", "/inquiry", json={"n": 1})
        second = client.build_request("POST", "/inquiry", json={"n": 2})
        transport = client.transport_for(first.url)
        assert isinstance(transport, CappedTransport)
        aiohttp_transport = transport._inner  # noqa: SLF001 - our transport's own layer
        assert isinstance(aiohttp_transport, AiohttpTransport)
        assert first.url is second.url  # httpx itself would copy it for each request
        converted = aiohttp_transport._url  # noqa: SLF001 - our subclass's own cache
        assert converted(first.url) is converted(second.url)


async def test_the_short_way_follows_changes_to_the_clients_headers() -> None:
    async with build_client(_settings("http://bank.test")) as client:
        before = client.build_request("POST", "/x", json={})
        client.headers["X-Court"] = "Beijing"
        client.headers["user-agent"] = "court-system/2"
        after = client.build_request("POST", "/x", json={})
        client.headers = {"X-Court": "北京".encode()}  # not ASCII: httpx reads it as UTF-8
        other = client.build_request("POST", "/x", json={})
        full = httpx.AsyncClient.build_request(client, "POST", "/x", json={})
    assert "x-court" not in before.headers
    assert (after.headers["x-court"], after.headers["user-agent"]) == ("Beijing", "court-system/2")
    assert other.headers.raw == full.headers.raw
    assert other.headers["x-court"] == full.headers["x-court"] == "北京"
    assert other.headers.encoding == full.headers.encoding == "utf-8"


async def _odd_headers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Name: caf\xe9\r\n"
        b"Set-Cookie: a=1\r\nset-cookie: b=2\r\n\r\n{}"
    )
    await writer.drain()
    writer.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_each_transport_hands_over_the_answers_headers_as_httpx_reads_them(
    transport: str,
) -> None:
    server, url = await _serve(_odd_headers)
    async with server, build_client(_settings(url, transport=transport)) as client:
        response = await client.get("/x")
    reference = httpx.Headers(response.headers.raw)
    assert response.headers.raw == reference.raw
    assert response.headers.multi_items() == reference.multi_items()
    assert response.headers.encoding == reference.encoding == "iso-8859-1"
    assert response.headers["x-name"] == "café"
    assert response.headers.get_list("set-cookie") == ["a=1", "b=2"]
    assert [name for name, _ in response.headers.raw][:2] == [b"Content-Length", b"X-Name"]


@pytest.mark.parametrize(
    "raw",
    [
        [],
        [(b"Content-Type", b"application/xml")],
        [(b"X-Name", b"caf\xe9"), (b"Content-Length", b"2")],
        [(b"Set-Cookie", b"a=1"), (b"Content-Type", b"text/xml"), (b"set-cookie", b"b=2")],
        [(b"X-Court", "北京".encode())],
    ],
)
def test_header_value_reads_a_field_as_headers_get_does(raw: list[tuple[bytes, bytes]]) -> None:
    headers = httpx.Headers(raw)
    for name in ("content-type", "x-name", "set-cookie", "content-length", "x-court", "absent"):
        assert header_value(headers, name.encode()) == headers.get(name)


def test_response_of_sets_what_httpxs_response_sets() -> None:
    request = httpx.Request("GET", "http://bank.test/x")
    stream = httpx.ByteStream(b"{}")
    headers = httpx.Headers({"Content-Type": "application/json"})
    extensions = {"http_version": b"HTTP/1.1"}
    short = response_of(200, headers, stream, request, extensions)
    full = httpx.Response(
        200, headers=headers, stream=stream, request=request, extensions=extensions
    )
    assert vars(short).keys() == vars(full).keys()
    for name in vars(full):
        if name != "headers":
            assert getattr(short, name) == getattr(full, name), name
    assert short.headers.raw == full.headers.raw
    assert (short.request, short.http_version, short.reason_phrase) == (
        full.request,
        full.http_version,
        full.reason_phrase,
    )


async def test_headers_that_are_not_a_plain_dict_take_httpxs_way() -> None:
    given = [("X-Trace", "a"), ("X-Trace", "b")]
    async with build_client(_settings("http://bank.test")) as client:
        short = client.build_request("POST", "/x", json={}, headers=given)
        full = httpx.AsyncClient.build_request(client, "POST", "/x", json={}, headers=given)
    assert short.headers.raw == full.headers.raw
    assert short.headers.get_list("x-trace") == ["a", "b"]


# --- a pooled connection the server has just closed ------------------------------------------


class _ClosesIdleConnections:
    """Answers the first request on a connection; hangs up on the next one, as a server does
    whose keep-alive ran out just as the client reused the connection."""

    def __init__(self, body: bytes = b"{}") -> None:
        self.requests = 0
        self._body = body

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        await reader.readexactly(length)
        self.requests += 1
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n")
        writer.write(b"content-length: %d\r\n\r\n%s" % (len(self._body), self._body))
        await writer.drain()
        with contextlib.suppress(asyncio.IncompleteReadError):
            await reader.readuntil(b"\r\n\r\n")  # the next request on this connection...
        writer.close()  # ...gets no answer


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_an_inquiry_on_a_stale_connection_is_sent_again_at_once(transport: str) -> None:
    server_side = _ClosesIdleConnections()
    server, url = await _serve(server_side)
    async with server, build_client(_settings(url, transport=transport)) as client:
        with idempotent():
            for _ in range(3):
                assert (await client.post("/inquiry", json={"n": 1})).json() == {}
    assert server_side.requests == 3


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_control_on_a_stale_connection_is_never_sent_again(transport: str) -> None:
    server_side = _ClosesIdleConnections()
    server, url = await _serve(server_side)
    async with server, build_client(_settings(url, transport=transport)) as client:
        await client.post("/controls", json={"n": 1})
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            await client.post("/controls", json={"n": 2})
    assert server_side.requests == 1


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_lookups_send_an_inquiry_again_on_a_stale_connection(
    transport: str, person: Party, case: Case
) -> None:
    # The dispatcher marks its inquiries as safe to send twice, for the tasks it starts.
    server_side = _ClosesIdleConnections(json.dumps(samples.bank_json()).encode())
    server, url = await _serve(server_side)
    async with server, Dispatcher(_one_bank(url, transport)) as dispatcher:
        for _ in range(3):
            result = (await dispatcher.lookup(person, case)).result_for("bank")
            assert result.status is ResultStatus.OK and result.attempts == 1
    assert server_side.requests == 3


def test_switching_every_shortcut_off_gives_the_same_reports() -> None:
    # The way out, should a new httpx or pydantic break what _internals.py relies on.
    import json
    import subprocess
    import sys

    script = (
        "import json\n"
        "from datetime import UTC, datetime\n"
        "from assetquery import Case, Dispatcher, Party\n"
        "from assetquery.sandbox import dataset, run_simulated\n"
        "async def main(clock):\n"
        "    out = []\n"
        "    async with Dispatcher.sandbox(clock=clock) as d:\n"
        "        for p in dataset().parties[:12]:\n"
        "            case = Case(number=p.case_number, operator='李', claim=p.claim)\n"
        "            r = await d.lookup(Party.parse(p.name, p.id_number, p.kind), case)\n"
        "            out.append([r.model_dump(mode='json', include={'assets', 'totals',\n"
        "                'coverage', 'complete'}), [x.status.value for x in r.results]])\n"
        "    return out\n"
        "start = datetime(2026, 3, 2, 1, tzinfo=UTC)\n"
        "print(json.dumps(run_simulated(main, start=start), sort_keys=True))\n"
    )

    def run(shortcuts_off: str) -> object:
        env = {**os.environ, "ASSETQUERY_NO_SHORTCUTS": shortcuts_off}
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
        )
        return timeless(json.loads(done.stdout))

    assert run("all") == run("")


#: what differs between two lookups of the same party: the sandbox stamps its answers with
#: the wall clock, and every lookup draws fresh ids
_STAMPED = frozenset({"as_of", "received_at", "reference"})


def timeless(value: object) -> object:
    """``value`` without the times and ids each lookup stamps afresh."""
    if isinstance(value, dict):
        return {k: timeless(v) for k, v in value.items() if k not in _STAMPED}
    if isinstance(value, list):
        return [timeless(v) for v in value]
    return value


# --- the aiohttp transport reads a body whole under the cap, in chunks as they come -------


def _chunked(chunks: int, size: int) -> Any:
    """A server answering every request with ``chunks`` chunks of ``size`` bytes each."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
                for number in range(chunks):
                    piece = bytes([ord("a") + number % 26]) * size
                    writer.write(f"{size:x}\r\n".encode() + piece + b"\r\n")
                    await writer.drain()  # each chunk its own write: read as it comes
                writer.write(b"0\r\n\r\n")
                await writer.drain()
        writer.close()

    return answer


async def test_a_chunked_body_under_the_cap_arrives_whole() -> None:
    server, url = await _serve(_chunked(chunks=8, size=1000))
    settings = _settings(url, transport="aiohttp", max_response_bytes=8000)
    async with server, build_client(settings) as client:
        first = await client.get("/x")
        again = await client.get("/x")  # the connection went back to the pool, read to its end
    expected = b"".join(bytes([ord("a") + n]) * 1000 for n in range(8))
    assert first.content == again.content == expected
    assert first.is_closed and first.num_bytes_downloaded == 8000


async def test_a_chunked_body_over_the_cap_is_refused_while_reading() -> None:
    server, url = await _serve(_chunked(chunks=50, size=1000))
    settings = _settings(url, transport="aiohttp", max_response_bytes=4096)
    async with server, build_client(settings) as client:
        for _ in range(2):  # the refused answer's connection is closed, not handed on half-read
            with pytest.raises(MalformedResponse, match="4,096-byte limit") as refused:
                await client.get("/x")
            assert refused.value.code == "too_large"
