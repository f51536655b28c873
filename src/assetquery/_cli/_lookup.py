"""``assetquery lookup`` and ``assetquery batch``: one party, or a clerk's whole file."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .._batch._input import RowDefaults, count_rows
from .._batch._runner import BatchSummary, default_errors_path, run_batch
from .._config import Settings, load_settings
from .._errors import InvalidInput
from .._lookup._dispatcher import Dispatcher
from .._models import Case, LookupReport, Party
from .._time import SHANGHAI, utc_now
from ..sandbox import run_simulated
from ..store import DEFAULT_STORE, Store
from ._common import ConfigOption, CourtOption, OperatorOption, StoreOption, err, fail_cleanly, out

__all__ = ["batch", "lookup", "money_text", "print_batch_summary", "run_batch_command"]


def _dispatcher(
    config: Path | None, store: Store | None = None, clock: Callable[[], datetime] = utc_now
) -> Dispatcher:
    if config is None:
        err.print(
            "No --config given: using the sandbox (simulated registries, fictional data, "
            "simulated time)."
        )
        return Dispatcher.sandbox(store=store, clock=clock)
    return Dispatcher(load_settings(config), store=store, clock=clock)


def _settings_defaults(config: Path | None) -> Settings | None:
    return load_settings(config) if config is not None else None


# --- lookup -------------------------------------------------------------------------------


def lookup(
    name: Annotated[str, typer.Option("--name", help="Name of the person or organization.")],
    id_number: Annotated[
        str, typer.Option("--id", help="Resident ID number or unified social credit code.")
    ],
    case_number: Annotated[
        str, typer.Option("--case", help="Case number, e.g. （2024）甘0191执1234号.")
    ],
    claim: Annotated[str | None, typer.Option("--claim", help="Claim amount in CNY.")] = None,
    court: CourtOption = None,
    operator: OperatorOption = None,
    config: ConfigOption = None,
    store: StoreOption = DEFAULT_STORE,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Look one party up at every institution and print the report."""
    with fail_cleanly():
        settings = _settings_defaults(config)
        operator = operator or (settings.operator if settings else None)
        if not operator:
            raise InvalidInput("operator", "is missing: pass --operator or set ASSETQUERY_OPERATOR")
        party = Party.parse(name, id_number)
        case = Case(
            number=case_number,
            court=court or (settings.court if settings else None),
            operator=operator,
            claim=claim,
        )
        ledger_store = Store(store)

        async def run(clock: Callable[[], datetime]) -> LookupReport:
            async with _dispatcher(config, ledger_store, clock) as dispatcher:
                return await dispatcher.lookup(party, case)

        try:
            if config is None:  # the embedded sandbox's waits pass on simulated time
                report = run_simulated(run, start=utc_now())
            else:
                report = asyncio.run(run(utc_now))
        finally:
            ledger_store.close()
    if as_json:
        out.print_json(report.model_dump_json())
    else:
        _print_report(report)


def money_text(amount: Decimal | None) -> str:
    return "—" if amount is None else f"{amount:,.2f}"


def _print_report(report: LookupReport) -> None:
    shown = report.finished_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S %Z")
    sandbox = " (sandbox, fictional data)" if report.sandbox else ""
    out.print(f"[bold]{report.party.name}[/] {report.case.number} — {shown}{sandbox}")
    results = Table(title="Institutions", title_justify="left")
    for column in ("institution", "status", "assets", "attempts", "seconds", "note"):
        results.add_column(column)
    for r in report.results:
        note = r.error.message if r.error else (f"ticket {r.ticket}" if r.ticket else "")
        seconds = f"{r.latency_seconds:.2f}" if r.latency_seconds is not None else ""
        results.add_row(r.name, r.status.value, str(len(r.assets)), str(r.attempts), seconds, note)
    out.print(results)
    assets = Table(title="Assets", title_justify="left")
    for column in (
        "kind",
        "institution",
        "identifier",
        "value",
        "available",
        "share",
        "status",
        "encumbrances",
    ):
        assets.add_column(column)
    for a in report.assets:
        encumbrances = ", ".join(
            f"{'waiting ' if e.waiting else ''}{e.kind.value}"
            + (f" #{e.position}" if e.position else "")
            for e in a.encumbrances
        )
        assets.add_row(
            a.kind,
            a.institution,
            a.identifier,
            money_text(a.value.amount if a.value else None),
            money_text(a.available.amount if a.available else None),
            str(a.share) if a.share is not None else "",
            a.status.value,
            encumbrances,
        )
    out.print(assets)
    coverage = report.coverage
    if coverage.claim is not None:
        out.print(
            f"Claim {money_text(coverage.claim.amount)} CNY; available "
            f"{money_text(coverage.available.amount)} CNY ({coverage.ratio:.1%} covered); "
            f"{coverage.unvalued_assets} asset(s) without a reported value."
        )
    if not report.complete:
        out.print("[yellow]Not every institution has answered: see the statuses above.[/]")


