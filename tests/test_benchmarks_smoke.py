"""The benchmark harness works: every scenario runs at tiny size and reports rows and JSON.

Nothing here asserts a speed — timings on a shared test machine prove nothing. What must
hold is that ``python -m benchmarks`` runs each scenario end to end (the baselines, the
sandbox server, the child batch, the store), prints its table and writes the JSON it
promises, with every side measured and every comparison computed.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
LOOPBACK = (pytest.mark.loopback,)

#: smaller still than --quick where a scenario's quick sizes take long (e: 1 s per lookup)
EXTRA = {"e": ["--memory-sizes", "20", "40"]}


def run_benchmarks(tmp_path: Path, *arguments: str) -> tuple[str, dict[str, Any]]:
    output = tmp_path / "results.json"
    # No warm-up round: it runs the same code as a repetition (see the test below).
    command = ["-m", "benchmarks", "--quick", "--no-warmup", "--output", str(output)]
    completed = subprocess.run(
        [sys.executable, *command, *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    return completed.stdout, json.loads(output.read_text(encoding="utf-8"))


@pytest.mark.slow
@pytest.mark.parametrize(
    "scenario",
    [
        "a",
        pytest.param("b", marks=LOOPBACK),
        pytest.param("c", marks=LOOPBACK),
        pytest.param("d", marks=LOOPBACK),
        "e",
        "f",
        "g",
        pytest.param("h", marks=LOOPBACK),
    ],
)
def test_each_scenario_runs_and_reports(tmp_path: Path, scenario: str) -> None:
    stdout, document = run_benchmarks(tmp_path, "--scenario", scenario, *EXTRA.get(scenario, []))

    assert "assetquery benchmarks" in stdout  # the table was printed
    [result] = document["scenarios"]
    assert result["id"] == scenario
    assert result["skipped"] is None or "PostgreSQL" in result["skipped"]
    assert len(result["series"]) >= 2
    for series in result["series"]:
        assert len(series["values"]) == 1  # --quick: one repetition
        assert all(math.isfinite(v) and v > 0 for v in series["values"])
        assert series["min"] <= series["median"] <= series["max"]
    for comparison in result["comparisons"]:
        assert comparison["ratio"] is not None and comparison["ratio"] > 0
        if comparison["target"] is not None:
            # --quick sizes are not those the targets are set for: informative only.
            assert comparison["result"] in ("(pass)", "(miss)")
    sides = {row["side"] for row in result["table"]}
    assert sides == {series["side"] for series in result["series"]}
    if scenario in "abcd":
        assert "every run of every side found the same" in " ".join(result["notes"])
    if scenario == "g":  # the measured cause of a miss: the ceiling the store leaves
        assert "leaves it at best about" in " ".join(result["notes"])


def test_the_harness_interleaves_and_compares(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT))
    from benchmarks.harness import Comparison, Measurement, ScenarioResult, Side, Target, interleave

    calls: list[str] = []

    def side(name: str, value: float) -> Side:
        def measure() -> Measurement:
            calls.append(name)
            return Measurement(value)

        return Side(name, 10, "s", measure)

    series = interleave([side("A", 2.0), side("B", 1.0), side("C", 4.0)], repeat=3)

    assert calls == ["A", "B", "C", "A", "B", "C", "B", "C", "A", "C", "A", "B"]
    result = ScenarioResult("x", "test", series=series)
    result.comparisons = [
        Comparison("A", "B", Target("<=", 1.25)),
        Comparison("A", "bound", Target("<=", 1.05), fixed=2.0),
        Comparison("C", "B", Target(">=", 3.0), binding=False),
    ]
    assert [result.ratio(c) for c in result.comparisons] == [2.0, 1.0, 4.0]
    assert [result.verdict(c) for c in result.comparisons] == ["MISS", "PASS", "(pass)"]
    rows = result.table_rows()
    assert [(r["side"], r["reference"]) for r in rows] == [
        ("A", "B"),
        ("A", "bound"),
        ("B", None),
        ("C", "B"),
    ]
    assert rows[1]["median"] is None  # a further comparison of a side repeats no figures


_FAKE_VALGRIND = """#!/bin/sh
# Runs the command after valgrind's options, then reports instructions as cachegrind does:
# 1,000 per party for assetquery, 500 for the baseline (whatever the run really cost).
while [ "${1#--}" != "$1" ]; do shift; done
"$@" >/dev/null || exit 1
case "$5" in assetquery) per=1000 ;; *) per=500 ;; esac
echo "==1== I   refs:      $(( $6 * per + 7000000 ))" >&2
"""


@pytest.mark.slow
@pytest.mark.loopback
def test_the_instruction_count_runs_both_sides_and_divides_by_the_extra_lookups(
    tmp_path: Path,
) -> None:
    # valgrind itself takes minutes; a stand-in runs the real child batches instead.
    fake = tmp_path / "valgrind"
    fake.write_text(_FAKE_VALGRIND, encoding="utf-8")
    fake.chmod(0o755)
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.instructions", "--sizes", "4", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env={**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"},
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    lines = completed.stdout.splitlines()
    assert lines == [
        "assetquery          0.00 M instructions per lookup",
        "aiohttp baseline    0.00 M instructions per lookup",
        "assetquery / aiohttp baseline: 2.00",
    ]


@pytest.mark.looptime  # the sandbox's ticket bank answers on the loop's clock
@pytest.mark.parametrize("part", ["access", "records", "report", "results"])
async def test_each_stand_in_keeps_lookups_running_and_goes_away_again(part: str) -> None:
    from benchmarks import standins
    from benchmarks.workload import lookup_requests

    from assetquery import Dispatcher

    requests = lookup_requests(6)

    async def reports() -> list[Any]:
        async with Dispatcher.sandbox() as dispatcher:
            return [report async for report in dispatcher.lookup_many(requests)]

    def assets_by_case(made: list[Any]) -> dict[str, int]:
        return {report.case.number: len(report.assets) for report in made}

    real = assets_by_case(await reports())
    undo = standins.apply([part])
    try:
        stood_in = await reports()
    finally:
        undo()
    assert len(stood_in) == len(real) == 6 and sum(real.values()) > 0
    if part == "report":  # the first report stands for every other
        assert len({id(report) for report in stood_in}) == 1
    elif part == "records":  # answers read, no records made of them
        assert assets_by_case(stood_in) == dict.fromkeys(real, 0)
    else:
        assert assets_by_case(stood_in) == real
    assert assets_by_case(await reports()) == real  # the library's own parts are back
