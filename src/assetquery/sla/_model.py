"""The SLA figures a report is made of: per-institution statistics, trends, breached items.

Plain frozen dataclasses, computed by ``assetquery.sla._stats`` from the clocks in the store and
rendered as a table, CSV, JSON or one self-contained HTML page. Durations are hours (floats,
for charts and percentiles); times are timezone-aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

__all__ = ["BreachItem", "OperationStats", "PerformanceReport", "TrendPoint"]


@dataclass(frozen=True, slots=True)
class OperationStats:
    """How one institution performed one operation (inquiry, freeze, …) in the period."""

    institution: str
    institution_name: str
    operation: str
    deadline: str  # the rule as people say it: "24 h", "1 working day", "1 month"
    deadline_hours: float | None  # a fixed length to draw as a line; None for working days
    count: int  # requests started in the period
    answered: int  # of which answered (met or breached)
    met: int  # of which answered by the due time (及时反馈)
    median_hours: float | None
    p90_hours: float | None
    p95_hours: float | None
    breaches: int
    breach_rate: float | None  # breaches / answered; None when nothing was answered
    open_overdue: int  # unanswered past due: still waited for, or given up as overdue
    failed: int  # requests that failed without an answer (not counted as breaches)
    provisional: int  # deadlines computed without an announced holiday schedule
    turnarounds: tuple[float, ...]  # every answered turnaround, hours, ascending
    overruns: tuple[float, ...]  # hours past due per answered item (negative: early)

    @property
    def feedback_rate(self) -> float | None:
        """反馈率: answered ÷ requests; None without requests."""
        return self.answered / self.count if self.count else None

    @property
    def timely_rate(self) -> float | None:
        """及时反馈率: answered by the due time ÷ requests; None without requests."""
        return self.met / self.count if self.count else None


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One period (week or month) of one institution's operation."""

    institution: str
    operation: str
    period_start: date
    answered: int
    breaches: int
    breach_rate: float | None
    median_hours: float | None


@dataclass(frozen=True, slots=True)
class BreachItem:
    """One request answered late, or still unanswered past its due time: the evidence."""

    institution: str
    institution_name: str
    operation: str
    case_number: str
    reference: str  # the lookup id or the control action id
    requested_at: datetime
    due_at: datetime
    answered_at: datetime | None  # None: still owed
    delay_hours: float  # answered (or now) minus due
    provisional: bool


@dataclass(frozen=True, slots=True)
class PerformanceReport:
    """Institution performance over a period, as the court's management reads it."""

    generated_at: datetime
    since: datetime | None
    until: datetime | None
    bucket: str  # "week" or "month"
    stats: tuple[OperationStats, ...]
    trend: tuple[TrendPoint, ...]
    breaches: tuple[BreachItem, ...]  # most delayed first

    @property
    def provisional(self) -> bool:
        """Some deadline was computed without an announced holiday schedule."""
        return any(s.provisional for s in self.stats) or any(b.provisional for b in self.breaches)
