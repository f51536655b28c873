"""The daily sweep: every open control followed up, renewals kept on time, the overdue named.

One scheduled workflow a day (06:00 in Shanghai unless told otherwise), in coarse steps:

1. **Sync** every open action with its institution (what ``actions sync`` does): a control
   past its end date without a renewal is marked ``expired``, and each one is a ``lapsed``
   notice: protection the creditor has lost.
2. **Radar**: the controls whose period ends within the window (``--within``, as ``actions
   due`` takes it), with the last day to apply for renewal.
3. **Renew** those the court's policy renews by itself (``[renewal]``; off by default) and
   that have no renewal on its way yet; every other one is a ``renewal_due`` warning.
4. **Overdue**: institutions with requests past their deadline and still unanswered, one
   notice per institution; and judicial recommendations sent whose written reply is past
   its deadline (``reply_overdue``), one notice each.
5. **Notify**: every notice to the log and the configured hooks.

Controls that end years from now stay in the ledger and are found by a later sweep; no job
sleeps for years. A step runs at least once: if the worker dies after a step's work but
before its checkpoint commits, the recovering worker runs it again. Each is safe to repeat:
a sync asks institutions by each action's idempotency key and sends only what they never
received; a renewal is not requested again while one is on its way; a notice sent twice
carries the same key.
"""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from dbos import DBOS

