"""Control actions against the sandbox, through the library's own adapters.

Freezes, seals, deductions, renewals and releases as the ledger will send them: the real
adapters over ``httpx.ASGITransport``, the admin playing the other courts.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from assetquery import Case, Party
from assetquery._errors import InstitutionRejected, InstitutionUnavailable
from assetquery._models import ResultStatus
from assetquery._money import Money
from assetquery.adapters import (
    Adapter,
    ControlRequest,
    ControlState,
    ControlStatus,
    InquiryRequest,
    Institution,
    Operation,
    load_adapter,
)
from assetquery.sandbox import (
    BankAccount,
    FundAccount,
    RealEstateUnit,
    SandboxAdmin,
    SandboxConfig,
    SandboxParty,
    create_app,
    dataset,
    institutions,
    sandbox_admin,
)
from assetquery.sandbox._http import shanghai_today

KINDS = {"registry": "real_estate", "fund": "housing_fund"}


@dataclass
class Sandbox:
    """One sandbox app, its admin, and an adapter with a client per institution."""

    admin: SandboxAdmin
    routes: dict[str, tuple[Adapter, httpx.AsyncClient]]

    async def submit(self, institution: str, request: ControlRequest) -> ControlStatus:
        adapter, http = self.routes[institution]
        return await adapter.submit(http, request)

    async def status(self, institution: str, request: ControlRequest) -> ControlStatus:
        adapter, http = self.routes[institution]
        return await adapter.control_status(http, request)


@asynccontextmanager
async def open_sandbox(config: SandboxConfig | None = None) -> AsyncIterator[Sandbox]:
    app = create_app(config)
    transport = httpx.ASGITransport(app=app)
    routes = {
        entry["id"]: (
            load_adapter(entry["adapter"])(Institution(entry["id"], entry["name"])),
            httpx.AsyncClient(transport=transport, base_url=entry["base_url"]),
        )
        for entry in institutions("http://sandbox.test")
    }
    try:
        yield Sandbox(sandbox_admin(app), routes)
    finally:
        for _, http in routes.values():
            await http.aclose()


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with open_sandbox() as opened:
        yield opened


def party_of(party: SandboxParty) -> Party:
    build = Party.person if party.kind == "person" else Party.organization
    return build(party.name, party.id_number)


def case_of(party: SandboxParty) -> Case:
    return Case(
        number=party.case_number,
        operator="测试执行员",
        court=party.court,
        claim=str(party.claim),
        enforcement_document=f"{party.case_number}之一",
    )


def action(
    party: SandboxParty,
    institution: str,
    asset: str,
    operation: Operation,
    key: str,
    **changes: Any,
) -> ControlRequest:
    fields: dict[str, Any] = {
        "operation": operation,
        "idempotency_key": key,
        "party": party_of(party),
        "case": case_of(party),
        "asset_kind": KINDS.get(institution, "bank_account"),
        "asset_identifier": asset,
    }
    fields.update(changes)
    return ControlRequest(**fields)


def account(bank: str, wanted: Callable[[BankAccount], bool]) -> tuple[SandboxParty, BankAccount]:
    for party in dataset():
        for found in party.accounts_at(bank):
            if found.currency == "CNY" and found.status == "NORMAL" and wanted(found):
                return party, found
    raise LookupError("no such account in the dataset")


def fund_account(wanted: Callable[[FundAccount], bool]) -> tuple[SandboxParty, FundAccount]:
    for party in dataset():
        for found in party.fund_accounts:
            if wanted(found):
                return party, found
    raise LookupError("no such fund account in the dataset")


def unit(wanted: Callable[[RealEstateUnit], bool]) -> tuple[SandboxParty, RealEstateUnit]:
    for party in dataset():
        for found in party.properties:
            if wanted(found):
                return party, found
    raise LookupError("no such unit in the dataset")


def year_end(start: date, years: int) -> date:
    try:
        later = start.replace(year=start.year + years)
    except ValueError:
        later = start.replace(year=start.year + years, day=28)
    return later - timedelta(days=1)


def partly_frozen(a: BankAccount) -> bool:
    return bool(a.holds) and Decimal(100) < a.available < a.balance


def fully_frozen(a: BankAccount) -> bool:
    return a.available == 0 and any(h.waiting for h in a.holds)


def unencumbered(a: BankAccount) -> bool:
    return not a.holds and a.balance > 100


# --- freezes ---------------------------------------------------------------------------------


async def test_a_freeze_beyond_the_available_balance_freezes_what_is_there(
    sandbox: Sandbox,
) -> None:
    party, found = account("bank-east", partly_frozen)
    request = action(
        party,
        "bank-east",
        found.account_number,
        Operation.FREEZE,
        "F-1",
        amount=Money(found.available + 1000),
    )

    status = await sandbox.submit("bank-east", request)

    today = shanghai_today()
    assert status.state is ControlState.EFFECTIVE
    assert status.amount == Money(found.available)
    assert status.reference
    assert status.effective_on == today
    assert status.ends_on == year_end(today, 1)  # deposits: 1 year, both days counted
    assert status.message and "不足" in status.message
    assert await sandbox.status("bank-east", request) == status


async def test_a_freeze_within_the_balance_and_a_requested_end(sandbox: Sandbox) -> None:
    party, found = account("bank-east", unencumbered)
    end = shanghai_today() + timedelta(days=90)
    request = action(
        party,
        "bank-east",
        found.account_number,
        Operation.FREEZE,
        "F-2",
        amount=Money("100.00"),
        ends_on=end,
    )

    status = await sandbox.submit("bank-east", request)

    assert (status.state, status.amount, status.ends_on) == (
        ControlState.EFFECTIVE,
        Money("100.00"),
        end,
    )


async def test_bank_west_reports_no_end_date(sandbox: Sandbox) -> None:
    party, found = account("bank-west", unencumbered)
    request = action(
        party, "bank-west", found.account_number, Operation.FREEZE, "W-1", amount=Money("50")
    )

    status = await sandbox.submit("bank-west", request)

    assert status.state is ControlState.EFFECTIVE
    assert status.effective_on == shanghai_today()
    assert status.ends_on is None  # the ledger must work the end out itself
    (applied,) = sandbox.admin.actions("bank-west")
    assert applied.ends_on == year_end(shanghai_today(), 1)  # it does end, silently
    renew = action(
        party,
        "bank-west",
        found.account_number,
        Operation.RENEW,
        "W-1-R",
        target=status.reference,
    )
    renewed = await sandbox.submit("bank-west", renew)
    assert (renewed.state, renewed.ends_on) == (ControlState.EFFECTIVE, None)


async def test_a_closed_account_cannot_be_frozen(sandbox: Sandbox) -> None:
    party, found = next(
        (p, a) for p in dataset() for a in p.accounts_at("bank-east") if a.status == "CLOSED"
    )
    request = action(
        party, "bank-east", found.account_number, Operation.FREEZE, "K-1", amount=Money("1")
    )

    refused = await sandbox.submit("bank-east", request)

    assert refused.state is ControlState.REJECTED
    assert refused.message == "账户已销户，无法冻结"


async def test_the_same_key_twice_is_applied_once(sandbox: Sandbox) -> None:
    party, found = account("bank-east", unencumbered)
    request = action(
        party, "bank-east", found.account_number, Operation.FREEZE, "F-3", amount=Money("60")
    )

    first = await sandbox.submit("bank-east", request)
    second = await sandbox.submit("bank-east", request)

    assert first == second
    freezes = [a for a in sandbox.admin.actions("bank-east") if a.operation == "freeze"]
    assert len(freezes) == 1
    controls = sandbox.admin.controls("bank-east", found.account_number)
    assert [c.amount for c in controls] == [Decimal("60.00")]


@pytest.mark.parametrize("institution", ["bank-east", "fund", "registry"])
async def test_the_same_key_for_another_request_is_a_conflict(
    sandbox: Sandbox, institution: str
) -> None:
    if institution == "registry":
        party, found_unit = unit(lambda u: not u.seals)
        asset = found_unit.unit_number
        first = action(party, institution, asset, Operation.SEAL, "C-1")
        other = action(party, institution, asset, Operation.RELEASE, "C-1", target="KZX")
    else:
        if institution == "fund":
            party, fund = fund_account(lambda a: a.status == "01" and a.balance > 0)
            asset = fund.account_number
        else:
            party, bank = account(institution, unencumbered)
            asset = bank.account_number
        first = action(party, institution, asset, Operation.FREEZE, "C-1", amount=Money("1"))
        other = action(party, institution, asset, Operation.FREEZE, "C-1", amount=Money("2"))

    assert (await sandbox.submit(institution, first)).state is ControlState.EFFECTIVE
    with pytest.raises(InstitutionRejected) as raised:
        await sandbox.submit(institution, other)
    assert raised.value.code == "idempotency_conflict"
    assert len(sandbox.admin.actions(institution)) == 1


async def test_a_waiting_freeze_takes_effect_when_the_line_ahead_is_released(
    sandbox: Sandbox,
) -> None:
    party, found = account("bank-east", fully_frozen)
    number = found.account_number
    request = action(party, "bank-east", number, Operation.FREEZE, "F-4", amount=Money("1000.00"))

    waiting = await sandbox.submit("bank-east", request)

    assert waiting.state is ControlState.WAITING
    assert waiting.waiting_position == 1 + len(found.holds)
    assert waiting.amount is None

    # the other courts lift their controls: first the one waiting, then the one in force
    theirs = [c for c in sandbox.admin.controls("bank-east", number) if c.origin == "dataset"]
    in_force, *queued = theirs
    for control in queued:
        sandbox.admin.release("bank-east", number, control.id)
    moved_up = await sandbox.status("bank-east", request)
    assert (moved_up.state, moved_up.waiting_position) == (ControlState.WAITING, 2)

    released = sandbox.admin.release("bank-east", number)  # the earliest in force
    assert released.id == in_force.id
    status = await sandbox.status("bank-east", request)
    assert status.state is ControlState.EFFECTIVE
    assert status.effective_on == shanghai_today()
    assert status.amount == Money(min(Decimal("1000.00"), found.balance))
    assert status.ends_on == year_end(shanghai_today(), 1)  # runs from the conversion


async def test_the_inquiry_shows_the_freeze(sandbox: Sandbox) -> None:
    party, found = account("bank-east", unencumbered)
    request = action(
        party, "bank-east", found.account_number, Operation.FREEZE, "F-5", amount=Money("10")
    )
    await sandbox.submit("bank-east", request)

    adapter, http = sandbox.routes["bank-east"]
    answer = await adapter.inquire(
        http, InquiryRequest(party_of(party), case_of(party), "Q-after-freeze")
    )

    assert answer.status is ResultStatus.OK
    record = next(a for a in answer.assets if a.identifier == found.account_number)
    (hold,) = record.encumbrances
    assert (hold.authority, hold.amount) == (party.court, Money("10.00"))
    assert record.available == Money(found.balance - 10)


# --- seals -----------------------------------------------------------------------------------


async def test_a_seal_takes_effect_on_a_free_unit(sandbox: Sandbox) -> None:
    party, found = unit(lambda u: not u.seals)
    request = action(party, "registry", found.unit_number, Operation.SEAL, "S-1", live_seal=True)

    status = await sandbox.submit("registry", request)

    today = shanghai_today()
    assert status.state is ControlState.EFFECTIVE
    assert (status.effective_on, status.ends_on) == (today, year_end(today, 3))
    assert status.amount is None
    (ours,) = sandbox.admin.controls("registry", found.unit_number)
    assert ours.live_seal


async def test_a_seal_behind_another_courts_waits_and_lapses_on_disposal(
    sandbox: Sandbox,
) -> None:
    party, found = unit(lambda u: any(not s.waiting for s in u.seals))
    request = action(party, "registry", found.unit_number, Operation.SEAL, "S-2")

    waiting = await sandbox.submit("registry", request)

    assert waiting.state is ControlState.WAITING
    assert waiting.waiting_position == 1 + len(found.seals)

    lapsed = sandbox.admin.dispose("registry", found.unit_number)

    assert len(lapsed) == 1 + len(found.seals)
    status = await sandbox.status("registry", request)
    assert status.state is ControlState.LAPSED
    again = action(party, "registry", found.unit_number, Operation.SEAL, "S-3")
    refused = await sandbox.submit("registry", again)
    assert refused.state is ControlState.REJECTED
    assert refused.message == "该财产已处置"


async def test_renew_and_release_a_seal(sandbox: Sandbox) -> None:
    party, found = unit(lambda u: not u.seals)
    seal = action(party, "registry", found.unit_number, Operation.SEAL, "S-4")
    sealed = await sandbox.submit("registry", seal)
    assert sealed.ends_on is not None

    renew = action(
        party, "registry", found.unit_number, Operation.RENEW, "S-4-R", target=sealed.reference
    )
    renewed = await sandbox.submit("registry", renew)

    assert renewed.state is ControlState.EFFECTIVE
    assert renewed.reference not in (None, sealed.reference)  # the renewal's own id
    new_end = year_end(sealed.ends_on + timedelta(days=1), 3)
    assert renewed.ends_on == new_end
    assert (await sandbox.status("registry", seal)).ends_on == new_end

    release = action(
        party, "registry", found.unit_number, Operation.RELEASE, "S-4-X", target=sealed.reference
    )
    assert (await sandbox.submit("registry", release)).state is ControlState.EFFECTIVE
    assert (await sandbox.status("registry", seal)).state is ControlState.RELEASED
    again = await sandbox.submit(
        "registry",
        action(
            party, "registry", found.unit_number, Operation.RENEW, "S-4-R2", target=sealed.reference
        ),
    )
    assert again.state is ControlState.REJECTED


# --- deductions ------------------------------------------------------------------------------


async def test_a_deduction_needs_an_effective_freeze_of_this_court(sandbox: Sandbox) -> None:
    party, found = account("bank-east", fully_frozen)
    number = found.account_number
    freeze = action(party, "bank-east", number, Operation.FREEZE, "D-1", amount=Money("500"))
    waiting = await sandbox.submit("bank-east", freeze)
    assert waiting.state is ControlState.WAITING

    def deduct(key: str, amount: str, target: str | None) -> ControlRequest:
        return action(
            party, "bank-east", number, Operation.DEDUCT, key, amount=Money(amount), target=target
        )

    too_early = await sandbox.submit("bank-east", deduct("D-1-a", "100", waiting.reference))
    assert too_early.state is ControlState.REJECTED
    assert too_early.message and "有效" in too_early.message

    theirs = sandbox.admin.controls("bank-east", number)[0]
    not_ours = await sandbox.submit("bank-east", deduct("D-1-b", "100", theirs.id))
    assert not_ours.state is ControlState.REJECTED

    unknown = await sandbox.submit("bank-east", deduct("D-1-c", "100", "BE-NO-SUCH"))
    assert unknown.state is ControlState.REJECTED

    for control in sandbox.admin.controls("bank-east", number):
        if control.origin == "dataset" and control.state in ("effective", "waiting"):
            sandbox.admin.release("bank-east", number, control.id)
    frozen = await sandbox.status("bank-east", freeze)
    assert frozen.state is ControlState.EFFECTIVE
    assert frozen.amount is not None

    too_much = await sandbox.submit(
        "bank-east", deduct("D-1-d", str(frozen.amount.amount + 1), frozen.reference)
    )
    assert too_much.state is ControlState.REJECTED

    done = await sandbox.submit("bank-east", deduct("D-1-e", "100", frozen.reference))
    assert (done.state, done.amount) == (ControlState.EFFECTIVE, Money("100.00"))
    left = await sandbox.status("bank-east", freeze)
    assert left.amount == frozen.amount - Money("100.00")

    rest = await sandbox.submit(
        "bank-east", deduct("D-1-f", str(left.amount.amount if left.amount else 0), left.reference)
    )
    assert rest.state is ControlState.EFFECTIVE
    emptied = await sandbox.status("bank-east", freeze)
    assert (emptied.state, emptied.amount) == (ControlState.RELEASED, Money("0.00"))


async def test_a_fund_deduction_needs_a_withdrawal_condition(sandbox: Sandbox) -> None:
    party, found = fund_account(lambda a: a.status == "01" and a.balance > 1000)
    number = found.account_number
    freeze = action(party, "fund", number, Operation.FREEZE, "G-1", amount=Money("500.00"))
    frozen = await sandbox.submit("fund", freeze)
    assert (frozen.state, frozen.amount) == (ControlState.EFFECTIVE, Money("500.00"))
    assert frozen.ends_on == year_end(shanghai_today(), 3)  # fund balances: 3 years

    bare = action(
        party, "fund", number, Operation.DEDUCT, "G-2", amount=Money("200"), target=frozen.reference
    )
    refused = await sandbox.submit("fund", bare)
    assert refused.state is ControlState.REJECTED
    assert refused.message and "提取条件" in refused.message

    allowed = action(
        party,
        "fund",
        number,
        Operation.DEDUCT,
        "G-3",
        amount=Money("200"),
        target=frozen.reference,
        withdrawal_condition="retirement",
    )
    done = await sandbox.submit("fund", allowed)
    assert (done.state, done.amount) == (ControlState.EFFECTIVE, Money("200.00"))
    assert (await sandbox.status("fund", freeze)).amount == Money("300.00")


async def test_a_fund_freeze_behind_another_court(sandbox: Sandbox) -> None:
    party, found = fund_account(lambda a: bool(a.holds) and a.frozen == a.balance and a.balance > 0)
    request = action(
        party, "fund", found.account_number, Operation.FREEZE, "G-4", amount=Money("10")
    )

    status = await sandbox.submit("fund", request)

    assert status.state is ControlState.WAITING
    assert status.waiting_position == 1 + len(found.holds)


async def test_renew_and_release_a_freeze(sandbox: Sandbox) -> None:
    party, found = account("bank-east", unencumbered)
    number = found.account_number
    freeze = action(party, "bank-east", number, Operation.FREEZE, "R-1", amount=Money("80"))
    frozen = await sandbox.submit("bank-east", freeze)
    assert frozen.ends_on is not None

    wanted = frozen.ends_on + timedelta(days=200)
    renew = action(
        party,
        "bank-east",
        number,
        Operation.RENEW,
        "R-2",
        target=frozen.reference,
        ends_on=wanted,
    )
    renewed = await sandbox.submit("bank-east", renew)
    assert (renewed.state, renewed.ends_on) == (ControlState.EFFECTIVE, wanted)
    assert (await sandbox.status("bank-east", freeze)).ends_on == wanted

    release = action(party, "bank-east", number, Operation.RELEASE, "R-3", target=frozen.reference)
    released = await sandbox.submit("bank-east", release)
    assert released.state is ControlState.EFFECTIVE
    assert released.effective_on == shanghai_today()
    assert (await sandbox.status("bank-east", freeze)).state is ControlState.RELEASED


async def test_unknown_assets_and_missing_documents_are_refused(sandbox: Sandbox) -> None:
    party, found = account("bank-east", unencumbered)
    unknown = action(party, "bank-east", "6200000000000000", Operation.FREEZE, "U-1",
                     amount=Money("1"))  # fmt: skip
    refused = await sandbox.submit("bank-east", unknown)
    assert refused.state is ControlState.REJECTED
    assert refused.message and "未找到" in refused.message

    case = case_of(party).model_copy(update={"enforcement_document": None})
    undocumented = action(party, "bank-east", found.account_number, Operation.FREEZE, "U-2",
                          amount=Money("1"), case=case)  # fmt: skip
    refused = await sandbox.submit("bank-east", undocumented)
    assert refused.state is ControlState.REJECTED
    assert refused.message == "未提供协助执行通知书文号"

    someone_else = next(p for p in dataset() if p.id_number != party.id_number)
    foreign = action(someone_else, "bank-east", found.account_number, Operation.FREEZE, "U-3",
                     amount=Money("1"))  # fmt: skip
    assert (await sandbox.submit("bank-east", foreign)).state is ControlState.REJECTED
    assert all(a.state == "rejected" for a in sandbox.admin.actions("bank-east"))


@pytest.mark.parametrize("institution", ["bank-east", "bank-west", "fund", "registry"])
async def test_a_key_never_sent_is_unknown(sandbox: Sandbox, institution: str) -> None:
    party = dataset().find("all_kinds")[0]
    operation = Operation.SEAL if institution == "registry" else Operation.FREEZE
    request = action(party, institution, "x", operation, "never-sent")

    assert (await sandbox.status(institution, request)).state is ControlState.UNKNOWN


# --- faults and time -------------------------------------------------------------------------


@pytest.mark.looptime
async def test_applied_then_timed_out_is_found_by_its_key() -> None:
    config = SandboxConfig().with_profile("bank-east", apply_then_timeout_rate=1.0)
    party, found = account("bank-east", unencumbered)
    request = action(
        party, "bank-east", found.account_number, Operation.FREEZE, "T-1", amount=Money("70")
    )
    loop = asyncio.get_running_loop()
    async with open_sandbox(config) as sandbox:
        started = loop.time()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(5):
                await sandbox.submit("bank-east", request)
        assert loop.time() - started == pytest.approx(5)

        status = await sandbox.status("bank-east", request)
        assert (status.state, status.amount) == (ControlState.EFFECTIVE, Money("70.00"))
        started = loop.time()
        again = await sandbox.submit("bank-east", request)  # a repeat applies nothing
        assert loop.time() == started  # and is answered at once
        assert again == status
        (applied,) = sandbox.admin.actions("bank-east")
    assert applied.amount == Decimal("70.00")


async def test_busy_answers_apply_nothing() -> None:
    config = SandboxConfig.uniform(busy_rate=1.0)
    party, found = fund_account(lambda a: a.status == "01" and a.balance > 0)
    request = action(party, "fund", found.account_number, Operation.FREEZE, "B-1",
                     amount=Money("1"))  # fmt: skip
    async with open_sandbox(config) as sandbox:
        with pytest.raises(InstitutionUnavailable):
            await sandbox.submit("fund", request)
        assert sandbox.admin.actions("fund") == ()


@pytest.mark.looptime
async def test_control_feedback_delay_reports_received_first() -> None:
    config = SandboxConfig().with_profile("registry", control_feedback_delay=60)
    party, found = unit(lambda u: not u.seals)
    request = action(party, "registry", found.unit_number, Operation.SEAL, "L-1")
    async with open_sandbox(config) as sandbox:
        received = await sandbox.submit("registry", request)
        assert received.state is ControlState.RECEIVED
        assert received.reference
        assert (received.effective_on, received.ends_on) == (None, None)
        await asyncio.sleep(59)
        assert (await sandbox.status("registry", request)).state is ControlState.RECEIVED
        await asyncio.sleep(1)
        assert (await sandbox.status("registry", request)).state is ControlState.EFFECTIVE


async def test_an_unrenewed_control_lapses_and_the_line_moves_up(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    party, found = unit(lambda u: not u.seals)
    first = action(party, "registry", found.unit_number, Operation.SEAL, "E-1")
    second = action(party, "registry", found.unit_number, Operation.SEAL, "E-2")
    sealed = await sandbox.submit("registry", first)
    assert (await sandbox.submit("registry", second)).state is ControlState.WAITING
    assert sealed.ends_on is not None

    later = sealed.ends_on + timedelta(days=1)
    monkeypatch.setattr("assetquery.sandbox._controls.shanghai_today", lambda: later)

    assert (await sandbox.status("registry", first)).state is ControlState.LAPSED
    promoted = await sandbox.status("registry", second)
    assert (promoted.state, promoted.effective_on) == (ControlState.EFFECTIVE, later)
