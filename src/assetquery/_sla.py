"""Institution deadlines: which rule applies, when a request falls due, how institutions did.

Three kinds of deadline are kept apart (see :class:`~assetquery._rules.SlaKind`): hours run
on the clock; working days follow the Chinese working-day calendar (make-up workdays
included; provisional beyond the years with an announced schedule); calendar periods end as
Civil Procedure Law art. 85 says, moved to the next working day when they end on a rest day.

Every inquiry and control action gets a clock in the store (:mod:`assetquery.store`); this
module turns clocks into the figures a court needs: turnaround percentiles, breach rates,
trends, and the list of breached items to attach to a judicial recommendation.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

from ._calendar import Deadline, WorkingCalendar
from ._config import InstitutionSettings, Settings
from ._rules import RulePack, SlaKind, SlaRule, load_rule_pack
from ._sla_model import BreachItem, OperationStats, PerformanceReport, TrendPoint
from ._time import end_of_local_day, local_date, utc_now
from .store import Clock, ClockOutcome

__all__ = ["SlaPolicy", "performance_report"]

_HOUR = 3600.0


class SlaPolicy:
    """Which deadline applies to a request, and when it falls due."""

    def __init__(self, pack: RulePack, calendar: WorkingCalendar) -> None:
        self.pack = pack
        self.calendar = calendar
        # A working-day deadline depends only on the day of the request: every lookup of a
        # batch asks for the same few, so they are worked out once.
        self._working_day_deadlines: dict[tuple[int, date], Deadline] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> SlaPolicy:
        """The rule pack and the announced holiday schedules the configuration names."""
        return cls(load_rule_pack(settings.rules), WorkingCalendar.from_paths(settings.calendar))

    def rule(self, institution: InstitutionSettings, operation: str) -> SlaRule | None:
        """The institution's own rule, else the rule pack's default for its type, else none."""
        own = institution.sla.get(operation)
        if own is not None:
            return own
        return self.pack.sla.get(institution.adapter, {}).get(operation)

    def deadline(self, rule: SlaRule, started_at: datetime) -> Deadline:
        """When a request made at ``started_at`` under ``rule`` falls due."""
        if rule.kind is SlaKind.HOURS:
            assert rule.hours is not None
            return Deadline(started_at + timedelta(hours=rule.hours), provisional=False)
        if rule.kind is SlaKind.WORKING_DAYS:
            assert rule.working_days is not None
            key = (rule.working_days, local_date(started_at))
            deadline = self._working_day_deadlines.get(key)
            if deadline is None:
                if len(self._working_day_deadlines) > 4096:
                    self._working_day_deadlines.clear()
                deadline = self.calendar.add_working_days(started_at, rule.working_days)
                self._working_day_deadlines[key] = deadline
            return deadline
        assert rule.period is not None
        # art. 85: the period ends on its last day, or the next working day after a rest day
        last = rule.period.after(local_date(started_at))
        provisional = self.calendar.is_provisional(last)
        while not self.calendar.is_working_day(last):
            last += timedelta(days=1)
            provisional = provisional or self.calendar.is_provisional(last)
        return Deadline(end_of_local_day(last), provisional=provisional)

    def due(
        self, institution: InstitutionSettings, operation: str, started_at: datetime
    ) -> tuple[SlaRule, Deadline] | None:
        rule = self.rule(institution, operation)
        return None if rule is None else (rule, self.deadline(rule, started_at))


# --- performance over a period ----------------------------------------------------------------


def _percentile(ordered: Sequence[float], fraction: float) -> float | None:
    """Linear interpolation between the closest ranks (the usual spreadsheet definition)."""
    if not ordered:
        return None
    if len(ordered) == 1:
        return ordered[0]
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / _HOUR


def _bucket(moment: datetime, by: str) -> date:
    day = local_date(moment)
    if by == "month":
        return day.replace(day=1)
    return day - timedelta(days=day.weekday())  # the Monday of its week


_HOURS_RULE = re.compile(r"^(\d+(?:\.\d+)?) h$")


def _fixed_deadline(rule: str | None) -> float | None:
    """The deadline in hours for an hours rule ("24 h"); working days and periods vary."""
    match = _HOURS_RULE.match(rule or "")
    return float(match.group(1)) if match else None


def _stats(
    institution: str, operation: str, clocks: Sequence[Clock], now: datetime
) -> OperationStats:
    answered = [c for c in clocks if c.outcome in (ClockOutcome.MET, ClockOutcome.BREACHED)]
    turnarounds = sorted(
        _hours(c.answered_at - c.started_at) for c in answered if c.answered_at is not None
    )
    overruns = sorted(
        _hours(c.answered_at - c.due_at)
        for c in answered
        if c.answered_at is not None and c.due_at is not None
    )
    breaches = sum(1 for c in answered if c.outcome is ClockOutcome.BREACHED)
    rules = Counter(c.rule for c in clocks if c.rule)
    rule = rules.most_common(1)[0][0] if rules else None
    return OperationStats(
        institution=institution,
        institution_name=clocks[-1].institution_name,
        operation=operation,
        deadline=rule or "none",
        deadline_hours=_fixed_deadline(rule),
        count=len(clocks),
        answered=len(answered),
        median_hours=_percentile(turnarounds, 0.5),
        p90_hours=_percentile(turnarounds, 0.9),
        p95_hours=_percentile(turnarounds, 0.95),
        breaches=breaches,
        breach_rate=breaches / len(answered) if answered else None,
        open_overdue=sum(
            1
            for c in clocks
            if c.outcome is ClockOutcome.OPEN and c.due_at is not None and c.due_at < now
        ),
        failed=sum(1 for c in clocks if c.outcome is ClockOutcome.FAILED),
        provisional=sum(1 for c in clocks if c.provisional),
        turnarounds=tuple(turnarounds),
        overruns=tuple(overruns),
    )


def _trend(institution: str, operation: str, clocks: Sequence[Clock], by: str) -> list[TrendPoint]:
    periods: dict[date, list[Clock]] = defaultdict(list)
    for clock in clocks:
        if clock.outcome in (ClockOutcome.MET, ClockOutcome.BREACHED):
            periods[_bucket(clock.started_at, by)].append(clock)
    points = []
    for start in sorted(periods):
        group = periods[start]
        breaches = sum(1 for c in group if c.outcome is ClockOutcome.BREACHED)
        turnarounds = sorted(
            _hours(c.answered_at - c.started_at) for c in group if c.answered_at is not None
        )
        points.append(
            TrendPoint(
                institution=institution,
                operation=operation,
                period_start=start,
                answered=len(group),
                breaches=breaches,
                breach_rate=breaches / len(group),
                median_hours=_percentile(turnarounds, 0.5),
            )
        )
    return points


def _breach_items(clocks: Iterable[Clock], now: datetime) -> list[BreachItem]:
    items = []
    for c in clocks:
        if c.due_at is None:
            continue
        late = c.outcome is ClockOutcome.BREACHED or (
            c.outcome is ClockOutcome.OPEN and c.due_at < now
        )
        if not late:
            continue
        until = c.answered_at if c.outcome is ClockOutcome.BREACHED else now
        assert until is not None
        items.append(
            BreachItem(
                institution=c.institution,
                institution_name=c.institution_name,
                operation=c.operation,
                case_number=c.case_number,
                reference=c.reference,
                requested_at=c.started_at,
                due_at=c.due_at,
                answered_at=c.answered_at if c.outcome is ClockOutcome.BREACHED else None,
                delay_hours=_hours(until - c.due_at),
                provisional=c.provisional,
            )
        )
    return sorted(items, key=lambda item: -item.delay_hours)


def performance_report(
    clocks: Sequence[Clock],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    by: str = "week",
    now: datetime | None = None,
) -> PerformanceReport:
    """Turnaround, breaches and trend per institution and operation, from ``clocks``."""
    if by not in ("week", "month"):
        raise ValueError(f"trend by {by!r}: use week or month")
    now = now or utc_now()
    groups: dict[tuple[str, str], list[Clock]] = defaultdict(list)
    for clock in clocks:
        groups[(clock.institution, clock.operation)].append(clock)
    keys = sorted(groups)
    return PerformanceReport(
        generated_at=now,
        since=since,
        until=until,
        bucket=by,
        stats=tuple(_stats(i, o, groups[(i, o)], now) for i, o in keys),
        trend=tuple(p for i, o in keys for p in _trend(i, o, groups[(i, o)], by)),
        breaches=tuple(_breach_items(clocks, now)),
    )
