"""Institution deadlines: SLA rules, the working-day calendar, clocks and performance reports.

See ``docs/sla.md``. Lookups and control actions record their clocks in the store when the
dispatcher (and the ledger) are given one; ``performance`` and ``overdue`` read them.
``evidence_pack`` gathers the evidence of a judicial recommendation to one institution, and
``write_evidence_pack`` writes its draft letter, annex spreadsheet and PDF.
"""

from __future__ import annotations

from datetime import datetime

from .._time import utc_now
from ..rules import SlaPolicy
from ..rules._calendar import (
    Deadline,
    WorkingCalendar,
    YearSchedule,
    default_calendar,
    load_schedule,
    load_schedules,
)
from ..rules._pack import SLA_OPERATIONS, SlaKind, SlaRule
from ..store import Clock, ClockOutcome, Store
from ._html import render_html
from ._letter import EvidenceFiles, render_letter, write_evidence_pack
from ._model import BreachItem, OperationStats, PerformanceReport, TrendPoint
from ._pdf import PrintError, find_chromium, print_pdf
from ._recommend import (
    AnnexRow,
    EvidencePack,
    FailureReasons,
    NothingToRecommend,
    Peer,
    PeerRank,
    Ranking,
    annex_csv,
    build_evidence_pack,
    evidence_pack,
)
from ._stats import performance_report

__all__ = [
    "SLA_OPERATIONS",
    "AnnexRow",
    "BreachItem",
    "Clock",
    "ClockOutcome",
    "Deadline",
    "EvidenceFiles",
    "EvidencePack",
    "FailureReasons",
    "NothingToRecommend",
    "OperationStats",
    "Peer",
    "PeerRank",
    "PerformanceReport",
    "PrintError",
    "Ranking",
    "SlaKind",
    "SlaPolicy",
    "SlaRule",
    "TrendPoint",
    "WorkingCalendar",
    "YearSchedule",
    "annex_csv",
    "build_evidence_pack",
    "default_calendar",
    "evidence_pack",
    "find_chromium",
    "load_schedule",
    "load_schedules",
    "overdue",
    "performance",
    "print_pdf",
    "render_html",
    "render_letter",
    "write_evidence_pack",
]


def performance(
    store: Store,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    by: str = "week",
    now: datetime | None = None,
) -> PerformanceReport:
    """Institution performance for requests started in [since, until), trend by week/month."""
    clocks = store.clocks.find(since=since, until=until)
    return performance_report(clocks, since=since, until=until, by=by, now=now)


def overdue(store: Store, *, now: datetime | None = None) -> list[Clock]:
    """Every request still unanswered past its due time, most overdue first."""
    return store.clocks.overdue(now or utc_now())
