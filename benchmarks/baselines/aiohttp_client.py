"""The raw aiohttp baseline: one ``ClientSession``, ``asyncio.gather`` under semaphores.

Run it alone against a running sandbox (``assetquery sandbox serve --write-config FILE``)::

    python -m benchmarks.baselines.aiohttp_client FILE --parties 500 --cap 50
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import aiohttp

from . import fanout, wire


async def lookup_all(
    session: aiohttp.ClientSession,
    institutions: Sequence[wire.Institution],
    debtors: Sequence[wire.Debtor],
    *,
    cap: int,
    window: int | None = None,
) -> fanout.Batch:
    """Every debtor at every institution that serves it; the answers per debtor, in order.

    At most ``cap`` requests are in flight per institution and, when given, at most
    ``window`` debtors at once.
    """
    gates = {institution.id: asyncio.Semaphore(cap) for institution in institutions}

    async def exchange(
        institution: wire.Institution, request: wire.Request
    ) -> tuple[int, bytes, str | None]:
        async with (
            gates[institution.id],
            session.request(
                request.method, request.url, data=request.body, headers=request.headers
            ) as response,
        ):
            return response.status, await response.read(), response.charset

    return await fanout.fan_out(exchange, institutions, debtors, window=window)


def session_for(institutions: Sequence[wire.Institution], cap: int) -> aiohttp.ClientSession:
    """One session whose connector holds every institution's ``cap`` connections.

    The sandbox serves every institution from one host and port, so ``limit_per_host``
    would cap them all together; the per-institution semaphores cap each one instead, and
    the connector allows their sum.
    """
    connections = cap * len(institutions)
    connector = aiohttp.TCPConnector(limit=connections, limit_per_host=connections)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30.0))


async def _alone(
    institutions: Sequence[wire.Institution], debtors: Sequence[wire.Debtor], cap: int
) -> fanout.Batch:
    async with session_for(institutions, cap) as session:
        return await lookup_all(session, institutions, debtors, cap=cap)


if __name__ == "__main__":
    fanout.run_alone(__doc__.splitlines()[0], _alone)
