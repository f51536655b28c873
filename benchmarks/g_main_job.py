"""g. The main job end to end: ``assetquery batch`` with its store, against ``lookup_many``.

Every side is a child process on the same JSONL file of generated parties, against the
embedded (in-process) sandbox on simulated time, so the ticket bank's waits cost nothing and
the CPU is the limit — what is left to compare is what the main job does besides looking up:

* **batch, SQLite** — ``python -m assetquery batch FILE -o OUT --store sqlite:///…``, exactly
  as a clerk runs it: rows read and checked, reports written to OUT, and every lookup's SLA
  clocks, audit entries and report written into the store;
* **batch, PostgreSQL** — the same into a fresh database of its own on the server
  ``ASSETQUERY_TEST_POSTGRES_URL`` names (the one ``.ci/postgres.sh`` starts);
* **lookup_many** — ``python -m benchmarks.g_lookup_many FILE``: the same rows read and
  checked the same way, then ``Dispatcher.sandbox().lookup_many`` over them with no store
  and no output file. The reference.

The figure is parties per second, start-up included on every side (each is a new process).

After the sides, the scenario measures what stands between them (``g_store_cost``): the
CPU a lookup takes, what building and writing a party's records into each kind of store
take, and how much longer the batch takes to start (one party each side). On simulated
time nothing waits, so these add up, and the note they give is the ratio the batch could
reach on one interpreter with everything else it does taken out: the cause of a miss,
measured in the same run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .harness import Comparison, Log, Measurement, ScenarioResult, Side, Target, interleave
from .workload import postgres_database, write_batch_file

ID = "g"
TITLE = "the main job: batch with its store vs lookup_many"
POSTGRES_ENV = "ASSETQUERY_TEST_POSTGRES_URL"
SQLITE_TARGET = Target(">=", 0.8)
POSTGRES_TARGET = Target(">=", 0.7)
REFERENCE = "lookup_many, no store"


def run(n: int, repeat: int, *, warmup: bool = True, log: Log | None = None) -> ScenarioResult:
    result = ScenarioResult(ID, TITLE, params={"n": n, "repeat": repeat})
    server_url = os.environ.get(POSTGRES_ENV)
    with tempfile.TemporaryDirectory(prefix="assetquery-bench-") as name:
        folder = Path(name)
        source = write_batch_file(folder / "parties.jsonl", n)
        sides = [
            Side(REFERENCE, n, "parties/s", lambda: _lookup_many(source)),
            Side("batch, SQLite store", n, "parties/s", lambda: _batch(source, folder, None)),
        ]
        if server_url:
            sides.append(
                Side(
                    "batch, PostgreSQL store",
                    n,
                    "parties/s",
                    lambda: _batch(source, folder, server_url),
                )
            )
        else:
            result.skipped = f"PostgreSQL not measured: set {POSTGRES_ENV} to a server's URL"
        # A warm-up round on a tenth of the file: the page cache, the interpreter's .pyc files.
        small = write_batch_file(folder / "warmup.jsonl", max(n // 10, 1))
        if warmup:
            _lookup_many(small)
            _batch(small, folder, None)
        result.series = interleave(sides, repeat, warmup=False, log=log)
        reference = next(s for s in result.series if s.side == REFERENCE)
        for side in sides[1:]:
            url = server_url if "PostgreSQL" in side.name else None
            result.notes.append(_ceiling(side.name, source, folder, url, n, reference.median))
    result.comparisons.append(Comparison("batch, SQLite store", REFERENCE, SQLITE_TARGET))
    if server_url:
        result.comparisons.append(Comparison("batch, PostgreSQL store", REFERENCE, POSTGRES_TARGET))
    for series in result.series:
        size = series.detail_median("store_bytes_per_party")
        if size is not None:
            result.notes.append(f"{series.side}: {size:,.0f} bytes of store per party (median)")
    return result


def _ceiling(
    name: str, source: Path, folder: Path, server_url: str | None, n: int, reference_rate: float
) -> str:
    """What the store costs a party, and the ratio that leaves the batch at best."""
    with _store_url(folder, server_url) as (url, _size):
        _, stdout = _timed([sys.executable, "-m", "benchmarks.g_store_cost", str(source), url])
    cost = json.loads(stdout)
    one = write_batch_file(folder / "one.jsonl", 1)
    start_batch = min(_batch(one, folder, server_url).detail["elapsed_s"] for _ in range(3))
    start_reference = min(_lookup_many(one).detail["elapsed_s"] for _ in range(3))
    extra_start = max(start_batch - start_reference, 0.0)
    per_party = (cost["build_ms"] + cost["write_ms"]) / 1000
    reference = n / reference_rate
    ceiling = reference / (reference + extra_start + n * per_party)
    return (
        f"{name}: measured beside the lookups' {cost['lookup_ms']:.2f} ms of CPU per party, "
        f"the store takes {cost['write_ms']:.2f} ms to write a party's records and "
        f"{cost['build_ms']:.2f} ms to build them, and the batch {extra_start:.2f} s more to "
        f"start: on one interpreter that leaves it at best about {ceiling:.2f}× the reference, "
        "before its output file and progress (an estimate: writing is timed on the wall clock, "
        "and a server's share of it could overlap the lookups)"
    )


def _timed(command: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=3600, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        tail = done.stderr[-2000:]
        raise RuntimeError(f"{' '.join(command[:4])} exited {done.returncode}:\n{tail}")
    return elapsed, done.stdout


def _lookup_many(source: Path) -> Measurement:
    elapsed, stdout = _timed([sys.executable, "-m", "benchmarks.g_lookup_many", str(source)])
    parties = int(stdout.split()[0])
    return Measurement(parties / elapsed, {"elapsed_s": elapsed})


@contextmanager
def _store_url(folder: Path, server_url: str | None) -> Iterator[tuple[str, Callable[[], int]]]:
    """A fresh store, and how many bytes it holds once the batch is done."""
    if server_url is None:
        path = Path(tempfile.mkdtemp(dir=folder)) / "assetquery.db"
        yield (
            f"sqlite:///{path}",
            lambda: sum(
                p.stat().st_size for p in path.parent.iterdir() if p.name.startswith(path.name)
            ),
        )
        for leftover in path.parent.iterdir():
            leftover.unlink()
        path.parent.rmdir()
        return
    with postgres_database(server_url, "aq_bench_g") as url:
        empty = _postgres_size(url)  # what a new database takes before anything is in it
        yield url, lambda: _postgres_size(url) - empty


def _postgres_size(url: str) -> int:
    import psycopg
    from sqlalchemy.engine import make_url

    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain) as connection:
        row = connection.execute("SELECT pg_database_size(current_database())").fetchone()
    assert row is not None
    return int(row[0])


def _batch(source: Path, folder: Path, server_url: str | None) -> Measurement:
    with (
        _store_url(folder, server_url) as (store_url, size),
        tempfile.TemporaryDirectory(dir=folder) as run,
    ):
        output = Path(run) / "reports.jsonl"
        command = [sys.executable, "-m", "assetquery", "batch", str(source), "-o", str(output),
                   "--store", store_url]  # fmt: skip
        elapsed, _ = _timed(command)
        parties = sum(1 for _ in output.open("rb"))
        detail = {"elapsed_s": elapsed, "store_bytes_per_party": size() / parties}
    return Measurement(parties / elapsed, detail)
