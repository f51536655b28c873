"""Timing, interleaving, the results table and its JSON.

A scenario offers *sides* (assetquery, a baseline, …); each side's ``measure`` runs one
repetition on fresh clients and returns the measured figure. :func:`interleave` runs one
unmeasured warm-up round, then the repetitions with the sides interleaved (A B C, B C A,
C A B, … — every side takes every position), so that drifting machine noise falls on every
side alike. A :class:`Comparison` is the ratio of two medians (or of a median to a fixed
figure, such as a computed bound) against the issue's target.
"""

from __future__ import annotations

import gc
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

from rich.console import Console, JustifyMethod
from rich.markup import escape
from rich.table import Table

__all__ = [
    "Comparison",
    "Measurement",
    "ScenarioResult",
    "Series",
    "Side",
    "Stopwatch",
    "Target",
    "interleave",
    "print_table",
    "side_notes",
    "write_json",
]


@dataclass(frozen=True, slots=True)
class Measurement:
    """One repetition of one side: the figure, and whatever else is worth keeping."""

    value: float
    detail: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Side:
    """One contestant of a scenario. ``measure`` builds its own clients, times only the work
    itself and returns the figure in ``unit`` (seconds, lookups/s, MB, …). ``warmup``, if
    given, replaces ``measure`` in the warm-up round (a smaller batch, say)."""

    name: str
    n: int
    unit: str
    measure: Callable[[], Measurement]
    warmup: Callable[[], object] | None = None


@dataclass(frozen=True, slots=True)
class Target:
    """What the issue asks of a ratio: at most (``<=``) or at least (``>=``) ``limit``."""

    op: Literal["<=", ">="]
    limit: float

    def met(self, ratio: float) -> bool:
        return ratio <= self.limit if self.op == "<=" else ratio >= self.limit

    def __str__(self) -> str:
        return f"{'≤' if self.op == '<=' else '≥'} {self.limit:g}×"


@dataclass(frozen=True, slots=True)
class Comparison:
    """The ratio ``median(side) / median(reference)``.

    ``reference`` names another side, or labels ``fixed``, a figure that is not measured (a
    computed bound, a memory budget). A comparison that is not ``binding`` is shown for
    information (a non-default transport, say) and does not count towards the verdict.
    """

    side: str
    reference: str
    target: Target | None = None
    fixed: float | None = None
    binding: bool = True


@dataclass(slots=True)
class Series:
    """Every repetition of one side."""

    side: str
    n: int
    unit: str
    samples: list[Measurement] = field(default_factory=list)

    @property
    def values(self) -> list[float]:
        return [m.value for m in self.samples]

    @property
    def min(self) -> float:
        return min(self.values)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def max(self) -> float:
        return max(self.values)

    def detail_median(self, key: str) -> float | None:
        found = [m.detail[key] for m in self.samples if key in m.detail]
        return statistics.median(found) if found else None


