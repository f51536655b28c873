"""Three workers on PostgreSQL, killed at random, finish a faulted job: nothing lost,
nothing twice.

The long test of the worker, behind the ``durability`` marker (``make durability``; CI runs
it after ``make test``). Against the sandbox over loopback with faults injected (busy
answers, reset connections, freezes applied and then never answered, a bank whose answers
come after the lookup has stopped waiting), three workers share a job of 2,000 parties and
300 freezes. Every few seconds one of them is killed outright (SIGKILL) and started again
under its id; once, the database itself goes away for a few seconds. At the end:

* every party's report is stored exactly once, with every late answer collected, and no
  lookup thrown away by a crash left a clock behind;
* every freeze reached its bank exactly once (the sandbox's own record, by idempotency key)
  and the ledger agrees with the bank on how it ended;
* nothing is left in a state that is not final.
"""

from __future__ import annotations

import json
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from assetquery import Money, Party
from assetquery.ledger import PENDING_STATES, ActionKind
from assetquery.sandbox import SandboxProcess, dataset
from assetquery.store import ClockOutcome, NewAction, Store

from . import postgres_server
from .test_jobs import party_file

pytestmark = [
    pytest.mark.durability,
    pytest.mark.loopback,
    pytest.mark.skipif(not postgres_server.available(), reason="no PostgreSQL binaries"),
]

PARTIES = 2000
FREEZES = 300
WORKERS = ("court-a", "court-b", "court-c")
KILLS = 12
SEED = 20261206


def faulted_config(sandbox: SandboxProcess) -> str:
    """Short timeouts (so a hung freeze is an ambiguous failure), a lookup that stops
    waiting after two seconds, six slots for the court."""
    text = sandbox.config.read_text(encoding="utf-8")
    text = re.sub(r"timeout = [0-9.]+", "timeout = 1.0", text)
    text += "\n[lookup]\ndeadline = 2.0\n\n[worker]\nslots = 6\nchunk_size = 50\n"
    sandbox.config.write_text(text, encoding="utf-8")
    return str(sandbox.config)


def record_freezes(store: Store) -> list[int]:
    """300 freezes of 0.01 CNY on distinct accounts, recorded as a clerk's request is:
    with their idempotency keys, not yet sent. The workers' follow-ups send them."""
    accounts = [
        (party, account)
        for party in dataset().parties
        for account in party.bank_accounts
        if account.available > 1
    ][:FREEZES]
    assert len(accounts) == FREEZES
    ids = []
    now = datetime.now(UTC)
    for party, account in accounts:
        new = NewAction(
            kind=ActionKind.FREEZE,
            party=Party.parse(party.name, party.id_number, party.kind),
            case_number=party.case_number,
            enforcement_document=party.case_number.replace("号", "号之一"),
            court=party.court,
            requested_by="李承办",
            institution=account.bank,
            asset_kind="bank_account",
            asset_identifier=account.account_number,
            amount=Money(Decimal("0.01")),
        )
        ids.append(store.record(new, at=now, reason="freeze requested").id)
    return ids


def start_worker(name: str, store: str, config: str, logs: Path) -> subprocess.Popen[bytes]:
    log = (logs / f"{name}.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "assetquery", "worker", "--store", store, "--config", config,
         "--worker-id", name, "--concurrency", "2", "--follow-every", "1s"],
        stderr=log, stdout=log,
    )  # fmt: skip


