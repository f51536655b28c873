"""The assetquery command: exit codes, files, and messages a clerk can act on."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assetquery._cli._app import COMMANDS, app
from assetquery.sandbox import dataset, institutions_toml

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture(autouse=True)
def _no_ambient_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ASSETQUERY_CONFIG", "ASSETQUERY_OPERATOR", "ASSETQUERY_COURT"):
        monkeypatch.delenv(name, raising=False)


def test_schema_is_the_report_json_schema() -> None:
    code, output = invoke("schema")
    assert code == 0
    schema = json.loads(output)
    assert schema["title"] == "LookupReport"
    assert {"party", "case", "results", "assets", "complete"} <= set(schema["properties"])


LOADED_BY_BATCH = """
import sys
from typer.testing import CliRunner
from assetquery._cli._app import COMMANDS, app
result = CliRunner().invoke(app, ["batch", "--help"])
assert result.exit_code == 0, result.output
print(" ".join(sorted(name for name in sys.modules if name.startswith("assetquery"))))
"""


def test_a_command_imports_its_own_module_and_not_every_other_commands() -> None:
    done = subprocess.run(
        [sys.executable, "-c", LOADED_BY_BATCH], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    loaded = set(done.stdout.split())
    assert "assetquery._cli._lookup" in loaded
    for other in ("_actions", "_audit", "_cases", "_sla", "_worker", "_jobs", "_reports"):
        assert f"assetquery._cli.{other}" not in loaded
    assert not loaded & {"assetquery.ledger", "assetquery.sla", "assetquery.cases"}


def test_help_lists_every_command_in_order() -> None:
    code, output = invoke("--help")
    assert code == 0
    places = [output.index(f"│ {name} ") for name in COMMANDS]
    assert places == sorted(places)


def test_every_command_has_help() -> None:
    for command in (
        ["lookup"],
        ["batch"],
        ["demo"],
        ["sandbox", "serve"],
        ["config", "check"],
        ["schema"],
    ):
        code, output = invoke(*command, "--help")
        assert code == 0, command
        assert "Usage" in output


def test_lookup_prints_json_on_request() -> None:
    party = dataset().find("all_kinds")[0]
    code, output = invoke(
        "lookup",
        "--name",
        party.name,
        "--id",
        party.id_number,
        "--case",
        party.case_number,
        "--claim",
        str(party.claim),
        "--operator",
        "李承办",
        "--json",
    )
    assert code == 0
    report = json.loads(output[output.index("{") :])
    assert report["party"]["id_number"] == party.id_number
    assert report["sandbox"] is True
    assert {a["kind"] for a in report["assets"]} >= {"bank_account", "real_estate"}


def test_lookup_table_names_institutions_and_assets() -> None:
    party = dataset().find("co_owned")[0]
    code, output = invoke(
        "lookup",
        "--name",
        party.name,
        "--id",
        party.id_number,
        "--case",
        party.case_number,
        "--operator",
        "李承办",
    )
    assert code == 0
    assert "using the sandbox" in output
    assert "不动产登记中心（沙盒）" in output and "real_estate" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--id", "110105199003071238"], "check digit"),
        (["--case", "2024执1号"], "is not a case number"),
        (["--claim", "lots"], "claim"),
    ],
)
def test_lookup_bad_input_exits_2_naming_the_field(args: list[str], message: str) -> None:
    base = {
        "--name": "张三",
        "--id": "110105199003071239",
        "--case": "（2024）甘0191执1号",
        "--operator": "李承办",
    }
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    code, output = invoke("lookup", *[x for pair in base.items() for x in pair])
    assert code == 2
    assert message in output
    assert "Traceback" not in output


def test_lookup_without_operator_says_how_to_give_one() -> None:
    code, output = invoke(
        "lookup", "--name", "张三", "--id", "110105199003071239", "--case", "（2024）甘0191执1号"
    )
    assert code == 2
    assert "--operator" in output and "ASSETQUERY_OPERATOR" in output


def clerk_file(path: Path) -> list[str]:
    """A GBK CSV as Excel on Chinese Windows writes it: good rows, a bad one, a blank one."""
    parties = dataset().find("bank_account")[:4]
    rows = [["姓名", "身份证号", "案号", "执行标的", "承办人"]]
    rows += [[p.name, p.id_number, p.case_number, str(p.claim), "李承办"] for p in parties[:2]]
    broken = parties[2].id_number[:-1] + ("0" if parties[2].id_number[-1] != "0" else "1")
    rows.append([parties[2].name, broken, parties[2].case_number, "100", "李承办"])
    rows.append(["", "", "", "", ""])
    rows.append([parties[3].name, parties[3].id_number, parties[3].case_number, "", "李承办"])
    with path.open("w", encoding="gbk", newline="") as file:
        csv.writer(file).writerows(rows)
    return [p.id_number for p in (parties[0], parties[1], parties[3])]


def read_reports(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_batch_with_rejected_rows_exits_1_and_does_the_rest(tmp_path: Path) -> None:
    source, output = tmp_path / "parties.csv", tmp_path / "out.jsonl"
    expected = clerk_file(source)

    code, text = invoke("batch", str(source), "-o", str(output))

    assert code == 1
    reports = read_reports(output)
    assert sorted(r["party"]["id_number"] for r in reports) == sorted(expected)  # type: ignore[index]
    with (tmp_path / "out.jsonl.errors.csv").open(encoding="utf-8-sig") as file:
        errors = list(csv.DictReader(file))
    assert [(e["line"], e["field"]) for e in errors] == [("4", "id_number"), ("5", "row")]
    assert "check digit" in errors[0]["reason"]
    assert "2 row(s) rejected" in text


def test_batch_never_overwrites_results(tmp_path: Path) -> None:
    source, output = tmp_path / "parties.csv", tmp_path / "out.jsonl"
    clerk_file(source)
    output.write_text('{"earlier": "results"}\n', encoding="utf-8")

    code, text = invoke("batch", str(source), "-o", str(output))

    assert code == 2
    assert "--resume" in text
    assert output.read_text(encoding="utf-8") == '{"earlier": "results"}\n'


def test_batch_resume_skips_what_is_done(tmp_path: Path) -> None:
    source, output = tmp_path / "parties.csv", tmp_path / "out.jsonl"
    expected = clerk_file(source)
    invoke("batch", str(source), "-o", str(output))
    lines = output.read_text(encoding="utf-8").splitlines(keepends=True)
    # a run that died after one report and half of the next
    output.write_text(lines[0] + lines[1][: len(lines[1]) // 2], encoding="utf-8")

    code, text = invoke("batch", str(source), "-o", str(output), "--resume")

    assert code == 1  # the same two rows are still rejected
    ids = [r["party"]["id_number"] for r in read_reports(output)]  # type: ignore[index]
    assert sorted(ids) == sorted(expected)
    assert "1 already done" in text


def test_batch_file_without_the_needed_columns_does_nothing(tmp_path: Path) -> None:
    source, output = tmp_path / "parties.csv", tmp_path / "out.jsonl"
    source.write_text("姓名,电话\n张三,1\n", encoding="utf-8")

    code, text = invoke("batch", str(source), "-o", str(output))

    assert code == 2
    assert "missing column(s) id_number, case_number" in text
    assert not output.exists() or output.stat().st_size == 0


def test_demo_writes_reports_with_every_kind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, text = invoke("demo")
    assert code == 0
    reports = read_reports(tmp_path / "demo-output" / "reports.jsonl")
    assert len(reports) == 40
    kinds = {a["kind"] for r in reports for a in r["assets"]}  # type: ignore[attr-defined]
    assert kinds >= {"bank_account", "housing_fund", "real_estate"}
    assert "Assets by kind" in text
    summary = json.loads((tmp_path / "demo-output" / "summary.json").read_text(encoding="utf-8"))
    assert summary["looked_up"] == 40


def test_config_check_accepts_a_good_file(tmp_path: Path) -> None:
    config = tmp_path / "sandbox.toml"
    config.write_text(institutions_toml("http://127.0.0.1:8765"), encoding="utf-8")
    code, output = invoke("config", "check", str(config))
    assert code == 0
    assert "4 institution(s), configuration is valid" in output


def test_config_check_lists_every_missing_secret_and_file() -> None:
    example = Path(__file__).parents[2] / "examples" / "institutions.toml"
    code, output = invoke("config", "check", str(example))
    assert code == 2
    assert "ASSETQUERY_TOKEN_LZ_FUND" in output and "ASSETQUERY_TOKEN_EAST_BANK" in output
    assert "west-rcb-token" in output
    assert "auth.client_cert" in output


def test_config_check_of_a_broken_file_names_the_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(
        '[[institutions]]\nid = "x"\nname = "X"\nadapter = "nonesuch"\nbase_url = "https://x"\n'
        "[institutions.auth]\ntoken = 'abc'\n",
        encoding="utf-8",
    )
    code, output = invoke("config", "check", str(config))
    assert code == 2
    assert "institutions[0] (x).auth" in output and "token_env" in output
    assert "abc" not in output


def test_sandbox_serve_refuses_impossible_knobs() -> None:
    code, output = invoke("sandbox", "serve", "--busy-rate", "1.5")
    assert code == 2
    assert "busy_rate" in output