from .._errors import AssetqueryError, ConfigurationError
from .._logging import get_logger
from .._time import SHANGHAI, local_date, utc_now
from ..ledger import OPEN_STATES, ActionKind, ActionLedger, ActionState, ControlAction
from ..ledger._renewals import covered, renewal_under_way
from ..store import Recommendation
from ._context import current, dispatcher_for, step, store_for
from ._notify import Notice, notify
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
    be asked (their institution unreachable), controls that lapsed, renewals due in the
    window (and how many of them were renewed automatically), institutions overdue, and
    judicial recommendations whose reply is overdue."""

    synced: int
    changed: int
    unreachable: int
    renewals_due: int
    renewed: int = 0
    lapsed: int = 0
    overdue_institutions: int = 0
    replies_overdue: int = 0


@dataclass(frozen=True, slots=True)
class _Synced:
    asked: int
    changed: int
    unreachable: int
    lapsed: list[Notice]


@step("assetquery.sweep.sync")
async def sync_open_actions() -> _Synced:
    """Every open action asked about once; the lapsed controls as notices."""
    context = current()
    store = store_for(context.store_url)
    asked = len(await asyncio.to_thread(store.find, states=OPEN_STATES))
    async with dispatcher_for(context) as dispatcher:
        changes = await ActionLedger(store, dispatcher).sync()
    unreachable = sum(1 for c in changes if c.note.startswith("could not ask"))
    lapsed = []
    for change in changes:
        log.info(
            "action followed up",
            action_id=change.action_id,
            kind=change.kind.value,
            before=change.before.value,
            after=change.after.value,
        )
        if change.after is ActionState.EXPIRED:
            action = await asyncio.to_thread(store.get, change.action_id)
            detail: dict[str, object] = {
                "kind": action.kind.value,
                "expired_on": action.expires_on.isoformat() if action.expires_on else None,
                "amount": str(action.amount.amount) if action.amount else None,
            }
            lapsed.append(
                _control_notice(action, "lapsed", "control lapsed without renewal", detail)
            )
    return _Synced(asked, len(changes) - unreachable, unreachable, lapsed)


@DBOS.workflow(name="assetquery.sweep.sync")
async def sync_on_queue() -> _Synced:
    return await sync_open_actions()


@dataclass(frozen=True, slots=True)
class _Due:
    action_id: int
    case_number: str
    institution: str
    kind: str
    expires_on: str
    renew_by: str
    days_left: int
    automatic: bool


@step("assetquery.sweep.radar")
async def renewal_radar() -> list[_Due]:
    """The controls whose renewal must be asked for soon, and which the policy renews."""
    context = current()
    store = store_for(context.store_url)
    settings = context.settings
    policy = settings.renewal if settings is not None else None
    # The radar reads the store only: the dispatcher is never opened.
    ledger = ActionLedger(store, dispatcher_for(context))
    due = await ledger.due(timedelta(days=context.within_days))
    renewals = await asyncio.to_thread(store.find, kinds=(ActionKind.RENEW,))
    return [
        _Due(
            action_id=control.action.id,
            case_number=control.action.case_number,
            institution=control.action.institution,
            kind=control.action.kind.value,
            expires_on=control.expires_on.isoformat(),
            renew_by=control.renew_by.isoformat(),
            days_left=control.days_left,
            automatic=policy is not None
            and covered(control.action, policy)
            and not renewal_under_way(control.action, renewals),
        )
        for control in due
    ]


@step("assetquery.sweep.renew")
async def renew_automatically(due: list[tuple[int, str]]) -> list[Notice]:
    """Ask for the renewal of each control (``(id, its end date as the radar saw it)``);
    a notice for each, renewed or not."""
    context = current()
    store = store_for(context.store_url)
    settings = context.settings
    operator = settings.renewal.operator if settings is not None else None
    notices = []
    async with dispatcher_for(context) as dispatcher:
        ledger = ActionLedger(store, dispatcher)
        for action_id, expires_on in due:
            control = await asyncio.to_thread(store.get, action_id)
            renewals = await asyncio.to_thread(store.find, target_id=action_id)
            moved = control.expires_on is None or control.expires_on.isoformat() != expires_on
            if moved or renewal_under_way(control, renewals):
                continue  # this step ran before and its renewal went out: never twice
            try:
                renewal = await ledger.renew(
                    action_id,
                    operator=operator or control.requested_by,
                    document=control.enforcement_document,
                )
            except AssetqueryError as exc:
                notices.append(
                    _control_notice(
                        control,
                        "renewal_failed",
                        "automatic renewal could not be made: renew by hand",
                        {"reason": str(exc)[:300]},
                    )
                )
                continue
            notices.append(
                _control_notice(
                    control,
                    "renewal_submitted",
                    "control renewed automatically under the court's policy",
                    {"renewal_id": renewal.id, "state": renewal.state.value},
                )
            )
    return notices


def _control_notice(
    control: ControlAction, event: str, message: str, detail: dict[str, object]
) -> Notice:
    """A notice about one control, keyed by the control and the end date it concerns."""
    return Notice(
        event=event,
        key=f"{event}:{control.id}:{control.expires_on}",
        message=message,
        case_number=control.case_number,
        institution=control.institution,
        action_id=control.id,
        detail=detail,
    )


@DBOS.workflow(name="assetquery.sweep.renew")
async def renew_on_queue(due: list[tuple[int, str]]) -> list[Notice]:
    return await renew_automatically(due)


@step("assetquery.sweep.overdue")
async def overdue_institutions() -> list[Notice]:
    """One notice per institution with requests past their deadline, still unanswered."""
    store = store_for(current().store_url)
    now = utc_now()
    clocks = await asyncio.to_thread(store.clocks.overdue, now)
    by_institution = defaultdict(list)
    for clock in clocks:
        by_institution[clock.institution].append(clock)
    day = now.astimezone(SHANGHAI).date().isoformat()
    return [
        Notice(
            event="overdue",
            key=f"overdue:{institution}:{day}",
            message="institution has requests past their deadline, unanswered",
            institution=institution,
            detail={
                "requests": len(late),
                "operations": sorted({c.operation for c in late}),
                "oldest_due_at": min(c.due_at for c in late if c.due_at).isoformat(),
            },
        )
        for institution, late in sorted(by_institution.items())
    ]


def replies_overdue_notices(recommendations: Iterable[Recommendation], today: date) -> list[Notice]:
    """A notice for every judicial recommendation sent whose reply is overdue, each day."""
    return [
        Notice(
            event="reply_overdue",
            key=f"reply_overdue:{r.id}:{today.isoformat()}",
            message="no written reply to a judicial recommendation by its deadline",
            institution=r.institution,
            detail={
                "recommendation": r.id,
                "sent_on": r.sent_on.isoformat() if r.sent_on else None,
                "reply_due": r.reply_due.isoformat() if r.reply_due else None,
                "days_overdue": (today - r.reply_due).days if r.reply_due else None,
            },
        )
        for r in recommendations
        if r.state(today) == "reply overdue"
    ]


@step("assetquery.sweep.replies")
async def replies_overdue() -> list[Notice]:
    """Judicial recommendations whose institution has not replied in writing in time."""
    store = store_for(current().store_url)
    found = await asyncio.to_thread(store.recommendations.find)
    return replies_overdue_notices(found, local_date(utc_now()))


@DBOS.workflow(name="assetquery.sweep")
async def daily_sweep(scheduled_at: datetime, context: object) -> None:
    """The scheduled sweep."""
    await _sweep(scheduled_at)


@DBOS.workflow(name="assetquery.sweep.now")
async def sweep_on_demand(started_at: datetime) -> SweepReport:
    """The same sweep, asked for now (``worker --once``), with its figures."""
    return await _sweep(started_at)


async def _sweep(scheduled_at: datetime) -> SweepReport:
    work = await queue(WORK)
    # What asks institutions takes a slot on the work queue, like every such unit.
    synced = await (await work.enqueue_async(sync_on_queue)).get_result()
    due = await renewal_radar()
    automatic = [(d.action_id, d.expires_on) for d in due if d.automatic]
    notices = list(synced.lapsed)
    if automatic:
        notices += await (await work.enqueue_async(renew_on_queue, automatic)).get_result()
    notices += [
        Notice(
            event="renewal_due",
            key=f"renewal_due:{d.action_id}:{d.expires_on}",
            message="renewal due",
            case_number=d.case_number,
            institution=d.institution,
            action_id=d.action_id,
            detail={
                "kind": d.kind,
                "expires_on": d.expires_on,
                "renew_by": d.renew_by,
                "days_left": d.days_left,
            },
        )
        for d in due
        if not d.automatic
    ]
    late = await overdue_institutions()
    replies = await replies_overdue()
    await notify(notices + late + replies)
    report = SweepReport(
        synced=synced.asked,
        changed=synced.changed,
        unreachable=synced.unreachable,
        renewals_due=len(due),
        renewed=sum(1 for n in notices if n.event == "renewal_submitted"),
        lapsed=len(synced.lapsed),
        overdue_institutions=len(late),
        replies_overdue=len(replies),
    )
    log.info("sweep done", scheduled_at=scheduled_at.isoformat(), **_fields(report))
    return report


def _fields(report: SweepReport) -> dict[str, int]:
    return {name: getattr(report, name) for name in SweepReport.__dataclass_fields__}


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
