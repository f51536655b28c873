"""The ``assetquery`` command: a thin shell over the library for clerks and operators.

Exit codes: 0 success; 1 some input rows rejected but the rest done; 2 usage or
configuration error with nothing done.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from collections import Counter
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
from .._errors import ConfigurationError, InvalidInput
from .._logging import configure_logging
from .._lookup._dispatcher import Dispatcher
from .._models import Case, LookupReport, Party
from .._time import SHANGHAI, utc_now
from ..adapters import load_adapter
from ..sandbox import SandboxConfig, run_simulated
from ..sla import performance
from ..sla._html import render_html
from ..sla._model import PerformanceReport
from ..store import DEFAULT_STORE, Store
from ._actions import actions_app
from ._audit import audit_app
from ._common import (
    EXIT_USAGE,
    ConfigOption,
    CourtOption,
    OperatorOption,
    err,
    fail_cleanly,
    out,
)
from ._schemas import SCHEMAS, json_schema
from ._sla import StoreOption, sla_app

__all__ = ["app", "main"]


app = typer.Typer(
    name="assetquery",
    help="Find a debtor's assets at every registry and bank in one lookup.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
sandbox_app = typer.Typer(
    help="The simulated registries, for demos and tests.", no_args_is_help=True
)
config_app = typer.Typer(help="Check institution configuration files.", no_args_is_help=True)
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(config_app, name="config")
app.add_typer(actions_app, name="actions")
app.add_typer(sla_app, name="sla")
app.add_typer(audit_app, name="audit")


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


@app.callback()
def _main(
    log_level: Annotated[
        str,
        typer.Option(
            "--log-level", envvar="ASSETQUERY_LOG_LEVEL", help="warning, info or debug (stderr)."
        ),
    ] = "warning",
) -> None:
    level = logging.getLevelName(log_level.upper())
    if not isinstance(level, int):
        err.print(f"error: --log-level {log_level!r} is not one of warning, info, debug")
        raise typer.Exit(EXIT_USAGE)
    configure_logging(level)


# --- lookup -------------------------------------------------------------------------------


@app.command()
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


def _money(amount: Decimal | None) -> str:
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
            _money(a.value.amount if a.value else None),
            _money(a.available.amount if a.available else None),
            str(a.share) if a.share is not None else "",
            a.status.value,
            encumbrances,
        )
    out.print(assets)
    coverage = report.coverage
    if coverage.claim is not None:
        out.print(
            f"Claim {_money(coverage.claim.amount)} CNY; available "
            f"{_money(coverage.available.amount)} CNY ({coverage.ratio:.1%} covered); "
            f"{coverage.unvalued_assets} asset(s) without a reported value."
        )
    if not report.complete:
        out.print("[yellow]Not every institution has answered: see the statuses above.[/]")


# --- batch --------------------------------------------------------------------------------


@app.command()
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
            summary = _run_batch(
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
    _print_batch_summary(summary, output, errors or default_errors_path(output))
    raise typer.Exit(summary.exit_code)


def _run_batch(
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


def _print_batch_summary(summary: BatchSummary, output: Path, errors: Path) -> None:
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


@app.command()
def demo(
    out_dir: Annotated[
        Path, typer.Option("--out", help="Where to write the demo's input and reports.")
    ] = Path("demo-output"),
) -> None:
    """Run a batch lookup of example parties against the in-process sandbox registries.

    The sandbox's institutions take realistic time (one bank answers within seconds, the
    other after about 20 hours); the demo runs on simulated time, so that takes a moment.
    """
    from ._demo import DEMO_OPERATOR, write_demo_input

    with fail_cleanly():
        out_dir.mkdir(parents=True, exist_ok=True)
        source = out_dir / "parties.csv"
        output = out_dir / "reports.jsonl"
        errors = out_dir / "rejected.csv"
        database = out_dir / "assetquery.db"
        for stale in (output, database):
            stale.unlink(missing_ok=True)
        count = write_demo_input(source)
        out.print(
            f"Demo: {count} parties from {source} looked up at the sandbox's registry, housing "
            "fund centre and two banks (simulated institutions, fictional data, simulated "
            "time: the west bank's answers take about 20 hours)."
        )
        opened = Store(f"sqlite:///{database}")
        try:
            summary = _run_batch(
                lambda clock: Dispatcher.sandbox(
                    SandboxConfig.turnarounds(), store=opened, clock=clock, deadline=4 * 86400.0
                ),
                source,
                output,
                errors,
                False,
                RowDefaults(operator=DEMO_OPERATOR),
                count,
                simulate_from=utc_now(),
            )
            sla = performance(opened)
        finally:
            opened.close()
    _print_batch_summary(summary, output, errors)
    _print_demo_highlights(output)
    _print_sla_summary(sla)
    (out_dir / "sla-report.html").write_text(render_html(sla), encoding="utf-8")
    out.print(f"Institution response times: {out_dir / 'sla-report.html'}")
    (out_dir / "summary.json").write_text(
        json.dumps(
            {
                "looked_up": summary.looked_up,
                "rejected": summary.rejected,
                "incomplete": summary.incomplete,
                "assets": dict(summary.assets),
                "statuses": {f"{i}:{s}": n for (i, s), n in sorted(summary.statuses.items())},
            },
            ensure_ascii=False,
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    raise typer.Exit(summary.exit_code)


def _print_sla_summary(report: PerformanceReport) -> None:
    table = Table(title="Inquiry response times", title_justify="left")
    for column in ("institution", "deadline", "median", "p95", "late"):
        table.add_column(column)
    for s in report.stats:
        if s.operation != "inquiry":
            continue
        late = f"{s.breaches} of {s.answered}" if s.answered else "—"
        table.add_row(
            s.institution_name, s.deadline, _duration(s.median_hours), _duration(s.p95_hours), late
        )
    out.print(table)


def _duration(hours: float | None) -> str:
    if hours is None:
        return "—"
    if hours < 1 / 60:
        return f"{hours * 3600:.0f} s"
    return f"{hours * 60:.0f} min" if hours < 1 else f"{hours:.1f} h"


def _print_demo_highlights(output: Path) -> None:
    """Totals by kind across the demo's reports, and its best- and least-covered parties."""
    totals: Counter[str] = Counter()
    values: dict[str, Decimal] = {}
    covered = 0
    reports = 0
    with output.open(encoding="utf-8") as file:
        for line in file:
            report = LookupReport.model_validate_json(line)
            reports += 1
            covered += bool(report.coverage.covered)
            for kind, total in report.totals.items():
                totals[kind] += total.count
                if total.value is not None:
                    values[kind] = values.get(kind, Decimal(0)) + total.value.amount
    table = Table(title="Assets by kind", title_justify="left")
    table.add_column("kind")
    table.add_column("count", justify="right")
    table.add_column("value (CNY)", justify="right")
    for kind, count in sorted(totals.items()):
        table.add_row(kind, str(count), _money(values.get(kind)))
    out.print(table)
    out.print(f"{covered} of {reports} claims fully covered by available balances.")


