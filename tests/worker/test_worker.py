"""The durable worker: its identity, where the engine keeps its checkpoints, and the sweep.

The engine is a process-wide singleton, so every run of it here is ``assetquery worker`` in
a child process, against the sandbox served over loopback (its state must outlive the
commands that talk to it).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from assetquery import ConfigurationError
from assetquery.sandbox import SandboxProcess, dataset
from assetquery.store import Store
from assetquery.worker._engine import executor_id, system_database_url, system_engine

DOCUMENT = "（2026）甘0102执8426号之一"


def test_the_worker_id_is_the_one_given_or_the_host_name() -> None:
    assert executor_id("court-a.worker-1") == "court-a.worker-1"
    assert executor_id(None)  # the host name
    with pytest.raises(ConfigurationError, match="--worker-id"):
        executor_id("two words")


def test_checkpoints_sit_beside_a_sqlite_ledger_and_inside_postgresql() -> None:
    assert system_database_url("sqlite:////var/lib/court/ledger.db") == (
        "sqlite:////var/lib/court/ledger.dbos.sqlite"
    )
    assert system_database_url("postgresql+psycopg://court:s3cret@db.local/enforcement") == (
        "postgresql://court:s3cret@db.local/enforcement"
    )
    with pytest.raises(ConfigurationError, match="outlive the process"):
        system_database_url("sqlite://")


def test_on_sqlite_every_engine_transaction_holds_the_write_lock_from_its_first_read(
    tmp_path: Path,
) -> None:
    # Counting the running units and claiming the next ones must be one step for every
    # worker on the file: a peer cannot even begin while the count is read.
    path = tmp_path / "ledger.dbos.sqlite"
    engine = system_engine(f"sqlite:///{path}")
    assert engine is not None
    peer = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT 1")).scalar() == 1
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                peer.execute("BEGIN IMMEDIATE")
        peer.execute("BEGIN IMMEDIATE")  # released with the transaction
        peer.execute("ROLLBACK")
        # The engine's migration begins again inside its transaction: a no-op, not an error.
        with engine.begin() as connection:
            connection.execute(sa.text("BEGIN IMMEDIATE"))
            connection.execute(sa.text("CREATE TABLE t (x INTEGER)"))
        assert peer.execute("SELECT count(*) FROM t").fetchone() == (0,)
    finally:
        peer.close()
        engine.dispose()
    assert system_engine("postgresql://court@db.local/enforcement") is None


DEBTOR = dataset().find("both_banks")[0]


def freeze_one(store: str, config: str) -> subprocess.CompletedProcess[str]:
    """``actions freeze`` of 1.00 CNY of the debtor's account at bank-east, as JSON."""
    account = next(a for a in DEBTOR.bank_accounts if a.bank == "bank-east" and a.available > 2)
    return assetquery(
        "actions", "freeze", "--name", DEBTOR.name, "--id", DEBTOR.id_number,
        "--case", DEBTOR.case_number, "--court", DEBTOR.court, "--claim", str(DEBTOR.claim),
        "--institution", "bank-east", "--account", account.account_number,
        "--amount", "1.00", "--document", DOCUMENT, "--operator", "李承办",
        "--store", store, "--config", config, "--json",
    )  # fmt: skip


