"""Late answers: every pending institution answer collected when its institution said.

A report whose bank answers tomorrow is stored with the bank's ticket and the time it asked
to be asked again. Every minute the scan *claims* the stored reports whose time has come
(no other worker gets them while the claim lasts) and puts them on the work queue in
batches; a batch asks each institution once per ticket and stores what came back. A result
still pending past its SLA deadline plus the grace (``worker.answer_grace``) is given up
as overdue and its SLA clock closed as such; every other answer stops its clock as it
would have on the day.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from dbos import DBOS, SetWorkflowID

from .._logging import get_logger
from .._lookup._dispatcher import Dispatcher
from .._lookup._late import collected, give_up_overdue, still_waiting, waits_on
from .._models import LookupReport
from .._time import utc_now
from ..store import AuditEvent, ClockClose
from ._context import current, dispatcher_for, step, store_for
from ._notify import Notice, notify
from ._queues import WORK, queue

__all__ = ["LEASE", "collect_answers", "poll_answers", "start_due_answers"]

log = get_logger("assetquery.worker")

#: how long a claim keeps other workers off a batch of reports (then they are due again)
LEASE = timedelta(minutes=10)
#: when to ask again after a poll that failed for a passing reason (busy, unreachable)
RETRY_AFTER = timedelta(minutes=5)
#: reports claimed per scan, at most
CLAIM_LIMIT = 20_000


@step("assetquery.answers.claim")
async def claim_due(batch: int) -> list[list[int]]:
    """Take the reports due a poll now, in batches of ``batch``."""
    store = store_for(current().store_url)
    ids = await asyncio.to_thread(
        store.reports.claim_due, utc_now(), limit=CLAIM_LIMIT, lease=LEASE
    )
    return [ids[start : start + batch] for start in range(0, len(ids), batch)]


async def start_due_answers(tag: str) -> int:
    """Claim the due reports and queue their batches; ``tag`` names this scan's units."""
    groups = await claim_due(current().worker.chunk_size)
    work = await queue(WORK)
    for number, ids in enumerate(groups):
        with SetWorkflowID(f"assetquery.answers.{tag}.{number}"):
            await work.enqueue_async(poll_answers, ids)
    return sum(len(ids) for ids in groups)


@DBOS.workflow(name="assetquery.answers")
async def poll_answers(row_ids: list[int]) -> int:
    collected_now, given_up = await collect_answers(row_ids)
    if given_up:
        # Sent once the answers are checkpointed: a crash may repeat a notice, never lose it.
        await notify(given_up)
    return collected_now


@step("assetquery.answers.collect")
async def collect_answers(row_ids: list[int]) -> tuple[int, list[Notice]]:
    """Ask for the pending answers of these stored reports: how many came in or were
    given up, and a notice per institution given up on."""
    context = current()
    store = store_for(context.store_url)
    rows = await asyncio.to_thread(store.reports.load, row_ids)
    grace = context.answer_grace
    async with dispatcher_for(context) as dispatcher:
        now = utc_now()
        fresh = await asyncio.gather(
            *(_refreshed(dispatcher, row.report, now, grace) for row in rows if row.report)
        )
    updates: list[tuple[int, LookupReport]] = []
    closes: list[ClockClose] = []
    events: list[AuditEvent] = []
    stored = [row for row in rows if row.report]
    for row, report in zip(stored, fresh, strict=True):
        assert row.report is not None
        updates.append((row.id, report))
        stopped, answered = collected(row.report, report)
        closes.extend(stopped)
        events.extend(answered)
    await asyncio.to_thread(store.reports.save, updates, closes, events, at=utc_now())
    if closes:
        log.info("late answers collected", reports=len(updates), answers=len(closes))
    return len(closes), _given_up(closes, updates)


def _given_up(closes: list[ClockClose], updates: list[tuple[int, LookupReport]]) -> list[Notice]:
    """One notice per institution whose answers were given up as overdue."""
    cases = {report.lookup_id: report.case.number for _, report in updates}
    by_institution: dict[str, list[ClockClose]] = {}
    for close in closes:
        if close.answered_at is None and not close.failed:
            by_institution.setdefault(close.institution, []).append(close)
    return [
        Notice(
            event="answer_overdue",
            key="answer_overdue:" + ",".join(sorted(c.reference for c in given)),
            message="answers given up: no answer by the deadline plus the grace",
            institution=institution,
            detail={
                "answers": len(given),
                "cases": sorted({cases[c.reference] for c in given}),
            },
        )
        for institution, given in sorted(by_institution.items())
    ]


async def _refreshed(
    dispatcher: Dispatcher, report: LookupReport, now: datetime, grace: timedelta
) -> LookupReport:
    report = give_up_overdue(report, now, grace)
    if not any(waits_on(r) for r in report.results):
        return report
    fresh = await dispatcher.refresh(report)
    return still_waiting(report, fresh, utc_now(), RETRY_AFTER)