def test_three_workers_killed_at_random_finish_a_faulted_job(tmp_path: Path) -> None:
    chance = random.Random(SEED)
    database = postgres_server.PostgresServer()
    store_url = database.url
    logs = tmp_path / "logs"
    logs.mkdir()
    source = party_file(tmp_path / "parties.csv", PARTIES)
    faults = ["--busy-rate", "0.05", "--reset-rate", "0.02", "--apply-then-timeout-rate", "0.1",
              "--hang-seconds", "3", "--feedback-delay", "5", "--poll-after", "1",
              "--seed", str(SEED)]  # fmt: skip
    sandbox = SandboxProcess(tmp_path, *faults)
    workers: dict[str, subprocess.Popen[bytes]] = {}
    store = Store(store_url)
    try:
        config = faulted_config(sandbox)
        freeze_ids = record_freezes(store)
        submitted = subprocess.run(
            [sys.executable, "-m", "assetquery", "jobs", "submit", str(source), "--store",
             store_url, "--config", config],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert submitted.returncode == 0, submitted.stderr
        job_id = submitted.stdout.strip()
        for name in WORKERS:
            workers[name] = start_worker(name, store_url, config, logs)

        kills = 0
        outage_done = False
        deadline = time.monotonic() + 600
        while True:
            assert time.monotonic() < deadline, (store.jobs.progress(job_id), kills)
            time.sleep(chance.uniform(1.5, 3.5))
            progress = store.jobs.progress(job_id)
            open_actions = len(store.find(states=PENDING_STATES))
            if kills >= KILLS and outage_done and progress.settled and not open_actions:
                break
            if kills < KILLS:
                victim = chance.choice(WORKERS)
                workers[victim].kill()
                workers[victim].wait(timeout=30)
                workers[victim] = start_worker(victim, store_url, config, logs)
                kills += 1
            elif not outage_done:
                database.stop()  # every worker loses its database for a few seconds
                time.sleep(4)
                database.start()
                outage_done = True
        for process in workers.values():
            process.send_signal(signal.SIGTERM)
        for name, process in workers.items():
            assert process.wait(timeout=120) == 0, (logs / f"{name}.log").read_text()[-3000:]

        # --- every party once, every answer in ------------------------------------------
        reports = [json.loads(line) for line in store.jobs.results(job_id)]
        lines = Counter(r["reference"] for r in reports)
        assert len(reports) == PARTIES and set(lines.values()) == {1}
        assert not [r for r in reports if any(x["status"] == "pending" for x in r["results"])]
        # bank-west feeds back after 5 s, the lookups stopped waiting after 2: its answers
        # were all collected later, by the workers.
        west = [x for r in reports for x in r["results"] if x["institution"] == "bank-west"]
        late = [x for x in west if x["status"] in ("ok", "not_found")]
        assert len(late) > PARTIES // 2
        assert all(_seconds(x["finished_at"]) - _seconds(x["started_at"]) > 2 for x in late)
        clocks = store.clocks.find(subject="inquiry")
        asked = sum(1 for r in reports for x in r["results"] if x["status"] != "skipped")
        assert len(clocks) == asked  # no clock of a lookup a crash threw away
        assert not [c for c in clocks if c.outcome is ClockOutcome.OPEN]

        # --- every freeze applied once, as the bank says -----------------------------------
        actions = [store.get(i) for i in freeze_ids]
        assert not [a for a in actions if a.state in PENDING_STATES]
        at_banks: dict[str, dict[str, str]] = {}
        base = _base_url(Path(config))
        for bank in ("bank-east", "bank-west"):
            received = httpx.get(f"{base}/sandbox-admin/{bank}/actions", timeout=30).json()
            ours = [a for a in received["actions"] if a["origin"] == "request"]
            keys = Counter(a["idempotency_key"] for a in ours)
            assert set(keys.values()) == {1}, "an action applied twice"
            at_banks[bank] = {a["idempotency_key"]: a["state"] for a in ours}
        for action in actions:
            bank_state = at_banks[action.institution].get(action.idempotency_key)
            assert bank_state is not None, f"#{action.id} never reached {action.institution}"
            assert (bank_state == "effective") == (action.state.value == "effective"), (
                action.id,
                bank_state,
                action.state.value,
            )
        assert sum(len(v) for v in at_banks.values()) == FREEZES
    finally:
        for process in workers.values():
            if process.poll() is None:
                process.kill()
        store.close()
        sandbox.stop()
        database.close()


def _base_url(config: Path) -> str:
    match = re.search(r'base_url = "(http://127\.0\.0\.1:\d+)/', config.read_text("utf-8"))
    assert match is not None
    return match.group(1)


def _seconds(moment: str) -> float:
    return datetime.fromisoformat(moment).timestamp()
