"""What a lookup leaves in the store: one SLA clock per institution asked, audit events, and
the report itself (for the case file).

Built from the finished report alone, so the fan-out writes them in one go after the
institutions have answered, never while a request is in flight. ``GroupCommit`` writes the
records of lookups that finish together in one transaction (``Store.record_lookups``).
Audit events say who asked what about whom, and what each institution answered in counts
and statuses: never the contents of an answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from typing import Generic, TypeVar

from .._config import InstitutionSettings
from .._models import Case, InstitutionResult, LookupReport, Party, ResultStatus
from ..rules import Deadline, SlaRule
from ..store import AuditEvent, ClockOutcome, NewClock

__all__ = [
    "GroupCommit",
    "answer_event",
    "answered",
    "inquiry_clocks",
    "inquiry_events",
    "refusal_event",
]

#: when a request to an institution falls due: ``(institution, operation, started_at)``
DueTime = Callable[[InstitutionSettings, str, datetime], "tuple[SlaRule, Deadline] | None"]


#: the statuses that stop an institution's clock, as strings (see ResultStatus.answered)
_CLOCK_STOPPING = ("ok", "not_found", "rejected")


def answered(status: ResultStatus) -> bool:
    """An answer that stops the institution's clock: assets, none, or a refusal."""
    return status in _CLOCK_STOPPING


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


T = TypeVar("T")


class GroupCommit(Generic[T]):
    """Items written many to a transaction: while one batch is being written (in a thread),
    the items that arrive wait and go together in the next one.

    Nothing waits on a timer: a lone lookup is written at once (one turn of the event loop
    later, so that those finishing in the same turn join it), and lookups that finish
    while the store is busy share the next commit. ``write`` returns once its item is
    committed (or raises what the commit raised). A writer cancelled meanwhile leaves its
    batch to finish: the others' items are in it.
    """

    def __init__(self, commit: Callable[[Sequence[T]], None], *, limit: int = 500) -> None:
        self._commit = commit
        self._limit = limit
        self._queue: list[tuple[T, asyncio.Future[None]]] = []
        self._committing: asyncio.Future[None] | None = None  # the batch being written

    async def write(self, item: T) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # Retrieved even if nobody is left to await it (its writer was cancelled).
        future.add_done_callback(_retrieved)
        self._queue.append((item, future))
        while not future.done():
            if self._committing is None:
                # Lookups that finish in the same turn of the loop join this commit.
                await asyncio.sleep(0)
            committing = self._committing or self._start()
            # The batch goes on if this writer is cancelled: others' items are in it.
            await asyncio.wait([committing])
        return future.result()

    def _start(self) -> asyncio.Future[None]:
        batch, self._queue = self._queue[: self._limit], self._queue[self._limit :]
        items = [item for item, _ in batch]
        task = self._committing = asyncio.ensure_future(asyncio.to_thread(self._commit, items))
        task.add_done_callback(partial(self._settle, batch))
        return task

    def _settle(
        self, batch: list[tuple[T, asyncio.Future[None]]], task: asyncio.Future[None]
    ) -> None:
        self._committing = None
        error = asyncio.CancelledError() if task.cancelled() else task.exception()
        for _, future in batch:
            if future.done():
                continue
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)


def _retrieved(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()
