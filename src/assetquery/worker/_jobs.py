"""Jobs: a submitted batch looked up by whichever workers are running, chunk by chunk.

``jobs submit`` stores the job and its parties, then hands the engine one workflow for it
(``assetquery.job.<id>``, on the jobs queue). That workflow puts one unit per chunk on the
work queue (``assetquery.job.<id>.<n>``) and waits for them all. A chunk is one step: its
parties' fan-out through the dispatcher, reports written as they come, a hundred at a time,
each in the same transaction as its SLA clocks and audit entries.

A chunk run again after a crash looks up only its parties still without a report, so
every party's report is stored exactly once. Inquiries asked twice are harmless; control
actions never go through here. A cancelled job's chunks stop at their next write.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dbos import DBOS, DBOSClient, SetEnqueueOptions, SetWorkflowID

from .._logging import get_logger
from .._lookup._records import inquiry_clocks, inquiry_events, refusal_event
from .._models import LookupReport
from .._time import utc_now
from ..store import AuditEvent, NewClock, StoredLookup
from ._context import current, dispatcher_for, step, store_for
from ._engine import APP_NAME, system_database_url
from ._queues import JOBS, WORK, queue

__all__ = ["enqueue_job", "job_workflow_id", "run_chunk", "run_job", "start_unfinished_jobs"]

log = get_logger("assetquery.worker")

#: a job's chunks wait behind every other unit of work (late answers, follow-ups, the
#: sweep's sync: the engine's default priority, 0, goes first), so that a big job never
#: holds up an answer that is due
CHUNK_PRIORITY = 10

#: reports written per transaction, and the longest a finished report waits to be written
FLUSH_EVERY = 100
FLUSH_SECONDS = 2.0

Looked = tuple[int, LookupReport, Sequence[NewClock], Sequence[AuditEvent]]


def job_workflow_id(job_id: str) -> str:
    return f"assetquery.job.{job_id}"


@step("assetquery.job.chunks")
async def count_chunks(job_id: str) -> int:
    store = store_for(current().store_url)
    return (await asyncio.to_thread(store.jobs.get, job_id)).chunks


@step("assetquery.job.finish")
async def finish_job(job_id: str) -> str:
    store = store_for(current().store_url)
    await asyncio.to_thread(store.jobs.finish, job_id, at=utc_now())
    job = await asyncio.to_thread(store.jobs.get, job_id)
    log.info("job finished", job_id=job_id, state=job.state, parties=job.parties)
    return job.state


@DBOS.workflow(name="assetquery.job")
async def run_job(job_id: str) -> str:
    """The job: every chunk on the work queue, then the job marked finished."""
    work = await queue(WORK)
    handles = []
    for chunk in range(await count_chunks(job_id)):
        with (
            SetWorkflowID(f"{job_workflow_id(job_id)}.{chunk}"),
            SetEnqueueOptions(priority=CHUNK_PRIORITY),
        ):
            handles.append(await work.enqueue_async(run_chunk, job_id, chunk))
    for handle in handles:
        await handle.get_result()
    return await finish_job(job_id)


@DBOS.workflow(name="assetquery.job.chunk")
async def run_chunk(job_id: str, chunk: int) -> int:
    return await lookup_chunk(job_id, chunk)


@step("assetquery.job.chunk.lookup")
async def lookup_chunk(job_id: str, chunk: int) -> int:
    """Look up the chunk's parties still without a report; how many were written."""
    context = current()
    store = store_for(context.store_url)
    if await asyncio.to_thread(store.jobs.cancelled, job_id):
        return 0
    rows = await asyncio.to_thread(store.jobs.waiting, job_id, chunk)
    if not rows:
        return 0
    written = 0
    async with dispatcher_for(context) as dispatcher:
        allowed: dict[str | None, StoredLookup] = {}
        for row in rows:
            reason = dispatcher.refusal(row.request.case)
            if reason is None:
                allowed[row.request.reference] = row
                continue
            event = refusal_event(row.request.party, row.request.case, reason)
            await asyncio.to_thread(store.jobs.refuse, row.id, reason, event, at=utc_now())
        buffer: list[Looked] = []
        flushed = time.monotonic()
        requests = [row.request for row in allowed.values()]
        async for report in dispatcher.lookup_many(requests):
            row = allowed[report.reference]
            clocks = inquiry_clocks(report, dispatcher.institution, dispatcher.sla.due)
            buffer.append((row.id, report, clocks, inquiry_events(report)))
            if len(buffer) >= FLUSH_EVERY or time.monotonic() - flushed >= FLUSH_SECONDS:
                written += await asyncio.to_thread(store.jobs.record, buffer, at=utc_now())
                buffer = []
                flushed = time.monotonic()
                if await asyncio.to_thread(store.jobs.cancelled, job_id):
                    log.info("job cancelled: chunk stopped", job_id=job_id, chunk=chunk)
                    return written
        if buffer:
            written += await asyncio.to_thread(store.jobs.record, buffer, at=utc_now())
    log.info("chunk done", job_id=job_id, chunk=chunk, written=written)
    return written


@step("assetquery.jobs.unfinished")
async def unfinished_jobs() -> list[str]:
    store = store_for(current().store_url)
    return [job.id for job in await asyncio.to_thread(store.jobs.find, unfinished=True)]


async def start_unfinished_jobs() -> None:
    """Hand the engine every job that has no workflow yet (its id makes this idempotent)."""
    jobs = await queue(JOBS)
    for job_id in await unfinished_jobs():
        with SetWorkflowID(job_workflow_id(job_id)):
            await jobs.enqueue_async(run_job, job_id)


def enqueue_job(store_url: str, job_id: str) -> bool:
    """Hand a stored job to the engine from outside a worker (``jobs submit``).

    False if the engine has never run on this store (no worker started yet): the first
    worker to start picks the job up from the store.
    """
    url = system_database_url(store_url)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return False
    try:
        client = DBOSClient(system_database_url=url, application_name=APP_NAME)
    except Exception as exc:  # the engine's tables are not there, or the database is down
        log.warning("job left for the next worker", job_id=job_id, error=type(exc).__name__)
        return False
    try:
        options: Any = {
            "workflow_name": "assetquery.job",
            "queue_name": JOBS,
            "workflow_id": job_workflow_id(job_id),
        }
        client.enqueue(options, job_id)
    except Exception as exc:
        log.warning("job left for the next worker", job_id=job_id, error=type(exc).__name__)
        return False
    finally:
        client.destroy()
    return True
