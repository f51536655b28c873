"""The control interfaces on the wire, the admin over HTTP, and the control-only knobs."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

import pytest
from pydantic import ValidationError

from assetquery.sandbox import (
    InstitutionProfile,
    SandboxConfig,
    SandboxParty,
    create_app,
    dataset,
    sandbox_admin,
)
from assetquery.sandbox._faults import Fault, FaultPlan

from .wire import CASE, EAST, STRANGER_ID, bank_request, client, registry_xml

EAST_CONTROLS = "/banks/east/api/judicial/v2/controls"
REGISTRY_CONTROL = "/registry/bdc/judicial/control"
FUND_CONTROL = "/fund/gjj/api/v1/sfkz"
COURT = "兰州市城关区人民法院"


def _east_account() -> tuple[SandboxParty, str]:
    for party in dataset():
        for account in party.accounts_at("bank-east"):
            if not account.holds and account.status == "NORMAL" and account.currency == "CNY":
                return party, account.account_number
    raise LookupError


def bank_control(key: str, party: SandboxParty, account: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "idempotencyKey": key,
        "operation": "FREEZE",
        "caseNo": CASE,
        "court": COURT,
        "officer": "测试",
        "document": f"{CASE}之一",
        "subject": {"name": party.name, "idType": "RESIDENT_ID" if party.kind == "person"
                    else "USCC", "idNo": party.id_number},
        "accountNo": account,
        "amount": "10.00",
        "targetControlId": None,
        "endDate": None,
    }  # fmt: skip
    body.update(changes)
    return body


def registry_control(key: str, unit: str, *, operation: str = "CF", **extra: str) -> bytes:
    root = Element("KzRequest")
    fields = {"Ywh": key, "Czlx": operation, "Ah": CASE, "Fy": COURT, "Cbr": "测试",
              "Wh": f"{CASE}之一"}  # fmt: skip
    for tag, text in fields.items():
        SubElement(root, tag).text = text
    holder = SubElement(root, "Qlr")
    for tag, text in (("Mc", "某人"), ("Zjlx", "1"), ("Zjh", STRANGER_ID)):
        SubElement(holder, tag).text = text
    SubElement(root, "Bdcdyh").text = unit
    for tag, text in extra.items():
        SubElement(root, tag).text = text
    body: bytes = tostring(root, encoding="utf-8", xml_declaration=True)
    return body


def fund_control(key: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"ywlsh": key, "czlx": "DJ", "ah": CASE, "fymc": COURT, "cbr": "测试",
                            "wsh": f"{CASE}之一", "xm": "某人", "zjhm": STRANGER_ID,
                            "grzh": "000000000000", "je": 1000}  # fmt: skip
    body.update(changes)
    return body


# --- the wire ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"operation": "SEAL"}, "operation must be"),
        ({"accountNo": ""}, "accountNo"),
        ({"amount": "1.234"}, "two decimals"),
        ({"amount": 10}, "not a string"),
        ({"endDate": "2030/01/01"}, "endDate"),
        ({"endDate": "20300101"}, "endDate"),
        ({"subject": None}, "subject"),
    ],
)
async def test_the_bank_refuses_an_unreadable_control_request(
    changes: dict[str, Any], reason: str
) -> None:
    party, account = _east_account()
    async with client(create_app()) as http:
        response = await http.post(
            EAST_CONTROLS, json=bank_control("W-1", party, account, **changes)
        )
        assert response.status_code == 400
        assert response.json()["errorCode"] == "INVALID_REQUEST"
        assert reason in response.json()["errorMessage"]
        assert (await http.get(EAST_CONTROLS)).status_code == 400  # no key to look up


async def test_the_bank_answers_a_conflict_and_an_unknown_key() -> None:
    party, account = _east_account()
    async with client(create_app()) as http:
        first = await http.post(EAST_CONTROLS, json=bank_control("W-2", party, account))
        assert (first.status_code, first.json()["state"]) == (200, "EFFECTIVE")
        assert first.json()["currency"] == "CNY"
        changed = bank_control("W-2", party, account, amount="11.00")
        conflict = await http.post(EAST_CONTROLS, json=changed)
        assert conflict.status_code == 409
        assert conflict.json()["errorCode"] == "IDEMPOTENCY_CONFLICT"
        missing = await http.get(EAST_CONTROLS, params={"idempotencyKey": "W-none"})
        assert (missing.status_code, missing.json()["errorCode"]) == (404, "NOT_FOUND")
        found = await http.get(EAST_CONTROLS, params={"idempotencyKey": "W-2"})
        assert found.json() == first.json()


async def test_the_registry_answers_in_gbk_and_refuses_with_1001() -> None:
    party = dataset().find("real_estate")[0]
    unit = party.properties[0].unit_number
    async with client(create_app()) as http:
        bad = await http.post(
            REGISTRY_CONTROL, content=registry_control("W-3", unit, operation="QF")
        )
        assert registry_xml(bad).findtext("Head/Jgdm") == "1001"
        garbage = await http.post(REGISTRY_CONTROL, content=b"<KzRequest>")
        assert registry_xml(garbage).findtext("Head/Jgdm") == "1001"
        live = registry_control("W-3", unit, Hcf="2")
        assert (
            registry_xml(await http.post(REGISTRY_CONTROL, content=live)).findtext("Head/Jgdm")
            == "1001"
        )
        # a stranger is not the owner: a business refusal, recorded under the key
        refused = await http.post(REGISTRY_CONTROL, content=registry_control("W-4", unit))
        assert refused.headers["content-type"] == "application/xml; charset=GBK"
        answer = registry_xml(refused)
        assert (answer.findtext("Head/Jgdm"), answer.findtext("Kz/Zt")) == ("0000", "JJ")
        assert answer.findtext("Kz/Sm") == "该财产不属于被执行人"
        again = await http.post(
            REGISTRY_CONTROL, content=registry_control("W-4", unit, operation="JF", Ykzbh="KZ1")
        )
        assert again.status_code == 409
        assert registry_xml(again).findtext("Head/Jgdm") == "1009"
        status = await http.post(
            REGISTRY_CONTROL + "/status", content=b"<KzCx><Ywh>W-none</Ywh></KzCx>"
        )
        assert registry_xml(status).findtext("Head/Jgdm") == "0001"
        unreadable = await http.post(REGISTRY_CONTROL + "/status", content=b"<Cx/>")
        assert registry_xml(unreadable).findtext("Head/Jgdm") == "1001"


@pytest.mark.parametrize(
    "changes",
    [{"czlx": "FZ"}, {"grzh": ""}, {"je": "10.00"}, {"je": True}, {"jsrq": "20300101"}],
)
async def test_the_fund_centre_refuses_an_unreadable_control_request(
    changes: dict[str, Any],
) -> None:
    async with client(create_app()) as http:
        response = await http.post(FUND_CONTROL, json=fund_control("W-5", **changes))
    assert response.status_code == 200
    assert response.json()["code"] == "1001"
    assert "data" not in response.json()


async def test_the_fund_centre_answers_a_conflict_and_an_unknown_key() -> None:
    async with client(create_app()) as http:
        refused = (await http.post(FUND_CONTROL, json=fund_control("W-6"))).json()
        assert (refused["code"], refused["data"]["zt"]) == ("0000", "09")
        conflict = await http.post(FUND_CONTROL, json=fund_control("W-6", je=2000))
        assert (conflict.status_code, conflict.json()["code"]) == (409, "1009")
        unknown = await http.post(FUND_CONTROL + "/cx", json={"ywlsh": "W-none"})
        assert unknown.json()["code"] == "0001"
        blank = await http.post(FUND_CONTROL + "/cx", content=b"[]")
        assert blank.json()["code"] == "1001"


# --- the admin over HTTP -------------------------------------------------------------------


async def test_the_admin_over_http() -> None:
    party = next(
        p
        for p in dataset()
        for a in p.accounts_at("bank-east")
        if a.available == 0 and any(h.waiting for h in a.holds)
    )
    account = next(
        a for a in party.accounts_at("bank-east") if a.available == 0 and a.holds
    ).account_number
    admin = f"/sandbox-admin/bank-east/assets/{account}"
    async with client(create_app()) as http:
        ours = bank_control("A-1", party, account, court=party.court)
        assert (await http.post(EAST_CONTROLS, json=ours)).json()["state"] == "WAITING"

        actions = (await http.get("/sandbox-admin/bank-east/actions")).json()["actions"]
        assert [(a["idempotency_key"], a["state"], a["position"]) for a in actions] == [
            ("A-1", "waiting", 3)
        ]
        controls = (await http.get(f"{admin}/controls")).json()["controls"]
        assert [c["origin"] for c in controls] == ["dataset", "dataset", "request"]
        assert controls[0]["amount"] is not None

        waiting_id = controls[1]["id"]
        released = await http.post(f"{admin}/release", json={"control_id": waiting_id})
        assert released.json()["released"]["state"] == "released"
        first = (await http.post(f"{admin}/release")).json()["released"]
        assert first["id"] == controls[0]["id"]
        status = await http.get(EAST_CONTROLS, params={"idempotencyKey": "A-1"})
        assert status.json()["state"] == "EFFECTIVE"

        lapsed = (await http.post(f"{admin}/dispose")).json()["lapsed"]
        assert [c["idempotency_key"] for c in lapsed] == ["A-1"]
        assert lapsed[0]["state"] == "lapsed"
        status = await http.get(EAST_CONTROLS, params={"idempotencyKey": "A-1"})
        assert status.json()["state"] == "LAPSED"

        assert (await http.post(f"{admin}/release")).status_code == 404  # nothing in force
        assert (await http.get("/sandbox-admin/bank-north/actions")).status_code == 404
        missing = await http.get("/sandbox-admin/bank-east/assets/000/controls")
        assert missing.json()["error"] == "not_found"
        wrong = await http.post(f"{admin}/release", content=b"[1]")
        assert wrong.status_code == 400


async def test_the_admin_needs_the_token_too() -> None:
    app = create_app(SandboxConfig(require_token="s3cret"))
    async with client(app) as http:
        assert (await http.get("/sandbox-admin/fund/actions")).status_code == 401
        right = {"Authorization": "Bearer s3cret"}
        answer = await http.get("/sandbox-admin/fund/actions", headers=right)
    assert answer.json() == {"actions": []}
    assert sandbox_admin(app).institutions == ("registry", "fund", "bank-east", "bank-west")
    with pytest.raises(KeyError, match="bank-north"):
        sandbox_admin(app).actions("bank-north")


def test_sandbox_admin_wants_a_sandbox_app() -> None:
    from starlette.applications import Starlette

    with pytest.raises(TypeError):
        sandbox_admin(Starlette())


# --- knobs and memory ------------------------------------------------------------------------


def test_apply_then_timeout_counts_towards_the_fault_rates() -> None:
    assert InstitutionProfile(apply_then_timeout_rate=0.5).apply_then_timeout_rate == 0.5
    with pytest.raises(ValidationError, match=r"add up to 1\.1"):
        InstitutionProfile(busy_rate=0.6, apply_then_timeout_rate=0.5)
    tuned = SandboxConfig().with_profile("fund", apply_then_timeout_rate=0.2)
    assert tuned.profile("fund").apply_then_timeout_rate == 0.2
    assert tuned.profile("registry").apply_then_timeout_rate == 0


def test_control_decisions_keep_every_other_fault() -> None:
    profile = InstitutionProfile(busy_rate=0.2, error_rate=0.2, apply_then_timeout_rate=0.3)
    plain, control = FaultPlan(7, "fund", profile), FaultPlan(7, "fund", profile)
    ids = [f"K-{i}" for i in range(300)]
    inquiries = [plain.decide(i) for i in ids]
    controls = [control.decide(i, control=True) for i in ids]
    for asked, acted in zip(inquiries, controls, strict=True):
        if acted.fault is Fault.APPLY_THEN_TIMEOUT:
            assert asked.fault is None
            assert acted.hang_after == profile.hang_seconds
        else:
            assert acted == asked
    assert Fault.APPLY_THEN_TIMEOUT not in {d.fault for d in inquiries}
    hit = sum(d.fault is Fault.APPLY_THEN_TIMEOUT for d in controls)
    assert 60 <= hit <= 120


@pytest.mark.looptime
async def test_inquiries_never_hang_for_apply_then_timeout() -> None:
    config = SandboxConfig.uniform(apply_then_timeout_rate=1.0)
    loop = asyncio.get_running_loop()
    async with client(create_app(config)) as http:
        started = loop.time()
        response = await http.post(EAST, json=bank_request("I-1", STRANGER_ID))
        assert loop.time() == started
    assert response.json()["state"] == "COMPLETED"


async def test_a_book_forgets_closed_actions_first(monkeypatch: pytest.MonkeyPatch) -> None:
    from assetquery.sandbox import _controls

    monkeypatch.setattr(_controls, "REMEMBERED_ACTIONS", 3)
    party, account = _east_account()
    app = create_app()
    async with client(app) as http:
        kept = await http.post(
            EAST_CONTROLS, json=bank_control("M-0", party, account, court=party.court)
        )
        assert kept.json()["state"] == "EFFECTIVE"
        for i in range(1, 6):  # refused: another court's subject
            await http.post(FUND_CONTROL, json=fund_control(f"M-{i}"))
            await http.post(EAST_CONTROLS, json=bank_control(f"M-{i}", party, "0000"))
        found = await http.get(EAST_CONTROLS, params={"idempotencyKey": "M-0"})
        gone = await http.get(EAST_CONTROLS, params={"idempotencyKey": "M-1"})
    assert found.json()["state"] == "EFFECTIVE"  # an open control is never forgotten
    assert gone.status_code == 404
    keys = [a.idempotency_key for a in sandbox_admin(app).actions("bank-east")]
    assert keys == ["M-0", "M-4", "M-5"]
    assert len(sandbox_admin(app).actions("fund")) == 3


async def test_control_actions_do_not_disturb_inquiry_answers_elsewhere() -> None:
    """Untouched assets answer exactly as the dataset says (the inquiry tests rely on it)."""
    party, account = _east_account()
    async with client(create_app()) as http:
        before = (await http.post(EAST, json=bank_request("I-2", party.id_number))).json()
        body = bank_control("N-1", party, account, court=party.court)
        await http.post(EAST_CONTROLS, json=body)
        after = (await http.post(EAST, json=bank_request("I-3", party.id_number))).json()
    changed = [a for a in after["accounts"] if a["accountNo"] == account]
    unchanged = [a for a in after["accounts"] if a["accountNo"] != account]
    assert unchanged == [a for a in before["accounts"] if a["accountNo"] != account]
    (frozen,) = changed
    assert frozen["holds"][0]["amount"] == "10.00"
    assert json.dumps(frozen, ensure_ascii=False).count(party.court) == 1
