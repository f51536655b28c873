"""b. Over loopback, CPU-bound: lookups per second with no latency and a high cap.

The sandbox server answers at once, so throughput is bounded by CPU: the client's and the
server's (a separate process; the notes show how busy it was). assetquery runs with the
library's default transport and, as extra sides, with each other transport installed.
"""

from __future__ import annotations

from .harness import Comparison, Log, ScenarioResult, Target
from .loopback import (
    assetquery_side_name,
    every_transport,
    loopback,
    throughput,
    transport_result,
    transports,
)

ID = "b"
TITLE = "loopback, CPU-bound"
VS_HTTPX = Target(">=", 3.0)
VS_AIOHTTP = Target(">=", 1.0)


def run(
    n: int,
    repeat: int,
    *,
    cap: int = 50,
    latency: float = 0.0,
    warmup: bool = True,
    log: Log | None = None,
) -> ScenarioResult:
    with loopback(n, cap, latency, figure=throughput, unit="lookups/s") as setup:
        series = every_transport(setup, repeat, warmup=warmup, log=log)
    comparisons = []
    for transport in transports():
        name = assetquery_side_name(transport)
        binding = transport is None
        comparisons += [
            Comparison(name, "httpx baseline", VS_HTTPX, binding=binding),
            Comparison(name, "aiohttp baseline", VS_AIOHTTP, binding=binding),
        ]
    return transport_result(
        ID, TITLE, series, comparisons, n=n, repeat=repeat, cap=cap, latency=latency
    )
