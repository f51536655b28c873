"""Automatic renewal: which controls the court renews without a clerk, and which not yet.

A pure decision on what the store holds, for the worker's daily sweep: a control due for
renewal is renewed automatically only where the court's policy says so (every case, its
court, or its case listed), and only if no renewal of it is already on its way.
"""

from __future__ import annotations

from collections.abc import Iterable

from .._actions import PENDING_STATES, ActionKind, ControlAction
from .._config import RenewalSettings
from .._errors import InvalidInput
from .._identifiers import parse_case_number

__all__ = ["RENEWAL_UNDER_WAY", "covered", "renewal_under_way"]

#: states of a renewal still on its way: another one must not be sent meanwhile (a
#: completed one has moved its control's end date, so the control is no longer due)
RENEWAL_UNDER_WAY = PENDING_STATES


def covered(control: ControlAction, policy: RenewalSettings) -> bool:
    """The court's policy renews ``control`` by itself."""
    if policy.auto or (control.court is not None and control.court in policy.courts):
        return True
    if not policy.cases:
        return False
    try:
        return str(parse_case_number(control.case_number)) in policy.cases
    except InvalidInput:
        return False


def renewal_under_way(control: ControlAction, actions: Iterable[ControlAction]) -> bool:
    """A renewal of ``control`` is requested and not yet carried out or refused."""
    return any(
        a.kind is ActionKind.RENEW and a.target_id == control.id and a.state in RENEWAL_UNDER_WAY
        for a in actions
    )
