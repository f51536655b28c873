"""The daily sweep: every open control action followed up, and the renewal radar read.

One scheduled workflow a day (06:00 in Shanghai unless told otherwise), in two coarse steps:
bring every open action up to date with its institution (what ``actions sync`` does: a
control past its end date becomes ``expired``), then list the controls whose period ends
within the window (``--within``, as ``actions due`` takes it) and log a warning for each,
with the last day to apply for renewal. Controls that end
years from now stay in the ledger and are found by a later sweep; no job sleeps for years.

A step runs at least once: if the worker dies after a step's work but before its checkpoint
commits, the recovering worker runs it again. Both steps are safe to repeat: a sync asks
institutions by each action's idempotency key and sends only what they never received.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from dbos import DBOS

from .._errors import ConfigurationError
from .._logging import get_logger
from .._time import utc_now
from ..ledger import OPEN_STATES, ActionLedger
from ._context import current, dispatcher_for, store_for
from ._queues import WORK, queue

__all__ = [
    "SWEEP",
    "SweepReport",
    "daily_sweep",
    "schedule_sweep",
    "sweep_cron",
    "sweep_now",
]

#: the sweep's schedule name in the engine: one per court, whatever the number of workers
SWEEP = "assetquery.daily-sweep"

log = get_logger("assetquery.worker")

_CLOCK = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")


@dataclass(frozen=True, slots=True)
class SweepReport:
    """What a sweep found: open actions asked about, how many changed, how many could not
    be asked (their institution unreachable), and renewals due in the window."""

    synced: int
    changed: int
    unreachable: int
    renewals_due: int


@DBOS.step(name="assetquery.sweep.sync")
async def sync_open_actions() -> tuple[int, int, int]:
    """Every open action asked about once; how many, how many changed, how many unreached."""
    context = current()
    store = store_for(context.store_url)
    asked = len(await asyncio.to_thread(store.find, states=OPEN_STATES))
    async with dispatcher_for(context) as dispatcher:
        changes = await ActionLedger(store, dispatcher).sync()
    unreachable = sum(1 for c in changes if c.note.startswith("could not ask"))
    for change in changes:
        log.info(
            "action followed up",
            action_id=change.action_id,
            kind=change.kind.value,
            before=change.before.value,
            after=change.after.value,
        )
    return asked, len(changes) - unreachable, unreachable


@DBOS.step(name="assetquery.sweep.radar")
async def renewal_radar() -> int:
    """Log a warning for every control whose renewal must be asked for soon."""
    context = current()
    # The radar reads the store only: the dispatcher is never opened.
    ledger = ActionLedger(store_for(context.store_url), dispatcher_for(context))
    due = await ledger.due(timedelta(days=context.within_days))
    for control in due:
        log.warning(
            "renewal due",
            action_id=control.action.id,
            kind=control.action.kind.value,
            case=control.action.case_number,
            institution=control.action.institution,
            expires_on=control.expires_on.isoformat(),
            renew_by=control.renew_by.isoformat(),
            days_left=control.days_left,
        )
    return len(due)


@DBOS.workflow(name="assetquery.sweep")
async def daily_sweep(scheduled_at: datetime, context: object) -> None:
    """The scheduled sweep: follow every open action up, then read the renewal radar."""
    await _sweep(scheduled_at)


@DBOS.workflow(name="assetquery.sweep.now")
async def sweep_on_demand(started_at: datetime) -> SweepReport:
    """The same sweep, asked for now (``worker --once``), with its figures."""
    return await _sweep(started_at)


@DBOS.workflow(name="assetquery.sweep.sync")
async def sync_on_queue() -> tuple[int, int, int]:
    return await sync_open_actions()


async def _sweep(scheduled_at: datetime) -> SweepReport:
    # The sync asks institutions: it takes a slot on the work queue like every such unit.
    handle = await (await queue(WORK)).enqueue_async(sync_on_queue)
    asked, changed, unreachable = await handle.get_result()
    due = await renewal_radar()
    log.info(
        "sweep done",
        scheduled_at=scheduled_at.isoformat(),
        synced=asked,
        changed=changed,
        unreachable=unreachable,
        renewals_due=due,
    )
    return SweepReport(asked, changed, unreachable, due)


async def sweep_now() -> SweepReport:
    """Run a sweep at once (``worker --once``), durably like a scheduled one."""
    # The time is an argument: a workflow replayed after a crash must see the same one.
    handle = await DBOS.start_workflow_async(sweep_on_demand, utc_now())
    return await handle.get_result()


def sweep_cron(at: str) -> str:
    """The engine's cron expression (seconds first) for every day at ``at``, ``HH:MM``."""
    match = _CLOCK.fullmatch(at.strip())
    if match is None:
        raise ConfigurationError(f"--sweep-at {at!r} is not a time of day; write HH:MM, e.g. 06:00")
    return f"0 {int(match.group(2))} {int(match.group(1))} * * *"


def schedule_sweep(cron: str) -> None:
    """Run the sweep on ``cron`` (Shanghai time) and the scans (every ten seconds, every
    minute), replacing earlier schedules of the same names.

    Schedules live in the engine's database, so each fires once for the whole court
    however many workers share it.
    """
    from ._scan import FOLLOW_SCAN, SCAN, follow_scan, scan  # they build on this module

    DBOS.apply_schedules(
        [
            {
                "schedule_name": SWEEP,
                "workflow_fn": daily_sweep,
                "schedule": cron,
                "context": None,
                "cron_timezone": "Asia/Shanghai",
            },
            {
                "schedule_name": SCAN,
                "workflow_fn": scan,
                "schedule": "*/10 * * * * *",
                "context": None,
            },
            {
                "schedule_name": FOLLOW_SCAN,
                "workflow_fn": follow_scan,
                "schedule": "0 * * * * *",
                "context": None,
            },
        ]
    )
