"""The automatic-renewal policy, decided without a store: off unless the court says so."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from assetquery._config import RenewalSettings
from assetquery.ledger import ActionKind, ActionState
from assetquery.ledger._renewals import covered, renewal_under_way

from .test_reconcile import action

CONTROL = action(ActionKind.FREEZE, ActionState.EFFECTIVE, action_id=7)


def test_nothing_is_renewed_by_itself_unless_the_policy_names_it() -> None:
    assert not covered(CONTROL, RenewalSettings())
    assert covered(CONTROL, RenewalSettings(auto=True))
    assert covered(CONTROL, RenewalSettings(courts=frozenset({"兰州新区人民法院"})))
    assert not covered(CONTROL, RenewalSettings(courts=frozenset({"另一个法院"})))


def test_a_case_is_named_in_any_accepted_spelling() -> None:
    # Half-width brackets and the traditional 執 name the same case as the stored one.
    policy = RenewalSettings(cases=frozenset({"(2024)甘0191執1234号"}))
    assert policy.cases == frozenset({"（2024）甘0191执1234号"})
    assert covered(CONTROL, policy)
    with pytest.raises(ValidationError, match="not a case number"):
        RenewalSettings(cases=frozenset({"case 12"}))


def test_a_renewal_on_its_way_is_not_asked_for_again() -> None:
    def renewal(state: ActionState, target: int = 7) -> object:
        return action(ActionKind.RENEW, state, action_id=8, target_id=target)

    for state in (ActionState.REQUESTED, ActionState.SUBMITTED, ActionState.ACKNOWLEDGED):
        assert renewal_under_way(CONTROL, [renewal(state)])  # type: ignore[list-item]
    refused = renewal(ActionState.REJECTED)
    other = renewal(ActionState.ACKNOWLEDGED, target=9)
    assert not renewal_under_way(CONTROL, [refused, other])  # type: ignore[list-item]
