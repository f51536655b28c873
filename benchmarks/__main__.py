"""``python -m benchmarks`` (``make bench``): run the scenarios, print the table, write JSON.

    python -m benchmarks                       # every scenario, default sizes, 5 repetitions
    python -m benchmarks -s a d --repeat 9     # some scenarios, more repetitions
    python -m benchmarks --quick               # tiny sizes, one repetition: does it work?
    python -m benchmarks -s b --n 2000         # another batch size
    python -m benchmarks -s e --memory-sizes 1000 10000

See ``benchmarks/README.md`` for what each scenario measures and how to read the table.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rich.console import Console

from assetquery import configure_logging

from . import (
    a_in_process,
    b_loopback_cpu,
    c_latency_bound,
    d_fan_out,
    e_memory,
    f_store,
    g_main_job,
    h_worker,
)
from .harness import Log, ScenarioResult, print_table, write_json

DEFAULT_OUTPUT = Path("bench-results/results.json")


@dataclass(frozen=True, slots=True)
class Plan:
    """The sizes of one scenario: its batch size and its other knobs."""

    n: int
    knobs: dict[str, Any] = field(default_factory=dict)


#: Default sizes: every scenario but e within a few minutes on 2 cores (see the README).
DEFAULT: dict[str, Plan] = {
    "a": Plan(1000),
    "b": Plan(500, {"cap": 50, "latency": 0.0}),
    "c": Plan(200, {"cap": 20, "latency": 0.5}),
    "d": Plan(1000, {"cap": 50, "latency": 0.02}),
    "e": Plan(e_memory.LARGE, {"sizes": (e_memory.SMALL, e_memory.LARGE)}),
    "f": Plan(500, {"batch": 100}),
    "g": Plan(2000),
    "h": Plan(2000, {"latency": 0.02, "n2": 400, "latency2": 0.2, "rss_n": 100_000}),
}
#: --quick: tiny sizes, enough to prove every scenario runs end to end
QUICK: dict[str, Plan] = {
    "a": Plan(40),
    "b": Plan(30, {"cap": 10, "latency": 0.0}),
    "c": Plan(20, {"cap": 5, "latency": 0.05}),
    "d": Plan(30, {"cap": 10, "latency": 0.02}),
    "e": Plan(1000, {"sizes": (200, 1000)}),
    "f": Plan(20, {"batch": 5}),
    "g": Plan(30),
    "h": Plan(40, {"latency": 0.0, "n2": 40, "latency2": 0.05, "rss_n": 0}),
}
#: the order of a full run: e last, as its batches are long
ORDER = ("a", "b", "c", "d", "f", "g", "h", "e")
TITLES = {
    "a": a_in_process.TITLE,
    "b": b_loopback_cpu.TITLE,
    "c": c_latency_bound.TITLE,
    "d": d_fan_out.TITLE,
    "e": e_memory.TITLE,
    "f": f_store.TITLE,
    "g": g_main_job.TITLE,
    "h": h_worker.TITLE,
}


def run_scenario(
    scenario: str, plan: Plan, repeat: int, memory_repeat: int, warmup: bool, log: Log
) -> ScenarioResult:
    knobs = plan.knobs
    if scenario == "a":
        return a_in_process.run(plan.n, repeat, warmup=warmup, log=log)
    if scenario == "b":
        return b_loopback_cpu.run(plan.n, repeat, warmup=warmup, log=log, **knobs)
    if scenario == "c":
        return c_latency_bound.run(plan.n, repeat, warmup=warmup, log=log, **knobs)
    if scenario == "d":
        return d_fan_out.run(plan.n, repeat, warmup=warmup, log=log, **knobs)
    if scenario == "e":
        return e_memory.run(knobs["sizes"], memory_repeat, log=log)
    if scenario == "f":
        return f_store.run(plan.n, repeat, warmup=warmup, log=log, **knobs)
    if scenario == "g":
        return g_main_job.run(plan.n, repeat, warmup=warmup, log=log)
    if scenario == "h":
        return h_worker.run(plan.n, repeat, warmup=warmup, log=log, **knobs)
    raise ValueError(f"no scenario {scenario!r}")


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="assetquery against hand-written baselines; see benchmarks/README.md.",
    )
    parser.add_argument(
        "-s",
        "--scenario",
        nargs="+",
        choices=sorted(DEFAULT),
        default=list(ORDER),
        metavar="ID",
        help="scenarios to run, in this order, among a b c d e f g h [default: all, e last]",
    )
    parser.add_argument(
        "--repeat", type=int, help="measured repetitions per side [default: 5; --quick: 1]"
    )
    parser.add_argument(
        "--memory-repeat",
        type=int,
        help="repetitions of scenario e, whose batches are long [default: 1]",
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check the harness")
    parser.add_argument(
        "--n", type=int, help="batch size of scenarios a b c d (parties) and f (actions, entries)"
    )
    parser.add_argument(
        "--memory-sizes",
        type=int,
        nargs="+",
        metavar="N",
        help="batch sizes of scenario e [default: 10000 100000; --quick: 200 1000]",
    )
    parser.add_argument(
        "--no-warmup", action="store_true", help="skip the unmeasured warm-up round"
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help=f"the JSON results [default: {DEFAULT_OUTPUT}]",
    )
    arguments = parser.parse_args(argv)
    for name in ("repeat", "memory_repeat", "n"):
        value = getattr(arguments, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if arguments.memory_sizes and min(arguments.memory_sizes) < 1:
        parser.error("--memory-sizes must be at least 1")
    return arguments


def plans(arguments: argparse.Namespace) -> dict[str, Plan]:
    chosen = QUICK if arguments.quick else DEFAULT
    result = {}
    for scenario in dict.fromkeys(arguments.scenario):  # in the order given, once each
        plan = chosen[scenario]
        if scenario == "e":
            if arguments.memory_sizes:
                sizes = tuple(arguments.memory_sizes)
                plan = Plan(max(sizes), {"sizes": sizes})
        elif arguments.n is not None:
            plan = Plan(arguments.n, plan.knobs)
        result[scenario] = plan
    return result


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    # The sides on httpx's own transport warn (rightly) about httpcore#1093 every time a
    # client is built; in a table's output that is noise. Errors still show.
    configure_logging(logging.ERROR)
    repeat = arguments.repeat or (1 if arguments.quick else 5)
    memory_repeat = arguments.memory_repeat or 1
    chosen = plans(arguments)
    settings = {
        "quick": arguments.quick,
        "repeat": repeat,
        "memory_repeat": memory_repeat,
        "warmup": not arguments.no_warmup,
        "plans": {s: {"n": p.n, **p.knobs} for s, p in chosen.items()},
    }
    # A table wider than a pipe's default 80 columns: it is read in logs and CI output.
    out = Console(width=None if sys.stdout.isatty() else 160)
    err = Console(stderr=True)
    results: list[ScenarioResult] = []
    failed = False
    for scenario, plan in chosen.items():
        err.rule(f"{scenario}: {TITLES[scenario]}")
        log = _logger(err, scenario)
        started = time.perf_counter()
        try:
            result = run_scenario(
                scenario, plan, repeat, memory_repeat, not arguments.no_warmup, log
            )
        except Exception as exc:  # report it, and go on with the other scenarios
            failed = True
            err.print(traceback.format_exc(), style="red", markup=False, highlight=False)
            result = ScenarioResult(scenario, TITLES[scenario])
            result.skipped = f"failed: {type(exc).__name__}: {exc}"
        if plan != DEFAULT[scenario]:
            # The targets are set for the default sizes: elsewhere they only inform.
            result.comparisons = [replace(c, binding=False) for c in result.comparisons]
        log(f"done in {time.perf_counter() - started:.0f} s")
        results.append(result)
        write_json(arguments.output, results, settings)  # after each: a long run keeps its part
    print_table(results, out)
    out.print(f"Results: {arguments.output}")
    return 1 if failed else 0


def _logger(console: Console, scenario: str) -> Callable[[str], None]:
    def log(message: str) -> None:
        console.log(f"{scenario}: {message}", highlight=False)

    return log


if __name__ == "__main__":
    raise SystemExit(main())
