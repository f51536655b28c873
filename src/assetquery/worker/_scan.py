"""The scans: for the whole court, everything that should be running is.

Two scheduled workflows, each firing once per tick however many workers share the engine.
Every ten seconds, every submitted job gets its workflow and every stored report whose
pending answers are due is claimed and queued; once a minute, every pending control action
gets its follow-up (which then sleeps between questions on its own). Each start is
idempotent by name or by claim, so a scan repeated after a crash starts nothing twice. A
worker also runs both as it starts, so nothing waits for the first tick.
"""

from __future__ import annotations

from datetime import datetime

from dbos import DBOS

from .._time import utc_now
from ._answers import start_due_answers
from ._follow import start_follow_ups
from ._jobs import start_unfinished_jobs

__all__ = ["FOLLOW_SCAN", "SCAN", "follow_scan", "scan", "scan_now"]

#: the schedules' names in the engine
SCAN = "assetquery.scan"
FOLLOW_SCAN = "assetquery.follow-up-scan"


@DBOS.workflow(name="assetquery.scan")
async def scan(scheduled_at: datetime, context: object) -> None:
    """Jobs nobody runs yet, and late answers due a poll."""
    await start_unfinished_jobs()
    await start_due_answers(f"{scheduled_at:%Y%m%dT%H%M%S%f}")


@DBOS.workflow(name="assetquery.follow-up-scan")
async def follow_scan(scheduled_at: datetime, context: object) -> None:
    """Pending control actions nobody follows yet."""
    await start_follow_ups()


async def scan_now() -> None:
    """Run both scans at once (as a worker starts)."""
    now = utc_now()
    await DBOS.start_workflow_async(scan, now, None)
    await DBOS.start_workflow_async(follow_scan, now, None)
