"""``assetquery sla …``: who owes an answer, how each institution performs, and the judicial
recommendations (司法建议书) written to the slow ones."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from pydantic import TypeAdapter
from rich.markup import escape
from rich.table import Table

from .._config import Settings, load_settings, settings_from_mapping
from .._errors import InvalidInput
from .._time import SHANGHAI, local_date, utc_now
from ..sandbox import institutions
from ..sandbox._wiring import SANDBOX_BASE_URL
from ..sla import (
    Clock,
    EvidencePack,
    PerformanceReport,
    PrintError,
    evidence_pack,
    overdue,
    performance,
    render_html,
    write_evidence_pack,
)
from ..sla._letter import problems_found
from ..sla._recommend import period_bounds
from ..store import DEFAULT_STORE, Recommendation
from ._common import (
    EXIT_REJECTED,
    ConfigOption,
    CourtOption,
    StoreOption,
    err,
    existing_store,
    fail_cleanly,
    out,
    parse_moment,
)

__all__ = ["sla_app"]

sla_app = typer.Typer(
    help="Institution deadlines: overdue requests, performance reports, judicial recommendations.",
    no_args_is_help=True,
)


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
        opened = existing_store(store)
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
        opened = existing_store(store)
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


# --- judicial recommendations ---------------------------------------------------------------

#: the period a recommendation covers when --from is not given, today included
DEFAULT_PERIOD_DAYS = 90


def _settings(config: Path | None) -> Settings:
    """The configuration's institutions, or the sandbox's when there is no configuration."""
    if config is not None:
        return load_settings(config)
    return settings_from_mapping(
        {"institutions": institutions(SANDBOX_BASE_URL)}, "sandbox configuration"
    )


def _day(text: str | None, option: str) -> date | None:
    moment = parse_moment(text, option)
    return local_date(moment) if moment is not None else None


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _print_pack(pack: EvidencePack, directory: Path) -> None:
    table = Table(
        title=escape(
            f"{pack.institution_name} ({pack.institution}), {pack.period_from} – {pack.period_to}"
        ),
        title_justify="left",
    )
    for column in (
        "operation",
        "deadline",
        "requests",
        "answered",
        "反馈率",
        "on time",
        "及时反馈率",
        "rank",
    ):
        table.add_column(column)
    ranks = {r.operation: r for r in pack.rankings}
    for s in pack.stats:
        ranking = ranks[s.operation]
        table.add_row(
            s.operation,
            s.deadline,
            str(s.count),
            str(s.answered),
            _rate(s.feedback_rate),
            str(s.met),
            _rate(s.timely_rate),
            f"{ranking.position} of {ranking.ranked}" if ranking.position else "",
        )
    out.print(table)
    written = ", ".join(str(directory / name) for name in ("letter.html", "letter.pdf"))
    out.print(
        escape(f"Wrote {written} and {directory / 'annex.csv'} ({len(pack.rows)} requests)."),
        soft_wrap=True,
    )


@sla_app.command("recommend")
def recommend_command(
    institution: Annotated[
        str, typer.Option("--institution", help="The institution's id, as configured.")
    ],
    directory: Annotated[
        Path,
        typer.Option("-o", "--out", help="Directory to write the pack into.", file_okay=False),
    ],
    date_from: Annotated[
        str | None,
        typer.Option("--from", help=f"First day (default: {DEFAULT_PERIOD_DAYS} days to today)."),
    ] = None,
    date_to: Annotated[
        str | None, typer.Option("--to", help="Last day, included (default: today).")
    ] = None,
    court: CourtOption = None,
    reply_days: Annotated[
        int,
        typer.Option(
            "--reply-days", min=1, max=365, help="Days the institution has to reply in writing."
        ),
    ] = 30,
    config: ConfigOption = None,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Write the evidence pack of a judicial recommendation (司法建议书) to one institution:
    the draft letter (letter.html, letter.pdf) and every request of the period (annex.csv)."""
    with fail_cleanly():
        settings = _settings(config)
        today = local_date(utc_now())
        last = _day(date_to, "--to") or today
        first = _day(date_from, "--from") or last - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
        since, until = period_bounds(first, last)
        opened = existing_store(store)
        try:
            pack = evidence_pack(
                opened,
                institution,
                since=since,
                until=until,
                settings=settings,
                court=court or settings.court,
                reply_days=reply_days,
            )
            try:
                write_evidence_pack(pack, directory)
            except PrintError as exc:
                err.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
                err.print(
                    f"{escape(str(directory / 'letter.html'))} and "
                    f"{escape(str(directory / 'annex.csv'))} are written, but nothing was "
                    "recorded: print the letter from a browser, or fix the above and run the "
                    "command again.",
                    soft_wrap=True,
                )
                raise typer.Exit(EXIT_REJECTED) from None
            except OSError as exc:
                raise InvalidInput(
                    "--out", f"cannot write into {directory}: {exc.strerror or exc}"
                ) from None
            record = opened.recommendations.create(
                institution,
                period=(first, last),
                directory=str(directory.resolve()),
                reply_days=reply_days,
                at=pack.generated_at,
            )
        finally:
            opened.close()
    _print_pack(pack, directory)
    if not problems_found(pack):
        err.print(
            f"note: {escape(pack.institution_name)} answered no request of the period late "
            "and left none unanswered past its due time; the draft reproaches nothing and asks "
            "the judge whether it is needed.",
            soft_wrap=True,
        )
    out.print(
        f"Recorded as recommendation {record.id} (draft). When the letter has gone out: "
        f"assetquery sla sent {record.id} --on YYYY-MM-DD"
    )


