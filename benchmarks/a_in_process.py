"""a. In process: ``lookup_many`` against the hand-written httpx baseline, both in process.

Both sides talk to the same sandbox app (a fresh one per repetition, all four institutions,
zero latency, the ticket bank answering on its first poll) through ``httpx.ASGITransport``,
so the figure is the client's own cost: building requests, parsing answers, and for
assetquery the models, reports, gates and retries around them. Building the dispatcher (or
client) and the app is not timed; the batch is, from the first request to the last report.

Concurrency is bounded the same way on both sides: at most ``window`` parties in flight
(2 × the institutions' cap, the dispatcher's default window, passed explicitly to both) and
at most ``cap`` requests per institution (the dispatcher's gate; a semaphore per institution
in the baseline).
"""

from __future__ import annotations

import asyncio

import httpx

from assetquery import Dispatcher
from assetquery.sandbox import SandboxConfig, create_app

from .baselines import httpx_client, wire
from .harness import (
    Comparison,
    Log,
    Measurement,
    ScenarioResult,
    Side,
    Stopwatch,
    Target,
    interleave,
    side_notes,
)
from .workload import debtors, in_process_institutions, lookup_requests

ID = "a"
TITLE = "in process"
#: zero latency; the ticket bank's answer is ready at once and polled without waiting
CONFIG = SandboxConfig.uniform(feedback_delay=0, poll_after_seconds=0)
TARGET = Target("<=", 1.25)


def run(n: int, repeat: int, *, warmup: bool = True, log: Log | None = None) -> ScenarioResult:
    requests = lookup_requests(n)
    batch = debtors(n)
    institutions = in_process_institutions()
    cap = max(i.concurrency for i in Dispatcher.sandbox(CONFIG).institutions)
    window = 2 * cap

    def assetquery() -> Measurement:
        async def work() -> Measurement:
            async with Dispatcher.sandbox(CONFIG) as dispatcher:
                assets = 0
                with Stopwatch() as watch:
                    async for report in dispatcher.lookup_many(requests, window=window):
                        assets += len(report.assets)
            return Measurement(watch.elapsed, watch.detail(n, assets=assets))

        return asyncio.run(work())

    def baseline() -> Measurement:
        async def work() -> Measurement:
            transport = httpx.ASGITransport(app=create_app(CONFIG))
            async with httpx.AsyncClient(transport=transport) as client:
                with Stopwatch() as watch:
                    found = await httpx_client.lookup_all(
                        client, institutions, batch, cap=cap, window=window
                    )
            return Measurement(watch.elapsed, watch.detail(n, assets=wire.total_assets(found)))

        return asyncio.run(work())

    sides = [Side("assetquery", n, "s", assetquery), Side("httpx baseline", n, "s", baseline)]
    result = ScenarioResult(
        ID,
        TITLE,
        params={"n": n, "repeat": repeat, "institutions": 4, "cap": cap, "window": window},
        series=interleave(sides, repeat, warmup=warmup, log=log),
        comparisons=[Comparison("assetquery", "httpx baseline", TARGET)],
    )
    result.notes.extend(side_notes(result))
    return result
