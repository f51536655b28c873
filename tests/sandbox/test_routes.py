"""Each simulated institution's wire format, for a party found and for a stranger."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from assetquery._time import SHANGHAI
from assetquery.sandbox import SandboxConfig, SandboxParty, create_app, dataset

from .wire import (
    EAST,
    FUND,
    REGISTRY,
    STRANGER_ID,
    WEST,
    bank_request,
    client,
    fund_request,
    registry_request,
    registry_xml,
)


def _first(tag: str, *, bank: str | None = None) -> SandboxParty:
    return next(p for p in dataset().find(tag) if bank is None or p.accounts_at(bank))


def _recent(moment: datetime) -> bool:
    return abs(datetime.now(SHANGHAI) - moment) < timedelta(minutes=1)


async def test_health() -> None:
    async with client(create_app()) as http:
        response = await http.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


# --- registry ----------------------------------------------------------------------------


async def test_registry_answers_in_gbk_with_every_owner_and_share() -> None:
    party = _first("co_owned")
    async with client(create_app()) as http:
        response = await http.post(
            REGISTRY, content=registry_request("Q-1", party.id_number, name=party.name)
        )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/xml; charset=GBK"
    root = registry_xml(response)
    assert root.findtext("Head/Ywh") == "Q-1"
    assert root.findtext("Head/Jgdm") == "0000"
    stamped = datetime.strptime(root.findtext("Head/Cxsj"), "%Y%m%d%H%M%S").replace(tzinfo=SHANGHAI)
    assert _recent(stamped)
    units = root.findall("Fcxx/Bdcdy")
    assert [u.findtext("Bdcdyh") for u in units] == [u.unit_number for u in party.properties]
    shared = next(u for u in units if u.findtext("Gyfs") == "按份共有")
    owners = {q.findtext("Zjh"): q.findtext("Fe") for q in shared.findall("Qlr")}
    assert party.id_number in owners
    assert len(owners) >= 2
    assert all(share and "/" in share for share in owners.values())
    assert party.name in response.content.decode("gbk")


async def test_registry_reports_waiting_seals_in_line() -> None:
    party = _first("waiting_seal")
    async with client(create_app()) as http:
        response = await http.post(REGISTRY, content=registry_request("Q-2", party.id_number))
    seals = registry_xml(response).findall("Fcxx/Bdcdy/Cfxx")
    kinds = [s.findtext("Cflx") for s in seals]
    assert "查封" in kinds
    waiting = [s for s in seals if s.findtext("Cflx") == "轮候查封"]
    assert waiting
    assert all(int(s.findtext("Lhsx")) >= 2 for s in waiting)


async def test_registry_has_nothing_for_a_stranger() -> None:
    async with client(create_app()) as http:
        response = await http.post(REGISTRY, content=registry_request("Q-3", STRANGER_ID))
    root = registry_xml(response)
    assert root.findtext("Head/Jgdm") == "0001"
    assert root.find("Fcxx") is None


@pytest.mark.parametrize(
    "body",
    [b"not xml", b"<Other/>", registry_request("Q-4", "")],
    ids=["garbage", "wrong root", "no id number"],
)
async def test_registry_refuses_an_unreadable_request(body: bytes) -> None:
    async with client(create_app()) as http:
        response = await http.post(REGISTRY, content=body)
    assert response.status_code == 200
    assert registry_xml(response).findtext("Head/Jgdm") == "1001"


# --- housing fund ------------------------------------------------------------------------


async def test_fund_answers_amounts_in_fen_with_freezes() -> None:
    party = _first("fund_frozen")
    async with client(create_app()) as http:
        response = await http.post(FUND, json=fund_request("F-1", party.id_number, party.name))
    body = response.json()
    assert (body["code"], body["ywlsh"]) == ("0000", "F-1")
    assert _recent(datetime.strptime(body["cxsj"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI))
    frozen = next(a for a in body["data"]["zhxx"] if a["zhzt"] == "04")
    expected = next(a for a in party.fund_accounts if a.account_number == frozen["grzh"])
    assert frozen["zhye"] == int(expected.balance * 100)
    assert isinstance(frozen["djje"], int)
    assert 0 < frozen["djje"] <= frozen["zhye"]
    assert frozen["djxx"][0]["lhsx"] is None
    assert (frozen["xm"], frozen["zjhm"]) == (party.name, party.id_number)


async def test_fund_has_nothing_for_organizations_and_strangers() -> None:
    company = dataset().organizations[0]
    async with client(create_app()) as http:
        for number in (company.id_number, STRANGER_ID):
            response = await http.post(FUND, json=fund_request("F-2", number))
            assert response.json()["code"] == "0001"


@pytest.mark.parametrize("body", [b"{", b"[]", json.dumps({"ywlsh": "F-3"}).encode()])
async def test_fund_refuses_an_unreadable_request(body: bytes) -> None:
    async with client(create_app()) as http:
        response = await http.post(FUND, content=body)
    assert response.status_code == 200
    assert response.json()["code"] == "1001"


# --- banks -------------------------------------------------------------------------------


async def test_bank_east_answers_at_once_with_decimal_strings() -> None:
    party = _first("partially_frozen", bank="bank-east")
    async with client(create_app()) as http:
        response = await http.post(EAST, json=bank_request("B-1", party.id_number))
    assert response.status_code == 200
    body = response.json()
    assert (body["requestId"], body["state"]) == ("B-1", "COMPLETED")
    completed = datetime.fromisoformat(body["completedAt"])
    assert completed.utcoffset() == timedelta(hours=8)
    assert _recent(completed)
    expected = party.accounts_at("bank-east")
    assert [a["accountNo"] for a in body["accounts"]] == [a.account_number for a in expected]
    for wire, account in zip(body["accounts"], expected, strict=True):
        assert wire["currency"] == account.currency
        assert Decimal(wire["balance"]) == account.balance
        assert wire["status"] in ("NORMAL", "DORMANT", "CLOSED")
        if account.states_available:
            assert Decimal(wire["availableBalance"]) == account.available
        else:
            assert "availableBalance" not in wire
        for hold in wire["holds"]:
            assert hold["type"] in ("FREEZE", "WAITING_FREEZE")
            assert (hold["queue"] is None) == (hold["type"] == "FREEZE")
            Decimal(hold["amount"])


async def test_bank_leaves_out_available_balance_for_some_accounts() -> None:
    silent = [
        a
        for p in dataset().find("no_available_balance_field")
        for a in p.bank_accounts
        if not a.states_available
    ]
    account = silent[0]
    owner = next(p for p in dataset() if account in p.bank_accounts)
    path = EAST if account.bank == "bank-east" else WEST
    config = SandboxConfig().with_profile("bank-west", feedback_delay=0)
    async with client(create_app(config)) as http:
        response = await http.post(path, json=bank_request("B-2", owner.id_number))
        if response.status_code == 202:
            response = await http.get(f"{WEST}/{response.json()['ticket']}")
    wire = next(a for a in response.json()["accounts"] if a["accountNo"] == account.account_number)
    assert "availableBalance" not in wire


async def test_bank_has_no_accounts_for_a_stranger() -> None:
    async with client(create_app()) as http:
        response = await http.post(EAST, json=bank_request("B-3", STRANGER_ID))
    assert response.status_code == 200
    assert response.json()["accounts"] == []


@pytest.mark.parametrize("path", [EAST, WEST])
@pytest.mark.parametrize(
    "body",
    [
        b"nope",
        json.dumps({"requestId": "B-4"}).encode(),
        json.dumps(bank_request("", "1")).encode(),
    ],
    ids=["garbage", "no subject", "empty request id"],
)
async def test_banks_refuse_an_unreadable_request(path: str, body: bytes) -> None:
    async with client(create_app()) as http:
        response = await http.post(path, content=body)
    assert response.status_code == 400
    assert response.json()["errorCode"] == "INVALID_REQUEST"
    assert response.json()["errorMessage"]


@pytest.mark.looptime
async def test_bank_west_hands_out_a_ticket_and_answers_when_polled_later() -> None:
    party = _first("both_banks")
    async with client(create_app()) as http:
        accepted = await http.post(WEST, json=bank_request("B-5", party.id_number))
        assert accepted.status_code == 202
        ticket = accepted.json()
        assert ticket["state"] == "ACCEPTED"
        assert ticket["pollAfterSeconds"] == 1
        again = await http.post(WEST, json=bank_request("B-5", party.id_number))
        assert again.json()["ticket"] == ticket["ticket"]

        processing = await http.get(f"{WEST}/{ticket['ticket']}")
        assert processing.status_code == 200
        assert processing.json()["state"] == "PROCESSING"
        assert processing.json()["pollAfterSeconds"] == 1

        await asyncio.sleep(0.5)  # the default feedback delay, on the virtual clock
        completed = (await http.get(f"{WEST}/{ticket['ticket']}")).json()
    assert (completed["state"], completed["requestId"]) == ("COMPLETED", "B-5")
    expected = party.accounts_at("bank-west")
    assert [a["accountNo"] for a in completed["accounts"]] == [a.account_number for a in expected]
    for wire, account in zip(completed["accounts"], expected, strict=True):
        # This bank leaves the currency out of CNY accounts.
        assert wire.get("currency", "CNY") == account.currency
        assert ("currency" in wire) == (account.currency != "CNY")


@pytest.mark.looptime
async def test_bank_west_feedback_delay_is_a_knob() -> None:
    config = SandboxConfig().with_profile("bank-west", feedback_delay=3600, poll_after_seconds=600)
    async with client(create_app(config)) as http:
        accepted = (await http.post(WEST, json=bank_request("B-6", STRANGER_ID))).json()
        assert accepted["pollAfterSeconds"] == 600
        await asyncio.sleep(3599)
        assert (await http.get(f"{WEST}/{accepted['ticket']}")).json()["state"] == "PROCESSING"
        await asyncio.sleep(1)
        done = (await http.get(f"{WEST}/{accepted['ticket']}")).json()
    assert done["state"] == "COMPLETED"
    assert done["accounts"] == []


async def test_bank_west_does_not_know_a_ticket_it_never_issued() -> None:
    async with client(create_app()) as http:
        response = await http.get(f"{WEST}/T0000")
    assert response.status_code == 404
    assert response.json()["errorCode"] == "TICKET_NOT_FOUND"


async def test_bank_west_remembers_a_bounded_number_of_tickets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from assetquery.sandbox import _banks

    monkeypatch.setattr(_banks, "REMEMBERED_TICKETS", 3)
    async with client(create_app()) as http:
        tickets = [
            (await http.post(WEST, json=bank_request(f"B-7-{i}", STRANGER_ID))).json()["ticket"]
            for i in range(5)
        ]
        statuses = [(await http.get(f"{WEST}/{t}")).status_code for t in tickets]
    assert statuses == [404, 404, 200, 200, 200]


@pytest.mark.looptime
async def test_bank_west_forgets_fetched_answers_but_keeps_the_latest_for_a_repoll(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from assetquery.sandbox import _banks

    monkeypatch.setattr(_banks, "REDELIVERABLE_TICKETS", 2)
    async with client(create_app()) as http:
        tickets = [
            (await http.post(WEST, json=bank_request(f"B-8-{i}", STRANGER_ID))).json()["ticket"]
            for i in range(4)
        ]
        await asyncio.sleep(0.5)  # every answer is ready
        first = [(await http.get(f"{WEST}/{t}")).json()["state"] for t in tickets]
        again = [(await http.get(f"{WEST}/{t}")).status_code for t in tickets]
    assert first == ["COMPLETED"] * 4
    # a fetched answer can be fetched again while it is among the latest; older ones are gone
    assert again == [404, 404, 200, 200]
