"""The httpx baseline: one ``AsyncClient``, ``asyncio.gather`` under per-institution semaphores.

Run it alone against a running sandbox (``assetquery sandbox serve --write-config FILE``)::

    python -m benchmarks.baselines.httpx_client FILE --parties 500 --cap 50
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
    window: int | None = None,
) -> list[dict[str, wire.Found]]:
    """Every debtor at every institution that serves it; the answers per debtor, in order.

    At most ``cap`` requests are in flight per institution and, when given, at most
    ``window`` debtors at once (as assetquery's ``lookup_many`` bounds its window).
    """
    gates = {institution.id: asyncio.Semaphore(cap) for institution in institutions}
    parties = asyncio.Semaphore(window or len(debtors) or 1)

    async def send(institution: wire.Institution, request: wire.Request) -> httpx.Response:
        async with gates[institution.id]:
            return await client.request(
                request.method, request.url, content=request.body, headers=request.headers
            )

    async def ask(institution: wire.Institution, debtor: wire.Debtor) -> wire.Found:
        response = await send(institution, wire.inquiry(institution, debtor))
        answer = wire.parse(institution, *_answer(response))
        while isinstance(answer, wire.Pending):
            await asyncio.sleep(answer.wait)
            response = await send(institution, wire.Request("GET", answer.url, None, {}))
            answer = wire.parse(institution, *_answer(response))
        return answer

    async def look_up(debtor: wire.Debtor) -> dict[str, wire.Found]:
        asked = [i for i in institutions if wire.serves(i, debtor)]
        async with parties:
            found = await asyncio.gather(*(ask(i, debtor) for i in asked))
        return {i.id: f for i, f in zip(asked, found, strict=True)}

    return await asyncio.gather(*(look_up(d) for d in debtors))


def _answer(response: httpx.Response) -> tuple[int, bytes, str | None]:
    return response.status_code, response.content, response.charset_encoding


def client_for(institutions: Sequence[wire.Institution], cap: int) -> httpx.AsyncClient:
    """One client whose pool holds every institution's ``cap`` connections."""
    connections = cap * len(institutions)
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(limits=limits, timeout=30.0)


async def _main(config: str, parties: int, cap: int) -> None:
    from ..workload import debtors, institutions_from_config

    institutions = institutions_from_config(config)
    batch = debtors(parties)
    async with client_for(institutions, cap) as client:
        started = asyncio.get_running_loop().time()
        results = await lookup_all(client, institutions, batch, cap=cap)
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
