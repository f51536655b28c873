"""The court's figures: how institutions answered, and what each court and operator secured.

``court_figures`` is pure: it takes what the store holds (stored lookups, control actions
with their moves, SLA clocks, imported closures) and the period, and computes every figure
``docs/figures.md`` defines. Figures the store cannot know (how a case was closed, money
recovered outside online deduction) come only from imported closures: without them the
official indicators are ``None``, never estimated. Rates are fractions (0.25 for 25 %);
``None`` where the denominator is zero.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from .._actions import ActionKind, ActionState, ControlAction
from .._errors import InvalidInput
from .._identifiers import parse_case_number
from .._money import Money
from .._time import local_date
from ..rules._pack import RulePack, renewal_deadline
from ..sla import OperationStats
from ..sla._stats import performance_report
from ..store import Clock, Closure, LookupFacts
from ._closures import ClosureManner

__all__ = ["CourtFigures", "GroupFigures", "OfficialIndicators", "court_figures"]


@dataclass(frozen=True, slots=True)
class GroupFigures:
    """What one court and operator (or everyone: both ``None``) did in the period."""

    court: str | None
    operator: str | None
    lookups: int  # parties looked up (a party looked up twice counts twice)
    lookups_with_assets: int  # of which some asset was found
    cases: int  # the group's cases: looked up, controlled, deducted, renewed or lapsed in it
    cases_with_assets: int  # of which some lookup in the period found an asset
    controls_requested: int  # freezes and seals asked for in the period
    controls_in_force: int  # the cases' freezes and seals in force at the period's end
    claims: Money  # the claims of the group's cases, where known
    frozen: Money  # the cases' freezes in force at the period's end, at their amounts
    deducted: Money  # deductions carried out in the period (all in the group's cases)
    deducted_claimed: Money  # of which in cases whose claim is known: the share's numerator
    lapsed: int  # controls whose period ran out unrenewed, in the period
    lapsed_amount: Money  # the amounts those freezes held: protection lost
    renewals: int  # renewals carried out, asked for in the period
    renewals_on_time: int  # of which asked for by the renewal deadline

    @property
    def deducted_share(self) -> float | None:
        """Deducted online ÷ claims, over the cases whose claim is known: a lower bound of
        what was recovered (see figures.md)."""
        return self.deducted_claimed.fen / self.claims.fen if self.claims.fen else None


@dataclass(frozen=True, slots=True)
class OfficialIndicators:
    """The court's case-quality indicators, over cases closed in the period (imported)."""

    closed: int
    completed: int  # closed as 执行完毕
    first_closed: int  # first-enforcement cases (执, not 执恢) closed
    first_terminated: int  # of which closed by 终结本次执行程序
    applied: Money  # amounts applied for, where known
    recovered: Money  # deducted online (the store) plus recovered outside (imported)
    without_amount: int  # closed cases with no applied amount: left out of the ratio

    @property
    def execution_rate(self) -> float | None:
        """执行到位率: recovered ÷ applied for, in closed cases."""
        return self.recovered.fen / self.applied.fen if self.applied.fen else None

    @property
    def completion_rate(self) -> float | None:
        """执行完毕率: closed as 执行完毕 ÷ cases closed."""
        return self.completed / self.closed if self.closed else None

    @property
    def first_termination_rate(self) -> float | None:
        """首执终本率: first-enforcement cases closed by 终本 ÷ first-enforcement closed."""
        return self.first_terminated / self.first_closed if self.first_closed else None


@dataclass(frozen=True, slots=True)
class CourtFigures:
    since: datetime | None
    until: datetime | None
    generated_at: datetime
    institutions: tuple[OperationStats, ...]
    groups: tuple[GroupFigures, ...]  # per court and operator
    total: GroupFigures  # everyone together
    official: OfficialIndicators | None  # None: no closures imported
    court: str | None = None  # what every figure was narrowed to, if anything
    operator: str | None = None

    @property
    def empty(self) -> bool:
        """Nothing happened in the period: no request, lookup, control, deduction, lapse,
        renewal or closure (controls merely still in force do not count)."""
        t = self.total
        return not (
            self.institutions
            or t.lookups
            or t.controls_requested
            or t.deducted.fen
            or t.lapsed
            or t.renewals
            or (self.official is not None and self.official.closed)
        )


def _within(moment: datetime, since: datetime | None, until: datetime | None) -> bool:
    return (since is None or moment >= since) and (until is None or moment < until)


def _day_within(day: date, since: datetime | None, until: datetime | None) -> bool:
    return (since is None or day >= local_date(since)) and (
        until is None or day < local_date(until)
    )


def _entered(action: ControlAction, state: ActionState) -> datetime | None:
    return next((t.at for t in action.transitions if t.to_state is state), None)


