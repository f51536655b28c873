"""The action ledger against the sandbox's institutions, on SQLite and PostgreSQL.

The sandbox applies actions as institutions do (idempotency keys, waiting lines, partial
freezes) and can be steered through its admin API in place of other courts. Time is
virtual (looptime), so ticket delays and timeouts cost nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from assetquery import Case, Dispatcher, InvalidInput, Money, Party, RefusedRequest
from assetquery._actions import ActionKind, ActionState, IllegalTransition, OverControl
from assetquery._errors import InstitutionUnreachable
from assetquery.adapters import ControlRequest, ControlState, ControlStatus, Operation
from assetquery.ledger._ledger import ActionLedger
from assetquery.sandbox import (
    SandboxAdmin,
    SandboxConfig,
    SandboxParty,
    create_app,
    dataset,
    sandbox_admin,
)
from assetquery.store import NewAction, Store

pytestmark = pytest.mark.looptime

DOCUMENT = "（2026）甘0102执8426号之一"


class Sandbox:
    """A ledger wired to an in-process sandbox whose admin the test can use."""

    def __init__(self, ledger: ActionLedger, admin: SandboxAdmin) -> None:
        self.ledger = ledger
        self.admin = admin


@pytest.fixture
async def sandbox(store_url: str) -> AsyncIterator[Sandbox]:
    app = create_app(SandboxConfig())
    store = Store(store_url)
    async with Dispatcher.sandbox(app=app) as dispatcher:
        yield Sandbox(ActionLedger(store, dispatcher), sandbox_admin(app))
    store.close()


def debtor(tag: str, index: int = 0) -> tuple[Party, Case]:
    return as_debtor(dataset().find(tag)[index])


def as_debtor(p: SandboxParty) -> tuple[Party, Case]:
    party = Party.parse(p.name, p.id_number, p.kind)
    case = Case(
        number=p.case_number,
        court=p.court,
        operator="李承办",
        claim=p.claim,
        enforcement_document=DOCUMENT,
    )
    return party, case


async def test_plan_freeze_and_the_same_freeze_again_gives_one_freeze(sandbox: Sandbox) -> None:
    party, case = debtor("both_banks")
    report = await sandbox.ledger.dispatcher.lookup(party, case)
    plan = await sandbox.ledger.plan(report)
    assert plan.controls and all(c.amount is None or c.amount.amount > 0 for c in plan.controls)
    assert plan.planned_amount <= case.claim  # type: ignore[operator]

    actions = await sandbox.ledger.execute(plan, party, case, document=DOCUMENT)

    freezes = [a for a in actions if a.kind is ActionKind.FREEZE]
    assert freezes and all(a.state is ActionState.EFFECTIVE for a in freezes)
    first = freezes[0]
    # The same submission once more, as after a crash: the same key, sent again.
    again = await sandbox.ledger.dispatcher.submit_control(
        first.institution, sandbox.ledger.request_for(first)
    )
    assert again.state is ControlState.EFFECTIVE
    assert again.reference == first.institution_reference
    at_bank = [
        v for v in sandbox.admin.actions(first.institution) if v.asset == first.asset_identifier
    ]
    assert len(at_bank) == 1


async def test_expiry_is_the_institutions_date_or_computed_conservatively(
    sandbox: Sandbox,
) -> None:
    party, case = debtor("both_banks")
    report = await sandbox.ledger.dispatcher.lookup(party, case)
    east = next(a for a in report.assets if a.institution == "bank-east")
    west = next(a for a in report.assets if a.institution == "bank-west")

    reported = await sandbox.ledger.freeze(
        party, case, institution="bank-east", identifier=east.identifier, amount=Money("1.00")
    )
    computed = await sandbox.ledger.freeze(
        party, case, institution="bank-west", identifier=west.identifier, amount=Money("1.00")
    )

    assert reported.expiry_source == "institution"
    assert computed.expiry_source == "computed"  # bank-west reports no end date
    assert computed.effective_on is not None and computed.expires_on is not None
    anniversary = computed.effective_on.replace(year=computed.effective_on.year + 1)
    assert computed.expires_on == anniversary - timedelta(days=1)


async def test_a_leap_day_freeze_without_a_reported_end(sandbox: Sandbox) -> None:
    """Effective 2024-02-29, no end reported: the computed expiry is no later than 2025-02-28."""
    party, case = debtor("both_banks")
    freeze = sandbox.ledger.store.record(
        _new_freeze(party, case), at=datetime(2024, 2, 29, 2, tzinfo=UTC), reason="test"
    )
    sandbox.ledger.store.move(
        freeze.id, ActionState.SUBMITTED, at=datetime.now(UTC), actor="t", reason="sent"
    )
    submitted = sandbox.ledger.store.get(freeze.id)
    effective = await sandbox.ledger._adopt(  # noqa: SLF001 - applying an answer, as sync does
        submitted,
        ControlStatus(ControlState.EFFECTIVE, reference="X", effective_on=date(2024, 2, 29)),
    )
    assert effective.expires_on is not None and effective.expires_on <= date(2025, 2, 28)
    assert effective.expiry_source == "computed"

    other = sandbox.ledger.store.record(
        _new_freeze(party, case), at=datetime.now(UTC), reason="test"
    )
    sandbox.ledger.store.move(
        other.id, ActionState.SUBMITTED, at=datetime.now(UTC), actor="t", reason="sent"
    )
    reported = await sandbox.ledger._adopt(  # noqa: SLF001 - applying an answer, as sync does
        sandbox.ledger.store.get(other.id),
        ControlStatus(
            ControlState.EFFECTIVE,
            reference="Y",
            effective_on=date(2024, 2, 29),
            ends_on=date(2025, 2, 28),
        ),
    )
    assert reported.expires_on == date(2025, 2, 28) and reported.expiry_source == "institution"


def _new_freeze(party: Party, case: Case) -> NewAction:
    return NewAction(
        kind=ActionKind.FREEZE,
        party=party,
        case_number=case.number,
        enforcement_document=DOCUMENT,
        court=case.court,
        requested_by="李承办",
        institution="bank-west",
        asset_kind="bank_account",
        asset_identifier="62300000000000000",
        amount=Money("1.00"),
    )


async def test_a_waiting_freeze_is_promoted_when_the_earlier_ones_are_released(
    sandbox: Sandbox,
) -> None:
    # 姜健超's account: fully frozen by another court, another court already waiting.
    party, case = debtor("waiting_freeze")
    account = next(a for a in dataset().find("waiting_freeze")[0].bank_accounts if a.holds)

    ours = await sandbox.ledger.freeze(
        party,
        case,
        institution=account.bank,
        identifier=account.account_number,
        amount=Money("500"),
    )
    assert ours.state is ActionState.WAITING
    first_position = ours.waiting_position
    assert first_position is not None and first_position >= 2

    sandbox.admin.release(account.bank, account.account_number)  # the other court's freeze
    await sandbox.ledger.sync()
    moved_up = await sandbox.ledger.get(ours.id)
    assert moved_up.state is ActionState.WAITING
    assert moved_up.waiting_position == first_position - 1

    sandbox.admin.release(account.bank, account.account_number)  # the next one ahead of ours
    changes = await sandbox.ledger.sync()
    promoted = await sandbox.ledger.get(ours.id)
    assert promoted.state is ActionState.EFFECTIVE
    assert promoted.effective_on is not None and promoted.expires_on is not None
    assert "promoted from the waiting line" in promoted.transitions[-1].reason
    assert any(c.action_id == ours.id and c.after is ActionState.EFFECTIVE for c in changes)


async def test_a_waiting_seal_lapses_when_the_asset_is_disposed_of(sandbox: Sandbox) -> None:
    party, case = debtor("sealed_by_other_court")
    report = await sandbox.ledger.dispatcher.lookup(party, case)
    sealed = next(
        a
        for a in report.assets
        if a.kind == "real_estate"
        and any(e.kind.value == "seal" and not e.waiting for e in a.encumbrances)
    )
    ours = await sandbox.ledger.seal(
        party, case, institution="registry", identifier=sealed.identifier
    )
    assert ours.state is ActionState.WAITING

    sandbox.admin.dispose("registry", sealed.identifier)
    await sandbox.ledger.sync()
    assert (await sandbox.ledger.get(ours.id)).state is ActionState.LAPSED


async def test_timeout_after_apply_is_reconciled_not_resent(store_url: str) -> None:
    config = SandboxConfig().with_profile("bank-east", apply_then_timeout_rate=1.0, hang_seconds=60)
    app = create_app(config)
    admin = sandbox_admin(app)
    store = Store(store_url)
    party, case = debtor("both_banks")
    async with Dispatcher.sandbox(app=app) as dispatcher:
        ledger = ActionLedger(store, dispatcher)
        report = await dispatcher.lookup(party, case)
        east = next(a for a in report.assets if a.institution == "bank-east")
        action = await ledger.freeze(
            party, case, institution="bank-east", identifier=east.identifier, amount=Money("1.00")
        )
        # The bank applied it and the answer never came: the ledger asked, and knows.
        assert action.state is ActionState.EFFECTIVE
        assert "did not answer" in (action.last_error or "")
        await ledger.sync()
    store.close()
    applied = [v for v in admin.actions("bank-east") if v.asset == east.identifier]
    assert len(applied) == 1


async def test_over_control_is_refused_unless_a_reason_is_given(sandbox: Sandbox) -> None:
    party, case = debtor("both_banks")
    report = await sandbox.ledger.dispatcher.lookup(party, case)
    east = next(a for a in report.assets if a.institution == "bank-east")
    assert case.claim is not None
    too_much = case.claim + Money("1.00")

    with pytest.raises(OverControl, match="above its claim"):
        await sandbox.ledger.freeze(
            party, case, institution="bank-east", identifier=east.identifier, amount=too_much
        )
    action = await sandbox.ledger.freeze(
        party,
        case,
        institution="bank-east",
        identifier=east.identifier,
        amount=too_much,
        override_reason="costs of auction assessed since the judgment",
    )
    assert action.override_reason == "costs of auction assessed since the judgment"


async def test_deduct_renew_release(sandbox: Sandbox) -> None:
    party, case = debtor("both_banks")
    report = await sandbox.ledger.dispatcher.lookup(party, case)
    east = next(
        a
        for a in report.assets
        if a.institution == "bank-east" and a.available and a.available.amount > 2
    )
    freeze = await sandbox.ledger.freeze(
        party, case, institution="bank-east", identifier=east.identifier, amount=Money("2.00")
    )
    assert freeze.state is ActionState.EFFECTIVE

    deduction = await sandbox.ledger.deduct(
        freeze.id, operator="李承办", document=DOCUMENT, amount=Money("0.50")
    )
    assert deduction.state is ActionState.COMPLETED
    partly = await sandbox.ledger.get(freeze.id)
    assert partly.state is ActionState.EFFECTIVE and partly.amount == Money("1.50")

    renewal = await sandbox.ledger.renew(freeze.id, operator="李承办", document=DOCUMENT)
    assert renewal.state is ActionState.COMPLETED
    renewed = await sandbox.ledger.get(freeze.id)
    assert renewed.expires_on is not None and partly.expires_on is not None
    assert renewed.expires_on > partly.expires_on
    assert "renewed by" in renewed.transitions[-1].reason

    release = await sandbox.ledger.release(freeze.id, operator="李承办", document=DOCUMENT)
    assert release.state is ActionState.COMPLETED
    assert (await sandbox.ledger.get(freeze.id)).state is ActionState.RELEASED

    with pytest.raises(RefusedRequest, match="only an effective freeze or seal can be renewed"):
        await sandbox.ledger.renew(freeze.id, operator="李承办", document=DOCUMENT)


async def test_a_fund_deduction_needs_a_withdrawal_condition(sandbox: Sandbox) -> None:
    holder = next(
        p
        for p in dataset().find("housing_fund")
        if any(a.balance - a.frozen >= 1 and a.status == "01" for a in p.fund_accounts)
    )
    account = next(a for a in holder.fund_accounts if a.status == "01")
    party, case = as_debtor(holder)
    freeze = await sandbox.ledger.freeze(
        party,
        case,
        institution="fund",
        identifier=account.account_number,
        amount=Money("1.00"),
        asset_kind="housing_fund",
    )
    assert freeze.state is ActionState.EFFECTIVE
    with pytest.raises(RefusedRequest, match="withdrawal condition"):
        await sandbox.ledger.deduct(freeze.id, operator="李承办", document=DOCUMENT)
    from assetquery._actions import WithdrawalCondition

    done = await sandbox.ledger.deduct(
        freeze.id,
        operator="李承办",
        document=DOCUMENT,
        withdrawal_condition=WithdrawalCondition.RETIREMENT,
    )
    assert done.state is ActionState.COMPLETED
    assert (await sandbox.ledger.get(freeze.id)).state is ActionState.DEDUCTED


async def test_requests_without_a_document_or_a_capability_are_refused(sandbox: Sandbox) -> None:
    party, case = debtor("both_banks")
    bare = case.model_copy(update={"enforcement_document": None})
    with pytest.raises(RefusedRequest, match="enforcement document number"):
        await sandbox.ledger.freeze(
            party,
            bare,
            institution="bank-east",
            identifier="6217999118344406910",
            amount=Money("1"),
        )
    with pytest.raises(RefusedRequest, match="does not offer seal"):
        await sandbox.ledger.seal(
            party, case, institution="bank-east", identifier="620102001002GB00012F00010002"
        )
    with pytest.raises(InvalidInput, match="positive amount"):
        await sandbox.ledger.freeze(
            party,
            case,
            institution="bank-east",
            identifier="6217999118344406910",
            amount=Money("0"),
        )
    assert await sandbox.ledger.list() == []


async def test_the_radar_lists_exactly_what_expires_in_the_window(sandbox: Sandbox) -> None:
    party, case = debtor("both_banks")
    store = sandbox.ledger.store
    today = date(2026, 11, 26)
    for days in (5, 29, 30, 31, 200):
        action = store.record(_new_freeze(party, case), at=datetime.now(UTC), reason="t")
        store.move(action.id, ActionState.SUBMITTED, at=datetime.now(UTC), actor="t", reason="s")
        store.move(
            action.id,
            ActionState.EFFECTIVE,
            at=datetime.now(UTC),
            actor="t",
            reason="in force",
            expires_on=today + timedelta(days=days),
        )
    due = await sandbox.ledger.due(timedelta(days=30), today=today)
    assert [d.days_left for d in due] == [5, 29, 30]
    assert [d.renew_by for d in due] == [today + timedelta(days=n - 7) for n in (5, 29, 30)]


async def test_sync_marks_a_control_whose_period_ended_as_expired(store_url: str) -> None:
    store = Store(store_url)
    party, case = debtor("both_banks")
    later = datetime(2031, 1, 1, tzinfo=UTC)
    app = create_app()
    async with Dispatcher.sandbox(app=app) as dispatcher:
        ledger = ActionLedger(store, dispatcher)
        report = await dispatcher.lookup(party, case)
        east = next(a for a in report.assets if a.institution == "bank-east")
        freeze = await ledger.freeze(
            party, case, institution="bank-east", identifier=east.identifier, amount=Money("1.00")
        )
        assert freeze.state is ActionState.EFFECTIVE
        # Years later, nobody renewed it.
        future = ActionLedger(store, dispatcher, clock=lambda: later)
        changes = await future.sync()
    expired = store.get(freeze.id)
    store.close()
    assert expired.state is ActionState.EXPIRED
    assert "not renewed before its period ended" in expired.transitions[-1].reason
    assert any(c.action_id == freeze.id and c.after is ActionState.EXPIRED for c in changes)


async def test_an_illegal_move_is_refused_by_the_ledger_too(sandbox: Sandbox) -> None:
    party, case = debtor("both_banks")
    report = await sandbox.ledger.dispatcher.lookup(party, case)
    east = next(a for a in report.assets if a.institution == "bank-east")
    freeze = await sandbox.ledger.freeze(
        party, case, institution="bank-east", identifier=east.identifier, amount=Money("1.00")
    )
    with pytest.raises(IllegalTransition, match="effective → submitted is not allowed"):
        await sandbox.ledger.submit(freeze.id)


async def _freeze_in_flight(store_url: str, during: object) -> tuple[Store, int, object]:
    """A freeze at a bank that takes 5 s to answer; ``during(ledger, action_id)`` runs at 1 s."""
    store = Store(store_url)
    party, case = debtor("both_banks")
    config = SandboxConfig().with_profile("bank-east", latency=5)
    async with Dispatcher.sandbox(config) as dispatcher:
        ledger = ActionLedger(store, dispatcher)
        report = await dispatcher.lookup(party, case)
        east = next(a for a in report.assets if a.institution == "bank-east")
        freeze = asyncio.create_task(
            ledger.freeze(
                party, case, institution="bank-east", identifier=east.identifier, amount=Money("1")
            )
        )
        await asyncio.sleep(1)
        (sent,) = store.find(states=(ActionState.SUBMITTED,))
        seen = await during(ledger, sent.id)  # type: ignore[operator]
        await freeze
    return store, sent.id, seen


async def test_a_sync_while_a_freeze_is_on_its_way_leaves_it_to_its_answer(
    store_url: str,
) -> None:
    async def sync(ledger: ActionLedger, action_id: int) -> object:
        return await ledger.sync()

    store, action_id, changes = await _freeze_in_flight(store_url, sync)
    action = store.get(action_id)
    store.close()
    assert changes == []  # not asked about too early, not undone
    assert action.state is ActionState.EFFECTIVE


async def test_a_freeze_undone_by_another_worker_meanwhile_is_adopted_from_where_it_stands(
    store_url: str,
) -> None:
    async def other_worker(ledger: ActionLedger, action_id: int) -> object:
        # Another process asked the bank too early, heard "no record" and put it back.
        return ledger.store.move(
            action_id, ActionState.REQUESTED, at=datetime.now(UTC), actor="bank-east", reason="?"
        )

    store, action_id, _ = await _freeze_in_flight(store_url, other_worker)
    action = store.get(action_id)
    store.close()
    assert action.state is ActionState.EFFECTIVE
    moves = [(t.from_state, t.to_state) for t in action.transitions]
    assert (ActionState.REQUESTED, ActionState.SUBMITTED) in moves[2:]  # adopted, not refused


async def test_a_sync_racing_a_submission_of_the_same_action_sends_it_once(
    store_url: str,
) -> None:
    store = Store(store_url)
    party, case = debtor("both_banks")
    config = SandboxConfig().with_profile("bank-east", latency=5)
    app = create_app(config)
    async with Dispatcher.sandbox(app=app) as dispatcher:
        ledger = ActionLedger(store, dispatcher)
        report = await dispatcher.lookup(party, case)
        east = next(a for a in report.assets if a.institution == "bank-east")
        new = _new_freeze(party, case)
        recorded = store.record(
            replace(new, institution="bank-east", asset_identifier=east.identifier),
            at=datetime.now(UTC),
            reason="recorded, not yet sent",
        )
        # Both find it requested and set out to send it: one send goes out, the other waits.
        submitted, changes = await asyncio.gather(ledger.submit(recorded.id), ledger.sync())
    at_bank = [v for v in sandbox_admin(app).actions("bank-east") if v.asset == east.identifier]
    action = store.get(recorded.id)
    store.close()
    assert submitted.state is ActionState.EFFECTIVE and action.state is ActionState.EFFECTIVE
    assert not any("changed concurrently" in c.note for c in changes)
    assert len(at_bank) == 1
    sends = [t for t in action.transitions if t.to_state is ActionState.SUBMITTED]
    assert len(sends) == 1


class Unreachable:
    """A ControlChannel whose institution never answers: the ledger needs nothing more."""

    def refusal(self, case: Case) -> str | None:
        return None

    def institution(self, institution_id: str) -> Unreachable:
        return self

    name = "unreachable bank"

    def capabilities(self, institution_id: str) -> frozenset[Operation]:
        return frozenset(Operation)

    def due(self, institution_id: str, operation: str, started_at: datetime) -> None:
        return None

    async def submit_control(self, institution_id: str, request: ControlRequest) -> ControlStatus:
        raise InstitutionUnreachable("down", code="connection")

    async def control_status(self, institution_id: str, request: ControlRequest) -> ControlStatus:
        raise InstitutionUnreachable("down", code="connection")


async def test_following_an_action_whose_institution_is_down_leaves_it_for_later(
    store_url: str,
) -> None:
    store = Store(store_url)
    party, case = debtor("both_banks")
    recorded = store.record(_new_freeze(party, case), at=datetime.now(UTC), reason="test")
    store.move(recorded.id, ActionState.SUBMITTED, at=datetime.now(UTC), actor="t", reason="sent")
    ledger = ActionLedger(store, Unreachable())

    followed = await ledger.follow(recorded.id)  # no exception: the follow-up asks again

    assert followed.state is ActionState.SUBMITTED
    closed = store.move(
        recorded.id, ActionState.REJECTED, at=datetime.now(UTC), actor="t", reason="no"
    )
    assert (await ledger.follow(recorded.id)).version == closed.version  # closed: not asked
    store.close()
