"""The httpx baseline: one ``AsyncClient``, ``asyncio.gather`` under per-institution semaphores.

Run it alone against a running sandbox (``assetquery sandbox serve --write-config FILE``)::

    python -m benchmarks.baselines.httpx_client FILE --parties 500 --cap 50
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from contextlib import nullcontext

import httpx

from . import fanout, wire


def exchange_over(
    client: httpx.AsyncClient, gates: dict[str, asyncio.Semaphore] | None = None
) -> fanout.Exchange:
    """Requests through ``client``; under the institution's semaphore when ``gates`` has one."""

    async def exchange(
        institution: wire.Institution, request: wire.Request
    ) -> tuple[int, bytes, str | None]:
        async with gates[institution.id] if gates else nullcontext():
            response = await client.request(
                request.method, request.url, content=request.body, headers=request.headers
            )
        return response.status_code, response.content, response.charset_encoding

    return exchange


async def lookup_all(
    client: httpx.AsyncClient,
    institutions: Sequence[wire.Institution],
    debtors: Sequence[wire.Debtor],
    *,
    cap: int,
    window: int | None = None,
) -> fanout.Batch:
    """Every debtor at every institution that serves it; the answers per debtor, in order.

    At most ``cap`` requests are in flight per institution and, when given, at most
    ``window`` debtors at once (as assetquery's ``lookup_many`` bounds its window).
    """
    gates = {institution.id: asyncio.Semaphore(cap) for institution in institutions}
    return await fanout.fan_out(exchange_over(client, gates), institutions, debtors, window=window)


def client_for(institutions: Sequence[wire.Institution], cap: int) -> httpx.AsyncClient:
    """One client whose pool holds every institution's ``cap`` connections."""
    connections = cap * len(institutions)
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(limits=limits, timeout=30.0)


async def _alone(
    institutions: Sequence[wire.Institution], debtors: Sequence[wire.Debtor], cap: int
) -> fanout.Batch:
    async with client_for(institutions, cap) as client:
        return await lookup_all(client, institutions, debtors, cap=cap)


if __name__ == "__main__":
    fanout.run_alone(__doc__.splitlines()[0], _alone)
