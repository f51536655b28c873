"""``assetquery case …`` and ``assetquery stats``: the case file and the court's figures."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table as RichTable

from .._batch._input import Rejection
from .._batch._runner import ErrorsFile, default_errors_path
from .._errors import InvalidInput
from .._money import Money
from .._time import SHANGHAI, utc_now
from ..cases import (
    CaseFile,
    case_file,
    case_files,
    case_json,
    court_figures,
    read_closures,
    write_case_file,
)
from ..cases._export import tables
from ..cases._figures_page import (
    figures_csv,
    figures_data,
    figures_html,
    hours_text,
    period_text,
    rate_text,
    scope_text,
)
from ..store import DEFAULT_STORE, Closure, Store
from ._common import (
    EXIT_REJECTED,
    EXIT_USAGE,
    CourtOption,
    OperatorOption,
    StoreOption,
    err,
    existing_store,
    fail_cleanly,
    out,
    parse_moment,
)
from ._common import parse_within as _parse_within

__all__ = ["case_app", "stats"]

case_app = typer.Typer(
    help="The case file: what a case holds, has secured, and what needs doing next.",
    no_args_is_help=True,
)
closures_app = typer.Typer(help="Case closures from the court's case system.", no_args_is_help=True)
case_app.add_typer(closures_app, name="closures")

CaseArgument = Annotated[
    str, typer.Argument(help="The case number, e.g. '(2024)甘0191执1234号' (any brackets, 执/執).")
]


def _read_case(url: str, number: str) -> CaseFile:
    opened = existing_store(url)
    try:
        return case_file(opened, number)
    finally:
        opened.close()


def _print_case(case: CaseFile) -> None:
    for table in tables(case):
        shown = RichTable(title=table.title, title_justify="left", show_lines=False)
        for header in table.headers:
            shown.add_column(header, overflow="fold")
        for row in table.rows:
            shown.add_row(*row)
        if not table.rows:
            shown.add_row("none 无", *([""] * (len(table.headers) - 1)))
        out.print(shown)


@case_app.command("show")
def show(
    number: CaseArgument,
    store: StoreOption = DEFAULT_STORE,
    as_json: Annotated[bool, typer.Option("--json", help="The whole file as JSON.")] = False,
) -> None:
    """One case: parties, lookups, assets found, controls, totals and the next dates."""
    with fail_cleanly():
        case = _read_case(store, number)
    if as_json:
        out.file.write(case_json(case) + "\n")
        return
    _print_case(case)


@case_app.command("export")
def export(
    number: CaseArgument,
    output: Annotated[
        Path, typer.Option("-o", "--output", help="File to write: .json, .csv, .xlsx or .html.")
    ],
    file_format: Annotated[
        str | None, typer.Option("--format", help="json, csv, xlsx or html [default: suffix].")
    ] = None,
    encoding: Annotated[
        str, typer.Option("--encoding", help="CSV only: utf-8 (with BOM, for Excel) or gbk.")
    ] = "utf-8",
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Write the case file as JSON, CSV, XLSX (extra xlsx) or one printable HTML page."""
    with fail_cleanly():
        case = _read_case(store, number)
        written = write_case_file(case, output, file_format=file_format, encoding=encoding.lower())
    out.print(f"Wrote {output} ({written})")


