"""The per-institution client over real loopback sockets: what each transport reports."""

from __future__ import annotations

import asyncio
import gzip
import json
import zlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from assetquery._config import InstitutionSettings
from assetquery._errors import MalformedResponse
from assetquery._transport import build_client
from assetquery.adapters import Institution, InstitutionTimeout, InstitutionUnreachable
from assetquery.adapters._bank import BankAdapter


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
