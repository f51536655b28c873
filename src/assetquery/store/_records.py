"""The store's plain records: what goes into the audit trail and the SLA clocks.

Kept apart from the tables and queries so that code which only builds these records (the
dispatcher, the SLA policy) can be imported without loading SQLAlchemy: a process that never
opens a store does not pay for it, in import time or in the objects every full garbage
collection walks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._models import LookupReport

__all__ = ["AuditEvent", "Clock", "ClockClose", "ClockOutcome", "LookupRecord", "NewClock"]


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """Something to record. ``party`` is masked; ``detail`` holds no personal data."""

    event: str
    actor: str
    case_number: str | None = None
    party: str | None = None
    institution: str | None = None
    subject: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


class ClockOutcome(StrEnum):
    OPEN = "open"  # not answered yet
    MET = "met"  # answered by the due time (or no due time was set)
    BREACHED = "breached"  # answered after the due time
    FAILED = "failed"  # the request failed without an answer; not a turnaround
    OVERDUE = "overdue"  # no answer by the due time plus the grace; no longer waited for


@dataclass(frozen=True, slots=True)
class NewClock:
    subject: str  # "inquiry" or "action"
    operation: str
    institution: str
    institution_name: str
    case_number: str
    reference: str
    started_at: datetime
    due_at: datetime | None
    provisional: bool
    rule: str | None
    ticket: str | None = None
    answered_at: datetime | None = None
    outcome: ClockOutcome = ClockOutcome.OPEN


@dataclass(frozen=True, slots=True)
class Clock(NewClock):
    id: int = 0

    @property
    def delay_seconds(self) -> float | None:
        """Answered minus due (positive: late); None while open or without a due time."""
        if self.due_at is None or self.answered_at is None:
            return None
        return (self.answered_at - self.due_at).total_seconds()


@dataclass(frozen=True, slots=True)
class ClockClose:
    """An inquiry's clock to stop: answered at ``answered_at``, failed, or (neither) overdue."""

    reference: str
    institution: str
    answered_at: datetime | None
    failed: bool = False


@dataclass(frozen=True, slots=True)
class LookupRecord:
    """What one lookup leaves in the store: its clocks, its audit events (stamped ``at``)
    and, for the case file, its report (``collect``: the worker collects its pending
    answers)."""

    clocks: Sequence[NewClock]
    events: Sequence[AuditEvent]
    at: datetime
    report: LookupReport | None = None
    collect: bool = True
