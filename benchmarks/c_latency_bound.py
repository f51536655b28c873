"""c. Latency-bound batch over loopback: the makespan against the bound the caps allow.

Every answer takes ``latency`` seconds and each institution takes at most ``cap`` requests
at once, so no client can finish before max over institutions of
ceil(requests to it / cap) × latency (the fund centre is asked about persons only). The CPU
stays far below saturation: what is measured is how well the caps are kept full. The raw
aiohttp baseline shows how close a hand-written client gets to the bound against the same
server (each round of answers costs the single-threaded server, and the client, a few
milliseconds that the bound leaves out). A naive fan-out (each party's institutions one
after another, parties under the same cap) shows what not fanning out costs.

The default latency is 500 ms. A batch also costs time that no client can avoid here,
whatever the latency: about 0.1 s at the start (sixty connections opened at once) and
5-9 ms per round (a process woken from a sleep starts ~2.5 ms late on this kind of machine,
and the one-process server answers a round's requests one after another). Over 10 rounds
of 200 ms that is 7-8 % of the bound, for the raw aiohttp client as much as for
assetquery; of 500 ms, 3-4 %, and what is left to see is whether the client keeps the
caps full.
"""

from __future__ import annotations

import math

from .baselines import wire
from .harness import Comparison, Log, ScenarioResult, Target, interleave, side_notes
from .loopback import loopback, makespan

ID = "c"
TITLE = "loopback, latency-bound"
TARGET = Target("<=", 1.05)


def bound(
    debtors: list[wire.Debtor], institutions: list[wire.Institution], cap: int, latency: float
) -> float:
    """The shortest makespan the caps allow: the busiest institution's rounds × latency."""
    rounds = max(math.ceil(sum(wire.serves(i, d) for d in debtors) / cap) for i in institutions)
    return rounds * latency


def run(
    n: int,
    repeat: int,
    *,
    cap: int = 20,
    latency: float = 0.5,
    warmup: bool = True,
    log: Log | None = None,
) -> ScenarioResult:
    with loopback(n, cap, latency, figure=makespan, unit="s") as setup:
        limit = bound(setup.debtors, setup.institutions, cap, latency)
        sides = [setup.assetquery(), setup.aiohttp_baseline(), setup.naive_sequential()]
        series = interleave(sides, repeat, warmup=warmup, log=log)
    reference = "bound"
    result = ScenarioResult(
        ID,
        TITLE,
        params={
            "n": n,
            "repeat": repeat,
            "institutions": 3,
            "cap": cap,
            "latency": latency,
            "bound_s": limit,
        },
        series=series,
        comparisons=[
            Comparison("assetquery", reference, TARGET, fixed=limit),
            Comparison("assetquery", "aiohttp baseline"),
            Comparison("aiohttp baseline", reference, fixed=limit),
            Comparison("naive sequential", reference, fixed=limit),
        ],
    )
    result.notes.append(
        f"bound = max over institutions of ceil(requests / {cap}) × {latency:g} s = {limit:g} s"
    )
    result.notes.extend(side_notes(result))
    return result
