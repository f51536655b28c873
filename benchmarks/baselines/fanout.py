"""What every baseline does around its HTTP client, written once so that only the client differs.

A baseline supplies one *exchange*: send a :class:`wire.Request` to an institution and
return the answer's status, body and charset. Around it: ask an institution about a debtor
(polling while a bank hands out tickets), fan a debtor's institutions out together under a
window of debtors, and run a baseline alone from the command line.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable, Sequence

from . import wire

#: one HTTP exchange, whatever client makes it: the answer's status, body and charset
Exchange = Callable[[wire.Institution, wire.Request], Awaitable[tuple[int, bytes, str | None]]]
#: a whole batch: every debtor's answers per institution, in the debtors' order
Batch = list[dict[str, wire.Found]]


async def ask(exchange: Exchange, institution: wire.Institution, debtor: wire.Debtor) -> wire.Found:
    """What ``institution`` holds of ``debtor``: the inquiry, then polls while pending."""
    answer = wire.parse(
        institution, *await exchange(institution, wire.inquiry(institution, debtor))
    )
    while isinstance(answer, wire.Pending):
        await asyncio.sleep(answer.wait)
        poll = wire.Request("GET", answer.url, None, {})
        answer = wire.parse(institution, *await exchange(institution, poll))
    return answer


async def fan_out(
    exchange: Exchange,
    institutions: Sequence[wire.Institution],
    debtors: Sequence[wire.Debtor],
    *,
    window: int | None = None,
) -> Batch:
    """Every debtor at every institution that serves it, a debtor's institutions together;
    at most ``window`` debtors at once when given (the exchange caps each institution)."""
    parties = asyncio.Semaphore(window or len(debtors) or 1)

    async def look_up(debtor: wire.Debtor) -> dict[str, wire.Found]:
        asked = [i for i in institutions if wire.serves(i, debtor)]
        async with parties:
            found = await asyncio.gather(*(ask(exchange, i, debtor) for i in asked))
        return {i.id: f for i, f in zip(asked, found, strict=True)}

    return await asyncio.gather(*(look_up(d) for d in debtors))


def run_alone(
    description: str,
    batch: Callable[[Sequence[wire.Institution], Sequence[wire.Debtor], int], Awaitable[Batch]],
) -> None:
    """A baseline's command line: look up ``--parties`` debtors at a running sandbox."""
    from ..workload import debtors, institutions_from_config

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("config", help="institutions TOML written by `assetquery sandbox serve`")
    parser.add_argument("--parties", type=int, default=500)
    parser.add_argument("--cap", type=int, default=50, help="requests in flight per institution")
    arguments = parser.parse_args()
    institutions = institutions_from_config(arguments.config)
    chosen = debtors(arguments.parties)

    async def timed() -> tuple[Batch, float]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        results = await batch(institutions, chosen, arguments.cap)
        return results, loop.time() - started

    results, elapsed = asyncio.run(timed())
    print(
        f"{len(chosen)} parties in {elapsed:.2f} s ({len(chosen) / elapsed:.0f} lookups/s), "
        f"{wire.total_assets(results)} assets"
    )
