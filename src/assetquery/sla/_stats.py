"""How institutions did against their deadlines.

When a request falls due is ``assetquery.rules.SlaPolicy``'s to say. Every inquiry and
control action gets a clock in the store (``assetquery.store``); this module turns clocks
into the figures a court needs: turnaround percentiles, breach rates, trends, and the list
of breached items to attach to a judicial recommendation.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

from .._time import local_date, utc_now
from ..store import Clock, ClockOutcome
from ._model import BreachItem, OperationStats, PerformanceReport, TrendPoint

__all__ = ["performance_report"]

_HOUR = 3600.0


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
        met=len(answered) - breaches,
        median_hours=_percentile(turnarounds, 0.5),
        p90_hours=_percentile(turnarounds, 0.9),
        p95_hours=_percentile(turnarounds, 0.95),
        breaches=breaches,
        breach_rate=breaches / len(answered) if answered else None,
        open_overdue=sum(
            1
            for c in clocks
            if c.outcome is ClockOutcome.OVERDUE
            or (c.outcome is ClockOutcome.OPEN and c.due_at is not None and c.due_at < now)
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
        late = c.outcome in (ClockOutcome.BREACHED, ClockOutcome.OVERDUE) or (
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
