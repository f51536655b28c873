"""The court's figures written out: JSON-ready data, CSV, and one printable page.

``figures_data`` is what ``stats --format json`` prints; CSV and HTML are made from it with
the same labelled columns, each named in Chinese and English as docs/figures.md names it.
Rates are fractions in JSON and CSV (0.25) and percentages on the page; the share deducted
online is labelled a lower bound wherever it appears, and the official indicators appear
only when closures were imported.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from html import escape
from typing import Any

from .._time import SHANGHAI
from ._export import PAGE_CSS
from ._figures import CourtFigures, GroupFigures

__all__ = [
    "figures_csv",
    "figures_data",
    "figures_html",
    "hours_text",
    "period_text",
    "rate_text",
    "scope_text",
]


@dataclass(frozen=True, slots=True)
class _Column:
    key: str
    label: str  # Chinese and English, as docs/figures.md names the figure
    kind: str = "text"  # text, count, rate, money or hours


_INSTITUTION = (
    _Column("institution", "机构 institution"),
    _Column("name", "名称 name"),
    _Column("operation", "事项 operation"),
    _Column("deadline", "期限 deadline"),
    _Column("requests", "请求 requests", "count"),
    _Column("answered", "已反馈 answered", "count"),
    _Column("answered_in_time", "按期反馈 answered in time", "count"),
    _Column("feedback_rate", "反馈率 feedback rate", "rate"),
    _Column("timely_rate", "及时反馈率 timely feedback rate", "rate"),
    _Column("median_hours", "中位用时 median", "hours"),
    _Column("p90_hours", "90%用时 90th percentile", "hours"),
    _Column("overdue_open", "超期未反馈 overdue, open", "count"),
    _Column("failed", "失败 failed", "count"),
)
_GROUP = (
    _Column("court", "法院 court"),
    _Column("operator", "承办人 operator"),
    _Column("lookups", "查询 lookups", "count"),
    _Column("lookups_with_assets", "查到财产 with assets", "count"),
    _Column("cases", "案件 cases", "count"),
    _Column("cases_with_assets", "有财产案件 cases with assets", "count"),
    _Column("controls_requested", "申请控制 controls asked", "count"),
    _Column("controls_in_force", "控制中 in force", "count"),
    _Column("claims", "申请标的 claims", "money"),
    _Column("frozen", "冻结 frozen", "money"),
    _Column("deducted", "扣划 deducted", "money"),
    _Column("deducted_share", "扣划÷标的（下限）deducted share, lower bound", "rate"),
    _Column("lapsed", "失效未续 lapsed unrenewed", "count"),
    _Column("lapsed_amount", "失效金额 amount lapsed", "money"),
    _Column("renewals", "续行 renewals", "count"),
    _Column("renewals_on_time", "按期续行 renewed on time", "count"),
)
_OFFICIAL = (
    _Column("execution_rate", "执行到位率 execution rate", "rate"),
    _Column("completion_rate", "执行完毕率 completion rate", "rate"),
    _Column("first_termination_rate", "首执终本率 first-enforcement termination rate", "rate"),
    _Column("closed", "结案 cases closed", "count"),
    _Column("completed", "执行完毕 closed as completed", "count"),
    _Column("first_enforcement_closed", "首执结案 first-enforcement closed", "count"),
    _Column("first_enforcement_terminated", "首执终本 of which terminated", "count"),
    _Column("applied", "申请执行标的 applied for", "money"),
    _Column("recovered", "执行到位 recovered", "money"),
    _Column("without_amount", "无标的额 without an amount", "count"),
)
_OFFICIAL_SOURCE = "from imported closures 据导入的结案信息"
_ALL = "(all 合计)"


def _group_values(group: GroupFigures) -> dict[str, Any]:
    return {
        "court": group.court,
        "operator": group.operator,
        "lookups": group.lookups,
        "lookups_with_assets": group.lookups_with_assets,
        "cases": group.cases,
        "cases_with_assets": group.cases_with_assets,
        "controls_requested": group.controls_requested,
        "controls_in_force": group.controls_in_force,
        "claims": str(group.claims.amount),
        "frozen": str(group.frozen.amount),
        "deducted": str(group.deducted.amount),
        "deducted_claimed": str(group.deducted_claimed.amount),
        "deducted_share": group.deducted_share,
        "lapsed": group.lapsed,
        "lapsed_amount": str(group.lapsed_amount.amount),
        "renewals": group.renewals,
        "renewals_on_time": group.renewals_on_time,
    }


def figures_data(figures: CourtFigures) -> dict[str, Any]:
    """The figures as JSON-ready data (``stats --format json``). ``to`` is the first moment
    after the period; ``last_day`` the period's last day, as it was asked for."""
    official = figures.official
    return {
        "from": figures.since.isoformat() if figures.since else None,
        "to": figures.until.isoformat() if figures.until else None,
        "last_day": _last_day(figures.until),
        "court": figures.court,
        "operator": figures.operator,
        "generated_at": figures.generated_at.isoformat(),
        "institutions": [
            {
                "institution": s.institution,
                "name": s.institution_name,
                "operation": s.operation,
                "deadline": s.deadline,
                "requests": s.count,
                "answered": s.answered,
                "answered_in_time": s.met,
                "feedback_rate": s.feedback_rate,
                "timely_rate": s.timely_rate,
                "median_hours": s.median_hours,
                "p90_hours": s.p90_hours,
                "deadline_hours": s.deadline_hours,
                "overdue_open": s.open_overdue,
                "failed": s.failed,
            }
            for s in figures.institutions
        ],
        "groups": [_group_values(g) for g in figures.groups],
        "total": _group_values(figures.total),
        "official": None
        if official is None
        else {
            "closed": official.closed,
            "completed": official.completed,
            "first_enforcement_closed": official.first_closed,
            "first_enforcement_terminated": official.first_terminated,
            "applied": str(official.applied.amount),
            "recovered": str(official.recovered.amount),
            "without_amount": official.without_amount,
            "execution_rate": official.execution_rate,
            "completion_rate": official.completion_rate,
            "first_termination_rate": official.first_termination_rate,
        },
    }


