"""A case file written out: JSON, CSV (UTF-8 with BOM, or GBK), XLSX, or one printable page.

CSV, XLSX and HTML are made from the same tables (``tables``): one per section of the file,
each with its headers in Chinese and English, so the three never disagree. JSON is the
whole file as data. Personal data is written in full: the file belongs to the court.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from html import escape
from importlib import resources
from pathlib import Path
from typing import Any

from .._errors import InvalidInput
from .._money import Money
from .._time import SHANGHAI
from ._file import CaseFile

__all__ = [
    "EXPORT_FORMATS",
    "PAGE_CSS",
    "Table",
    "case_html",
    "case_json",
    "tables",
    "write_case_file",
]

EXPORT_FORMATS = ("json", "csv", "xlsx", "html")


@dataclass(frozen=True, slots=True)
class Table:
    name: str  # a short English name: a sheet's name, a CSV section
    title: str  # the heading people read
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Money):
        return f"{value.amount:,.2f}" if value.currency == "CNY" else str(value)
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator}"
    if isinstance(value, datetime):
        return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes 是" if value else "no 否"
    return str(value)


def _row(*values: object) -> tuple[str, ...]:
    return tuple(_text(v) for v in values)


_EXPIRY_SOURCE = {None: "", True: "reported 机构回执", False: "computed 依法推算"}


def tables(case: CaseFile) -> list[Table]:
    """The case file as tables: totals, parties, lookups, assets, controls, operations, dates."""
    t = case.totals
    totals = [
        ("claim 执行标的", t.claim),
        ("available assets found 查得可供执行", t.available_found),
        ("frozen 已冻结", t.frozen),
        ("waiting in line 轮候冻结", t.waiting),
        ("value sealed 查封财产价值", t.sealed_value),
        ("seals without a reported value 未报价值的查封", t.unvalued_seals),
        ("deducted 已扣划", t.deducted),
        ("still uncovered 尚未控制", t.uncovered),
    ]
    answers = [
        _row(
            lookup.started_at,
            lookup.lookup_id,
            lookup.party.name,
            answer.name,
            answer.status,
            answer.answered_at,
            answer.due_at,
            answer.late,
        )
        for lookup in case.lookups
        for answer in lookup.answers
    ]
    assets = [
        _row(
            found.party.name,
            found.record.kind,
            found.record.institution,
            found.record.identifier,
            found.record.status.value,
            found.record.value,
            found.record.available,
            found.record.share,
            "; ".join(
                " ".join(
                    part
                    for part in (
                        e.kind.value + (" (waiting 轮候)" if e.waiting else ""),
                        e.authority or "",
                        e.case_number or "",
                        _text(e.amount),
                        f"until {e.end}" if e.end else "",
                    )
                    if part
                )
                for e in found.others
            ),
            found.record.as_of,
        )
        for found in case.assets
    ]
    controls = [
        _row(
            c.id,
            c.kind,
            c.state,
            c.institution,
            c.asset_identifier,
            c.amount,
            c.share,
            c.value,
            c.effective_on,
            c.expires_on,
            None
            if c.expiry_reported is None
            else ("reported" if c.expiry_reported else "computed"),
            c.waiting_position,
            c.renew_by,
            c.renewals,
            c.deducted,
        )
        for c in case.controls
    ]
    return [
        Table(
            "totals",
            f"Totals 合计 — {case.number}",
            ("figure 项目", "amount 金额"),
            tuple(_row(name, value) for name, value in totals),
        ),
        Table(
            "parties",
            "Parties 被执行人",
            ("kind 类型", "name 名称", "ID number 证件号码"),
            tuple(_row(p.kind, p.name, p.id_number) for p in case.parties),
        ),
        Table(
            "lookups",
            "Lookups 查询",
            (
                "asked 查询时间",
                "lookup 查询编号",
                "party 被执行人",
                "institution 机构",
                "status 结果",
                "answered 反馈时间",
                "due 应反馈",
                "late 超期",
            ),
            tuple(answers),
        ),
        Table(
            "assets",
            "Assets found, as each institution last answered 查得财产（以最近一次反馈为准）",
            (
                "party 被执行人",
                "kind 类型",
                "institution 机构",
                "identifier 账号/不动产单元号",
                "status 状态",
                "value 金额/价值",
                "available 可供执行",
                "share 份额",
                "other authorities' controls 他案控制",
                "as of 截至",
            ),
            tuple(assets),
        ),
        Table(
            "controls",
            "Controls 控制措施",
            (
                "id 编号",
                "kind 措施",
                "state 状态",
                "institution 机构",
                "asset 财产",
                "amount 金额",
                "share 份额",
                "value 价值",
                "effective 生效日",
                "ends 到期日",
                "end date 到期日来源",
                "waiting position 轮候顺位",
                "renew by 续行截止",
                "renewals 续行次数",
                "deducted 已扣划",
            ),
            tuple(controls),
        ),
        Table(
            "operations",
            "Renewals, deductions, releases 续行、扣划、解除",
            (
                "id 编号",
                "kind 措施",
                "state 状态",
                "of control 对应措施",
                "amount 金额",
                "asked 申请时间",
                "by 承办人",
            ),
            tuple(
                _row(o.id, o.kind, o.state, o.target_id, o.amount, o.requested_at, o.requested_by)
                for o in case.operations
            ),
        ),
        Table(
            "dates",
            "Next dates 待办期限",
            ("date 日期", "what 事项", "reference 对象", "overdue 已过期"),
            tuple(_row(d.on, d.what, d.reference, d.overdue) for d in case.next_dates),
        ),
    ]


# --- JSON ----------------------------------------------------------------------------------------


def _data(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        return {name: _data(getattr(value, name)) for name in value.__dataclass_fields__}
    if isinstance(value, Money):
        return {"amount": str(value.amount), "currency": value.currency}
    if hasattr(value, "model_dump"):  # an asset record or encumbrance: as reports write it
        return value.model_dump(mode="json")
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator}"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_data(v) for v in value]
    return value


def case_json(case: CaseFile) -> str:
    return json.dumps(_data(case), ensure_ascii=False, indent=2)


# --- CSV, XLSX, HTML ------------------------------------------------------------------------


_LONG_DIGITS = re.compile(r"\d{12,}")
_AMOUNT = re.compile(r"-?\d{1,3}(?:,\d{3})*\.\d{2}")


def _excel_text(cell: str) -> str:
    """A cell as Excel keeps it: identity and account numbers of 12 digits and more would
    be read as numbers and lose their last digits, so they are written as text formulas."""
    return f'="{cell}"' if _LONG_DIGITS.fullmatch(cell) else cell


def _csv(case: CaseFile, encoding: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for table in tables(case):
        writer.writerow([f"# {table.title}"])
        writer.writerow(table.headers)
        writer.writerows([_excel_text(cell) for cell in row] for row in table.rows)
        writer.writerow([])
    text = buffer.getvalue()
    if encoding == "gbk":
        try:
            return text.encode("gbk")
        except UnicodeEncodeError as error:
            raise InvalidInput(
                "--encoding",
                f"the case file holds {text[error.start : error.end]!r}, which GBK cannot "
                "write; export with the default UTF-8 (Excel opens it)",
            ) from None
    return text.encode("utf-8-sig")  # the byte-order mark tells Excel it is UTF-8


def _xlsx_value(cell: str) -> str | Decimal:
    """Amounts as numbers (so Excel can add them up); everything else as the text shown,
    identity and account numbers included."""
    return Decimal(cell.replace(",", "")) if _AMOUNT.fullmatch(cell) else cell


def _xlsx(case: CaseFile, path: Path) -> None:
    try:
        from openpyxl import Workbook
        from openpyxl.styles import Font
    except ImportError:
        raise InvalidInput(
            "format", "xlsx needs the xlsx extra: pip install 'assetquery[xlsx]'"
        ) from None
    book = Workbook()
    book.remove(book.active)
    for table in tables(case):
        sheet = book.create_sheet(table.name)
        sheet.append([table.title])
        sheet["A1"].font = Font(bold=True)
        sheet.append(list(table.headers))
        for cell in sheet[2]:
            cell.font = Font(bold=True)
        for row in table.rows:
            sheet.append([_xlsx_value(cell) for cell in row])
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, Decimal):
                    cell.number_format = "#,##0.00"
        for index, header in enumerate(table.headers, start=1):
            width = max([len(header), *(len(r[index - 1]) for r in table.rows)]) + 2
            sheet.column_dimensions[sheet.cell(2, index).column_letter].width = min(width, 60)
    book.save(path)


#: the stylesheet of the case file and the figures pages (inline: nothing is fetched)
PAGE_CSS = resources.files(__package__).joinpath("case.css").read_text(encoding="utf-8")


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def case_html(case: CaseFile) -> str:
    """The case file as one printable page that fetches nothing."""
    sections = []
    for table in tables(case):
        head = "".join(f"<th>{_e(h)}</th>" for h in table.headers)
        if table.rows:
            body = "".join(
                "<tr>" + "".join(f"<td>{_e(cell)}</td>" for cell in row) + "</tr>"
                for row in table.rows
            )
        else:
            body = f'<tr><td colspan="{len(table.headers)}" class="none">none 无</td></tr>'
        sections.append(
            f'<section class="{_e(table.name)}"><h2>{_e(table.title)}</h2>'
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></section>"
        )
    court = f"<p class='court'>{_e(case.court)}</p>" if case.court else ""
    operators = "、".join(case.operators)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
        f"<title>{_e(case.number)} 案件财产查控情况</title>\n<style>{PAGE_CSS}</style>\n"
        "</head>\n<body>\n<main>"
        f"<header>{court}<h1>案件财产查控情况 Case file</h1>"
        f"<p class='number'>{_e(case.number)}</p>"
        f"<p class='meta'>承办人 operator: {_e(operators)} · 截至 as of {_e(_text(case.as_of))}"
        "</p></header>" + "".join(sections) + "</main>\n</body>\n</html>\n"
    )


def write_case_file(
    case: CaseFile, path: Path, *, file_format: str | None = None, encoding: str = "utf-8"
) -> str:
    """Write ``case`` to ``path`` in ``file_format`` (default: from the file's suffix).
    Returns the format written."""
    chosen = (file_format or path.suffix.lstrip(".")).lower()
    if chosen == "htm":
        chosen = "html"
    if chosen not in EXPORT_FORMATS:
        raise InvalidInput(
            "format",
            f"{chosen or path.name!r} is not a format a case file is written in; "
            f"use one of {', '.join(EXPORT_FORMATS)} (or a file ending in one)",
        )
    if encoding not in ("utf-8", "gbk"):
        raise InvalidInput("--encoding", f"{encoding!r}: use utf-8 or gbk")
    if encoding != "utf-8" and chosen != "csv":
        raise InvalidInput(
            "--encoding", f"only a CSV file is written in {encoding}; {chosen} is UTF-8"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    if chosen == "json":
        path.write_text(case_json(case), encoding="utf-8")
    elif chosen == "csv":
        path.write_bytes(_csv(case, encoding))
    elif chosen == "xlsx":
        _xlsx(case, path)
    else:
        path.write_text(case_html(case), encoding="utf-8")
    return chosen
