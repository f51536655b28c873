"""The raw aiohttp baseline: one ``ClientSession``, ``asyncio.gather`` under semaphores.

Run it alone against a running sandbox (``assetquery sandbox serve --write-config FILE``)::

    python -m benchmarks.baselines.aiohttp_client FILE --parties 500 --cap 50
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import aiohttp

from . import wire


async def lookup_all(
    session: aiohttp.ClientSession,
    institutions: Sequence[wire.Institution],
    debtors: Sequence[wire.Debtor],
    *,
    cap: int,
    window: int | None = None,
) -> list[dict[str, wire.Found]]:
    """Every debtor at every institution that serves it; the answers per debtor, in order.

    At most ``cap`` requests are in flight per institution and, when given, at most
    ``window`` debtors at once.
    """
    gates = {institution.id: asyncio.Semaphore(cap) for institution in institutions}
    parties = asyncio.Semaphore(window or len(debtors) or 1)

    async def send(
        institution: wire.Institution, request: wire.Request
    ) -> tuple[int, bytes, str | None]:
        async with (
            gates[institution.id],
            session.request(
                request.method, request.url, data=request.body, headers=request.headers
            ) as response,
        ):
            return response.status, await response.read(), response.charset

    async def ask(institution: wire.Institution, debtor: wire.Debtor) -> wire.Found:
        answer = wire.parse(
            institution, *await send(institution, wire.inquiry(institution, debtor))
        )
        while isinstance(answer, wire.Pending):
            await asyncio.sleep(answer.wait)
            poll = wire.Request("GET", answer.url, None, {})
            answer = wire.parse(institution, *await send(institution, poll))
        return answer

    async def look_up(debtor: wire.Debtor) -> dict[str, wire.Found]:
        asked = [i for i in institutions if wire.serves(i, debtor)]
        async with parties:
            found = await asyncio.gather(*(ask(i, debtor) for i in asked))
        return {i.id: f for i, f in zip(asked, found, strict=True)}

    return await asyncio.gather(*(look_up(d) for d in debtors))


def session_for(institutions: Sequence[wire.Institution], cap: int) -> aiohttp.ClientSession:
    """One session whose connector holds every institution's ``cap`` connections.

    The sandbox serves every institution from one host and port, so ``limit_per_host``
    would cap them all together; the per-institution semaphores cap each one instead, and
    the connector allows their sum.
    """
    connections = cap * len(institutions)
    connector = aiohttp.TCPConnector(limit=connections, limit_per_host=connections)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30.0))


async def _main(config: str, parties: int, cap: int) -> None:
    from ..workload import debtors, institutions_from_config

    institutions = institutions_from_config(config)
    batch = debtors(parties)
    async with session_for(institutions, cap) as session:
        started = asyncio.get_running_loop().time()
        results = await lookup_all(session, institutions, batch, cap=cap)
        elapsed = asyncio.get_running_loop().time() - started
    print(
        f"{len(batch)} parties in {elapsed:.2f} s ({len(batch) / elapsed:.0f} lookups/s), "
        f"{wire.total_assets(results)} assets"
    )


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", help="institutions TOML written by `assetquery sandbox serve`")
    parser.add_argument("--parties", type=int, default=500)
    parser.add_argument("--cap", type=int, default=50, help="requests in flight per institution")
    arguments = parser.parse_args()
    asyncio.run(_main(arguments.config, arguments.parties, arguments.cap))
