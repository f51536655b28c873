"""Jobs run by the worker: submitted whole, every party's report stored once, late answers
collected after the lookup, a killed worker resumed without losing or repeating a party.

As in ``test_worker``, the engine runs only in ``assetquery worker`` child processes, against
the sandbox served over loopback. The waits are real but short: the sandbox's bank answers
a few seconds after it is asked, past a lookup deadline of one second.
"""

from __future__ import annotations

import csv
import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from assetquery.sandbox import SandboxProcess, dataset
from assetquery.store import ClockOutcome, Store

from .test_worker import assetquery

PARTIES = dataset().parties


def party_file(path: Path, count: int) -> Path:
    """``count`` sandbox debtors, cycled, each under a case number of its own."""
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["name", "id_number", "case_number", "court", "operator"])
        for i in range(count):
            party = PARTIES[i % len(PARTIES)]
            writer.writerow(
                [party.name, party.id_number, f"（2026）甘0191执{i + 1}号", party.court, "李承办"]
            )
    return path


def slow_config(sandbox: SandboxProcess) -> str:
    """The sandbox's institutions, with a lookup that gives up waiting after a second."""
    with sandbox.config.open("a", encoding="utf-8") as file:
        file.write("\n[lookup]\ndeadline = 1.0\n")
    return str(sandbox.config)


@contextmanager
def worker(
    store: str, config: str, *options: str, name: str = "court-a"
) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "assetquery", "worker", "--store", store, "--config", config,
         "--worker-id", name, *options],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)


