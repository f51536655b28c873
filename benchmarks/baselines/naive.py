"""A naive fan-out: each party's institutions asked one after another, not together.

Parties still run concurrently, at most ``cap`` at a time (the institutions' cap), so each
institution sees at most ``cap`` requests in flight, as with assetquery; only the fan-out
within a party is sequential. What this costs is the point of scenario c.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import httpx

from . import wire


async def lookup_all(
    client: httpx.AsyncClient,
    institutions: Sequence[wire.Institution],
    debtors: Sequence[wire.Debtor],
    *,
    cap: int,
) -> list[dict[str, wire.Found]]:
    parties = asyncio.Semaphore(cap)

    async def ask(institution: wire.Institution, debtor: wire.Debtor) -> wire.Found:
        request = wire.inquiry(institution, debtor)
        response = await client.request(
            request.method, request.url, content=request.body, headers=request.headers
        )
        answer = wire.parse(institution, *_answer(response))
        while isinstance(answer, wire.Pending):
            await asyncio.sleep(answer.wait)
            response = await client.get(answer.url)
            answer = wire.parse(institution, *_answer(response))
        return answer

    async def look_up(debtor: wire.Debtor) -> dict[str, wire.Found]:
        async with parties:
            return {i.id: await ask(i, debtor) for i in institutions if wire.serves(i, debtor)}

    return await asyncio.gather(*(look_up(d) for d in debtors))


def _answer(response: httpx.Response) -> tuple[int, bytes, str | None]:
    return response.status_code, response.content, response.charset_encoding