@dataclass(slots=True)
class ScenarioResult:
    id: str
    title: str
    params: dict[str, Any] = field(default_factory=dict)
    series: list[Series] = field(default_factory=list)
    comparisons: list[Comparison] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: why the scenario (or part of it) did not run, if it did not
    skipped: str | None = None

    def get(self, side: str) -> Series:
        for series in self.series:
            if series.side == side:
                return series
        raise KeyError(side)

    def ratio(self, comparison: Comparison) -> float | None:
        try:
            numerator = self.get(comparison.side).median
            if comparison.fixed is not None:
                denominator = comparison.fixed
            else:
                denominator = self.get(comparison.reference).median
        except (KeyError, statistics.StatisticsError):
            return None
        return numerator / denominator if denominator else math.nan

    def verdict(self, comparison: Comparison) -> str:
        """PASS / MISS for a binding target, lower case for an informative one, else ''."""
        ratio = self.ratio(comparison)
        if comparison.target is None or ratio is None:
            return ""
        word = "PASS" if comparison.target.met(ratio) else "MISS"
        return word if comparison.binding else f"({word.lower()})"

    def table_rows(self) -> list[dict[str, Any]]:
        """The rows as printed: one per side, one more per further comparison of a side."""
        rows: list[dict[str, Any]] = []
        for series in self.series:
            comparisons: list[Comparison | None] = [
                c for c in self.comparisons if c.side == series.side
            ] or [None]
            for index, comparison in enumerate(comparisons):
                row: dict[str, Any] = {
                    "scenario": self.id,
                    "side": series.side,
                    "n": series.n,
                    "min": series.min if index == 0 else None,
                    "median": series.median if index == 0 else None,
                    "max": series.max if index == 0 else None,
                    "unit": series.unit,
                    "reference": None,
                    "ratio": None,
                    "target": None,
                    "result": None,
                }
                if comparison is not None:
                    row.update(
                        reference=comparison.reference,
                        ratio=self.ratio(comparison),
                        target=str(comparison.target) if comparison.target else None,
                        result=self.verdict(comparison) or None,
                    )
                rows.append(row)
        return rows

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "params": self.params,
            "skipped": self.skipped,
            "notes": self.notes,
            "series": [
                {
                    "side": s.side,
                    "n": s.n,
                    "unit": s.unit,
                    "values": s.values,
                    "min": s.min,
                    "median": s.median,
                    "max": s.max,
                    "details": [dict(m.detail) for m in s.samples],
                }
                for s in self.series
                if s.samples
            ],
            "comparisons": [
                {
                    "side": c.side,
                    "reference": c.reference,
                    "fixed": c.fixed,
                    "ratio": self.ratio(c),
                    "target": str(c.target) if c.target else None,
                    "binding": c.binding,
                    "result": self.verdict(c) or None,
                }
                for c in self.comparisons
            ],
            "table": self.table_rows(),
        }


Log = Callable[[str], None]


class Stopwatch:
    """Wall-clock and CPU time of a block; with ``server_cpu``, the server's CPU time too.

    ``with Stopwatch() as watch: ...`` then ``watch.elapsed``, or ``watch.detail(n)`` for
    the figures per lookup kept with each measurement.
    """

    def __init__(self, server_cpu: Callable[[], float] | None = None) -> None:
        self._server_cpu = server_cpu
        self.elapsed = self.cpu = 0.0
        self.server_cpu: float | None = None

    def __enter__(self) -> Self:
        self._server_started = self._server_cpu() if self._server_cpu else 0.0
        self._cpu_started = time.process_time()
        self._started = time.perf_counter()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.elapsed = time.perf_counter() - self._started
        self.cpu = time.process_time() - self._cpu_started
        if self._server_cpu is not None:
            self.server_cpu = self._server_cpu() - self._server_started

    def detail(self, lookups: int, **extra: float) -> dict[str, float]:
        detail = {
            "elapsed_s": self.elapsed,
            "lookups_per_s": lookups / self.elapsed if self.elapsed else math.nan,
            "cpu_s": self.cpu,
            "cpu_ms_per_lookup": 1000 * self.cpu / lookups if lookups else math.nan,
            "client_busy": self.cpu / self.elapsed if self.elapsed else math.nan,
        }
        if self.server_cpu is not None:
            detail["server_cpu_s"] = self.server_cpu
            detail["server_busy"] = self.server_cpu / self.elapsed if self.elapsed else math.nan
        return {**detail, **extra}


def interleave(
    sides: Sequence[Side], repeat: int, *, warmup: bool = True, log: Log | None = None
) -> list[Series]:
    """Run every side ``repeat`` times, interleaved, after one unmeasured warm-up round.

    Repetition *r* starts with side *r* mod *k* and goes round (A B C, B C A, …), so no side
    always runs right after the same other one. Garbage is collected before each run.
    """
    series = [Series(side.name, side.n, side.unit) for side in sides]
    if warmup:
        for side in sides:
            _say(log, f"warm-up: {side.name}")
            gc.collect()
            (side.warmup or side.measure)()
    for repetition in range(repeat):
        start = repetition % len(sides)
        for index in [*range(start, len(sides)), *range(start)]:
            side = sides[index]
            gc.collect()
            measurement = side.measure()
            series[index].samples.append(measurement)
            _say(
                log,
                f"{repetition + 1}/{repeat} {side.name}: {_number(measurement.value)} {side.unit}",
            )
    return series