# --- sandbox, config, schema --------------------------------------------------------------


@sandbox_app.command("serve")
def sandbox_serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port; 0 picks a free one.")] = 8765,
    write_config: Annotated[
        Path | None,
        typer.Option("--write-config", help="Write an institutions TOML pointing at this server."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Chooses the fictional data and fault draws.")] = 7,
    latency: Annotated[float, typer.Option(help="Seconds every answer is delayed.")] = 0.0,
    busy_rate: Annotated[float, typer.Option(help="Share of requests answered 503.")] = 0.0,
    throttle_rate: Annotated[
        float, typer.Option(help="Share of requests answered 429 with Retry-After.")
    ] = 0.0,
    error_rate: Annotated[float, typer.Option(help="Share of requests answered 500.")] = 0.0,
    timeout_rate: Annotated[float, typer.Option(help="Share of requests that hang.")] = 0.0,
    hang_seconds: Annotated[
        float, typer.Option(help="Seconds a hanging request (or applied action) hangs.")
    ] = 30.0,
    malformed_rate: Annotated[
        float, typer.Option(help="Share of answers truncated or garbled.")
    ] = 0.0,
    reset_rate: Annotated[
        float, typer.Option(help="Share of answers whose connection drops mid-body.")
    ] = 0.0,
    slow_body_rate: Annotated[
        float, typer.Option(help="Share of answers whose body trickles out slowly.")
    ] = 0.0,
    slow_body_seconds: Annotated[
        float, typer.Option(help="Seconds a slow body takes to arrive in full.")
    ] = 30.0,
    wrong_content_type_rate: Annotated[
        float, typer.Option(help="Share of answers declared with the wrong content type.")
    ] = 0.0,
    wrong_shape_rate: Annotated[
        float, typer.Option(help="Share of answers well-formed but of the wrong shape.")
    ] = 0.0,
    feedback_delay: Annotated[
        float, typer.Option(help="Seconds until the ticket bank's answer is ready.")
    ] = 0.5,
    poll_after: Annotated[
        int, typer.Option(help="Seconds the ticket bank asks callers to wait between polls.")
    ] = 1,
    apply_then_timeout_rate: Annotated[
        float,
        typer.Option(help="Share of control actions applied whose answer then never comes."),
    ] = 0.0,
) -> None:
    """Serve the simulated registries over HTTP (for --config FILE to talk to)."""
    from ..sandbox import SandboxConfig, serve

    with fail_cleanly():
        config = SandboxConfig.uniform(
            seed=seed,
            latency=latency,
            busy_rate=busy_rate,
            throttle_rate=throttle_rate,
            error_rate=error_rate,
            timeout_rate=timeout_rate,
            hang_seconds=hang_seconds,
            malformed_rate=malformed_rate,
            reset_rate=reset_rate,
            slow_body_rate=slow_body_rate,
            slow_body_seconds=slow_body_seconds,
            wrong_content_type_rate=wrong_content_type_rate,
            wrong_shape_rate=wrong_shape_rate,
            feedback_delay=feedback_delay,
            poll_after_seconds=poll_after,
            apply_then_timeout_rate=apply_then_timeout_rate,
        )
        serve(host=host, port=port, config=config, write_config=write_config)


@config_app.command("check")
def config_check(
    file: Annotated[Path, typer.Argument(help="Institutions TOML file.", dir_okay=False)],
) -> None:
    """Validate a configuration file: keys, adapters, secrets and TLS files it refers to."""
    with fail_cleanly():
        settings = load_settings(file)
        problems: list[str] = []
        table = Table(title=str(file), title_justify="left")
        for column in ("id", "name", "adapter", "base_url", "concurrency", "timeout", "auth"):
            table.add_column(column)
        for inst in settings.institutions:
            try:
                load_adapter(inst.adapter)
                inst.auth.token()
            except ConfigurationError as exc:
                problems.append(f"institution {inst.id}: {exc}")
            for label, path in (
                ("client_cert", inst.auth.client_cert),
                ("client_key", inst.auth.client_key),
                ("ca_bundle", inst.auth.ca_bundle),
            ):
                if path is not None and not path.is_file():
                    problems.append(f"institution {inst.id}: auth.{label} {path} does not exist")
            auth = inst.auth.token_env or (
                str(inst.auth.token_file) if inst.auth.token_file else "none"
            )
            table.add_row(
                inst.id,
                inst.name,
                inst.adapter,
                inst.base_url,
                str(inst.concurrency),
                f"{inst.timeout:g}s",
                auth,
            )
        out.print(table)
        if not settings.institutions:
            problems.append("no [[institutions]] are configured")
        if problems:
            raise ConfigurationError(f"{file}:\n  " + "\n  ".join(problems))
        out.print(f"{file}: {len(settings.institutions)} institution(s), configuration is valid.")


@app.command()
def schema(
    name: Annotated[
        str,
        typer.Argument(
            help="Which output: "
            + "; ".join(f"{key} = {what}" for key, (what, _) in SCHEMAS.items())
            + "."
        ),
    ] = "report",
) -> None:
    """Print the JSON Schema of a command's JSON output (default: a lookup report)."""
    if name not in SCHEMAS:
        raise typer.BadParameter(f"{name!r} is not one of {', '.join(SCHEMAS)}", param_hint="NAME")
    sys.stdout.write(json.dumps(json_schema(name), ensure_ascii=False, indent=2))
    sys.stdout.write("\n")


def main() -> None:
    """Console-script entry point."""
    app()
