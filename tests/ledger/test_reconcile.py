"""The ledger's decisions, without a store: every answer from every open state.

``decide`` is tried on generated actions (each kind, each open state, with and without a
recorded history) and generated answers (each institution state, with or without dates,
amounts and positions). Whatever the combination, it must only make moves the state table
allows, settle (the same answer again changes nothing), and never act on an unknown key
except by sending the action again.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from assetquery._actions import (
    OPEN_STATES,
    TRANSITIONS,
    ActionKind,
    ActionState,
    ControlAction,
    Transition,
)
from assetquery._money import Money
from assetquery.adapters import ControlState, ControlStatus
from assetquery.ledger._reconcile import SYSTEM, Move, decide
from assetquery.rules import control_end, load_rule_pack

RULES = load_rule_pack()
TODAY = date(2025, 3, 10)
NOON = datetime(2025, 3, 1, 4, tzinfo=UTC)

#: the open states each family of action can be in
OPEN = {
    True: sorted(OPEN_STATES, key=str),
    False: [ActionState.REQUESTED, ActionState.SUBMITTED, ActionState.ACKNOWLEDGED],
}


def action(
    kind: ActionKind = ActionKind.FREEZE,
    state: ActionState = ActionState.SUBMITTED,
    *,
    action_id: int = 1,
    **changes: object,
) -> ControlAction:
    fields: dict[str, object] = {
        "id": action_id,
        "idempotency_key": f"key-{action_id}",
        "kind": kind,
        "state": state,
        "case_number": "（2024）甘0191执1234号",
        "enforcement_document": "（2024）甘0191执1234号之一",
        "court": "兰州新区人民法院",
        "requested_by": "李",
        "requested_at": NOON,
        "party_kind": "person",
        "party_name": "张三",
        "party_id_number": "110105199003071239",
        "institution": "bank",
        "asset_kind": "bank_account",
        "asset_identifier": "6217000012345678901",
        "amount": Money("50000.00") if kind in (ActionKind.FREEZE, ActionKind.DEDUCT) else None,
        "live_seal": False,
        "withdrawal_condition": None,
        "override_reason": None,
        "target_id": None if kind.is_control else 99,
        "institution_reference": None,
        "effective_on": None,
        "expires_on": None,
        "expiry_source": None,
        "waiting_position": None,
        "last_error": None,
        "updated_at": NOON,
        "version": 1,
        "transitions": (
            Transition(None, ActionState.REQUESTED, NOON, "李", "requested"),
            Transition(ActionState.REQUESTED, ActionState.SUBMITTED, NOON, SYSTEM, "sent"),
        ),
    }
    fields.update(changes)
    return ControlAction(**fields)  # type: ignore[arg-type]


def in_force(**changes: object) -> ControlAction:
    """The freeze an operation acts on: in force for another 200 days."""
    return action(
        ActionKind.FREEZE,
        ActionState.EFFECTIVE,
        action_id=99,
        expires_on=TODAY + timedelta(days=200),
        effective_on=TODAY - timedelta(days=165),
        **changes,
    )


@st.composite
def actions(draw: st.DrawFn) -> ControlAction:
    kind = draw(st.sampled_from(list(ActionKind)))
    state = draw(st.sampled_from(OPEN[kind.is_control]))
    changes: dict[str, object] = {}
    if state is ActionState.WAITING:
        changes["waiting_position"] = draw(st.integers(1, 5))
    if state is ActionState.EFFECTIVE:
        changes["effective_on"] = TODAY - timedelta(days=30)
        changes["expires_on"] = TODAY + timedelta(days=draw(st.integers(1, 400)))
    return action(kind, state, **changes)


@st.composite
def statuses(draw: st.DrawFn) -> ControlStatus:
    state = draw(st.sampled_from(list(ControlState)))
    days = st.integers(-60, 60).map(lambda n: TODAY + timedelta(days=n))
    return ControlStatus(
        state=state,
        reference=draw(st.none() | st.just("REF-1")),
        effective_on=draw(st.none() | days),
        ends_on=draw(st.none() | days.map(lambda d: d + timedelta(days=365))),
        amount=draw(st.none() | st.just(Money("1234.56"))),
        waiting_position=draw(st.none() | st.integers(1, 5)),
        message=draw(st.none() | st.sampled_from(["余额不足", "张三 的账户已冻结"])),
    )


def applied(subject: ControlAction, moves: list[Move]) -> ControlAction:
    """``subject`` after the moves made on it, as the store would record them."""
    for move in moves:
        if move.action_id != subject.id:
            continue
        transitions = subject.transitions
        if move.state is not None:
            step = Transition(subject.state, move.state, NOON, move.actor or "bank", move.reason)
            transitions = (*transitions, step)
        subject = dataclasses.replace(
            subject,
            state=move.state or subject.state,
            transitions=transitions,
            **move.changes,  # type: ignore[arg-type]
        )
    return subject


def legal_path(start: ControlAction, moves: list[Move]) -> None:
    state = start.state
    for move in moves:
        if move.action_id != start.id or move.state is None:
            continue
        allowed = TRANSITIONS[start.kind.is_control].get(state, frozenset())
        assert move.state in allowed, f"{state.value} -> {move.state.value} is not allowed"
        state = move.state


@given(actions(), statuses())
def test_every_move_is_one_the_state_table_allows(
    subject: ControlAction, status: ControlStatus
) -> None:
    target = None if subject.kind.is_control else in_force()
    moves = decide(subject, status, RULES, TODAY, target=target)
    legal_path(subject, moves)
    if target is not None:
        legal_path(target, moves)


@given(actions(), statuses())
def test_the_same_answer_again_changes_nothing(
    subject: ControlAction, status: ControlStatus
) -> None:
    target = None if subject.kind.is_control else in_force()
    after = applied(subject, decide(subject, status, RULES, TODAY, target=target))
    moved_target = (
        applied(target, decide(subject, status, RULES, TODAY, target=target)) if target else None
    )
    assert decide(after, status, RULES, TODAY, target=moved_target) == []


@given(actions(), statuses())
def test_an_unknown_key_only_ever_sends_again(
    subject: ControlAction, status: ControlStatus
) -> None:
    unknown = dataclasses.replace(status, state=ControlState.UNKNOWN)
    moves = decide(subject, unknown, RULES, TODAY, target=in_force())
    if subject.state is ActionState.SUBMITTED:
        assert [m.state for m in moves] == [ActionState.REQUESTED]
    else:
        assert moves == []


@given(actions(), statuses())
def test_no_personal_data_in_what_is_recorded(
    subject: ControlAction, status: ControlStatus
) -> None:
    for move in decide(subject, status, RULES, TODAY, target=in_force()):
        written = [move.reason, *(str(v) for v in move.changes.values())]
        assert not any(subject.party_name in text for text in written)


def test_a_freeze_in_force_ends_where_the_rule_pack_says() -> None:
    (move,) = decide(
        action(), ControlStatus(ControlState.EFFECTIVE, reference="FZ-1"), RULES, TODAY
    )
    assert move.state is ActionState.EFFECTIVE
    assert move.changes["expires_on"] == control_end(RULES, "bank_account", TODAY)
    assert move.changes["expiry_source"] == "computed"
    assert move.changes["institution_reference"] == "FZ-1"


def test_the_institutions_end_date_wins_and_says_so() -> None:
    ends = date(2026, 1, 31)
    status = ControlStatus(ControlState.EFFECTIVE, effective_on=TODAY, ends_on=ends)
    (move,) = decide(action(), status, RULES, TODAY)
    assert move.changes["expires_on"] == ends
    assert move.changes["expiry_source"] == "institution"


def test_an_action_still_requested_is_first_recorded_as_received_after_all() -> None:
    requested = action(state=ActionState.REQUESTED, transitions=())
    moves = decide(requested, ControlStatus(ControlState.RECEIVED), RULES, TODAY)
    assert [(m.state, m.actor) for m in moves] == [
        (ActionState.SUBMITTED, SYSTEM),
        (ActionState.ACKNOWLEDGED, None),
    ]


def test_a_new_waiting_position_is_a_fact_not_a_move() -> None:
    waiting = action(state=ActionState.WAITING, waiting_position=3)
    status = ControlStatus(ControlState.WAITING, waiting_position=2)
    assert decide(waiting, status, RULES, TODAY) == [Move(1, None, changes={"waiting_position": 2})]


def test_a_partial_deduction_reduces_the_freeze_and_completes() -> None:
    deduct = action(ActionKind.DEDUCT, amount=Money("20000.00"))
    moves = decide(deduct, ControlStatus(ControlState.EFFECTIVE), RULES, TODAY, target=in_force())
    assert [(m.action_id, m.state) for m in moves] == [
        (99, ActionState.EFFECTIVE),
        (1, ActionState.COMPLETED),
    ]
    assert moves[0].changes == {"amount": Money("30000.00")}


def test_a_deduction_of_everything_closes_the_freeze() -> None:
    deduct = action(ActionKind.DEDUCT, amount=Money("50000.00"))
    moves = decide(deduct, ControlStatus(ControlState.EFFECTIVE), RULES, TODAY, target=in_force())
    assert moves[0].state is ActionState.DEDUCTED


def test_a_renewal_moves_the_end_date_of_its_control() -> None:
    renew = action(ActionKind.RENEW)
    target = in_force()
    moves = decide(renew, ControlStatus(ControlState.EFFECTIVE), RULES, TODAY, target=target)
    assert moves[0].action_id == target.id
    assert target.expires_on is not None
    assert moves[0].changes["expires_on"] > target.expires_on  # type: ignore[operator]


def test_an_operation_on_a_closed_control_completes_without_touching_it() -> None:
    release = action(ActionKind.RELEASE)
    closed = dataclasses.replace(in_force(), state=ActionState.RELEASED)
    moves = decide(release, ControlStatus(ControlState.EFFECTIVE), RULES, TODAY, target=closed)
    assert [(m.action_id, m.state) for m in moves] == [(1, ActionState.COMPLETED)]
