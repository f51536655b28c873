"""Control actions: what they are, the states they pass through, and which moves are legal.

A *control* (a freeze or a seal) is in force for a legal period and must be renewed before it
ends. An *operation* (a renewal, a deduction, a release) acts on a control and is done once
the institution has carried it out. Both are requested by the court, submitted to the
institution with an idempotency key, and tracked here until they close.

::

    requested ──► submitted ──► acknowledged ──► effective ──► released / expired /
        ▲  │          │  │            │    │        │   ▲        deducted / lapsed
        │  │          │  │            │    └► waiting ┘ (promotion) ──► lapsed / released
        │  └► rejected / failed  ◄────┘
        └───────────────┘ (the institution never received it: send again, same key)

    operations:  requested ──► submitted ──► acknowledged ──► completed  (or rejected / failed)

A renewal keeps its control ``effective`` and records the move ``effective → effective``
with the new expiry. Every move is stored with its time, actor and reason; a move not in
``TRANSITIONS`` raises ``IllegalTransition`` saying which move and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from ._errors import IllegalTransition, OverControl
from ._models import Operation
from ._money import Money

__all__ = [
    "CONTROL_KINDS",
    "OPEN_STATES",
    "PENDING_STATES",
    "TRANSITIONS",
    "ActionKind",
    "ActionState",
    "ControlAction",
    "IllegalTransition",
    "OverControl",
    "Transition",
    "WithdrawalCondition",
    "check_transition",
]


class ActionKind(StrEnum):
    FREEZE = "freeze"
    SEAL = "seal"
    DEDUCT = "deduct"
    RENEW = "renew"
    RELEASE = "release"

    @property
    def operation(self) -> Operation:
        return Operation(self.value)

    @property
    def is_control(self) -> bool:
        """A freeze or seal: something in force for a period, as opposed to an operation."""
        return self in CONTROL_KINDS


CONTROL_KINDS = frozenset({ActionKind.FREEZE, ActionKind.SEAL})


class ActionState(StrEnum):
    REQUESTED = "requested"  # recorded with its idempotency key; not (known to be) sent
    SUBMITTED = "submitted"  # sent; the institution's answer is not known yet
    ACKNOWLEDGED = "acknowledged"  # the institution received it; not in force yet
    WAITING = "waiting"  # in the waiting line behind another authority's control
    EFFECTIVE = "effective"  # in force
    COMPLETED = "completed"  # an operation (renew, deduct, release) carried out
    RELEASED = "released"
    EXPIRED = "expired"  # its period ended without a renewal: the control lapsed
    DEDUCTED = "deducted"  # the frozen amount was deducted in full
    LAPSED = "lapsed"  # voided without release: the asset was disposed of, or it lapsed
    REJECTED = "rejected"  # the institution refused it; nothing was applied
    FAILED = "failed"  # could not be carried out (not supported, credentials, ...)


_REFUSED = {ActionState.REJECTED, ActionState.FAILED}

# Moves shared by every kind before the institution has carried the action out.
_COMMON: dict[ActionState, set[ActionState]] = {
    ActionState.REQUESTED: {ActionState.SUBMITTED, *_REFUSED},
    ActionState.SUBMITTED: {ActionState.REQUESTED, ActionState.ACKNOWLEDGED, *_REFUSED},
    ActionState.ACKNOWLEDGED: set(_REFUSED),
}

#: Legal moves for controls (freeze, seal) and for operations (renew, deduct, release).
TRANSITIONS: dict[bool, dict[ActionState, frozenset[ActionState]]] = {
    True: {
        ActionState.REQUESTED: frozenset(_COMMON[ActionState.REQUESTED]),
        ActionState.SUBMITTED: frozenset(
            _COMMON[ActionState.SUBMITTED] | {ActionState.EFFECTIVE, ActionState.WAITING}
        ),
        ActionState.ACKNOWLEDGED: frozenset(
            _COMMON[ActionState.ACKNOWLEDGED] | {ActionState.EFFECTIVE, ActionState.WAITING}
        ),
        ActionState.WAITING: frozenset(
            {ActionState.EFFECTIVE, ActionState.LAPSED, ActionState.RELEASED}
        ),
        ActionState.EFFECTIVE: frozenset(
            {
                ActionState.EFFECTIVE,  # renewed
                ActionState.RELEASED,
                ActionState.EXPIRED,
                ActionState.DEDUCTED,
                ActionState.LAPSED,
            }
        ),
    },
    False: {
        ActionState.REQUESTED: frozenset(_COMMON[ActionState.REQUESTED]),
        ActionState.SUBMITTED: frozenset(_COMMON[ActionState.SUBMITTED] | {ActionState.COMPLETED}),
        ActionState.ACKNOWLEDGED: frozenset(
            _COMMON[ActionState.ACKNOWLEDGED] | {ActionState.COMPLETED}
        ),
    },
}

#: States in which the court is still waiting for the institution to answer.
PENDING_STATES = frozenset(
    {
        ActionState.REQUESTED,
        ActionState.SUBMITTED,
        ActionState.ACKNOWLEDGED,
        ActionState.WAITING,
    }
)

#: States in which an action still needs watching: not yet closed.
OPEN_STATES = frozenset(
    {
        ActionState.REQUESTED,
        ActionState.SUBMITTED,
        ActionState.ACKNOWLEDGED,
        ActionState.WAITING,
        ActionState.EFFECTIVE,
    }
)

_WHY_NOT: dict[ActionState, str] = {
    ActionState.RELEASED: "a released control is closed",
    ActionState.EXPIRED: "an expired control has lapsed; a new freeze or seal is needed",
    ActionState.DEDUCTED: "the frozen amount was deducted in full",
    ActionState.LAPSED: "a lapsed control is closed",
    ActionState.REJECTED: "the institution refused it; request a new action",
    ActionState.FAILED: "it could not be carried out; request a new action",
    ActionState.COMPLETED: "the operation is done",
}


def check_transition(
    action_id: int, kind: ActionKind, current: ActionState, target: ActionState
) -> None:
    """Raise ``IllegalTransition`` unless ``current → target`` is legal for ``kind``."""
    allowed = TRANSITIONS[kind.is_control].get(current, frozenset())
    if target not in allowed:
        why = _WHY_NOT.get(current)
        if why is None:
            names = ", ".join(sorted(state.value for state in allowed))
            why = f"from {current.value} a {kind.value} may only become {names}"
        raise IllegalTransition(action_id, kind.value, current.value, target.value, why)


class WithdrawalCondition(StrEnum):
    """Housing Provident Fund Regulations art. 24: when a fund balance may be withdrawn.

    A court may deduct from a fund account only when one of these holds for the debtor.
    """

    RETIREMENT = "retirement"
    INCAPACITY = "incapacity"  # full loss of working capacity, employment ended
    EMIGRATION = "emigration"
    HOME_PURCHASE = "home_purchase"  # buying, building or renovating the debtor's own home
    LOAN_REPAYMENT = "loan_repayment"  # repaying a housing loan
    RENT = "rent"  # rent above the statutory share of income


@dataclass(frozen=True, slots=True)
class Transition:
    """One recorded move of an action."""

    from_state: ActionState | None
    to_state: ActionState
    at: datetime
    actor: str
    reason: str


@dataclass(frozen=True, slots=True)
class ControlAction:
    """A control action as the ledger holds it."""

    id: int
    idempotency_key: str
    kind: ActionKind
    state: ActionState
    case_number: str
    enforcement_document: str
    court: str | None
    requested_by: str
    requested_at: datetime
    party_kind: str
    party_name: str
    party_id_number: str
    institution: str
    asset_kind: str
    asset_identifier: str
    amount: Money | None
    live_seal: bool
    withdrawal_condition: WithdrawalCondition | None
    override_reason: str | None
    target_id: int | None
    institution_reference: str | None
    effective_on: date | None
    expires_on: date | None
    expiry_source: str | None
    waiting_position: int | None
    last_error: str | None
    updated_at: datetime
    version: int
    transitions: tuple[Transition, ...] = ()
    #: a renewal: its control's end date when the renewal was asked for
    target_expires_on: date | None = None

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    def __repr__(self) -> str:
        # No party name, ID or account number: a repr ends up in logs and tracebacks.
        return (
            f"ControlAction(id={self.id}, kind={self.kind.value!r}, state={self.state.value!r}, "
            f"institution={self.institution!r}, asset=...{self.asset_identifier[-4:]!r}, "
            f"amount={self.amount}, expires_on={self.expires_on})"
        )
