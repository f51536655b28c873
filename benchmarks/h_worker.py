"""h. The worker: a submitted job against the in-process batch, two workers against one.

Everything runs as a clerk and an operator run it, in child processes, against the sandbox
served over loopback (``SandboxProcess``):

* **h1**: the same parties (a JSONL file of the sandbox's debtors under distinct cases) and
  the same sandbox, looked up by ``assetquery batch FILE -o OUT --config …`` (its wall time,
  start-up included) and by a job: ``assetquery jobs submit`` to a worker already running,
  timed from the submission until the store says every party is looked up and every
  answer is in. The figure is parties per second. The job runs with the default chunk size
  and with a smaller one, to show what the size costs. The engine's overhead per party is
  the difference of the two times, and the rows it wrote in its own database for the job.
* **h2**: a latency-bound job (every answer takes ``latency2`` seconds; the CPU is not the
  limit) on one worker, then on two, each worker taking two of the court's four slots. The
  figure is parties per second, the workers' start-up left out. With PostgreSQL
  (``ASSETQUERY_TEST_POSTGRES_URL``) the workers share a database of its own on that
  server, as several machines would; without it a SQLite file.
* **RSS**: one worker's resident set while it runs a long job (``rss_n`` parties, no
  latency), sampled from ``/proc``: its size once a tenth of the job is done against its
  size at the end. Flat means it does not grow with the job.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from assetquery.sandbox import SandboxProcess
from assetquery.store import Store

from .harness import (
    Comparison,
    Log,
    Measurement,
    ScenarioResult,
    Series,
    Side,
    Target,
    interleave,
)
from .workload import postgres_database, write_batch_file

ID = "h"
TITLE = "the worker: jobs vs batch, two workers vs one"
H1 = Target(">=", 0.8)
H2 = Target(">=", 1.7)
FLAT = Target("<=", 1.2)
POSTGRES_ENV = "ASSETQUERY_TEST_POSTGRES_URL"
#: the job's default chunk size (``worker.chunk_size``), and the others it is compared with
CHUNKS = (100, 50, 200)


def run(
    n: int,
    repeat: int,
    *,
    latency: float = 0.02,
    n2: int = 400,
    latency2: float = 0.2,
    rss_n: int = 100_000,
    warmup: bool = True,
    log: Log | None = None,
) -> ScenarioResult:
    result = ScenarioResult(
        ID,
        TITLE,
        params={"n": n, "repeat": repeat, "latency": latency, "n2": n2, "latency2": latency2,
                "rss_n": rss_n},
    )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="assetquery-bench-h-") as name:
        folder = Path(name)
        _h1(folder / "h1", n, repeat, latency, warmup, log, result)
        _h2(folder / "h2", n2, repeat, latency2, warmup, log, result)
        if rss_n:
            _rss(folder / "rss", rss_n, log, result)
    return result


# --- h1 -------------------------------------------------------------------------------------


def _h1(
    folder: Path,
    n: int,
    repeat: int,
    latency: float,
    warmup: bool,
    log: Log | None,
    result: ScenarioResult,
) -> None:
    folder.mkdir()
    source = write_batch_file(folder / "parties.jsonl", n)
    # The ticket bank answers at its first poll: its one-second polls would otherwise set
    # the pace of both sides, and leave nothing of either to compare.
    options = ("--latency", str(latency), "--feedback-delay", "0", "--poll-after", "0")
    with SandboxProcess(folder, *options) as sandbox:
        config = _with_worker_section(sandbox.config, slots=4)
        store_url = f"sqlite:///{folder / 'jobs.db'}"
        with _workers(folder, store_url, config, ["court-a"]):
            sides = [
                Side("in-process batch", n, "parties/s", lambda: _batch(folder, source, config)),
                *(
                    Side(f"worker job (chunks of {size})", n, "parties/s",
                         _job_side(source, store_url, config, size))
                    for size in CHUNKS
                ),
            ]  # fmt: skip
            series = interleave(sides, repeat, warmup=warmup, log=log)
            rows = _engine_rows(folder / "jobs.dbos.sqlite")
    result.series.extend(series)
    default = f"worker job (chunks of {CHUNKS[0]})"
    result.comparisons.append(Comparison(default, "in-process batch", H1))
    result.comparisons.extend(
        Comparison(f"worker job (chunks of {size})", "in-process batch", binding=False)
        for size in CHUNKS[1:]
    )
    batch, job = series[0], series[1]
    overhead_ms = (n / job.median - n / batch.median) / n * 1000
    jobs = repeat + (1 if warmup else 0)
    result.notes.append(
        f"h1: the engine's overhead per party: {overhead_ms:.2f} ms (job time minus batch "
        f"time, per party); {rows / (jobs * len(CHUNKS) * n):.3f} rows in the engine's "
        f"database per party ({rows} in all over {jobs * len(CHUNKS)} jobs)"
    )


def _batch(folder: Path, source: Path, config: str) -> Measurement:
    run = Path(tempfile.mkdtemp(dir=folder))
    command = [sys.executable, "-m", "assetquery", "batch", str(source), "-o",
               str(run / "out.jsonl"), "--config", config, "--store",
               f"sqlite:///{run / 'batch.db'}"]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, timeout=3600)
    elapsed = time.perf_counter() - started
    lines = sum(1 for _ in (run / "out.jsonl").open("rb"))
    return Measurement(lines / elapsed, {"elapsed_s": elapsed})


def _job_side(source: Path, store_url: str, config: str, chunk: int) -> Callable[[], Measurement]:
    return lambda: _job(source, store_url, config, chunk)


def _job(source: Path, store_url: str, config: str, chunk: int | None = None) -> Measurement:
    started = time.perf_counter()
    sizes = ["--chunk-size", str(chunk)] if chunk else []
    submitted = subprocess.run(
        [sys.executable, "-m", "assetquery", "jobs", "submit", str(source), "--store", store_url,
         "--config", config, *sizes],
        check=True, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    job_id = submitted.stdout.strip()
    parties = _wait_settled(store_url, job_id)
    elapsed = time.perf_counter() - started
    return Measurement(parties / elapsed, {"elapsed_s": elapsed})


def _wait_settled(store_url: str, job_id: str, timeout: float = 3600) -> int:
    store = Store(store_url)
    try:
        deadline = time.monotonic() + timeout
        while True:
            progress = store.jobs.progress(job_id)
            if progress.settled:
                return progress.parties
            if time.monotonic() > deadline:
                raise RuntimeError(f"job {job_id} not settled in {timeout:g} s: {progress}")
            time.sleep(0.05)
    finally:
        store.close()


def _engine_rows(system_database: Path) -> int:
    """Rows the engine keeps for the jobs' workflows and their steps."""
    with contextlib.closing(sqlite3.connect(system_database)) as connection:
        workflows = connection.execute(
            "select count(*) from workflow_status where workflow_uuid like 'assetquery.job.%'"
        ).fetchone()[0]
        steps = connection.execute(
            "select count(*) from operation_outputs where workflow_uuid like 'assetquery.job.%'"
        ).fetchone()[0]
    return int(workflows) + int(steps)


