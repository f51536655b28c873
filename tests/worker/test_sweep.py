"""The daily sweep's policy and hooks, and answers given up: through ``assetquery worker``.

As in ``test_worker``, against the sandbox over loopback; the webhook is a small HTTP server
on loopback that keeps what it is sent.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from assetquery._time import SHANGHAI
from assetquery.sandbox import SandboxProcess
from assetquery.store import ClockOutcome, Store

from .test_jobs import party_file, slow_config, submit, wait_until_settled, worker
from .test_worker import DEBTOR, assetquery, freeze_one


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A loopback URL and the JSON bodies POSTed to it."""
    received: list[dict[str, Any]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()


def add_sections(config: Path, text: str) -> None:
    with config.open("a", encoding="utf-8") as file:
        file.write("\n" + text + "\n")


@pytest.mark.loopback
def test_the_sweep_renews_what_the_policy_covers_and_tells_the_webhook(
    tmp_path: Path, webhook: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = webhook
    store = f"sqlite:///{tmp_path / 'ledger.db'}"
    with SandboxProcess(tmp_path) as sandbox:
        # The case in another spelling (half-width brackets) names the same case.
        case = DEBTOR.case_number.replace("（", "(").replace("）", ")")
        add_sections(
            sandbox.config, f'[renewal]\ncases = ["{case}"]\n\n[notify]\nwebhook = "{url}"'
        )
        config = str(sandbox.config)
        frozen = freeze_one(store, config)
        assert frozen.returncode == 0, frozen.stderr
        (control,) = json.loads(frozen.stdout)
        # A judicial recommendation written and sent 40 days ago, its written reply due in 30.
        ledger = Store(store)
        sent = ledger.recommendations.create(
            "bank-west",
            period=(date(2026, 1, 1), date(2026, 3, 31)),
            directory=str(tmp_path),
            reply_days=30,
            at=datetime.now(UTC) - timedelta(days=40),
        )
        ledger.recommendations.sent(sent.id, on=datetime.now(SHANGHAI).date() - timedelta(days=40))
        ledger.close()
        once = ("worker", "--once", "--store", store, "--config", config, "--within", "400d",
                "--worker-id", "test-worker")  # fmt: skip
        swept = assetquery(*once)
        assert swept.returncode == 0, swept.stderr
        assert "1 renewal(s) due within 400d (1 renewed automatically)" in swept.stdout
        again = assetquery(*once)  # renewed: its period now ends beyond the window
        assert "0 renewal(s) due" in again.stdout, again.stdout

    assert "1 recommendation reply(ies) overdue" in " ".join(swept.stdout.split())
    (reply,) = {n["key"]: n for n in received if n["event"] == "reply_overdue"}.values()
    assert reply["institution"] == "bank-west" and reply["detail"]["days_overdue"] == 10
    (notice,) = (n for n in received if n["event"] == "renewal_submitted")
    assert notice["action_id"] == control["id"] and notice["case_number"] == DEBTOR.case_number
    assert DEBTOR.name not in json.dumps(received, ensure_ascii=False)
    ledger = Store(store)
    try:
        (renewal,) = ledger.find(target_id=control["id"])
        assert renewal.kind.value == "renew" and renewal.state.value == "completed"
        assert ledger.get(control["id"]).expires_on > date.fromisoformat(control["expires_on"])
    finally:
        ledger.close()


@pytest.mark.loopback
def test_an_answer_that_never_comes_is_given_up_after_its_deadline_and_grace(
    tmp_path: Path, webhook: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = webhook
    store = f"sqlite:///{tmp_path / 'ledger.db'}"
    source = party_file(tmp_path / "parties.csv", 3)
    with SandboxProcess(tmp_path, "--feedback-delay", "3600", "--poll-after", "1") as sandbox:
        config = slow_config(sandbox)
        # bank-west owes an answer within 2 seconds; a second of grace after that.
        text = sandbox.config.read_text(encoding="utf-8")
        text = re.sub(r'(id = "bank-west"\n)', r"\1sla = { inquiry = { hours = 0.0005 } }\n", text)
        sandbox.config.write_text(text, encoding="utf-8")
        add_sections(sandbox.config, f'[worker]\nanswer_grace = 1\n\n[notify]\nwebhook = "{url}"')
        job_id = submit(source, store, config)
        ledger = Store(store)
        try:
            with worker(store, config) as process:
                wait_until_settled(ledger, job_id, process)
                deadline = time.monotonic() + 30
                while not received:  # the notice follows the answers' checkpoint
                    assert time.monotonic() < deadline
                    time.sleep(0.1)
            west = ledger.clocks.find(institution="bank-west")
            lines = list(ledger.jobs.results(job_id))
        finally:
            ledger.close()
    assert len(west) == 3 and all(c.outcome is ClockOutcome.OVERDUE for c in west)
    for line in lines:
        result = next(r for r in json.loads(line)["results"] if r["institution"] == "bank-west")
        assert result["status"] == "timeout" and result["error"]["code"] == "overdue"
    (notice,) = received
    assert notice["event"] == "answer_overdue" and notice["detail"]["answers"] == 3
