"""``assetquery actions``: the ledger from the command line, on the in-process sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assetquery._cli._app import app
from assetquery.sandbox import SandboxProcess, dataset

runner = CliRunner()
DOCUMENT = "（2026）甘0102执8426号之一"


@pytest.fixture
def store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}"


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def party_args(tag: str = "both_banks") -> tuple[list[str], str, str]:
    p = dataset().find(tag)[0]
    account = next(a for a in p.bank_accounts if a.bank == "bank-east" and a.available > 2)
    return (
        ["--name", p.name, "--id", p.id_number, "--case", p.case_number, "--court", p.court],
        account.account_number,
        str(p.claim),
    )


def freeze(store: str, amount: str = "1.00", *extra: str) -> tuple[int, str]:
    who, account, claim = party_args()
    return invoke(
        "actions",
        "freeze",
        *who,
        "--claim",
        claim,
        "--institution",
        "bank-east",
        "--account",
        account,
        "--amount",
        amount,
        "--document",
        DOCUMENT,
        "--operator",
        "李承办",
        "--store",
        store,
        *extra,
    )


def test_freeze_then_list_show_and_due(store: str) -> None:
    code, output = freeze(store, "1.00", "--json")
    assert code == 0, output
    (action,) = json.loads(output)
    assert action["state"] == "effective" and action["amount"]["amount"] == "1.00"

    code, output = invoke("actions", "list", "--store", store, "--json")
    assert code == 0 and [a["id"] for a in json.loads(output)] == [action["id"]]

    code, output = invoke("actions", "show", str(action["id"]), "--store", store)
    assert code == 0
    assert "requested" in output and "submitted" in output and "effective" in output

    code, output = invoke("actions", "due", "--within", "400d", "--store", store, "--json")
    assert code == 0
    (due,) = json.loads(output)
    assert due["action"]["id"] == action["id"] and due["renew_by"] < due["expires_on"]

    code, output = invoke("actions", "due", "--within", "30d", "--store", store, "--json")
    assert code == 0 and json.loads(output) == []


def test_over_control_exits_2_and_records_nothing(store: str) -> None:
    code, output = freeze(store, "999999999.00")
    assert code == 2
    assert "above its claim" in output and "override reason" in output
    code, output = invoke("actions", "list", "--store", store, "--json")
    assert json.loads(output) == []


@pytest.mark.loopback
def test_a_control_followed_over_several_commands(
    store: str, sandbox_server: SandboxProcess
) -> None:
    """The served sandbox remembers between commands (the in-process one cannot)."""
    config = ["--config", str(sandbox_server.config)]
    code, output = freeze(store, "1.00", "--json", *config)
    assert code == 0, output
    action_id = str(json.loads(output)[0]["id"])
    code, output = invoke(
        "actions",
        "release",
        action_id,
        "--document",
        DOCUMENT,
        "--operator",
        "李",
        "--store",
        store,
        "--json",
        *config,
    )
    assert code == 0 and json.loads(output)[0]["state"] == "completed"
    code, output = invoke("actions", "show", action_id, "--store", store, "--json")
    assert json.loads(output)["state"] == "released"
    code, output = invoke(
        "actions",
        "release",
        action_id,
        "--document",
        DOCUMENT,
        "--operator",
        "李",
        "--store",
        store,
        *config,
    )
    assert code == 2 and "is a released freeze" in output


def test_operations_on_a_missing_action_exit_2(store: str) -> None:
    code, output = invoke(
        "actions", "renew", "42", "--document", DOCUMENT, "--operator", "李", "--store", store
    )
    assert code == 2 and "no control action #42" in output


def test_plan_prints_the_proposal(store: str) -> None:
    who, _, claim = party_args()
    code, output = invoke(
        "actions", "plan", *who, "--claim", claim, "--operator", "李", "--store", store
    )
    assert code == 0, output
    assert "Plan" in output and "freeze" in output and "shortfall" in output


def test_sync_reports_changes(store: str) -> None:
    freeze(store)
    code, output = invoke("actions", "sync", "--store", store, "--json")
    assert code == 0
    assert isinstance(json.loads(output), list)


def test_a_bad_window_names_the_option(store: str) -> None:
    code, output = invoke("actions", "due", "--within", "soon", "--store", store)
    assert code == 2 and "--within" in output


def test_a_refused_freeze_says_so_and_exits_3(store: str) -> None:
    p = dataset().find("both_banks")[0]
    account = next(a for a in p.bank_accounts if a.bank == "bank-east" and a.available > 2)
    code, output = invoke(
        "actions", "freeze", "--name", p.name, "--id", p.id_number, "--case", p.case_number,
        "--claim", str(p.claim), "--institution", "bank-east", "--account", account.account_number,
        "--amount", "1.00", "--document", DOCUMENT, "--operator", "李承办", "--store", store,
    )  # fmt: skip
    assert code == 3, output  # the institution refused it: no court given
    assert "refused: bank-east rejected freeze #1" in output
    assert "Nothing was applied" in output

    code, output = invoke("actions", "list", "--store", store, "--json")
    assert code == 0
    assert [a["state"] for a in json.loads(output)] == ["rejected"]  # recorded, not lost


@pytest.mark.parametrize("name", ["action", "plan", "sync", "due"])
def test_every_field_of_the_ledgers_json_is_described_and_documented(name: str) -> None:
    from assetquery._cli._schemas import DESCRIPTIONS

    code, output = invoke("schema", name)
    assert code == 0, output
    schema = json.loads(output)
    docs = (Path(__file__).parents[2] / "docs" / "actions.md").read_text(encoding="utf-8")
    for title, body in [(schema["title"], schema), *schema.get("$defs", {}).items()]:
        for field, spec in body.get("properties", {}).items():
            if title in DESCRIPTIONS or title == schema["title"]:
                assert spec.get("description"), f"{title}.{field} has no description"
                # money's two fields are described once, above the tables
                shown = f'"{field}"' if title == "Money" else f"| `{field}` |"
                assert shown in docs, f"docs/actions.md does not describe {title}.{field}"


def test_the_action_schema_describes_expiry_source() -> None:
    code, output = invoke("schema", "action")
    assert code == 0
    expiry = json.loads(output)["properties"]["expiry_source"]["description"]
    assert "institution" in expiry and "computed" in expiry


def test_an_unknown_schema_name_lists_the_known_ones() -> None:
    code, output = invoke("schema", "actions")
    assert code == 2
    assert "is not one of" in output and "report" in output