# --- batch --------------------------------------------------------------------------------


def batch(
    source: Annotated[
        Path, typer.Argument(help="CSV (UTF-8 or GBK), XLSX or JSONL file of parties.")
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="JSONL file for the reports.")],
    errors: Annotated[
        Path | None,
        typer.Option("--errors", help="CSV of rejected rows [default: OUTPUT.errors.csv]."),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue an interrupted run into the same OUTPUT.")
    ] = False,
    config: ConfigOption = None,
    court: CourtOption = None,
    operator: OperatorOption = None,
    window: Annotated[
        int | None,
        typer.Option("--window", min=1, help="Parties in flight at once [default: from caps]."),
    ] = None,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Look up every party of a file; one JSON report per line, rejected rows to --errors."""
    with fail_cleanly():
        settings = _settings_defaults(config)
        defaults = RowDefaults(
            court=court or (settings.court if settings else None),
            operator=operator or (settings.operator if settings else None),
        )
        total = count_rows(source)
        opened = Store(store)
        try:
            summary = run_batch_command(
                lambda clock: _dispatcher(config, opened, clock),
                source,
                output,
                errors,
                resume,
                defaults,
                total,
                window,
                # The embedded sandbox's institutions wait on simulated time, as in the demo.
                simulate_from=utc_now() if config is None else None,
            )
        finally:
            opened.close()
    print_batch_summary(summary, output, errors or default_errors_path(output))
    raise typer.Exit(summary.exit_code)


def run_batch_command(
    make_dispatcher: Callable[[Callable[[], datetime]], Dispatcher],
    source: Path,
    output: Path,
    errors: Path | None,
    resume: bool,
    defaults: RowDefaults,
    total: int,
    window: int | None = None,
    *,
    simulate_from: datetime | None = None,
) -> BatchSummary:
    """Run a batch with a progress bar; on simulated time from ``simulate_from`` if given."""
    progress = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )

    async def run(clock: Callable[[], datetime]) -> BatchSummary:
        dispatcher = make_dispatcher(clock)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, _stopper(stop))
        try:
            async with dispatcher:
                with progress:
                    task = progress.add_task("looking up", total=total)
                    return await run_batch(
                        dispatcher,
                        source,
                        output,
                        errors=errors,
                        resume=resume,
                        defaults=defaults,
                        on_progress=lambda n: progress.update(task, completed=n),
                        stop=stop,
                        window=window,
                    )
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    if simulate_from is not None:
        return run_simulated(run, start=simulate_from)
    return asyncio.run(run(utc_now))


def _stopper(stop: asyncio.Event) -> Callable[[], None]:
    def handler() -> None:
        if not stop.is_set():
            err.print("Stopping: finishing the lookups in flight (rerun with --resume to go on).")
        stop.set()

    return handler


def print_batch_summary(summary: BatchSummary, output: Path, errors: Path) -> None:
    table = Table(title="Institutions", title_justify="left")
    statuses = sorted({status for _, status in summary.statuses})
    table.add_column("institution")
    for status in statuses:
        table.add_column(status, justify="right")
    for institution in sorted({inst for inst, _ in summary.statuses}):
        table.add_row(institution, *(str(summary.statuses[(institution, s)]) for s in statuses))
    if summary.statuses:
        out.print(table)
    kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(summary.assets.items()))
    out.print(
        f"Looked up {summary.looked_up} part{'y' if summary.looked_up == 1 else 'ies'}"
        + (f" ({summary.already_done} already done)" if summary.already_done else "")
        + f"; assets found: {kinds or 'none'}."
    )
    if summary.incomplete:
        out.print(f"{summary.incomplete} report(s) are waiting on an institution (see status).")
    out.print(f"Reports: {output}")
    if summary.rejected:
        out.print(f"[yellow]{summary.rejected} row(s) rejected[/]: see {errors}")
    if summary.interrupted:
        out.print("[yellow]Interrupted[/]: rerun the same command with --resume to finish.")


# --- demo ---------------------------------------------------------------------------------