def _last_day(until: datetime | None) -> str | None:
    if until is None:
        return None
    return (until.astimezone(SHANGHAI) - timedelta(microseconds=1)).date().isoformat()


def scope_text(data: dict[str, Any]) -> str:
    """What the figures were narrowed to: a court, an operator, or the whole store."""
    parts = [part for part in (data["court"], data["operator"]) if part]
    return " · ".join(parts) if parts else "every court and operator 全部法院与承办人"


def period_text(data: dict[str, Any]) -> str:
    """The period as people write it: first and last day, both included."""
    first = datetime.fromisoformat(data["from"]).astimezone(SHANGHAI) if data["from"] else None
    last = data["last_day"]
    if first is None and last is None:
        return "all that the store holds 全部记录"
    since = f"{first:%Y-%m-%d}" if first else "…"
    return f"{since} – {last or '…'}"


def rate_text(value: float | None) -> str:
    """A rate as people read it: 83.3%; empty where there is none."""
    return "" if value is None else f"{value:.1%}"


def hours_text(value: float | None) -> str:
    """A response time as people read it: 15.0 h, or days from two days on."""
    if value is None:
        return ""
    return f"{value / 24:.1f} d" if value >= 48 else f"{value:.1f} h"


def _cell(value: Any, kind: str, *, page: bool) -> str:
    if value is None:
        return ""
    if kind == "rate":
        return rate_text(value) if page else f"{value:.4f}"
    if kind == "hours" and page:
        return hours_text(value)
    if kind == "hours":
        return f"{value:.2f}"
    if kind == "money" and page:
        return f"{Decimal(value):,.2f}"
    return str(value)


