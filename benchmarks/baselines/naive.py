"""A naive fan-out: each party's institutions asked one after another, not together.

Parties still run concurrently, at most ``cap`` at a time (the institutions' cap), so each
institution sees at most ``cap`` requests in flight, as with assetquery; only the fan-out
within a party is sequential. What this costs is the point of scenario c.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import httpx

from . import fanout, wire
from .httpx_client import exchange_over


async def lookup_all(
    client: httpx.AsyncClient,
    institutions: Sequence[wire.Institution],
    debtors: Sequence[wire.Debtor],
    *,
    cap: int,
) -> fanout.Batch:
    parties = asyncio.Semaphore(cap)
    exchange = exchange_over(client)  # capping the parties caps every institution

    async def look_up(debtor: wire.Debtor) -> dict[str, wire.Found]:
        async with parties:
            return {
                i.id: await fanout.ask(exchange, i, debtor)
                for i in institutions
                if wire.serves(i, debtor)
            }

    return await asyncio.gather(*(look_up(d) for d in debtors))
