"""e. Memory: the peak RSS of ``assetquery batch`` over generated parties.

Each size is a JSONL file of generated parties (the sandbox's debtors under distinct case
numbers), looked up by ``python -m assetquery batch FILE -o OUT --store sqlite:///…`` in a
child process against the embedded (in-process) sandbox, exactly as a clerk runs it. The
figure is the child's own peak resident set (``os.wait4`` reports it for that child alone),
in MB of 2**20 bytes. The run's duration is kept too.

Without ``--config`` the CLI runs the embedded sandbox on simulated time, so the ticket
bank's waits cost nothing and a batch runs as fast as the CPU allows. A calibration batch
estimates, and prints, how long the sizes asked for will take before they start.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from .harness import Comparison, Log, Measurement, ScenarioResult, Side, Target, interleave
from .workload import write_batch_file

ID = "e"
TITLE = "memory of a batch"
#: the issue's sizes, budget and growth allowed between them
SMALL, LARGE = 10_000, 100_000
BUDGET_MB = 150.0
GROWTH = Target("<=", 1.2)
#: sizes above this many lookups in all are worth a calibration run first
_CALIBRATE_ABOVE = 5_000
_CALIBRATION = 200


def run(sizes: Sequence[int], repeat: int, *, log: Log | None = None) -> ScenarioResult:
    sizes = sorted(set(sizes))
    result = ScenarioResult(ID, TITLE, params={"sizes": sizes, "repeat": repeat})
    with tempfile.TemporaryDirectory(prefix="assetquery-bench-") as name:
        folder = Path(name)
        if sum(sizes) * repeat > _CALIBRATE_ABOVE:
            rate = _calibrate(folder)
            expected = sum(sizes) * repeat / rate
            message = (
                f"expected duration at most about {expected / 60:.0f} min: {rate:.0f} lookups/s "
                f"in a {_CALIBRATION}-party calibration batch (its start-up included), "
                f"{sum(sizes) * repeat:,} lookups to go"
            )
            result.notes.append(message)
            if log is not None:
                log(message)
        sides = [Side(f"batch of {size:,}", size, "MB", _measure(folder, size)) for size in sizes]
        # Each run is a new process that loads everything itself: nothing to warm up.
        result.series = interleave(sides, repeat, warmup=False, log=log)
    largest, smallest = result.series[-1], result.series[0]
    result.comparisons.append(
        Comparison(
            largest.side,
            f"{BUDGET_MB:g} MB budget",
            Target("<=", 1.0),
            fixed=BUDGET_MB,
            binding=largest.n == LARGE,
        )
    )
    if len(result.series) > 1:
        result.comparisons.append(
            Comparison(
                largest.side,
                smallest.side,
                GROWTH,
                binding=(smallest.n, largest.n) == (SMALL, LARGE),
            )
        )
    for series in result.series:
        seconds = series.detail_median("elapsed_s")
        speed = series.detail_median("lookups_per_s")
        if seconds is not None and speed is not None:
            result.notes.append(
                f"{series.side}: {seconds:,.0f} s per batch, {speed:,.0f} lookups/s (medians)"
            )
    return result


def _measure(folder: Path, size: int) -> Callable[[], Measurement]:
    """Write the batch file once; each repetition runs a batch on it."""
    source = write_batch_file(folder / f"parties-{size}.jsonl", size)
    return lambda: batch_peak_rss(source, folder)


def batch_peak_rss(source: Path, folder: Path) -> Measurement:
    """Run ``assetquery batch`` on ``source``; its peak RSS in MB, its duration in detail."""
    run_folder = Path(tempfile.mkdtemp(dir=folder))
    output = run_folder / "reports.jsonl"
    command = [
        sys.executable,
        "-m",
        "assetquery",
        "batch",
        str(source),
        "-o",
        str(output),
        "--store",
        f"sqlite:///{run_folder / 'assetquery.db'}",
    ]
    with (run_folder / "stderr.txt").open("w+b") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
        # wait4 gives the resources of this child alone (RUSAGE_CHILDREN would be the
        # largest of every child this process ever waited for).
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.perf_counter() - started
        if process.returncode != 0:
            stderr.seek(0)
            tail = stderr.read()[-2000:].decode(errors="replace")
            raise RuntimeError(f"assetquery batch exited with {process.returncode}:\n{tail}")
    reports = _count_lines(output)
    for path in run_folder.iterdir():
        path.unlink()
    run_folder.rmdir()
    # ru_maxrss is in KiB on Linux, in bytes on macOS.
    peak = usage.ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)
    return Measurement(
        peak, {"elapsed_s": elapsed, "lookups_per_s": reports / elapsed, "reports": reports}
    )


def _count_lines(path: Path) -> int:
    lines = 0
    with path.open("rb") as file:
        while block := file.read(1 << 20):
            lines += block.count(b"\n")
    return lines


def _calibrate(folder: Path) -> float:
    source = write_batch_file(folder / "calibration.jsonl", _CALIBRATION)
    measurement = batch_peak_rss(source, folder)
    return measurement.detail["lookups_per_s"]
