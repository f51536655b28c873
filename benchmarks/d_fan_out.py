"""d. The fan-out of the issue: 20 ms latency, 50 connections, 1,000 parties, 3 institutions.

The makespan of the whole batch, assetquery (each transport) against the two baselines.
Between CPU-bound and latency-bound: 3,000 requests whose 20 ms overlap only if the client
keeps its connections busy.
"""

from __future__ import annotations

from .harness import Comparison, Log, ScenarioResult, Target, interleave, side_notes
from .loopback import (
    assetquery_side_name,
    default_transport,
    loopback,
    makespan,
    transports,
)

ID = "d"
TITLE = "loopback fan-out"
TARGET = Target("<=", 1.3)


def run(
    n: int,
    repeat: int,
    *,
    cap: int = 50,
    latency: float = 0.02,
    warmup: bool = True,
    log: Log | None = None,
) -> ScenarioResult:
    with loopback(n, cap, latency, figure=makespan, unit="s") as setup:
        sides = [setup.assetquery(t) for t in transports()]
        sides += [setup.httpx_baseline(), setup.aiohttp_baseline()]
        series = interleave(sides, repeat, warmup=warmup, log=log)
    comparisons = [
        Comparison(assetquery_side_name(t), "aiohttp baseline", TARGET, binding=t is None)
        for t in transports()
    ]
    comparisons.append(Comparison("assetquery", "httpx baseline"))
    result = ScenarioResult(
        ID,
        TITLE,
        params={
            "n": n,
            "repeat": repeat,
            "institutions": 3,
            "cap": cap,
            "latency": latency,
            "default_transport": default_transport(),
        },
        series=series,
        comparisons=comparisons,
    )
    result.notes.append(f"assetquery: the library's default transport, {default_transport()}")
    result.notes.extend(side_notes(result))
    return result
