"""The examples in examples/ run as documented."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assetquery import load_settings
from assetquery._cli._app import app

EXAMPLES = Path(__file__).parent.parent / "examples"


def run_example(script: str, *arguments: str, store: str | None = None) -> str:
    """Run ``examples/<script>`` as a user would; its standard output. ``store`` is put in
    ``ASSETQUERY_STORE`` (otherwise that variable is unset for the example)."""
    env = {k: v for k, v in os.environ.items() if k != "ASSETQUERY_STORE"}
    if store is not None:
        env["ASSETQUERY_STORE"] = store
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-4000:]  # the traceback, if it failed
    return done.stdout


def test_lookup_script_on_the_sandbox() -> None:
    stdout = run_example("lookup_party.py")
    assert "不动产登记中心（沙盒）: ok" in stdout
    assert "real_estate" in stdout and "bank_account" in stdout
    assert "of a 211,686.25 CNY claim" in stdout


@pytest.mark.loopback
def test_lookup_over_http_against_a_sandbox_process() -> None:
    stdout = run_example("lookup_over_http.py")
    assert "sandbox listening on http://127.0.0.1:" in stdout
    assert "不动产登记中心（沙盒）: ok" in stdout
    assert "of a 211,686.25 CNY claim" in stdout


def test_batch_csv_example(tmp_path: Path) -> None:
    output = tmp_path / "reports.jsonl"
    result = CliRunner().invoke(app, ["batch", str(EXAMPLES / "parties.csv"), "-o", str(output)])
    assert result.exit_code == 0, result.output
    reports = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert len(reports) == 8
    assert all(r["case"]["operator"] == "李承办" for r in reports)


def test_deployment_configuration_example_is_valid() -> None:
    settings = load_settings(EXAMPLES / "institutions.toml")
    assert [i.id for i in settings.institutions] == [
        "gs-registry",
        "lz-fund",
        "east-bank",
        "west-rcb",
    ]


def test_freeze_workflow_on_the_sandbox(tmp_path: Path) -> None:
    stdout = run_example("freeze_workflow.py", str(tmp_path / "ledger.db"))
    assert "applied 1 time(s)" in stdout
    assert "waiting at position" in stdout
    assert "promoted from the waiting line" in stdout
    assert "renewal #" in stdout and "completed" in stdout


def test_examples_keep_the_ledger_where_assetquery_store_says(tmp_path: Path) -> None:
    ledger = tmp_path / "from-the-environment.db"
    stdout = run_example("freeze_workflow.py", store=f"sqlite:///{ledger}")
    assert "applied 1 time(s)" in stdout
    assert ledger.stat().st_size > 0
    from assetquery.store import Store

    store = Store(f"sqlite:///{ledger}")
    try:
        assert store.find(), "the example's actions are in the store the environment named"
    finally:
        store.close()

    clocks = tmp_path / "clocks.db"
    run_example("sla_report.py", str(tmp_path / "sla.html"), store=f"sqlite:///{clocks}")
    store = Store(f"sqlite:///{clocks}")
    try:
        assert store.clocks.find(), "the SLA example's clocks are in that store too"
    finally:
        store.close()


def test_sla_report_example(tmp_path: Path) -> None:
    report = tmp_path / "sla.html"
    stdout = run_example("sla_report.py", str(report))
    lines = {line.split(":")[0]: line for line in stdout.splitlines()}
    assert lines["东方商业银行（沙盒） inquiry"].endswith(" 0% late")
    assert not lines["西部农村商业银行（沙盒） inquiry"].endswith(" 0% late")
    html = report.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html
    assert "http://" not in html and "https://" not in html


def test_case_file_example_prints_the_totals_and_writes_every_format(tmp_path: Path) -> None:
    stdout = run_example("case_file.py", str(tmp_path))
    assert "frozen 7,000.00 CNY, deducted 3,000.00 CNY, uncovered 10,000.00 CNY" in stdout
    assert "west bank inquiries: 1, answered 1, in time 0, median 30.1 h against 24 h" in stdout
    assert "lapsed without renewal: 1 (200.00 CNY)" in stdout
    assert "official indicators before closures are imported: None" in stdout
    assert "执行到位率 20.0%" in stdout  # (3,000 deducted + 1,000 outside) / 20,000
    for suffix in ("json", "csv", "xlsx", "html"):
        assert (tmp_path / f"case.{suffix}").stat().st_size > 0
    assert "evidence pack for 西部农村商业银行（沙盒）: 1 inquiry, 及时反馈率 0%" in stdout
    assert (tmp_path / "pack" / "letter.html").stat().st_size > 0
    assert (tmp_path / "pack" / "annex.csv").read_text(encoding="utf-8-sig").count("\n") == 3
