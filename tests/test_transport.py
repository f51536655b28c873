"""The per-institution client over real loopback sockets: what each transport reports."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from assetquery._config import InstitutionSettings
from assetquery._transport import build_client
from assetquery.adapters import Institution, InstitutionTimeout, InstitutionUnreachable
from assetquery.adapters._bank import BankAdapter


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