def _lapsed_at(control: ControlAction) -> datetime | None:
    """When the control's period ran out unrenewed: marked expired here, or reported lapsed
    by its institution after its last day (a lapse before it is a disposal, not counted)."""
    for t in control.transitions:
        if t.to_state is ActionState.EXPIRED:
            return t.at
        if (
            t.to_state is ActionState.LAPSED
            and t.from_state is ActionState.EFFECTIVE
            and control.expires_on is not None
            and local_date(t.at) > control.expires_on
        ):
            return t.at
    return None


def _cny(amounts: Iterable[Money | None]) -> Money:
    return Money.from_fen(sum(m.fen for m in amounts if m is not None and m.currency == "CNY"))


def _claims(lookups: Iterable[LookupFacts]) -> dict[str, Money]:
    """Each case's claim, as its latest lookup that states one gives it."""
    claims: dict[str, Money] = {}
    for facts in sorted(lookups, key=lambda f: f.looked_up_at):
        if facts.claim is not None:
            claims[facts.case_number] = facts.claim
    return claims


def _in_force_at(control: ControlAction, end: datetime) -> bool:
    """Whether the control was in force just before ``end``: its last move before then put
    it in force, and its period had not run out by its last day (an expiry is recorded when
    it is noticed, which may be days after the period ended)."""
    state = None
    for t in control.transitions:
        if t.at >= end:
            break
        state = t.to_state
    if state is not ActionState.EFFECTIVE:
        return False
    last_day = local_date(end - timedelta(microseconds=1))
    return control.expires_on is None or control.expires_on >= last_day


def _group(
    key: tuple[str | None, str | None],
    lookups: Sequence[LookupFacts],
    actions: Sequence[ControlAction],
    controls_by_case: dict[str, list[ControlAction]],
    targets: dict[int, ControlAction],
    claims: dict[str, Money],
    rules: RulePack,
    since: datetime | None,
    until: datetime | None,
    end: datetime,
) -> GroupFigures:
    """One group's figures; ``end`` is the moment "in force" is read at (the period's end,
    or now if it has not ended). ``actions`` are the group's own; ``controls_by_case`` every
    freeze and seal by case, whoever asked for it: what holds a case's assets."""
    in_period = [f for f in lookups if _within(f.looked_up_at, since, until)]
    controls = [a for a in actions if a.kind.is_control]
    requested = [a for a in controls if _within(a.requested_at, since, until)]
    done = [(a, _entered(a, ActionState.COMPLETED)) for a in actions if not a.kind.is_control]
    deductions = [
        a for a, at in done if a.kind is ActionKind.DEDUCT and at and _within(at, since, until)
    ]
    renewals = [
        a
        for a, at in done
        if a.kind is ActionKind.RENEW and at and _within(a.requested_at, since, until)
    ]
    lapsed = [a for a in controls if (at := _lapsed_at(a)) and _within(at, since, until)]
    # Claims, frozen and deducted are read over the same cases, so that one is a share of
    # the other: a case the group did nothing in during the period is in none of them.
    cases = {a.case_number for a in (*requested, *deductions, *renewals, *lapsed)} | {
        f.case_number for f in in_period
    }
    in_force = [
        a
        for number in sorted(cases)
        for a in controls_by_case.get(number, ())
        if _in_force_at(a, end)
    ]
    claimed = {number for number in cases if number in claims}

    def on_time(renewal: ControlAction) -> bool:
        deadline_end = renewal.target_expires_on
        if deadline_end is None:  # recorded before renewals kept their end: judged by control
            target = targets.get(renewal.target_id or -1)
            return target is not None and target.state is not ActionState.EXPIRED
        return local_date(renewal.requested_at) <= renewal_deadline(rules, deadline_end)

    return GroupFigures(
        court=key[0],
        operator=key[1],
        lookups=len(in_period),
        lookups_with_assets=sum(1 for f in in_period if f.assets),
        cases=len(cases),
        cases_with_assets=len({f.case_number for f in in_period if f.assets}),
        controls_requested=len(requested),
        controls_in_force=len(in_force),
        claims=_cny(claims.get(number) for number in cases),
        frozen=_cny(a.amount for a in in_force if a.kind is ActionKind.FREEZE),
        deducted=_cny(a.amount for a in deductions),
        deducted_claimed=_cny(a.amount for a in deductions if a.case_number in claimed),
        lapsed=len(lapsed),
        lapsed_amount=_cny(a.amount for a in lapsed if a.kind is ActionKind.FREEZE),
        renewals=len(renewals),
        renewals_on_time=sum(1 for r in renewals if on_time(r)),
    )


def _first_enforcement(number: str) -> bool:
    try:
        return parse_case_number(number).case_type == "执"
    except InvalidInput:
        return False


