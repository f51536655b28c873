"""Late answers: what a report's pending results need, and what collecting them leaves.

Pure decisions on finished reports, for whoever collects the answers (the worker, or
``reports refresh``): which pending results are past their deadline plus the grace and are
no longer waited for, and, once a report has been refreshed, which SLA clocks its new
answers stop and what goes into the audit trail.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from .._models import ErrorInfo, InstitutionResult, LookupReport, ResultStatus
from ..store import AuditEvent, ClockClose
from ._records import answer_event, answered
from ._report import with_results

__all__ = ["OVERDUE", "collected", "give_up_overdue", "still_waiting", "waits_on"]

#: ``ErrorInfo.code`` of a pending result given up on: no answer by the deadline plus grace
OVERDUE = "overdue"


def waits_on(result: InstitutionResult) -> bool:
    """The result is an answer still to collect: pending, with a ticket to collect it by."""
    return result.status is ResultStatus.PENDING and result.ticket is not None


def give_up_overdue(report: LookupReport, now: datetime, grace: timedelta) -> LookupReport:
    """``report`` with every pending result past its SLA deadline plus ``grace`` marked
    overdue (a timeout, ticket kept for the record); the same report if there is none.

    A result without a deadline counts from when it was asked.
    """
    results = []
    changed = False
    for result in report.results:
        limit = (result.sla_due or result.started_at) + grace
        if waits_on(result) and now >= limit:
            changed = True
            hours = grace.total_seconds() / 3600
            result = result.model_copy(
                update={
                    "status": ResultStatus.TIMEOUT,
                    "finished_at": now,
                    "poll_at": None,
                    "error": ErrorInfo(
                        code=OVERDUE,
                        message=f"{result.name} gave no answer by its deadline plus "
                        f"{hours:g} h of grace; no longer waited for",
                        retryable=False,
                    ),
                }
            )
        results.append(result)
    return with_results(report, results, now) if changed else report


def still_waiting(
    before: LookupReport, after: LookupReport, now: datetime, wait: timedelta
) -> LookupReport:
    """``after``, with every answer that was pending in ``before`` and whose poll failed
    in a way worth asking again (the institution busy or unreachable) kept pending, to be
    asked again ``wait`` from ``now``: a passing outage never loses a ticket."""
    waiting = {r.institution: r for r in before.results if waits_on(r)}
    results = []
    changed = False
    for result in after.results:
        earlier = waiting.get(result.institution)
        if (
            earlier is not None
            and result.status in (ResultStatus.FAILED, ResultStatus.TIMEOUT)
            and result.error is not None
            and result.error.retryable
        ):
            changed = True
            result = earlier.model_copy(update={"poll_at": now + wait})
        results.append(result)
    return with_results(after, results, after.finished_at) if changed else after


def collected(
    before: LookupReport, after: LookupReport
) -> tuple[list[ClockClose], list[AuditEvent]]:
    """The clocks that stop and the audit entries for each result that was pending in
    ``before`` and is settled in ``after``: answered, failed, or given up as overdue."""
    closes = []
    events = []
    was_pending = {r.institution for r in before.results if waits_on(r)}
    for result in after.results:
        if result.institution not in was_pending or result.status is ResultStatus.PENDING:
            continue
        overdue = result.error is not None and result.error.code == OVERDUE
        stopped = answered(result.status)
        closes.append(
            ClockClose(
                reference=after.lookup_id,
                institution=result.institution,
                answered_at=(result.finished_at or after.finished_at) if stopped else None,
                failed=not stopped and not overdue,
            )
        )
        events.append(answer_event(after, result, after.party.masked, late=True))
    return closes, events
