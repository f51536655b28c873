"""The control-action ledger: freeze, seal, deduct, renew and release, tracked until closed.

See ``docs/actions.md``. ``ActionLedger(store, dispatcher)`` is the entry point; the rest
are the values it takes and returns.
"""

from .._actions import (
    OPEN_STATES,
    PENDING_STATES,
    ActionKind,
    ActionState,
    ControlAction,
    IllegalTransition,
    OverControl,
    Transition,
    WithdrawalCondition,
)
from ..rules._pack import RulePack, control_end, load_rule_pack, renewal_deadline
from ._channel import ControlChannel
from ._ledger import ActionLedger, DueControl, SyncChange
from ._planner import FreezePlan, PlannedControl, plan_controls

__all__ = [
    "OPEN_STATES",
    "PENDING_STATES",
    "ActionKind",
    "ActionLedger",
    "ActionState",
    "ControlAction",
    "ControlChannel",
    "DueControl",
    "FreezePlan",
    "IllegalTransition",
    "OverControl",
    "PlannedControl",
    "RulePack",
    "SyncChange",
    "Transition",
    "WithdrawalCondition",
    "control_end",
    "load_rule_pack",
    "plan_controls",
    "renewal_deadline",
]