# --- h2 -------------------------------------------------------------------------------------


def _h2(
    folder: Path,
    n: int,
    repeat: int,
    latency: float,
    warmup: bool,
    log: Log | None,
    result: ScenarioResult,
) -> None:
    folder.mkdir()
    source = write_batch_file(folder / "parties.jsonl", n)
    with SandboxProcess(folder, "--latency", str(latency)) as sandbox:
        config = _with_worker_section(sandbox.config, slots=4, chunk_size=max(n // 20, 1))
        sides = [
            Side(f"{count} worker{'s' if count > 1 else ''}", n, "parties/s",
                 _fleet_side(folder, source, config, count))
            for count in (1, 2)
        ]  # fmt: skip
        series = interleave(sides, repeat, warmup=warmup, log=log)
    result.series.extend(series)
    result.comparisons.append(Comparison("2 workers", "1 worker", H2))
    where = "a PostgreSQL database" if os.environ.get(POSTGRES_ENV) else "a SQLite file"
    result.notes.append(
        f"h2: every answer takes {latency:g} s; each worker takes 2 of the court's 4 slots; "
        f"the workers share {where}"
    )


def _fleet_side(folder: Path, source: Path, config: str, count: int) -> Callable[[], Measurement]:
    return lambda: _fleet(folder, source, config, count)


def _fleet(folder: Path, source: Path, config: str, count: int) -> Measurement:
    names = [f"court-{letter}" for letter in "abcdefgh"[:count]]
    with (
        _fresh_store(folder) as store_url,
        _workers(folder, store_url, config, names, "--concurrency", "2"),
    ):
        return _job(source, store_url, config)


@contextmanager
def _fresh_store(folder: Path) -> Iterator[str]:
    server_url = os.environ.get(POSTGRES_ENV)
    if not server_url:
        yield f"sqlite:///{Path(tempfile.mkdtemp(dir=folder)) / 'ledger.db'}"
        return
    with postgres_database(server_url, "aq_bench_h") as url:
        yield url


# --- RSS --------------------------------------------------------------------------------------


def _rss(folder: Path, n: int, log: Log | None, result: ScenarioResult) -> None:
    folder.mkdir()
    source = write_batch_file(folder / "parties.jsonl", n)
    store_url = f"sqlite:///{folder / 'ledger.db'}"
    with SandboxProcess(folder, "--feedback-delay", "0", "--poll-after", "0") as sandbox:
        config = _with_worker_section(sandbox.config, slots=4)
        with _workers(folder, store_url, config, ["court-a"]) as (process,):
            subprocess.run(
                [sys.executable, "-m", "assetquery", "jobs", "submit", str(source), "--store",
                 store_url, "--config", config],
                check=True, capture_output=True, text=True, timeout=1200,
            )  # fmt: skip
            store = Store(store_url)
            try:
                (job,) = store.jobs.find()
                early = None
                started = time.perf_counter()
                while not (progress := store.jobs.progress(job.id)).settled:
                    if early is None and progress.looked_up >= n // 10:
                        early = _rss_mb(process.pid)
                        if log is not None:
                            log(f"RSS at {progress.looked_up:,} parties: {early:.1f} MB")
                    time.sleep(0.5)
                late = _rss_mb(process.pid)
                elapsed = time.perf_counter() - started
            finally:
                store.close()
    early = early if early is not None else late
    result.series.append(Series(f"worker RSS at {n // 10:,}", n // 10, "MB", [Measurement(early)]))
    result.series.append(Series(f"worker RSS at {n:,}", n, "MB", [Measurement(late)]))
    result.comparisons.append(
        Comparison(f"worker RSS at {n:,}", f"worker RSS at {n // 10:,}", FLAT, binding=n >= 100_000)
    )
    result.notes.append(f"RSS: a {n:,}-party job in {elapsed:.0f} s ({n / elapsed:.0f} parties/s)")


def _rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    assert match is not None
    return int(match.group(1)) / 1024


# --- shared -------------------------------------------------------------------------------


def _with_worker_section(config: Path, *, slots: int, chunk_size: int | None = None) -> str:
    text = config.read_text(encoding="utf-8")
    if "[worker]" not in text:
        text += f"\n[worker]\nslots = {slots}\n"
        if chunk_size:
            text += f"chunk_size = {chunk_size}\n"
        config.write_text(text, encoding="utf-8")
    return str(config)


@contextmanager
def _workers(
    folder: Path, store_url: str, config: str, names: list[str], *options: str
) -> Iterator[tuple[subprocess.Popen[bytes], ...]]:
    """Workers started and ready (each has said so on stderr), stopped on the way out."""
    processes = []
    try:
        for name in names:
            log = (folder / f"{name}.log").open("ab")
            process = subprocess.Popen(
                [sys.executable, "-m", "assetquery", "worker", "--store", store_url, "--config",
                 config, "--worker-id", name, *options],
                stderr=subprocess.PIPE, stdout=log,
            )  # fmt: skip
            processes.append(process)
        for name, process in zip(names, processes, strict=True):
            assert process.stderr is not None
            line = process.stderr.readline().decode()
            if "worker" not in line:
                raise RuntimeError(f"a worker did not start: {line}")
            # Whatever it logs later goes on to its file, so that a full pipe never stops it.
            threading.Thread(
                target=shutil.copyfileobj,
                args=(process.stderr, (folder / f"{name}.log").open("ab")),
                daemon=True,
            ).start()
        yield tuple(processes)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