def _rows(
    columns: tuple[_Column, ...], items: list[dict[str, Any]], *, page: bool
) -> list[list[str]]:
    return [[_cell(item[c.key], c.kind, page=page) for c in columns] for item in items]


def _groups(data: dict[str, Any], *, page: bool) -> list[list[str]]:
    rows = _rows(_GROUP, [*data["groups"], data["total"]], page=page)
    rows[-1][0] = rows[-1][0] or _ALL
    return rows


def figures_csv(data: dict[str, Any]) -> str:
    """Three sections, each with its labelled header row; rates as fractions."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([f"# 执行查控统计 court figures: {period_text(data)}, {scope_text(data)}"])
    writer.writerow(["# institutions 机构反馈"])
    writer.writerow([c.label for c in _INSTITUTION])
    writer.writerows(_rows(_INSTITUTION, data["institutions"], page=False))
    writer.writerow([])
    writer.writerow(["# courts and operators 法院与承办人"])
    writer.writerow([c.label for c in _GROUP])
    writer.writerows(_groups(data, page=False))
    if data["official"] is not None:
        writer.writerow([])
        writer.writerow([f"# official indicators 质效指标, {_OFFICIAL_SOURCE}"])
        writer.writerow([c.label for c in _OFFICIAL])
        writer.writerows(_rows(_OFFICIAL, [data["official"]], page=False))
    return buffer.getvalue()


def _table(title: str, columns: tuple[_Column, ...], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(c.label)}</th>" for c in columns)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td class='{c.kind}'>{escape(value)}</td>"
            for c, value in zip(columns, row, strict=True)
        )
        + "</tr>"
        for row in rows
    )
    if not rows:
        body = f"<tr><td class='none' colspan='{len(columns)}'>none 无</td></tr>"
    return (
        f"<section><h2>{escape(title)}</h2><table class='figures'><thead><tr>{head}</tr>"
        f"</thead><tbody>{body}</tbody></table></section>"
    )


_FIGURES_CSS = """
table.figures { font-size: 11px; table-layout: auto; }
table.figures th { white-space: normal; }
table.figures td.count, table.figures td.rate, table.figures td.money, table.figures td.hours {
  text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap;
}
p.note { color: #555; margin: 4px 0; }
"""


def figures_html(data: dict[str, Any]) -> str:
    """One self-contained printable page: nothing is fetched, the fonts are the reader's."""
    official = data["official"]
    sections = [
        _table(
            "Institutions 机构反馈",
            _INSTITUTION,
            _rows(_INSTITUTION, data["institutions"], page=True),
        ),
        _table("Courts and operators 法院与承办人", _GROUP, _groups(data, page=True)),
        "<p class='note'>扣划÷标的 is a lower bound of what was recovered: money paid other "
        "than by online deduction is not in the store. 扣划÷标的为下限：线下执行到位的款项不在"
        "系统记录中。</p>",
    ]
    if official is None:
        sections.append(
            "<p class='note'>执行到位率, 执行完毕率 and 首执终本率 need case closures: import them "
            "with <code>assetquery case closures import FILE</code>. 需导入结案信息后计算。</p>"
        )
    else:
        sections.append(
            _table(
                f"Official indicators 质效指标 ({_OFFICIAL_SOURCE})",
                _OFFICIAL,
                _rows(_OFFICIAL, [official], page=True),
            )
        )
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
        "<title>执行查控统计 Court figures</title>\n"
        f"<style>{PAGE_CSS}{_FIGURES_CSS}</style>\n</head>\n<body><main>"
        f"<header><p class='court'>{escape(scope_text(data))}</p>"
        "<h1>执行查控统计 Court figures</h1>"
        f"<p class='meta'>{escape(period_text(data))}</p></header>"
        + "".join(sections)
        + "</main></body>\n</html>\n"
    )
