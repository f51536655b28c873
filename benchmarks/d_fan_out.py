"""d. The fan-out of the issue: 20 ms latency, 50 connections, 1,000 parties, 3 institutions.

The makespan of the whole batch, assetquery (each transport) against the two baselines.
Between CPU-bound and latency-bound: 3,000 requests whose 20 ms overlap only if the client
keeps its connections busy.
"""

from __future__ import annotations

from .harness import Comparison, Log, ScenarioResult, Target
from .loopback import (
    assetquery_side_name,
    every_transport,
    loopback,
    makespan,
    transport_result,
    transports,
)

ID = "d"
TITLE = "loopback fan-out"
TARGET = Target("<=", 1.0)


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
        series = every_transport(setup, repeat, warmup=warmup, log=log)
    comparisons = [
        Comparison(assetquery_side_name(t), "aiohttp baseline", TARGET, binding=t is None)
        for t in transports()
    ]
    comparisons.append(Comparison("assetquery", "httpx baseline"))
    return transport_result(
        ID, TITLE, series, comparisons, n=n, repeat=repeat, cap=cap, latency=latency
    )