def assetquery(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assetquery", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.loopback
def test_a_sweep_follows_open_actions_and_reads_the_radar(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'ledger.db'}"
    with SandboxProcess(tmp_path) as sandbox:
        config = str(sandbox.config)
        frozen = freeze_one(store, config)
        assert frozen.returncode == 0, frozen.stderr
        (action,) = json.loads(frozen.stdout)
        assert action["state"] == "effective"

        swept = assetquery(
            "--log-level", "warning", "worker", "--once", "--store", store,
            "--config", config, "--within", "400d", "--worker-id", "test-worker",
        )  # fmt: skip

    assert swept.returncode == 0, swept.stderr
    assert "Swept 1 open action(s): 0 changed, 0 institution(s) not reached" in swept.stdout
    assert "1 renewal(s) due within 400d" in swept.stdout
    warning = next(json.loads(line) for line in swept.stderr.splitlines() if "renewal due" in line)
    assert warning["action_id"] == action["id"] and warning["days_left"] > 300
    assert DEBTOR.name not in swept.stderr  # the log names the case, never the debtor
    ledger = Store(store)
    try:
        assert ledger.status_checks(action["id"]) == 1  # the sweep asked the bank once
    finally:
        ledger.close()
    assert (tmp_path / "ledger.dbos.sqlite").exists()  # the engine's checkpoints, beside it


def test_nothing_but_the_worker_imports_the_engine() -> None:
    import ast

    package = Path(__file__).resolve().parents[2] / "src" / "assetquery"
    importers = sorted(
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if (isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "dbos")
        or (
            isinstance(node, ast.Import) and any(a.name.split(".")[0] == "dbos" for a in node.names)
        )
    )
    assert importers and all(name.startswith("worker/") for name in importers), importers
    probe = (
        "import sys, assetquery, assetquery._cli, assetquery.ledger; print('dbos' in sys.modules)"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert loaded.stdout.strip() == "False"  # neither the library API nor the CLI's start


@pytest.mark.parametrize("run", [1, 2])  # the second start replaces the first's schedule
def test_the_long_running_worker_stops_cleanly_on_sigterm(tmp_path: Path, run: int) -> None:
    import signal

    store = f"sqlite:///{tmp_path / 'ledger.db'}"
    for _ in range(run):
        worker = subprocess.Popen(
            [sys.executable, "-m", "assetquery", "worker", "--store", store,
             "--worker-id", "test-worker", "--sweep-at", "05:30"],
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert worker.stderr is not None
        ready = worker.stderr.readline()
        assert "worker test-worker: daily sweep at 05:30 (Asia/Shanghai)" in ready, ready
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0
        assert "stopped" in worker.stderr.read()


def test_a_bad_sweep_time_is_refused_before_anything_starts(tmp_path: Path) -> None:
    done = assetquery("worker", "--store", f"sqlite:///{tmp_path / 'l.db'}", "--sweep-at", "25:00")
    assert done.returncode == 2
    assert "--sweep-at '25:00' is not a time of day" in done.stderr


@pytest.mark.loopback
def test_a_running_worker_follows_an_acknowledged_freeze_until_it_is_in_force(
    tmp_path: Path,
) -> None:
    import signal
    import time

    store = f"sqlite:///{tmp_path / 'ledger.db'}"
    with SandboxProcess(tmp_path, "--control-delay", "2") as sandbox:
        config = str(sandbox.config)
        frozen = freeze_one(store, config)
        assert frozen.returncode == 0, frozen.stderr
        (action,) = json.loads(frozen.stdout)
        assert action["state"] == "acknowledged"  # the bank carries it out later

        worker = subprocess.Popen(
            [sys.executable, "-m", "assetquery", "worker", "--store", store,
             "--config", config, "--worker-id", "test-worker", "--follow-every", "1s"],
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        ledger = Store(store)
        try:
            deadline = time.monotonic() + 60
            while ledger.get(action["id"]).state.value != "effective":
                assert time.monotonic() < deadline, "the follow-up never saw the freeze in force"
                assert worker.poll() is None, worker.stderr.read() if worker.stderr else ""
                time.sleep(0.25)
            followed = ledger.get(action["id"])
        finally:
            ledger.close()
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=60) == 0
    assert followed.expires_on is not None  # in force, with its legal end date
    assert [t.to_state.value for t in followed.transitions][-1] == "effective"


@pytest.mark.loopback
def test_a_killed_worker_restarted_under_its_id_resumes_its_follow_up(tmp_path: Path) -> None:
    import signal
    import time

    store = f"sqlite:///{tmp_path / 'ledger.db'}"

    def start_worker() -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "assetquery", "worker", "--store", store,
             "--config", config, "--worker-id", "court-a", "--follow-every", "1s"],
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

    with SandboxProcess(tmp_path, "--control-delay", "4") as sandbox:
        config = str(sandbox.config)
        frozen = freeze_one(store, config)
        (action,) = json.loads(frozen.stdout)
        ledger = Store(store)
        try:
            first = start_worker()
            assert first.stderr is not None
            assert "worker court-a" in first.stderr.readline()
            while ledger.status_checks(action["id"]) == 0:  # its follow-up has asked once
                time.sleep(0.1)
            first.kill()  # SIGKILL: no clean stop, the follow-up left mid-sleep
            first.wait(timeout=30)
            assert ledger.get(action["id"]).state.value == "acknowledged"

            second = start_worker()  # the same id: it recovers court-a's unfinished work
            deadline = time.monotonic() + 60
            while ledger.get(action["id"]).state.value != "effective":
                assert time.monotonic() < deadline, "the follow-up was not resumed"
                time.sleep(0.25)
            second.send_signal(signal.SIGTERM)
            assert second.wait(timeout=60) == 0
        finally:
            ledger.close()