def _official(
    closures: Sequence[Closure],
    actions: Sequence[ControlAction],
    claims: dict[str, Money],
    courts: dict[str, str | None],
    operators: dict[str, set[str | None]],
    court: str | None,
    operator: str | None,
    since: datetime | None,
    until: datetime | None,
) -> OfficialIndicators:
    chosen = [
        c
        for c in closures
        if _day_within(c.closed_on, since, until)
        and (court is None or (c.court or courts.get(c.case_number)) == court)
        and (operator is None or operator in operators.get(c.case_number, ()))
    ]
    deducted: dict[str, int] = defaultdict(int)
    for a in actions:
        if a.kind is ActionKind.DEDUCT and a.state is ActionState.COMPLETED and a.amount:
            deducted[a.case_number] += a.amount.fen
    applied = recovered = without = 0
    for closure in chosen:
        amount = closure.applied or claims.get(closure.case_number)
        if amount is None:
            without += 1
            continue
        applied += amount.fen
        recovered += deducted[closure.case_number] + closure.recovered_outside.fen
    first = [c for c in chosen if _first_enforcement(c.case_number)]
    return OfficialIndicators(
        closed=len(chosen),
        completed=sum(1 for c in chosen if c.manner == ClosureManner.COMPLETED),
        first_closed=len(first),
        first_terminated=sum(1 for c in first if c.manner == ClosureManner.TERMINATED_THIS_ROUND),
        applied=Money.from_fen(applied),
        recovered=Money.from_fen(recovered),
        without_amount=without,
    )


def court_figures(
    *,
    lookups: Sequence[LookupFacts],
    actions: Sequence[ControlAction],
    clocks: Sequence[Clock],
    closures: Sequence[Closure] | None,
    rules: RulePack,
    now: datetime,
    since: datetime | None = None,
    until: datetime | None = None,
    court: str | None = None,
    operator: str | None = None,
) -> CourtFigures:
    """Every figure of the period [since, until), for ``court`` and ``operator`` if given.

    ``lookups`` are every stored lookup (the claims of cases come from them, whenever they
    were made); ``clocks`` those started in the period, each counted for the court and
    operator of the lookup or action it times; ``closures`` None if none were imported (the
    official indicators are then left out).
    """
    claims = _claims(lookups)
    courts: dict[str, str | None] = {}
    operators: dict[str, set[str | None]] = defaultdict(set)
    timed: dict[tuple[str, str], tuple[str | None, str | None]] = {}
    for facts in lookups:
        courts.setdefault(facts.case_number, facts.court)
        operators[facts.case_number].add(facts.operator)
        if facts.lookup_id is not None:
            timed["inquiry", facts.lookup_id] = (facts.court, facts.operator)
    for action in actions:
        courts.setdefault(action.case_number, action.court)
        operators[action.case_number].add(action.requested_by)
        timed["action", str(action.id)] = (action.court, action.requested_by)
    targets = {a.id: a for a in actions}
    controls_by_case: dict[str, list[ControlAction]] = defaultdict(list)
    for action in actions:
        if action.kind.is_control:
            controls_by_case[action.case_number].append(action)

    def wanted(key: tuple[str | None, str | None] | None) -> bool:
        return key is not None and (
            (court is None or key[0] == court) and (operator is None or key[1] == operator)
        )

    lookups_by: dict[tuple[str | None, str | None], list[LookupFacts]] = defaultdict(list)
    for facts in lookups:
        lookups_by[(facts.court, facts.operator)].append(facts)
    actions_by: dict[tuple[str | None, str | None], list[ControlAction]] = defaultdict(list)
    for action in actions:
        actions_by[(action.court, action.requested_by)].append(action)
    keys = sorted(
        (k for k in set(lookups_by) | set(actions_by) if wanted(k)),
        key=lambda k: (k[0] or "", k[1] or ""),
    )
    end = until if until is not None and until < now else now

    def figures_of(
        key: tuple[str | None, str | None],
        chosen_lookups: Sequence[LookupFacts],
        chosen_actions: Sequence[ControlAction],
    ) -> GroupFigures:
        return _group(
            key,
            chosen_lookups,
            chosen_actions,
            controls_by_case,
            targets,
            claims,
            rules,
            since,
            until,
            end,
        )

    groups = [figures_of(k, lookups_by[k], actions_by[k]) for k in keys]
    groups = [g for g in groups if g.cases]
    total = figures_of(
        (court, operator),
        [f for k in keys for f in lookups_by[k]],
        [a for k in keys for a in actions_by[k]],
    )
    if court is not None or operator is not None:
        clocks = [c for c in clocks if wanted(timed.get((c.subject, c.reference)))]
    report = performance_report(clocks, since=since, until=until, now=now)
    official = None
    if closures:
        official = _official(
            closures, actions, claims, courts, operators, court, operator, since, until
        )
    return CourtFigures(
        since=since,
        until=until,
        generated_at=now,
        institutions=report.stats,
        groups=tuple(groups),
        total=total,
        official=official,
        court=court,
        operator=operator,
    )