def wait_until_settled(store: Store, job_id: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while not store.jobs.progress(job_id).settled:
        assert time.monotonic() < deadline, store.jobs.progress(job_id)
        if process.poll() is not None:
            raise AssertionError(process.stderr.read() if process.stderr else "worker died")
        time.sleep(0.25)


def submit(source: Path, store: str, config: str, *options: str) -> str:
    submitted = assetquery("jobs", "submit", str(source), "--store", store, "--config", config,
                           *options)  # fmt: skip
    assert submitted.returncode == 0, submitted.stderr
    return submitted.stdout.strip()


@pytest.mark.loopback
def test_a_job_runs_on_the_worker_and_its_late_answers_are_collected(
    tmp_path: Path, store_url: str
) -> None:
    store = store_url  # the ledger, and the engine beside it (SQLite) or inside it (PostgreSQL)
    source = party_file(tmp_path / "parties.csv", 12)
    with SandboxProcess(tmp_path, "--feedback-delay", "3", "--poll-after", "1") as sandbox:
        config = slow_config(sandbox)
        job_id = submit(source, store, config, "--chunk-size", "5")
        assert job_id.startswith("job-")
        ledger = Store(store)
        try:
            assert ledger.jobs.get(job_id).chunks == 3
            with worker(store, config) as process:
                wait_until_settled(ledger, job_id, process)
            assert process.returncode == 0  # SIGTERM: drained and stopped cleanly
            clocks = ledger.clocks.find(institution="bank-west")
        finally:
            ledger.close()

    fetched = assetquery("jobs", "results", job_id, "-o", str(tmp_path / "r.jsonl"), "--store",
                         store)  # fmt: skip
    assert fetched.returncode == 0, fetched.stderr
    reports = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert [r["reference"] for r in reports] == [f"line {n}" for n in range(2, 14)]
    assert all(r["complete"] for r in reports)
    # Each bank-west answer came after the lookup had given up waiting for it: collected
    # later by the worker, its clock stopped then.
    west = [next(x for x in r["results"] if x["institution"] == "bank-west") for r in reports]
    assert all(x["status"] in ("ok", "not_found") and x["ticket"] is None for x in west)
    assert len(clocks) == 12 and all(c.outcome is not ClockOutcome.OPEN for c in clocks)
    shown = assetquery("jobs", "show", job_id, "--json", "--store", store)
    progress = json.loads(shown.stdout)
    assert progress["state"] == "finished" and progress["complete"] == 12
    assert progress["pending_answers"] == 0
    followed = assetquery("jobs", "show", job_id, "--follow", "--store", store)
    assert followed.returncode == 0  # a settled job: the live view ends at once
    assert "12 of 12 parties looked up" in followed.stdout


@pytest.mark.loopback
def test_a_killed_worker_resumes_the_job_and_every_party_is_stored_once(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'ledger.db'}"
    source = party_file(tmp_path / "parties.csv", 150)
    with SandboxProcess(tmp_path, "--latency", "0.05") as sandbox:
        config = str(sandbox.config)
        job_id = submit(source, store, config, "--chunk-size", "10")
        ledger = Store(store)
        try:
            with worker(store, config, "--concurrency", "1") as first:
                while ledger.jobs.progress(job_id).looked_up < 20:
                    assert first.poll() is None
                    time.sleep(0.05)
                first.kill()  # SIGKILL, mid-chunk
                first.wait(timeout=30)
            interrupted = ledger.jobs.progress(job_id).looked_up
            assert interrupted < 150
            with worker(store, config, "--concurrency", "2") as second:  # the same id
                wait_until_settled(ledger, job_id, second)
            lines = list(ledger.jobs.results(job_id))
            clocks = ledger.clocks.find(subject="inquiry")
        finally:
            ledger.close()
    reports = [json.loads(line) for line in lines]
    assert sorted(int(r["reference"].split()[1]) for r in reports) == list(range(2, 152))
    # No party was written twice, and no lookup that was thrown away left a clock behind.
    asked = sum(1 for r in reports for x in r["results"] if x["status"] != "skipped")
    assert len(clocks) == asked
    assert len({c.reference for c in clocks}) == 150


@pytest.mark.loopback
def test_a_cancelled_job_stops_and_keeps_what_it_had(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'ledger.db'}"
    source = party_file(tmp_path / "parties.csv", 60)
    with SandboxProcess(tmp_path, "--latency", "0.2") as sandbox:
        config = str(sandbox.config)
        ledger = Store(store)
        try:
            with worker(store, config, "--concurrency", "1") as process:
                assert process.stderr is not None
                assert "worker court-a" in process.stderr.readline()  # the engine is up
                job_id = submit(source, store, config, "--chunk-size", "10")
                deadline = time.monotonic() + 60
                while ledger.jobs.progress(job_id).looked_up == 0:  # the first chunk wrote
                    assert time.monotonic() < deadline and process.poll() is None
                    time.sleep(0.05)
                cancelled = assetquery("jobs", "cancel", job_id, "--store", store)
                assert cancelled.returncode == 0 and " cancelled: " in cancelled.stdout
                while ledger.jobs.get(job_id).finished_at is None:  # its workflow ran out
                    assert time.monotonic() < deadline and process.poll() is None
                    time.sleep(0.1)
            progress = ledger.jobs.progress(job_id)
            assert 0 < progress.looked_up < 60  # the chunks after the cancel never ran
            assert ledger.jobs.get(job_id).state == "cancelled"
            kept = list(ledger.jobs.results(job_id))
        finally:
            ledger.close()
    assert len(kept) == progress.looked_up  # what was looked up before is kept
    again = assetquery("jobs", "cancel", job_id, "--store", store)
    assert again.returncode == 0  # cancelling twice is harmless


def test_submission_checks_every_row_and_stores_only_the_good_ones(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'ledger.db'}"
    source = party_file(tmp_path / "parties.csv", 3)
    with source.open("a", encoding="utf-8") as file:
        file.write("张三,110101199003070000,（2026）甘0191执9号,兰州中院,李承办\n")  # bad checksum
    submitted = assetquery("jobs", "submit", str(source), "--store", store)
    assert submitted.returncode == 1, submitted.stderr
    errors = (tmp_path / "parties.csv.errors.csv").read_text(encoding="utf-8-sig")
    assert "5,id_number," in errors
    job_id = submitted.stdout.strip()
    ledger = Store(store)
    try:
        assert ledger.jobs.get(job_id).parties == 3
        assert ledger.jobs.get(job_id).rejected == 1
    finally:
        ledger.close()
    assert "No worker has run on this store yet" in submitted.stderr


def test_an_unreadable_file_submits_nothing_and_an_unknown_job_is_named(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'ledger.db'}"
    bad = tmp_path / "parties.txt"
    bad.write_text("name\n", encoding="utf-8")
    refused = assetquery("jobs", "submit", str(bad), "--store", store)
    assert refused.returncode == 2 and "missing column(s)" in refused.stderr
    listed = assetquery("jobs", "list", "--store", store)
    assert "No jobs in the store" in listed.stdout
    for command in (["show"], ["cancel"], ["results", "-o", str(tmp_path / "r.jsonl")]):
        missing = assetquery("jobs", *command[:1], "job-nope", *command[1:], "--store", store)
        assert missing.returncode == 2 and "no job 'job-nope'" in missing.stderr


@pytest.mark.loopback
def test_reports_refresh_brings_a_batch_output_up_to_date(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'ledger.db'}"
    source = party_file(tmp_path / "parties.csv", 4)
    output = tmp_path / "out.jsonl"
    with SandboxProcess(tmp_path, "--feedback-delay", "2", "--poll-after", "1") as sandbox:
        config = slow_config(sandbox)
        ran = assetquery("batch", str(source), "-o", str(output), "--config", config,
                         "--store", store)  # fmt: skip
        assert ran.returncode == 0, ran.stderr
        assert "4 report(s) are waiting on an institution" in ran.stdout
        ledger = Store(store)
        try:
            assert ledger.reports.pending() == 4  # handed to the store for a worker
        finally:
            ledger.close()
        time.sleep(2.5)  # the bank's answers are ready
        refreshed = assetquery("reports", "refresh", str(output), "--config", config,
                               "--store", store)  # fmt: skip
    assert refreshed.returncode == 0, refreshed.stderr
    assert "4 asked again; 0 still wait" in refreshed.stdout
    reports = [json.loads(line) for line in output.read_text().splitlines()]
    assert len(reports) == 4 and all(r["complete"] for r in reports)
    ledger = Store(store)
    try:
        assert ledger.reports.pending() == 0
        assert all(c.outcome is not ClockOutcome.OPEN for c in ledger.clocks.find())
    finally:
        ledger.close()


@pytest.mark.loopback
def test_two_workers_together_hold_each_institutions_concurrency(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'ledger.db'}"
    source = party_file(tmp_path / "parties.csv", 80)
    with SandboxProcess(tmp_path, "--latency", "0.05") as sandbox:
        # Every institution allows 2 requests in flight; the court has 2 slots of work. The
        # workers look for work more often than by default: the caps must hold all the same.
        text = re.sub(r"concurrency = \d+", "concurrency = 2", sandbox.config.read_text("utf-8"))
        sandbox.config.write_text(
            text + "\n[worker]\nslots = 2\npoll_interval = 0.2\n", encoding="utf-8"
        )
        config = str(sandbox.config)
        base = re.search(r'base_url = "(http://127\.0\.0\.1:\d+)/', text)
        assert base is not None
        job_id = submit(source, store, config, "--chunk-size", "5")
        ledger = Store(store)
        try:
            # Each worker may take 2 units: unshared, 2 workers x 2 units x 2 requests.
            with (
                worker(store, config, "--concurrency", "2") as first,
                worker(store, config, "--concurrency", "2", name="court-b") as second,
            ):  # fmt: skip
                wait_until_settled(ledger, job_id, first)
                assert second.poll() is None
        finally:
            ledger.close()
        peaks = {
            bank: httpx.get(f"{base.group(1)}/sandbox-admin/{bank}/load").json()
            for bank in ("registry", "fund", "bank-east", "bank-west")
        }
    assert all(load["requests"] >= 80 for load in peaks.values()), peaks
    # The cap is used to the full, and never passed, by the two workers together.
    assert {load["peak"] for load in peaks.values()} == {2}, peaks


@pytest.mark.loopback
def test_a_batchs_late_answers_are_collected_by_the_worker_and_refreshed_into_its_file(
    tmp_path: Path,
) -> None:
    store = f"sqlite:///{tmp_path / 'ledger.db'}"
    source = party_file(tmp_path / "parties.csv", 4)
    output = tmp_path / "out.jsonl"
    with SandboxProcess(tmp_path, "--feedback-delay", "3", "--poll-after", "1") as sandbox:
        config = slow_config(sandbox)
        ran = assetquery("batch", str(source), "-o", str(output), "--config", config,
                         "--store", store)  # fmt: skip
        assert "4 report(s) are waiting on an institution" in ran.stdout, ran.stdout
        ledger = Store(store)
        try:
            with worker(store, config) as process:
                deadline = time.monotonic() + 90
                while ledger.reports.pending():  # the worker collects what the batch left
                    assert time.monotonic() < deadline and process.poll() is None
                    time.sleep(0.25)
        finally:
            ledger.close()
        refreshed = assetquery("reports", "refresh", str(output), "--config", config,
                               "--store", store)  # fmt: skip
    assert "4 brought up to date from the store, 0 asked again" in refreshed.stdout
    assert all(json.loads(line)["complete"] for line in output.read_text().splitlines())
