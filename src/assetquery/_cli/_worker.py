"""``assetquery worker``: the long-running process that does the slow half of the job."""

from __future__ import annotations

import asyncio
import re
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .._errors import InvalidInput
from ._common import ConfigOption, StoreOption, err, fail_cleanly, out, parse_within

if TYPE_CHECKING:
    from ..worker._context import WorkerContext
    from ..worker._sweep import SweepReport

__all__ = ["worker"]


def worker(
    store: StoreOption = "sqlite:///assetquery.db",
    config: ConfigOption = None,
    worker_id: Annotated[
        str | None,
        typer.Option(
            "--worker-id",
            envvar="ASSETQUERY_WORKER_ID",
            help="This worker's stable, unique id (default: the host name).",
        ),
    ] = None,
    sweep_at: Annotated[
        str, typer.Option("--sweep-at", help="When the daily sweep runs, HH:MM in Shanghai.")
    ] = "06:00",
    within: Annotated[
        str, typer.Option("--within", help="How far ahead the renewal radar looks, e.g. 30d.")
    ] = "30d",
    follow_every: Annotated[
        str,
        typer.Option(
            "--follow-every",
            help="How often an action waiting for its institution is asked again: 30s, 15m, 1h.",
        ),
    ] = "15m",
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency",
            min=1,
            help="Units of work (chunks of a job, batches of late answers) run at once here "
            "[default: worker.slots, all of the court's].",
        ),
    ] = None,
    once: Annotated[
        bool, typer.Option("--once", help="Run the sweep once now, then stop.")
    ] = False,
) -> None:
    """Run submitted jobs, collect late answers, follow every open control action and read
    the renewal radar every day, durably."""
    # The engine loads only here: importing it costs half a second every other command
    # need not pay.
    from ..worker._context import WorkerContext
    from ..worker._engine import executor_id
    from ..worker._sweep import sweep_cron

    with fail_cleanly():
        me = executor_id(worker_id)
        context = WorkerContext(
            store_url=store,
            config=str(config) if config else None,
            within_days=parse_within(within).days,
            follow_every=_seconds(follow_every),
        )
        context.worker  # noqa: B018 - a bad institutions file fails here, before the engine
        if once:
            report = asyncio.run(_sweep_once(me, context))
            out.print(
                f"Swept {report.synced} open action(s): {report.changed} changed, "
                f"{report.unreachable} institution(s) not reached, {report.lapsed} lapsed; "
                f"{report.renewals_due} renewal(s) due within {within} "
                f"({report.renewed} renewed automatically); "
                f"{report.overdue_institutions} institution(s) overdue; "
                f"{report.replies_overdue} recommendation reply(ies) overdue."
            )
            return
        units = concurrency or context.worker.slots
        asyncio.run(_serve(me, context, sweep_at, sweep_cron(sweep_at), units))


async def _sweep_once(me: str, context: WorkerContext) -> SweepReport:
    from ..worker._engine import engine_running
    from ..worker._sweep import sweep_now

    async with engine_running(context, me):
        return await sweep_now()


async def _serve(
    me: str, context: WorkerContext, sweep_at: str, cron: str, concurrency: int
) -> None:
    from ..worker._engine import engine_running
    from ..worker._scan import scan_now
    from ..worker._sweep import schedule_sweep

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with engine_running(context, me, concurrency=concurrency):
        schedule_sweep(cron)
        await scan_now()
        err.print(
            f"worker {me}: daily sweep at {sweep_at} (Asia/Shanghai) over "
            f"{Path(context.store_url).name}, {concurrency} unit(s) of work at once, pending "
            f"actions asked every {context.follow_every:g} s; SIGTERM or Ctrl-C stops it"
        )
        await stop.wait()
    err.print(f"worker {me}: stopped")


_INTERVAL = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smh])\s*")
_UNIT = {"s": 1.0, "m": 60.0, "h": 3600.0}


def _seconds(text: str) -> float:
    match = _INTERVAL.fullmatch(text)
    if match is None or float(match.group(1)) <= 0:
        raise InvalidInput("--follow-every", f"{text!r} is not an interval like 30s, 15m or 1h")
    return float(match.group(1)) * _UNIT[match.group(2)]