@case_app.command("list")
def list_cases(
    store: StoreOption = DEFAULT_STORE,
    court: Annotated[str | None, typer.Option("--court", help="Only this court's cases.")] = None,
    operator: Annotated[
        str | None, typer.Option("--operator", help="Only cases this operator worked on.")
    ] = None,
    open_controls: Annotated[
        bool, typer.Option("--open", help="Only cases with a freeze or seal not yet closed.")
    ] = False,
    uncovered_above: Annotated[
        str | None, typer.Option("--uncovered-above", help="Only cases with more uncovered (CNY).")
    ] = None,
    renewal_within: Annotated[
        str | None, typer.Option("--renewal-within", help="A renewal due within: 30d, 4w.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Cases in the store, with their totals, filtered."""
    with fail_cleanly():
        threshold = None
        if uncovered_above is not None:
            try:
                threshold = Money(uncovered_above.replace(",", ""))
            except ValueError:
                raise InvalidInput(
                    "--uncovered-above", f"{uncovered_above!r} is not an amount like 10000"
                ) from None
        window = (
            _parse_within(renewal_within, "--renewal-within")
            if renewal_within is not None
            else None
        )
        opened = existing_store(store)
        try:
            files = case_files(
                opened,
                court=court,
                operator=operator,
                open_controls=open_controls,
                uncovered_above=threshold,
                renewal_within=window,
            )
        finally:
            opened.close()
    if as_json:
        rows = [_summary(case) for case in files]
        out.file.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return
    table = RichTable(title=f"{len(files)} case(s)", title_justify="left")
    for column in ("case", "court", "claim", "frozen", "deducted", "uncovered", "open", "next"):
        table.add_column(column)
    for case in files:
        summary = _summary(case)
        table.add_row(
            case.number,
            case.court or "",
            summary["claim"] or "",
            summary["frozen"],
            summary["deducted"],
            summary["uncovered"] or "",
            str(case.open_controls),
            summary["next"] or "",
        )
    out.print(table)


def _amount(money: Money | None) -> str | None:
    return str(money.amount) if money is not None else None


def _summary(case: CaseFile) -> dict[str, Any]:
    t = case.totals
    upcoming = next((d for d in case.next_dates if not d.overdue), None)
    return {
        "case_number": case.number,
        "court": case.court,
        "operators": list(case.operators),
        "claim": _amount(t.claim),
        "frozen": _amount(t.frozen),
        "deducted": _amount(t.deducted),
        "uncovered": _amount(t.uncovered),
        "open_controls": case.open_controls,
        "next": f"{upcoming.on} {upcoming.what}" if upcoming else None,
    }


@closures_app.command("import")
def import_closures(
    source: Annotated[Path, typer.Argument(help="CSV of case closures (see docs/figures.md).")],
    errors: Annotated[
        Path | None,
        typer.Option("--errors", help="CSV of rejected rows [default: SOURCE.errors.csv]."),
    ] = None,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Import how cases were closed; bad rows go to --errors, the good ones are kept."""
    with fail_cleanly():
        rows = read_closures(source)
        first = next(rows, None)  # a file without the columns fails before anything is kept
        good: list[Closure] = []
        errors_path = errors or default_errors_path(source)
        rejected = ErrorsFile(errors_path)
        try:
            for read in [first, *rows] if first else []:
                if isinstance(read.closure, Rejection):
                    rejected.write(read.closure)
                else:
                    good.append(read.closure)
        finally:
            rejected.close()
        opened = Store(store)
        try:
            kept = opened.closures.put(good, source=str(source), at=utc_now())
        finally:
            opened.close()
    refused = sum(1 for _ in _rejections(errors_path))
    out.print(f"Imported {kept} closure(s); {refused} row(s) rejected.")
    if refused:
        err.print(f"Rejected rows and why: {errors_path}")
        raise typer.Exit(EXIT_REJECTED)
    errors_path.unlink(missing_ok=True)


def _rejections(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as file:
        return list(csv.reader(file))[1:]


# --- stats -------------------------------------------------------------------------------------


def _period(since: str | None, until: str | None) -> tuple[datetime | None, datetime | None]:
    start = parse_moment(since, "--from")
    end = parse_moment(until, "--to")
    if end is not None and until is not None and len(until) <= 10:
        end += timedelta(days=1)  # --to names the last day, included
    if start is not None and end is not None and end <= start:
        raise InvalidInput("--to", f"{until} is before --from {since}")
    return start, end


def _deducted(group: dict[str, Any]) -> str:
    share = group["deducted_share"]
    if share is None:
        return str(group["deducted"])
    return f"{group['deducted']} ({rate_text(share)} of claims, a lower bound)"


def _print_figures(data: dict[str, Any]) -> None:
    out.print(f"执行查控统计 {period_text(data)} · {scope_text(data)}")
    table = RichTable(title="Institutions 机构反馈", title_justify="left")
    for column in ("institution", "operation", "deadline", "requests", "反馈率", "及时反馈率"):
        table.add_column(column)
    for column in ("median", "p90", "overdue open"):
        table.add_column(column)
    for i in data["institutions"]:
        table.add_row(
            i["name"],
            i["operation"],
            i["deadline"],
            str(i["requests"]),
            rate_text(i["feedback_rate"]),
            rate_text(i["timely_rate"]),
            hours_text(i["median_hours"]),
            hours_text(i["p90_hours"]),
            str(i["overdue_open"]),
        )
    out.print(table)
    groups = RichTable(title="Courts and operators 法院与承办人", title_justify="left")
    for column in ("court", "operator", "lookups", "with assets", "controls", "in force"):
        groups.add_column(column)
    for column in ("claims", "frozen", "deducted", "lapsed", "renewed on time"):
        groups.add_column(column)
    for g in [*data["groups"], data["total"]]:
        groups.add_row(
            g["court"] or ("(all)" if g is data["total"] else ""),
            g["operator"] or "",
            str(g["lookups"]),
            str(g["lookups_with_assets"]),
            str(g["controls_requested"]),
            str(g["controls_in_force"]),
            g["claims"],
            g["frozen"],
            _deducted(g),
            f"{g['lapsed']} ({g['lapsed_amount']})",
            f"{g['renewals_on_time']}/{g['renewals']}",
        )
    out.print(groups)
    official = data["official"]
    if official is None:
        out.print(
            "Official indicators (执行到位率, 执行完毕率, 首执终本率) need case closures: "
            "import them with `assetquery case closures import FILE`."
        )
        return
    out.print(
        f"执行到位率 {rate_text(official['execution_rate'])} · 执行完毕率 "
        f"{rate_text(official['completion_rate'])} · 首执终本率 "
        f"{rate_text(official['first_termination_rate'])} (over {official['closed']} closed cases)"
    )


def stats(
    since: Annotated[str | None, typer.Option("--from", help="First day (or time).")] = None,
    until: Annotated[str | None, typer.Option("--to", help="Last day, included.")] = None,
    court: CourtOption = None,
    operator: OperatorOption = None,
    figures_format: Annotated[
        str, typer.Option("--format", help="table, json, csv or html.")
    ] = "table",
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write to this file.")
    ] = None,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """The court's figures for a period: institutions' feedback, what was secured, and (with
    closures imported) the official indicators. Every figure is defined in docs/figures.md."""
    with fail_cleanly():
        if figures_format not in ("table", "json", "csv", "html"):
            raise InvalidInput("--format", f"{figures_format!r}: use table, json, csv or html")
        start, end = _period(since, until)
        opened = existing_store(store)
        try:
            figures = court_figures(opened, since=start, until=end, court=court, operator=operator)
        finally:
            opened.close()
    if figures.empty:
        shown = " and ".join(
            part
            for part in (
                f"from {start.astimezone(SHANGHAI):%Y-%m-%d}" if start else "",
                f"before {end.astimezone(SHANGHAI):%Y-%m-%d}" if end else "",
            )
            if part
        )
        err.print(
            f"error: the store holds no lookup, request or control {shown or 'at all'}"
            + (f" for {court}" if court else "")
            + (f" by {operator}" if operator else "")
            + ("; widen --from/--to" if since or until else "")
            + ("; check --court/--operator" if court or operator else "")
            + "; or check --store"
        )
        raise typer.Exit(EXIT_USAGE)
    data = figures_data(figures)
    if figures_format == "table":
        _print_figures(data)
        return
    if figures_format == "json":
        text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    elif figures_format == "csv":
        text = figures_csv(data)
    else:
        text = figures_html(data)
    if output is None:
        out.file.write(text)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8-sig" if figures_format == "csv" else "utf-8")
        out.print(f"Wrote {output}")
