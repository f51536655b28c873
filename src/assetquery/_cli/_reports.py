"""``assetquery reports refresh``: a batch's output file brought up to date.

A report written by ``batch`` may hold answers still pending (a bank that feeds back
tomorrow). ``refresh`` rewrites the file with the latest of each: the answer the worker has
already collected into the store, else the institution asked now. The file is replaced
whole once every report is written, so an interrupted refresh leaves it as it was.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from .._errors import BatchInputError
from .._lookup._dispatcher import Dispatcher
from .._lookup._late import waits_on
from .._models import LookupReport
from ..store import DEFAULT_STORE, Store
from ._common import ConfigOption, StoreOption, err, fail_cleanly, out

__all__ = ["reports_app"]

reports_app = typer.Typer(
    help="Reports written by batch, brought up to date.", no_args_is_help=True
)

#: reports refreshed together (each asks its pending institutions at once)
WINDOW = 50


@dataclass
class _Counts:
    reports: int = 0
    from_store: int = 0
    asked: int = 0
    still_pending: int = 0


@reports_app.command()
def refresh(
    source: Annotated[Path, typer.Argument(help="A JSONL file written by batch -o.")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write here instead of in place.")
    ] = None,
    config: ConfigOption = None,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Replace every pending answer in a batch's output with the latest one."""
    with fail_cleanly():
        if not source.is_file():
            raise BatchInputError(f"{source}: no such file; give the JSONL file batch -o wrote")
        opened = Store(store)
        try:
            counts = asyncio.run(_refresh(source, output or source, config, opened))
        finally:
            opened.close()
    out.print(
        f"{counts.reports} report(s): {counts.from_store} brought up to date from the store, "
        f"{counts.asked} asked again; {counts.still_pending} still wait on an institution."
    )


def _reports(source: Path) -> Iterator[LookupReport]:
    with source.open(encoding="utf-8") as file:
        for number, line in enumerate(file, start=1):
            if not line.strip():
                continue
            try:
                yield LookupReport.model_validate_json(line)
            except ValueError:
                raise BatchInputError(
                    f"{source}: line {number} is not a report written by assetquery"
                ) from None


async def _refresh(source: Path, target: Path, config: Path | None, store: Store) -> _Counts:
    counts = _Counts()
    dispatcher = (
        Dispatcher.from_config(config, store=store) if config else Dispatcher.sandbox(store=store)
    )
    if config is None:
        err.print("No --config given: pending answers are asked of the sandbox.")
    partial = target.with_name(target.name + ".partial")

    async def latest(report: LookupReport) -> LookupReport:
        if not any(waits_on(r) for r in report.results):
            return report
        stored = await asyncio.to_thread(store.reports.get, report.lookup_id)
        if stored is not None and stored.finished_at > report.finished_at:
            counts.from_store += 1
            report = stored
        if any(waits_on(r) for r in report.results):
            counts.asked += 1
            report = await dispatcher.refresh(report)  # kept in the store as it comes back
        if any(waits_on(r) for r in report.results):
            counts.still_pending += 1
        return report

    async with dispatcher:
        with partial.open("w", encoding="utf-8") as file:
            window: list[LookupReport] = []
            for report in _reports(source):
                counts.reports += 1
                window.append(report)
                if len(window) >= WINDOW:
                    for fresh in await asyncio.gather(*(latest(r) for r in window)):
                        file.write(fresh.model_dump_json() + "\n")
                    window = []
            for fresh in await asyncio.gather(*(latest(r) for r in window)):
                file.write(fresh.model_dump_json() + "\n")
    partial.replace(target)
    return counts
