"""The action state machine, driven at random against the store (hypothesis stateful).

Whatever sequence of moves is tried, the store holds exactly the state the machine allows:
legal moves happen and are recorded, illegal ones raise and change nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from tempfile import TemporaryDirectory

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

from assetquery import Money, Party
from assetquery._actions import (
    OPEN_STATES,
    TRANSITIONS,
    ActionKind,
    ActionState,
    IllegalTransition,
)
from assetquery.store import NewAction, Store

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
PARTY = Party.person("张三", "110105199003071239")


_FOLDER = TemporaryDirectory()
# One store for every example: actions are independent, and migrating a new database per
# example would cost more than the examples themselves.
_STORE = Store(f"sqlite:///{Path(_FOLDER.name) / 'states.db'}")


class ActionLifecycle(RuleBasedStateMachine):
    actions = Bundle("actions")

    def __init__(self) -> None:
        super().__init__()
        self.store = _STORE
        self.expected: dict[int, ActionState] = {}
        self.moves: dict[int, int] = {}
        self.kinds: dict[int, ActionKind] = {}
        self.touched: int | None = None

    @initialize(target=actions, kind=st.sampled_from(list(ActionKind)))
    def first(self, kind: ActionKind) -> int:
        return self.request(kind)

    @rule(target=actions, kind=st.sampled_from(list(ActionKind)))
    def another(self, kind: ActionKind) -> int:
        return self.request(kind)

    def request(self, kind: ActionKind) -> int:
        action = self.store.record(
            NewAction(
                kind=kind,
                party=PARTY,
                case_number="（2024）甘0191执1号",
                enforcement_document="D",
                court=None,
                requested_by="李",
                institution="bank",
                asset_kind="bank_account",
                asset_identifier="6222",
                amount=Money("1.00"),
            ),
            at=NOW,
            reason="requested",
        )
        self.expected[action.id] = ActionState.REQUESTED
        self.moves[action.id] = 1
        self.kinds[action.id] = kind
        self.touched = action.id
        return action.id

    @rule(action_id=actions, target_state=st.sampled_from(list(ActionState)))
    def move(self, action_id: int, target_state: ActionState) -> None:
        self.touched = action_id
        current = self.expected[action_id]
        legal = target_state in TRANSITIONS[self.kinds[action_id].is_control].get(current, ())
        if legal:
            moved = self.store.move(action_id, target_state, at=NOW, actor="t", reason="r")
            assert moved.state is target_state
            self.expected[action_id] = target_state
            self.moves[action_id] += 1
        else:
            with pytest.raises(IllegalTransition) as refused:
                self.store.move(action_id, target_state, at=NOW, actor="t", reason="r")
            message = str(refused.value)
            assert f"{current.value} → {target_state.value} is not allowed" in message

    @invariant()
    def store_agrees(self) -> None:
        if self.touched is None:
            return
        for action_id in (self.touched,):
            state = self.expected[action_id]
            action = self.store.get(action_id)
            assert action.state is state
            assert len(action.transitions) == self.moves[action_id]
            assert action.transitions[-1].to_state is state
            # closed actions have no way out; open ones do
            has_exit = bool(TRANSITIONS[action.kind.is_control].get(state))
            assert has_exit == (state in OPEN_STATES or state is ActionState.REQUESTED)


ActionLifecycle.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestActionLifecycle = ActionLifecycle.TestCase


@pytest.mark.parametrize("kind", list(ActionKind))
def test_every_open_state_can_be_left_and_every_closed_one_cannot(kind: ActionKind) -> None:
    table = TRANSITIONS[kind.is_control]
    for state in ActionState:
        if state in table:
            assert table[state], state
    reachable = {ActionState.REQUESTED}
    frontier = [ActionState.REQUESTED]
    while frontier:
        for nxt in table.get(frontier.pop(), ()):
            if nxt not in reachable:
                reachable.add(nxt)
                frontier.append(nxt)
    closing = (
        {ActionState.COMPLETED}
        if not kind.is_control
        else {ActionState.RELEASED, ActionState.EXPIRED, ActionState.DEDUCTED, ActionState.LAPSED}
    )
    assert closing | {ActionState.REJECTED, ActionState.FAILED} <= reachable
