"""``assetquery sla …``: who owes an answer, and how each institution performs."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, time
from pathlib import Path
from typing import Annotated

import typer
from pydantic import TypeAdapter
from rich.table import Table

from .._errors import InvalidInput
from .._time import SHANGHAI, utc_now
from ..sla import Clock, PerformanceReport, overdue, performance, render_html
from ..store import DEFAULT_STORE, Store
from ._common import fail_cleanly, out

__all__ = ["sla_app"]

sla_app = typer.Typer(
    help="Institution deadlines: overdue requests and performance reports.", no_args_is_help=True
)

StoreOption = Annotated[
    str, typer.Option("--store", envvar="ASSETQUERY_STORE", help="Database URL.")
]


def parse_moment(text: str | None, option: str) -> datetime | None:
    """An ISO date (its start in Shanghai) or an ISO datetime (Shanghai if no offset)."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(option, f"{text!r} is not a date (2026-11-01) or a time") from None
    if len(text) <= 10:
        value = datetime.combine(value.date(), time.min)
    return value if value.tzinfo else value.replace(tzinfo=SHANGHAI)


def _hours(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value / 24:.1f} d" if value >= 48 else f"{value:.1f} h"


def _shown(moment: datetime | None) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if moment else ""


@sla_app.command("overdue")
def overdue_command(
    store: StoreOption = DEFAULT_STORE,
    now: Annotated[str | None, typer.Option("--now", help="Judge at this time.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Every request still unanswered past its due time, most overdue first."""
    with fail_cleanly():
        moment = parse_moment(now, "--now") or utc_now()
        opened = Store(store)
        try:
            late: list[Clock] = overdue(opened, now=moment)
        finally:
            opened.close()
    if as_json:
        out.print_json(TypeAdapter(list[Clock]).dump_json(late).decode())
        return
    table = Table(title=f"{len(late)} overdue at {_shown(moment)}", title_justify="left")
    for column in (
        "institution",
        "owes",
        "case",
        "reference",
        "requested",
        "due",
        "overdue by",
        "note",
    ):
        table.add_column(column)
    for clock in late:
        assert clock.due_at is not None
        table.add_row(
            clock.institution_name,
            f"{clock.operation} ({clock.rule})",
            clock.case_number,
            clock.reference,
            _shown(clock.started_at),
            _shown(clock.due_at),
            _hours((moment - clock.due_at).total_seconds() / 3600),
            "provisional deadline" if clock.provisional else "",
        )
    out.print(table)


def report_csv(report: PerformanceReport) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "institution",
            "name",
            "operation",
            "deadline",
            "count",
            "answered",
            "median_hours",
            "p90_hours",
            "p95_hours",
            "breaches",
            "breach_rate",
            "open_overdue",
            "failed",
            "provisional",
        ]
    )
    for s in report.stats:
        writer.writerow(
            [
                s.institution,
                s.institution_name,
                s.operation,
                s.deadline,
                s.count,
                s.answered,
                s.median_hours,
                s.p90_hours,
                s.p95_hours,
                s.breaches,
                s.breach_rate,
                s.open_overdue,
                s.failed,
                s.provisional,
            ]
        )
    return buffer.getvalue()


def report_json(report: PerformanceReport) -> str:
    data = TypeAdapter(PerformanceReport).dump_python(report, mode="json")
    data["provisional"] = report.provisional
    return json.dumps(data, ensure_ascii=False, indent=2)


@sla_app.command("report")
def report_command(
    since: Annotated[str | None, typer.Option("--since", help="From (date or time).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Until, exclusive.")] = None,
    by: Annotated[str, typer.Option("--by", help="Trend by week or month.")] = "week",
    report_format: Annotated[
        str, typer.Option("--format", help="table, csv, json or html.")
    ] = "table",
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write to this file.")
    ] = None,
    court: Annotated[str | None, typer.Option("--court", envvar="ASSETQUERY_COURT")] = None,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Turnaround (median, p90, p95), breaches and trend per institution and operation."""
    with fail_cleanly():
        if report_format not in ("table", "csv", "json", "html"):
            raise InvalidInput("--format", f"{report_format!r}: use table, csv, json or html")
        if by not in ("week", "month"):
            raise InvalidInput("--by", f"{by!r}: use week or month")
        opened = Store(store)
        try:
            report = performance(
                opened,
                since=parse_moment(since, "--since"),
                until=parse_moment(until, "--until"),
                by=by,
            )
        finally:
            opened.close()
    if report_format == "table":
        _print_report(report)
        return
    if report_format == "csv":
        text = report_csv(report)
    elif report_format == "json":
        text = report_json(report)
    else:
        text = render_html(report, court=court)
    if output is None:
        out.file.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        out.print(f"Wrote {output}")


def _print_report(report: PerformanceReport) -> None:
    table = Table(title="Institution performance", title_justify="left")
    for column in (
        "institution",
        "operation",
        "deadline",
        "count",
        "median",
        "p90",
        "p95",
        "breaches",
        "rate",
        "overdue now",
    ):
        table.add_column(column)
    for s in report.stats:
        rate = f"{s.breach_rate:.0%}" if s.breach_rate is not None else ""
        table.add_row(
            s.institution_name,
            s.operation,
            s.deadline,
            str(s.count),
            _hours(s.median_hours),
            _hours(s.p90_hours),
            _hours(s.p95_hours),
            str(s.breaches),
            rate,
            str(s.open_overdue),
        )
    out.print(table)
    if report.provisional:
        out.print(
            "Some deadlines are provisional: no holiday schedule is announced for their "
            "year yet (see docs/calendar.md)."
        )
