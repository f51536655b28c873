"""The ledger's decisions: what an institution's answer about an action means for its record.

``decide`` is a pure function of the action as recorded, the institution's
``ControlStatus``, the rule pack and the day. It returns the
moves (``Move``) to record, in order; the ledger applies them to the store (which checks each
against the state table again) and starts or stops the SLA clocks. Nothing here reads or
writes a database, so the state table is tested on its own (tests/ledger/test_reconcile.py).

An answer is read from where the action stands:

- ``unknown`` (the institution never received the key): a submitted action goes back to
  ``requested``, to be sent again with the same key; otherwise nothing changes;
- any other answer to an action still ``requested`` first records that the institution has
  it after all (sent earlier, or undone by a worker that asked too early);
- ``received`` acknowledges; ``rejected`` refuses, with the institution's reason;
- for a freeze or seal: ``waiting`` puts it in the waiting line (or updates its position),
  ``effective`` brings it into force with its legal end date (the institution's, else
  computed from the rule pack), ``released``/``lapsed`` close it;
- for a renewal, deduction or release: ``effective`` means done, and the control it acts on
  moves with it (a new end date, a reduced or fully deducted amount, released).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from .._actions import TRANSITIONS, ActionKind, ActionState, ControlAction
from .._identifiers import scrub
from .._money import Money
from .._time import local_date
from ..adapters import ControlState, ControlStatus
from ..rules import RulePack, control_end
from ..rules._pack import promoted_end, renewed_end

__all__ = ["SYSTEM", "Move", "decide", "entered"]

#: the actor of moves the ledger makes on its own (the institution is the default actor)
SYSTEM = "assetquery"

_SENT = (ActionState.SUBMITTED, ActionState.ACKNOWLEDGED)


@dataclass(frozen=True, slots=True)
class Move:
    """One step to record: a move of ``action_id`` to ``state``, or (``state`` None) new
    facts about it without a move. ``actor`` None means the institution said so."""

    action_id: int
    state: ActionState | None
    reason: str = ""
    actor: str | None = None
    changes: Mapping[str, object] = field(default_factory=dict)


def entered(action: ControlAction, state: ActionState) -> date | None:
    """The (Shanghai) day ``action`` last entered ``state``, from its recorded moves."""
    for transition in reversed(action.transitions):
        if transition.to_state is state:
            return local_date(transition.at)
    return None


def decide(
    action: ControlAction,
    status: ControlStatus,
    rules: RulePack,
    today: date,
    *,
    target: ControlAction | None = None,
) -> list[Move]:
    """The moves the institution's ``status`` about ``action`` calls for, in order.

    ``target`` is the control a renewal, deduction or release acts on (needed only when
    such an operation is done). Only moves the state table allows are returned: an answer
    that would need another (a closed control reported in force) changes nothing.
    """
    return _Decision(action, status, rules, today, target).moves


class _Decision:
    """One decision in the making: the moves so far and where the action now stands."""

    def __init__(
        self,
        action: ControlAction,
        status: ControlStatus,
        rules: RulePack,
        today: date,
        target: ControlAction | None,
    ) -> None:
        self.action = action
        self.status = status
        self.rules = rules
        self.today = today
        self.state = action.state
        self.moves: list[Move] = []
        message = status.message
        self.said = f": {scrub(message, hide=(action.party_name,))}" if message else ""
        self._decide(target)

    def move(
        self, state: ActionState, reason: str, actor: str | None = None, **changes: object
    ) -> None:
        if state not in TRANSITIONS[self.action.kind.is_control].get(self.state, frozenset()):
            return  # not a move this action can make from here: the answer changes nothing
        self.moves.append(Move(self.action.id, state, reason, actor, changes))
        self.state = state

    def _decide(self, target: ControlAction | None) -> None:
        answer = self.status.state
        if answer is ControlState.UNKNOWN:
            if self.state is ActionState.SUBMITTED:
                self.move(
                    ActionState.REQUESTED,
                    "the institution has no record of it; it will be sent again, same key",
                )
            return
        if self.state is ActionState.REQUESTED:
            # Sent again, or undone by a worker that asked too early: it has it after all.
            self.move(
                ActionState.SUBMITTED,
                "the institution has it after all (same key)",
                actor=SYSTEM,
            )
        if answer is ControlState.RECEIVED:
            if self.state is ActionState.SUBMITTED:
                self.move(
                    ActionState.ACKNOWLEDGED,
                    f"received{self.said}",
                    institution_reference=self.status.reference,
                )
        elif answer is ControlState.REJECTED:
            if self.state in _SENT:
                self.move(
                    ActionState.REJECTED,
                    f"rejected{self.said}",
                    last_error=self.said.removeprefix(": "),
                )
        elif not self.action.kind.is_control:
            self._operation_done(target)
        elif answer is ControlState.WAITING:
            self._waiting()
        elif answer is ControlState.EFFECTIVE:
            if self.state is not ActionState.EFFECTIVE:
                self._in_force()
        else:  # released or lapsed: closed at the institution
            if self.state in _SENT:
                self._in_force()
            closed = ActionState.RELEASED if answer is ControlState.RELEASED else ActionState.LAPSED
            if self.state is not closed:
                self.move(closed, f"{closed.value} at the institution{self.said}")

    def _waiting(self) -> None:
        position = self.status.waiting_position
        if self.state in _SENT:
            self.move(
                ActionState.WAITING,
                f"in the waiting line at position {position}{self.said}",
                institution_reference=self.status.reference,
                waiting_position=position,
            )
        elif self.state is ActionState.WAITING and self.action.waiting_position != position:
            self.moves.append(Move(self.action.id, None, changes={"waiting_position": position}))

    def _in_force(self) -> None:
        action, status = self.action, self.status
        promoted = self.state is ActionState.WAITING
        effective_on = status.effective_on or self.today
        if status.ends_on is not None:
            expires_on, source = status.ends_on, "institution"
        elif promoted:
            expires_on = promoted_end(
                self.rules,
                action.asset_kind,
                registered_on=entered(action, ActionState.WAITING) or effective_on,
                promoted_on=effective_on,
            )
            source = "computed"
        else:
            expires_on = control_end(self.rules, action.asset_kind, effective_on)
            source = "computed"
        how = f"promoted from the waiting line on {effective_on}" if promoted else "in force"
        self.move(
            ActionState.EFFECTIVE,
            f"{how}; period ends {expires_on} ({source})",
            institution_reference=status.reference or action.institution_reference,
            effective_on=effective_on,
            expires_on=expires_on,
            expiry_source=source,
            waiting_position=None,
            amount=status.amount or action.amount,
        )

    def _operation_done(self, target: ControlAction | None) -> None:
        """A renewal, deduction or release the institution reports carried out."""
        action, status = self.action, self.status
        if status.state is not ControlState.EFFECTIVE or self.state not in _SENT:
            return
        # Without the institution's date, the day it was sent: the earliest it can have
        # been done, so a period computed from it never ends late.
        done_on = status.effective_on or entered(action, ActionState.SUBMITTED) or self.today
        if target is not None:
            self.moves.extend(self._target_moves(target, done_on))
        self.move(
            ActionState.COMPLETED, f"done on {done_on}", institution_reference=status.reference
        )

    def _target_moves(self, target: ControlAction, done_on: date) -> list[Move]:
        action, status = self.action, self.status
        if action.kind is ActionKind.RENEW and target.state is ActionState.EFFECTIVE:
            assert target.expires_on is not None, "a control in force has an end date"
            expires_on = status.ends_on or renewed_end(
                self.rules, target.asset_kind, min(done_on, target.expires_on), target.expires_on
            )
            source = "institution" if status.ends_on else "computed"
            return [
                Move(
                    target.id,
                    ActionState.EFFECTIVE,
                    f"renewed by #{action.id}; period now ends {expires_on} ({source})",
                    changes={"expires_on": expires_on, "expiry_source": source},
                )
            ]
        if action.kind is ActionKind.RELEASE and target.state in (
            ActionState.EFFECTIVE,
            ActionState.WAITING,
        ):
            return [Move(target.id, ActionState.RELEASED, f"released by #{action.id}")]
        if action.kind is ActionKind.DEDUCT and target.state is ActionState.EFFECTIVE:
            assert target.amount is not None, "a freeze states its amount"
            assert action.amount is not None, "a deduction states its amount"
            remaining = target.amount - action.amount
            if remaining.amount <= 0:
                return [
                    Move(
                        target.id,
                        ActionState.DEDUCTED,
                        f"{action.amount} deducted by #{action.id}; nothing remains frozen",
                        changes={"amount": Money(0, remaining.currency)},
                    )
                ]
            return [
                Move(
                    target.id,
                    ActionState.EFFECTIVE,
                    f"{action.amount} deducted by #{action.id}; {remaining} remains frozen",
                    changes={"amount": remaining},
                )
            ]
        return []