def _past_day(on: str | None) -> date:
    """``--on``: a day up to today (default today)."""
    today = local_date(utc_now())
    day = _day(on, "--on") or today
    if day > today:
        raise InvalidInput("--on", f"{day} is in the future (today is {today})")
    return day


NumberArgument = Annotated[
    int, typer.Argument(help="The recommendation's number (`sla recommendations` lists them).")
]


@sla_app.command("sent")
def sent_command(
    number: NumberArgument,
    on: Annotated[str | None, typer.Option("--on", help="Day it was sent (default today).")] = None,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Mark a recommendation's letter sent: its written reply is due its reply days later."""
    with fail_cleanly():
        day = _past_day(on)
        opened = existing_store(store)
        try:
            record = opened.recommendations.sent(number, on=day)
        finally:
            opened.close()
    out.print(
        f"Recommendation {record.id} to {record.institution} sent on {record.sent_on}: "
        f"the reply is due by {record.reply_due}."
    )


@sla_app.command("replied")
def replied_command(
    number: NumberArgument,
    on: Annotated[
        str | None, typer.Option("--on", help="Day the reply came (default today).")
    ] = None,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Mark a recommendation replied to by its institution."""
    with fail_cleanly():
        day = _past_day(on)
        opened = existing_store(store)
        try:
            record = opened.recommendations.replied(number, on=day)
        finally:
            opened.close()
    late = ""
    if record.reply_due is not None and day > record.reply_due:
        late = f", {(day - record.reply_due).days} day(s) after it was due"
    out.print(f"Recommendation {record.id} to {record.institution} replied on {day}{late}.")


def _recommendation_json(record: Recommendation, today: date) -> dict[str, object]:
    data: dict[str, object] = TypeAdapter(Recommendation).dump_python(record, mode="json")
    data["state"] = record.state(today)
    return data


@sla_app.command("recommendations")
def recommendations_command(
    institution: Annotated[
        str | None, typer.Option("--institution", help="Only those to this institution.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Judicial recommendations written, and their state: draft, awaiting reply, reply
    overdue or replied."""
    with fail_cleanly():
        opened = existing_store(store)
        try:
            records = opened.recommendations.find(institution)
        finally:
            opened.close()
    today = local_date(utc_now())
    if as_json:
        out.print_json(
            json.dumps([_recommendation_json(r, today) for r in records], ensure_ascii=False)
        )
        return
    table = Table(title=f"{len(records)} recommendation(s)", title_justify="left")
    for column in (
        "no.",
        "institution",
        "period",
        "state",
        "written",
        "sent",
        "reply due",
        "replied",
        "directory",
    ):
        table.add_column(column)
    for r in records:
        table.add_row(
            str(r.id),
            r.institution,
            f"{r.period_from} – {r.period_to}",
            r.state(today),
            str(local_date(r.created_at)),
            str(r.sent_on or ""),
            str(r.reply_due or ""),
            str(r.replied_on or ""),
            r.directory,
        )
    out.print(table)
