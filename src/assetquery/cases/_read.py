"""Reading a case (or every case) out of the store, for ``build_case_file``."""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from .._actions import ActionState, ControlAction
from .._errors import CaseNotFound
from .._identifiers import parse_case_number
from .._money import Money
from .._time import local_date, utc_now
from ..rules._pack import RulePack, load_rule_pack, renewal_deadline
from ..store import Store
from ._file import CaseFile, build_case_file

__all__ = ["canonical_case", "case_file", "case_files"]


def canonical_case(number: str) -> str:
    """The case number as the store keeps it, whichever brackets or 执/執 it was typed with."""
    return str(parse_case_number(number, field="case number"))


def _file(
    store: Store,
    number: str,
    actions: Sequence[ControlAction],
    rules: RulePack,
    now: datetime,
) -> CaseFile:
    reports = store.cases.reports(number)
    clocks = store.cases.clocks([r.lookup_id for r in reports], [a.id for a in actions])
    return build_case_file(
        number, reports=reports, actions=actions, clocks=clocks, rules=rules, now=now
    )


def case_file(
    store: Store,
    number: str,
    *,
    now: datetime | None = None,
    rules: RulePack | None = None,
) -> CaseFile:
    """Everything the store holds for one case. ``CaseNotFound`` (with the closest case
    numbers it does hold) if it holds nothing under it."""
    canonical = canonical_case(number)
    actions = store.find(case_number=canonical)
    if not actions and not store.cases.reports(canonical):
        known = store.cases.numbers()
        close = tuple(difflib.get_close_matches(canonical, known, n=3, cutoff=0.8))
        raise CaseNotFound(canonical, close)
    return _file(store, canonical, actions, rules or load_rule_pack(), now or utc_now())


def case_files(
    store: Store,
    *,
    court: str | None = None,
    operator: str | None = None,
    open_controls: bool = False,
    uncovered_above: Money | None = None,
    renewal_within: timedelta | None = None,
    now: datetime | None = None,
    rules: RulePack | None = None,
) -> list[CaseFile]:
    """The case file of every case that matches every filter given, by case number.

    ``open_controls``: some freeze or seal not yet closed; ``uncovered_above``: more of the
    claim uncovered than this; ``renewal_within``: a control to renew within this long.
    """
    now = now or utc_now()
    rules = rules or load_rule_pack()
    by_case: dict[str, list[ControlAction]] = defaultdict(list)
    for action in store.find():
        by_case[action.case_number].append(action)
    files = []
    today = local_date(now)
    for number in store.cases.numbers():
        actions = by_case.get(number, [])
        if open_controls and not any(a.kind.is_control and a.is_open for a in actions):
            continue
        if renewal_within is not None and not any(
            a.kind.is_control
            and a.state is ActionState.EFFECTIVE
            and a.expires_on is not None
            and renewal_deadline(rules, a.expires_on) <= today + renewal_within
            for a in actions
        ):
            continue
        found = _file(store, number, actions, rules, now)
        if court is not None and found.court != court:
            continue
        if operator is not None and operator not in found.operators:
            continue
        if uncovered_above is not None and (
            found.totals.uncovered is None or found.totals.uncovered <= uncovered_above
        ):
            continue
        files.append(found)
    return files