def side_notes(result: ScenarioResult) -> list[str]:
    """Whether every side found the same assets, and each side's cost per lookup."""
    found = {
        s.side: {m.detail["assets"] for m in s.samples if "assets" in m.detail}
        for s in result.series
    }
    counts = set().union(*found.values()) if found else set()
    notes = []
    if len(counts) == 1:
        notes.append(f"every run of every side found the same {counts.pop():,.0f} assets")
    elif counts:
        notes.append(f"WARNING: the sides found different numbers of assets: {found}")
    for series in result.series:
        parts = []
        rate = series.detail_median("lookups_per_s")
        if rate is not None:
            parts.append(f"{rate:,.0f} lookups/s")
        cpu = series.detail_median("cpu_ms_per_lookup")
        if cpu is not None:
            parts.append(f"{cpu:.2f} ms client CPU per lookup")
        for who in ("client", "server"):
            busy = series.detail_median(f"{who}_busy")
            if busy is not None and math.isfinite(busy):
                parts.append(f"{who} CPU busy {busy:.0%} of the time")
        if parts:
            notes.append(f"{series.side}: " + ", ".join(parts) + " (medians)")
        incomplete = sum(m.detail.get("incomplete", 0) for m in series.samples)
        if incomplete:
            notes.append(
                f"WARNING: {series.side} had {incomplete:,.0f} incomplete report(s): "
                "some institution did not answer, the figures are not comparable"
            )
    return notes


def _say(log: Log | None, message: str) -> None:
    if log is not None:
        log(message)


# --- output ---------------------------------------------------------------------------------


def _number(value: float | None) -> str:
    if value is None:
        return ""
    if math.isnan(value):
        return "n/a"
    size = abs(value)
    if size >= 1000:
        return f"{value:,.0f}"
    if size >= 100:
        return f"{value:.0f}"
    if size >= 10:
        return f"{value:.1f}"
    return f"{value:.3f}"


_COLUMNS = (
    "scenario",
    "side",
    "n",
    "min",
    "median",
    "max",
    "unit",
    "vs",
    "ratio",
    "target",
    "result",
)
_NUMERIC = frozenset({"n", "min", "median", "max", "ratio"})
_STYLES = {"PASS": "bold green", "MISS": "bold red", "(pass)": "green", "(miss)": "red"}


def print_table(results: Sequence[ScenarioResult], console: Console) -> None:
    """The table: per side min / median / max, and each ratio of medians with its target."""
    table = Table(title="assetquery benchmarks", title_justify="left")
    for name in _COLUMNS:
        justify: JustifyMethod = "right" if name in _NUMERIC else "left"
        table.add_column(name, justify=justify)
    for result in results:
        rows = result.table_rows()
        if not rows:
            table.add_row(result.id, "[dim](not run)[/]", *[""] * 9, end_section=True)
            continue
        for index, row in enumerate(rows):
            verdict = row["result"] or ""
            table.add_row(
                escape(f"{result.id} {result.title}") if index == 0 else "",
                escape(row["side"]),
                f"{row['n']:,}",
                _number(row["min"]),
                _number(row["median"]),
                _number(row["max"]),
                row["unit"] if row["min"] is not None else "",
                escape(row["reference"] or ""),
                f"{row['ratio']:.2f}×" if row["ratio"] is not None else "",
                row["target"] or "",
                f"[{_STYLES[verdict]}]{verdict}[/]" if verdict else "",
                end_section=index == len(rows) - 1,
            )
    console.print(table)
    for result in results:
        if result.skipped:
            console.print(f"[yellow]{result.id}: {escape(result.skipped)}[/]")
        for note in result.notes:
            console.print(f"[dim]{result.id}:[/] {escape(note)}", highlight=False)
    if any(not c.binding for r in results for c in r.comparisons if c.target):
        console.print(
            "[dim](pass)/(miss): for information only — not the configuration the issue's target "
            "is set for (a non-default transport, or other sizes).[/]"
        )


def environment() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
    }


def write_json(path: Path, results: Sequence[ScenarioResult], settings: Mapping[str, Any]) -> None:
    """The same table, with every sample, as JSON (written whole, never half)."""
    document = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "environment": environment(),
        "settings": dict(settings),
        "scenarios": [result.to_json() for result in results],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    text = json.dumps(_finite(document), ensure_ascii=False, indent=2, allow_nan=False)
    partial.write_text(text + "\n", encoding="utf-8")
    os.replace(partial, path)


def _finite(value: Any) -> Any:
    """NaN and infinities (a figure that could not be taken) become null: strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value
