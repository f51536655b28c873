"""What a lookup leaves in the store: one SLA clock per institution asked, and audit events.

Built from the finished report alone, so the fan-out writes them in one go after the
institutions have answered (``Store.record_lookup``), never while a request is in flight.
Audit events say who asked what about whom, and what each institution answered in counts
and statuses: never the contents of an answer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from .._config import InstitutionSettings
from .._models import Case, InstitutionResult, LookupReport, Party, ResultStatus
from ..rules import Deadline, SlaRule
from ..store import AuditEvent, ClockOutcome, NewClock

__all__ = ["answer_event", "answered", "inquiry_clocks", "inquiry_events", "refusal_event"]

#: when a request to an institution falls due: ``(institution, operation, started_at)``
DueTime = Callable[[InstitutionSettings, str, datetime], "tuple[SlaRule, Deadline] | None"]


def answered(status: ResultStatus) -> bool:
    """An answer that stops the institution's clock: assets, none, or a refusal."""
    return status.answered or status is ResultStatus.REJECTED


def inquiry_clocks(
    report: LookupReport,
    institution: Callable[[str], InstitutionSettings],
    due_time: DueTime,
) -> list[NewClock]:
    """One SLA clock per institution asked: stopped if it answered, running if pending."""
    clocks = []
    for result in report.results:
        if result.status is ResultStatus.SKIPPED:
            continue
        due = due_time(institution(result.institution), "inquiry", result.started_at)
        stopped = answered(result.status)
        if result.status is ResultStatus.PENDING:
            outcome = ClockOutcome.OPEN
        elif not stopped:
            outcome = ClockOutcome.FAILED
        else:
            outcome = ClockOutcome.BREACHED if result.sla_met is False else ClockOutcome.MET
        clocks.append(
            NewClock(
                subject="inquiry",
                operation="inquiry",
                institution=result.institution,
                institution_name=result.name,
                case_number=report.case.number,
                reference=report.lookup_id,
                ticket=result.ticket,
                started_at=result.started_at,
                due_at=due[1].due_at if due else None,
                provisional=due[1].provisional if due else False,
                rule=str(due[0]) if due else None,
                answered_at=result.finished_at if stopped else None,
                outcome=outcome,
            )
        )
    return clocks


def inquiry_events(report: LookupReport) -> list[AuditEvent]:
    """The inquiry and each institution's answer: statuses and counts, never contents."""
    party = report.party.masked
    events = [
        AuditEvent(
            event="inquiry.sent",
            actor=report.case.operator,
            case_number=report.case.number,
            party=party,
            subject=f"lookup:{report.lookup_id}",
            detail={"court": report.case.court, "institutions": len(report.results)},
        )
    ]
    events.extend(answer_event(report, result, party) for result in report.results)
    return events


def answer_event(
    report: LookupReport, result: InstitutionResult, party: str, **more: object
) -> AuditEvent:
    """One institution's answer to the lookup: its status and counts, never contents.
    ``party`` is the report's party, masked (made once per report by the caller)."""
    detail: dict[str, object] = {
        "status": result.status.value,
        "assets": len(result.assets),
        "attempts": result.attempts,
        **more,
    }
    if result.error is not None:
        detail["error"] = result.error.code
    return AuditEvent(
        event="inquiry.answer",
        actor=result.institution,
        case_number=report.case.number,
        party=party,
        institution=result.institution,
        subject=f"lookup:{report.lookup_id}",
        detail=detail,
    )


def refusal_event(party: Party, case: Case, reason: str) -> AuditEvent:
    """An inquiry the purpose-binding rules stopped before it went out."""
    return AuditEvent(
        event="inquiry.refused",
        actor=(case.operator or "").strip() or "(no operator)",
        case_number=case.number,
        party=party.masked,
        detail={"reason": reason},
    )
