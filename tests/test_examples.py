"""The examples in examples/ run as documented."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assetquery import load_settings
from assetquery._cli import app

EXAMPLES = Path(__file__).parent.parent / "examples"


def test_lookup_script_on_the_sandbox() -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "lookup_party.py")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "不动产登记中心（沙盒）: ok" in done.stdout
    assert "real_estate" in done.stdout and "bank_account" in done.stdout
    assert "of a 211,686.25 CNY claim" in done.stdout


@pytest.mark.loopback
def test_lookup_over_http_against_a_sandbox_process() -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "lookup_over_http.py")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "sandbox listening on http://127.0.0.1:" in done.stdout
    assert "不动产登记中心（沙盒）: ok" in done.stdout
    assert "of a 211,686.25 CNY claim" in done.stdout


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
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "freeze_workflow.py"), str(tmp_path / "ledger.db")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "applied 1 time(s)" in done.stdout
    assert "waiting at position" in done.stdout
    assert "promoted from the waiting line" in done.stdout
    assert "renewal #" in done.stdout and "completed" in done.stdout


def test_sla_report_example(tmp_path: Path) -> None:
    report = tmp_path / "sla.html"
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "sla_report.py"), str(report)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-4000:]  # the traceback, if it failed
    lines = {line.split(":")[0]: line for line in done.stdout.splitlines()}
    assert lines["东方商业银行（沙盒） inquiry"].endswith(" 0% late")
    assert not lines["西部农村商业银行（沙盒） inquiry"].endswith(" 0% late")
    html = report.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html
    assert "http://" not in html and "https://" not in html
