"""One self-contained HTML page of institution performance: summary, charts, evidence sheets.

Everything is inline: the CSS, and the charts, drawn here as SVG. A Content-Security-Policy
forbids the page any request, so it reads the same offline, as an e-mail attachment, or
printed on A4, where each institution's evidence sheet starts a new page to be attached to a
judicial recommendation. Every text that comes from data is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import partial
from html import escape
from importlib import resources

from .._time import SHANGHAI
from ._model import BreachItem, OperationStats, PerformanceReport, TrendPoint

__all__ = ["render_html"]

_XFunction = Callable[[date], float]  # a period to its x on a trend panel
_YFunction = Callable[[float], float]  # a breach rate to its y

# Breach-rate bands, as the summary table colours them; the trend chart marks the upper one.
_BAD_RATE = 0.20
_WARN_RATE = 0.05

_OPERATION_LABELS = {
    "inquiry": "Inquiry 查询",
    "freeze": "Freeze 冻结",
    "seal": "Seal 查封",
    "deduct": "Deduction 扣划",
    "renew": "Renewal 续行",
    "release": "Release 解除",
    "status": "Status 状态查询",
}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_PROVISIONAL_MARK = "†"

# Okabe–Ito colours (distinguishable with the common colour-vision deficiencies), each paired
# with a marker shape so that series still differ in grey print.
_SERIES_STYLES = (
    ("#0072B2", "circle"),
    ("#E69F00", "square"),
    ("#009E73", "triangle"),
    ("#CC79A7", "diamond"),
    ("#56B4E9", "circle"),
    ("#D55E00", "square"),
    ("#000000", "triangle"),
)
_ON_TIME = "#3B6EA5"
_LATE = "#D55E00"
_DEADLINE = "#B2182B"


def render_html(
    report: PerformanceReport,
    *,
    title: str = "Institution response times",
    court: str | None = None,
) -> str:
    """The report as one HTML document that needs nothing but a browser (or a printer)."""
    names = _institution_names(report)
    sheets = "".join(
        _evidence_sheet(report, institution, name, index, court)
        for index, (institution, name) in enumerate(names.items(), start=1)
    )
    body = (
        '<main class="page">'
        + _masthead(report, title, court)
        + _summary_section(report, names)
        + distribution_section(report)
        + _trend_section(report, names)
        + "</main>"
        + sheets
        + _footer(report)
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        # Nothing may be fetched: not a font, an image or a script, whatever the data holds.
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"{body}\n</body>\n</html>\n"
    )


# --- text --------------------------------------------------------------------------------------


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _local_time(value: datetime) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _local_day(value: datetime) -> date:
    return value.astimezone(SHANGHAI).date()


def _period_end_day(until: datetime) -> date:
    """The last day the period covers: an end at local midnight is exclusive, so the day before."""
    local = until.astimezone(SHANGHAI)
    if local.time() == time(0, 0):
        return local.date() - timedelta(days=1)
    return local.date()


def _period_text(report: PerformanceReport) -> str:
    start = _local_day(report.since).isoformat() if report.since else "the first request"
    end = _period_end_day(report.until).isoformat() if report.until else "the report date"
    return f"{start} – {end}"


def _operation_label(operation: str) -> str:
    return _OPERATION_LABELS.get(operation, operation)


def _day_label(day: date) -> str:
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def _period_label(start: date, bucket: str) -> str:
    """A short axis label: "2 Nov" for a week, "Nov 2026" for a month."""
    if bucket == "month":
        return f"{_MONTHS[start.month - 1]} {start.year}"
    return f"{start.day} {_MONTHS[start.month - 1]}"


def _duration(hours: float | None) -> str:
    """A turnaround in the unit that reads best: minutes, hours, or days when long."""
    if hours is None:
        return "—"
    sign = "−" if hours < 0 else ""
    size = abs(hours)
    if size < 1:
        return f"{sign}{round(size * 60)} min"
    if size < 10:
        return f"{sign}{size:.1f} h"
    if size < 48:
        return f"{sign}{round(size)} h"
    return f"{sign}{size / 24:.1f} d"


def _delay(hours: float) -> str:
    """A delay for the evidence, to the minute: "2 d 5 h", "5 h 20 min", "45 min"."""
    minutes = max(round(hours * 60), 0)
    days, minutes = divmod(minutes, 24 * 60)
    whole_hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {whole_hours} h"
    if whole_hours:
        return f"{whole_hours} h {minutes} min"
    return f"{minutes} min"


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.1%}"


def _rate_class(rate: float | None) -> str:
    if rate is None:
        return "rate-none"
    if rate >= _BAD_RATE:
        return "rate-bad"
    if rate >= _WARN_RATE:
        return "rate-warn"
    return "rate-ok"


def _institution_names(report: PerformanceReport) -> dict[str, str]:
    """Institution id to display name, in the order the statistics list them."""
    names: dict[str, str] = {}
    for stats in report.stats:
        names.setdefault(stats.institution, stats.institution_name or stats.institution)
    for item in report.breaches:
        names.setdefault(item.institution, item.institution_name or item.institution)
    for point in report.trend:
        names.setdefault(point.institution, point.institution)
    return names


# --- header, summary and footer ----------------------------------------------------------------


def _masthead(report: PerformanceReport, title: str, court: str | None) -> str:
    facts = [("Period 统计期间", _period_text(report))]
    if court:
        facts.insert(0, ("Court 法院", court))
    facts.append(("Generated 生成时间", _local_time(report.generated_at)))
    rows = "".join(f"<div><dt>{_e(k)}</dt><dd>{_e(v)}</dd></div>" for k, v in facts)
    return (
        '<header class="masthead">'
        '<p class="kicker">Enforcement assistance · 协助执行单位办理时效</p>'
        f"<h1>{_e(title)}</h1>"
        f'<dl class="facts">{rows}</dl>'
        '<p class="tz">All times are Beijing time (Asia/Shanghai, UTC+8).</p>'
        f"{_provisional_notice(report)}</header>"
    )


def _provisional_notice(report: PerformanceReport) -> str:
    if not report.provisional:
        return ""
    count = sum(s.provisional for s in report.stats)
    subject = f"{count} deadline{'s' if count != 1 else ''}" if count else "Some deadlines"
    return (
        '<aside class="notice" role="note"><strong>Provisional 暂定</strong> '
        f"{subject} in this report fall in a year whose public-holiday schedule had not been "
        "announced; they were computed from the statutory holidays alone and may move once the "
        f"schedule is published. They are marked {_PROVISIONAL_MARK}.</aside>"
    )


_SUMMARY_HEAD = (
    "<thead><tr>"
    '<th scope="col" class="text">Institution 单位</th>'
    '<th scope="col" class="text">Operation 事项</th>'
    '<th scope="col" class="text">Deadline 期限</th>'
    '<th scope="col">Requests</th><th scope="col">Answered</th>'
    '<th scope="col">Median</th><th scope="col">P90</th><th scope="col">P95</th>'
    '<th scope="col">Breaches</th><th scope="col">Breach rate</th>'
    '<th scope="col">Open overdue</th><th scope="col">Failed</th>'
    "</tr></thead>"
)


def _summary_section(report: PerformanceReport, names: dict[str, str]) -> str:
    heading = '<section class="block"><h2>Summary 汇总</h2>'
    if not report.stats:
        return heading + '<p class="empty">No requests in the period.</p></section>'
    sheet_ids = {institution: index for index, institution in enumerate(names, start=1)}
    rows = "".join(_summary_row(s, sheet_ids[s.institution]) for s in report.stats)
    return (
        heading
        + f'<table class="summary">{_SUMMARY_HEAD}<tbody>{rows}</tbody></table>'
        + '<p class="legend-line">Breach rate (late answers ÷ answered): '
        f'<span class="chip rate-bad">{_BAD_RATE:.0%} or more</span> '
        f'<span class="chip rate-warn">{_WARN_RATE:.0%} to {_BAD_RATE:.0%}</span> '
        f'<span class="chip rate-ok">under {_WARN_RATE:.0%}</span>. '
        "Median, P90, P95: turnaround from request to answer; 90% of answers came within P90. "
        "Open overdue: unanswered and past due. Failed: ended without an answer.</p>"
        "</section>"
    )


def _summary_row(stats: OperationStats, sheet: int) -> str:
    mark = ""
    if stats.provisional:
        mark = (
            f'&nbsp;<span class="mark" title="{stats.provisional} provisional deadline(s)">'
            f"{_PROVISIONAL_MARK}</span>"
        )
    overdue_class = ' class="alert"' if stats.open_overdue else ""
    return (
        "<tr>"
        f'<th scope="row" class="text"><a href="#sheet-{sheet}">{_e(stats.institution_name)}</a>'
        "</th>"
        f'<td class="text keep">{_e(_operation_label(stats.operation))}</td>'
        f'<td class="text">{_e(stats.deadline)}{mark}</td>'
        f"<td>{stats.count}</td><td>{stats.answered}</td>"
        f"<td>{_duration(stats.median_hours)}</td><td>{_duration(stats.p90_hours)}</td>"
        f"<td>{_duration(stats.p95_hours)}</td>"
        f"<td>{stats.breaches}</td>"
        f'<td class="{_rate_class(stats.breach_rate)}">{_percent(stats.breach_rate)}</td>'
        f"<td{overdue_class}>{stats.open_overdue}</td><td>{stats.failed}</td>"
        "</tr>"
    )


def _footer(report: PerformanceReport) -> str:
    return (
        '<footer class="page foot">Generated by assetquery on '
        f"{_e(_local_time(report.generated_at))} (Beijing time). Turnaround: from the request "
        "to the institution's answer. Breach: answered after the deadline, or still "
        "unanswered past it.</footer>"
    )


# --- chart 1: turnaround distribution against each deadline ------------------------------------


@dataclass(frozen=True, slots=True)
class _Axis:
    """A horizontal value axis in hours: linear, or logarithmic when ranges differ wildly."""

    low: float
    high: float
    ticks: tuple[float, ...]
    log: bool
    unit: str  # tick labels on a linear axis: "min", "h" or "d"; a log axis mixes them

    def x(self, value: float, left: float, right: float) -> float:
        if self.log:
            value = max(value, self.low)
            span = math.log10(self.high) - math.log10(self.low)
            share = (math.log10(value) - math.log10(self.low)) / span
        else:
            share = (value - self.low) / (self.high - self.low)
        return left + min(max(share, 0.0), 1.0) * (right - left)

    def label(self, hours: float, units: tuple[str, str, str] = (" min", " h", " d")) -> str:
        """A tick's label; ``units`` are the suffixes for minutes, hours and days."""
        if hours == 0:
            return "0"
        sign = "−" if hours < 0 else ""
        size = abs(hours)
        unit = self.unit
        if self.log:
            unit = "min" if size < 1 else "h" if size < 24 else "d"
        if unit == "min":
            return f"{sign}{size * 60:g}{units[0]}"
        if unit == "d":
            return f"{sign}{size / 24:g}{units[2]}"
        return f"{sign}{size:g}{units[1]}"


# Log ticks a reader knows: 1 min, 10 min, 1 h, 6 h, 1 day, 3 days, a week, a month, …
_LOG_TICKS = (1 / 60, 10 / 60, 1.0, 6.0, 24.0, 72.0, 168.0, 720.0, 2160.0, 8760.0)
_LINEAR_STEPS = (1 / 6, 0.25, 0.5, 1, 2, 3, 6, 12, 24, 48, 72, 168, 336, 720, 1440, 2160, 4320)
# Spread (slowest ÷ fastest) beyond which a linear axis would crush the fast institutions.
_LOG_SPREAD = 30.0
_MAX_DOTS = 300


def _value_axis(values: Sequence[float], *, allow_log: bool) -> _Axis:
    low, high = min(values), max(values)
    floor = max(low, _LOG_TICKS[0])
    if allow_log and high / floor > _LOG_SPREAD:
        return _log_axis(floor, high)
    return _linear_axis(min(low, 0.0), max(high, 0.0))


def _log_axis(low: float, high: float) -> _Axis:
    start = max((t for t in _LOG_TICKS if t <= low), default=_LOG_TICKS[0])
    end = min((t for t in _LOG_TICKS if t >= high), default=high)
    ticks = tuple(t for t in _LOG_TICKS if start <= t <= end)
    return _Axis(start, end, ticks, log=True, unit="h")


def _linear_axis(low: float, high: float) -> _Axis:
    span = (high - low) or 1.0
    step = next((s for s in _LINEAR_STEPS if span / s <= 8), _LINEAR_STEPS[-1])
    start = math.floor(low / step) * step
    end = max(math.ceil(high / step) * step, start + step)
    ticks = tuple(start + k * step for k in range(round((end - start) / step) + 1))
    unit = "min" if end - start <= 1 else "d" if step >= 24 else "h"
    return _Axis(start, end, ticks, log=False, unit=unit)


@dataclass(frozen=True, slots=True)
class _Strip:
    """One institution's operation as a row of the distribution chart."""

    name: str
    detail: str
    values: tuple[float, ...]  # ascending
    limit: float  # where the deadline falls on this chart's axis


@dataclass(frozen=True, slots=True)
class DistributionWords:
    """What the distribution chart says, so another page can say it in its own language."""

    detail: Callable[[OperationStats], str]  # the line under an institution's name
    fixed_title: str
    fixed_axis: str
    working_title: str
    working_axis: str
    heading: str  # the section's opening, HTML
    empty: str
    legend: tuple[str, str, str, str, str]  # in time, late, middle half, 5–95 %, deadline
    scales: tuple[str, str] = ("linear scale", "logarithmic scale")
    no_answers: str = "no answers in the period"
    late: Callable[[int], str] = lambda count: f"{count} late"
    units: tuple[str, str, str] = (" min", " h", " d")  # tick suffixes: minutes, hours, days
    summary: Callable[[str, str, int, int], str] = lambda name, detail, answered, late: (
        f"{name}, {detail}: {answered} answered, {late} late"
    )


REPORT_WORDS = DistributionWords(
    detail=lambda s: f"{_operation_label(s.operation)} · {s.deadline}",
    fixed_title="Deadlines of a fixed length: turnaround 办理时长",
    fixed_axis="Turnaround, from request to answer",
    working_title="Deadlines in working days: time past the deadline 超期时长",
    working_axis="Time past the deadline (left of the red line: early; right: late)",
    heading="<h2>Turnaround against the deadline 办理时长与期限</h2>"
    '<p class="lede">Each row is one institution and operation; each dot one answer. '
    "The red dashed line is the deadline: dots right of it (orange) were late.</p>",
    empty="No requests in the period.",
    legend=(
        "answered in time",
        "answered late",
        "middle half of answers, median",
        "5th to 95th percentile",
        "deadline",
    ),
)


def _strip(stats: OperationStats, words: DistributionWords) -> _Strip:
    detail = words.detail(stats)
    if stats.deadline_hours is not None:
        return _Strip(
            stats.institution_name, detail, tuple(sorted(stats.turnarounds)), stats.deadline_hours
        )
    return _Strip(stats.institution_name, detail, tuple(sorted(stats.overruns)), 0.0)


def distribution_section(report: PerformanceReport, words: DistributionWords = REPORT_WORDS) -> str:
    """Every institution's answers against its deadline: dots, boxes and the deadline line."""
    fixed = [_strip(s, words) for s in report.stats if s.deadline_hours is not None]
    working = [_strip(s, words) for s in report.stats if s.deadline_hours is None]
    charts = []
    if fixed:
        charts.append(
            _distribution_figure(
                fixed, "fixed", words.fixed_title, words.fixed_axis, words, allow_log=True
            )
        )
    if working:
        charts.append(
            _distribution_figure(
                working,
                "working",
                words.working_title,
                words.working_axis,
                words,
                allow_log=False,  # signed: a log scale cannot show "early"
            )
        )
    body = "".join(charts) or f'<p class="empty">{_e(words.empty)}</p>'
    return f'<section class="block">{words.heading}{body}{_distribution_legend(words)}</section>'


def _distribution_legend(words: DistributionWords) -> str:
    in_time, late, middle, spread, deadline = (_e(w) for w in words.legend)
    return (
        '<p class="legend" aria-hidden="true">'
        f'<span><svg width="14" height="14"><circle cx="7" cy="7" r="4" fill="{_ON_TIME}"/>'
        f"</svg>{in_time}</span>"
        f'<span><svg width="14" height="14"><circle cx="7" cy="7" r="4" fill="{_LATE}"/>'
        f"</svg>{late}</span>"
        '<span><svg width="26" height="14"><rect x="1" y="3" width="24" height="8" '
        'fill="#E3EAF3" stroke="#44546A"/><line x1="12" y1="3" x2="12" y2="11" '
        f'stroke="#1F2D3D" stroke-width="2.5"/></svg>{middle}</span>'
        '<span><svg width="26" height="14"><line x1="1" y1="7" x2="25" y2="7" stroke="#6B7684" '
        f'stroke-width="1.5"/></svg>{spread}</span>'
        f'<span><svg width="14" height="14"><line x1="7" y1="0" x2="7" y2="14" '
        f'stroke="{_DEADLINE}" stroke-width="2" stroke-dasharray="3 2"/></svg>{deadline}</span>'
        "</p>"
    )


# Layout of the distribution chart, in SVG user units. The SVG scales to the page width: about
# 1.2 on a screen, 0.8 on A4, where its text must stay legible.
_CHART_W = 880
_LABEL_X = 8
_PLOT_LEFT = 240.0
_PLOT_RIGHT = 790.0
_ROW_H = 46
_TOP = 6


def _distribution_figure(
    strips: Sequence[_Strip],
    key: str,
    caption: str,
    axis_title: str,
    words: DistributionWords,
    *,
    allow_log: bool,
) -> str:
    values = [v for s in strips for v in s.values] + [s.limit for s in strips]
    axis = _value_axis(values, allow_log=allow_log)
    bottom = _TOP + len(strips) * _ROW_H
    height = bottom + 50
    scale = words.scales[axis.log]
    summary = "; ".join(_strip_summary(s, words) for s in strips)
    rows = "".join(_strip_row(s, axis, _TOP + i * _ROW_H, i, words) for i, s in enumerate(strips))
    return (
        f'<figure class="chart-figure"><figcaption>{_e(caption)}</figcaption>'
        f'<svg class="chart distribution" data-chart="distribution-{key}" '
        f'viewBox="0 0 {_CHART_W} {height}" role="img" aria-labelledby="dist-{key}-title" '
        f'aria-describedby="dist-{key}-desc">'
        f'<title id="dist-{key}-title">{_e(caption)} ({scale})</title>'
        f'<desc id="dist-{key}-desc">{_e(summary)}</desc>'
        f"{_x_grid(axis, _TOP, bottom)}{rows}"
        f"{_x_axis(axis, bottom, axis_title, scale, words.units)}</svg>"
        "</figure>"
    )


def _strip_summary(strip: _Strip, words: DistributionWords) -> str:
    late = sum(1 for v in strip.values if v > strip.limit)
    return words.summary(strip.name, strip.detail, len(strip.values), late)


def _x_grid(axis: _Axis, top: float, bottom: float) -> str:
    lines = []
    for tick in axis.ticks:
        x = axis.x(tick, _PLOT_LEFT, _PLOT_RIGHT)
        lines.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}" stroke="#E1E5EA"/>')
    return "".join(lines)


def _x_axis(axis: _Axis, y: float, title: str, scale: str, units: tuple[str, str, str]) -> str:
    parts = [
        f'<line x1="{_PLOT_LEFT}" y1="{y}" x2="{_PLOT_RIGHT}" y2="{y}" stroke="#8A94A3"/>',
    ]
    for tick in axis.ticks:
        x = axis.x(tick, _PLOT_LEFT, _PLOT_RIGHT)
        parts.append(
            f'<text x="{x:.1f}" y="{y + 17}" text-anchor="middle" class="tick">'
            f"{_e(axis.label(tick, units))}</text>"
        )
    middle = (_PLOT_LEFT + _PLOT_RIGHT) / 2
    parts.append(
        f'<text x="{middle:.1f}" y="{y + 40}" text-anchor="middle" class="axis-title">'
        f"{_e(title)} ({scale})</text>"
    )
    return "".join(parts)


def _quantile(ordered: Sequence[float], share: float) -> float:
    position = (len(ordered) - 1) * share
    below = math.floor(position)
    above = math.ceil(position)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def _strip_row(strip: _Strip, axis: _Axis, top: float, index: int, words: DistributionWords) -> str:
    middle = top + _ROW_H / 2
    parts = [f"<g><title>{_e(_strip_summary(strip, words))}</title>"]
    if index % 2 == 0:
        parts.append(f'<rect x="0" y="{top}" width="{_CHART_W}" height="{_ROW_H}" fill="#F6F7F9"/>')
    parts.append(
        f'<text x="{_LABEL_X}" y="{middle - 4}" class="row-name">{_e(_clip(strip.name, 17))}</text>'
        f'<text x="{_LABEL_X}" y="{middle + 14}" class="row-detail">'
        f"{_e(_clip(strip.detail, 30))}</text>"
    )
    if strip.values:
        parts.append(_box(strip.values, axis, middle))
        parts.append(_dots(strip, axis, middle))
    else:
        parts.append(
            f'<text x="{_PLOT_LEFT + 8}" y="{middle + 4}" class="no-data">'
            f"{_e(words.no_answers)}</text>"
        )
    deadline_x = axis.x(strip.limit, _PLOT_LEFT, _PLOT_RIGHT)
    parts.append(
        f'<line x1="{deadline_x:.1f}" y1="{top + 4}" x2="{deadline_x:.1f}" '
        f'y2="{top + _ROW_H - 4}" stroke="{_DEADLINE}" stroke-width="2" '
        'stroke-dasharray="5 3"/>'
    )
    late = sum(1 for v in strip.values if v > strip.limit)
    parts.append(
        f'<text x="{_CHART_W - 8}" y="{middle - 4}" text-anchor="end" class="row-count">'
        f"n = {len(strip.values)}</text>"
        f'<text x="{_CHART_W - 8}" y="{middle + 14}" text-anchor="end" '
        f'class="row-late{" is-late" if late else ""}">{_e(words.late(late))}</text></g>'
    )
    return "".join(parts)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _box(values: Sequence[float], axis: _Axis, middle: float) -> str:
    def x(share: float) -> float:
        return axis.x(_quantile(values, share), _PLOT_LEFT, _PLOT_RIGHT)

    low, q1, median, q3, high = x(0.05), x(0.25), x(0.5), x(0.75), x(0.95)
    return (
        f'<line x1="{low:.1f}" y1="{middle}" x2="{high:.1f}" y2="{middle}" stroke="#6B7684" '
        'stroke-width="1.5"/>'
        f'<line x1="{low:.1f}" y1="{middle - 5}" x2="{low:.1f}" y2="{middle + 5}" '
        'stroke="#6B7684" stroke-width="1.5"/>'
        f'<line x1="{high:.1f}" y1="{middle - 5}" x2="{high:.1f}" y2="{middle + 5}" '
        'stroke="#6B7684" stroke-width="1.5"/>'
        f'<rect x="{q1:.1f}" y="{middle - 9}" width="{max(q3 - q1, 1.5):.1f}" height="18" '
        'fill="#E3EAF3" fill-opacity="0.85" stroke="#44546A"/>'
        f'<line x1="{median:.1f}" y1="{middle - 9}" x2="{median:.1f}" y2="{middle + 9}" '
        'stroke="#1F2D3D" stroke-width="2.5"/>'
    )


def _dots(strip: _Strip, axis: _Axis, middle: float) -> str:
    values = strip.values
    # Thousands of dots would only blur together: an even sample keeps the distribution's shape.
    if len(values) > _MAX_DOTS:
        step = (len(values) - 1) / (_MAX_DOTS - 1)
        values = tuple(values[round(i * step)] for i in range(_MAX_DOTS))
    dots = []
    for i, value in enumerate(values):
        # Deterministic jitter (golden-ratio sequence) so equal values do not hide each other.
        offset = ((i * 0.6180339887) % 1 - 0.5) * 24
        colour = _LATE if value > strip.limit else _ON_TIME
        x = axis.x(value, _PLOT_LEFT, _PLOT_RIGHT)
        dots.append(
            f'<circle cx="{x:.1f}" cy="{middle + offset:.1f}" r="2.8" fill="{colour}" '
            'fill-opacity="0.6"/>'
        )
    return "".join(dots)


# --- chart 2: breach rate over time, one small chart per institution ---------------------------

# Small enough that two panels side by side on A4 keep their labels legible.
_PANEL_W = 400
_PANEL_H = 184
_PANEL_LEFT = 44.0
_PANEL_RIGHT = 390.0
_PANEL_TOP = 10.0
_PANEL_BOTTOM = 150.0
_MAX_X_LABELS = 8


def _trend_section(report: PerformanceReport, names: dict[str, str]) -> str:
    heading = '<section class="block trend"><h2>Breach rate over time 超期率趋势</h2>'
    answered = [p for p in report.trend if p.breach_rate is not None]
    if not answered:
        return heading + '<p class="empty">No answered requests in the period.</p></section>'
    periods = sorted({p.period_start for p in report.trend})
    operations = list(dict.fromkeys(p.operation for p in report.trend))
    styles = {op: _SERIES_STYLES[i % len(_SERIES_STYLES)] for i, op in enumerate(operations)}
    ceiling, step = _rate_axis(max(p.breach_rate or 0.0 for p in answered))
    panels = "".join(
        _trend_panel(
            names[institution],
            [p for p in report.trend if p.institution == institution],
            periods,
            (ceiling, step),
            styles,
            report.bucket,
        )
        for institution in dict.fromkeys(p.institution for p in report.trend)
    )
    unit = "Monthly" if report.bucket == "month" else "Weekly (weeks starting Monday)"
    return (
        heading + f'<p class="lede">{unit}, {_e(_day_label(periods[0]))} to '
        f"{_e(_day_label(periods[-1]))}. Late answers as a share of the answers in each "
        "period; every institution on the same scale. A gap: nothing answered that period.</p>"
        + _trend_legend(styles)
        + f'<div class="panels">{panels}</div></section>'
    )


# Tops of the shared rate axis and the step between its labels: every label a whole
# percentage a reader would write (0 %, 5 %, 10 % …), five to seven of them.
_RATE_AXES = (
    (0.05, 0.01),
    (0.1, 0.02),
    (0.2, 0.05),
    (0.3, 0.05),
    (0.4, 0.1),
    (0.5, 0.1),
    (0.6, 0.1),
    (0.8, 0.2),
    (1.0, 0.2),
)


def _rate_axis(highest: float) -> tuple[float, float]:
    """The top of the shared rate axis, just above the worst period, and its label step."""
    return next((top, step) for top, step in _RATE_AXES if highest <= top)


def _trend_legend(styles: dict[str, tuple[str, str]]) -> str:
    items = "".join(
        f'<span><svg width="22" height="14" aria-hidden="true"><line x1="1" y1="7" x2="21" '
        f'y2="7" stroke="{colour}" stroke-width="2"/>{_marker(shape, 11, 7, colour)}</svg>'
        f"{_e(_operation_label(op))}</span>"
        for op, (colour, shape) in styles.items()
    )
    threshold = (
        '<span><svg width="22" height="14" aria-hidden="true"><line x1="1" y1="7" x2="21" '
        f'y2="7" stroke="{_DEADLINE}" stroke-width="1.2" stroke-dasharray="6 4"/></svg>'
        f"{_BAD_RATE:.0%} breach rate</span>"
    )
    return f'<p class="legend">{items}{threshold}</p>'


def _marker(shape: str, x: float, y: float, colour: str) -> str:
    if shape == "square":
        return f'<rect x="{x - 3.5:.1f}" y="{y - 3.5:.1f}" width="7" height="7" fill="{colour}"/>'
    if shape == "triangle":
        return (
            f'<path d="M{x:.1f},{y - 4.5:.1f} L{x + 4.5:.1f},{y + 3.5:.1f} '
            f'L{x - 4.5:.1f},{y + 3.5:.1f} Z" fill="{colour}"/>'
        )
    if shape == "diamond":
        return (
            f'<path d="M{x:.1f},{y - 5:.1f} L{x + 5:.1f},{y:.1f} L{x:.1f},{y + 5:.1f} '
            f'L{x - 5:.1f},{y:.1f} Z" fill="{colour}"/>'
        )
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.8" fill="{colour}"/>'


def _trend_panel(
    name: str,
    points: Sequence[TrendPoint],
    periods: Sequence[date],
    axis: tuple[float, float],
    styles: dict[str, tuple[str, str]],
    bucket: str,
) -> str:
    ceiling, step = axis

    def x(period: date) -> float:
        if len(periods) == 1:
            return (_PANEL_LEFT + _PANEL_RIGHT) / 2
        share = periods.index(period) / (len(periods) - 1)
        return _PANEL_LEFT + 10 + share * (_PANEL_RIGHT - _PANEL_LEFT - 20)

    def y(rate: float) -> float:
        return _PANEL_BOTTOM - rate / ceiling * (_PANEL_BOTTOM - _PANEL_TOP)

    series = "".join(
        _trend_series(
            [p for p in points if p.operation == op],
            x,
            y,
            styles[op],
            partial(_point_label, bucket),
        )
        for op in dict.fromkeys(p.operation for p in points)
    )
    if all(p.breach_rate is None for p in points):
        middle = (_PANEL_LEFT + _PANEL_RIGHT) / 2
        series += (
            f'<text x="{middle:.1f}" y="{y(ceiling / 2):.1f}" text-anchor="middle" '
            'class="no-data">no answers in the period</text>'
        )
    return (
        f'<figure class="panel"><figcaption>{_e(name)}</figcaption>'
        f'<svg class="chart trend" viewBox="0 0 {_PANEL_W} {_PANEL_H}" role="img" '
        f'aria-label="{_e(f"Breach rate per {bucket} of {name}")}">'
        f"<title>{_e(f'Breach rate per {bucket}: {name}')}</title>"
        f"{_rate_grid(ceiling, step, y)}{_period_axis(periods, x, bucket)}{series}</svg></figure>"
    )


def _rate_grid(ceiling: float, step: float, y: _YFunction) -> str:
    parts = []
    for k in range(round(ceiling / step) + 1):
        rate = round(k * step, 4)
        level = y(rate)
        parts.append(
            f'<line x1="{_PANEL_LEFT}" y1="{level:.1f}" x2="{_PANEL_RIGHT}" y2="{level:.1f}" '
            f'stroke="{"#8A94A3" if k == 0 else "#E1E5EA"}"/>'
            f'<text x="{_PANEL_LEFT - 6}" y="{level + 4:.1f}" text-anchor="end" class="tick">'
            f"{rate:.0%}</text>"
        )
    if ceiling > _BAD_RATE:
        level = y(_BAD_RATE)
        parts.append(
            f'<line x1="{_PANEL_LEFT}" y1="{level:.1f}" x2="{_PANEL_RIGHT}" y2="{level:.1f}" '
            f'stroke="{_DEADLINE}" stroke-width="1.2" stroke-dasharray="6 4"/>'
        )
    return "".join(parts)


def _period_axis(periods: Sequence[date], x: _XFunction, bucket: str) -> str:
    every = math.ceil(len(periods) / _MAX_X_LABELS)
    return "".join(
        f'<text x="{x(period):.1f}" y="{_PANEL_BOTTOM + 18}" text-anchor="middle" class="tick">'
        f"{_e(_period_label(period, bucket))}</text>"
        for i, period in enumerate(periods)
        if i % every == 0
    )


def _trend_series(
    points: Sequence[TrendPoint],
    x: _XFunction,
    y: _YFunction,
    style: tuple[str, str],
    label_of: Callable[[TrendPoint], str],
) -> str:
    """One operation's line; ``label_of`` says what a point's tooltip reads."""
    colour, shape = style
    ordered = sorted(points, key=lambda p: p.period_start)
    marks = []
    for point in ordered:
        if point.breach_rate is None:
            continue
        label = label_of(point)
        marks.append(
            f"<g><title>{_e(label)}</title>"
            f"{_marker(shape, x(point.period_start), y(point.breach_rate), colour)}</g>"
        )
    return (
        f'<path d="{_line_path(ordered, x, y)}" fill="none" stroke="{colour}" '
        f'stroke-width="2.2" stroke-linejoin="round"/>' + "".join(marks)
    )


def _point_label(bucket: str, point: TrendPoint) -> str:
    return (
        f"{bucket.capitalize()} of {_day_label(point.period_start)}, "
        f"{point.operation}: {point.breaches} of {point.answered} late "
        f"({_percent(point.breach_rate)})"
    )


def _line_path(points: Iterable[TrendPoint], x: _XFunction, y: _YFunction) -> str:
    """Line segments through the answered periods; a period with no answers breaks the line."""
    commands = []
    pen_down = False
    for point in points:
        if point.breach_rate is None:
            pen_down = False
            continue
        verb = "L" if pen_down else "M"
        commands.append(f"{verb}{x(point.period_start):.1f},{y(point.breach_rate):.1f}")
        pen_down = True
    return " ".join(commands)


# --- evidence sheets ---------------------------------------------------------------------------


def _evidence_sheet(
    report: PerformanceReport, institution: str, name: str, index: int, court: str | None
) -> str:
    stats = [s for s in report.stats if s.institution == institution]
    items = sorted(
        (b for b in report.breaches if b.institution == institution),
        key=lambda b: b.delay_hours,
        reverse=True,
    )
    kicker = "Evidence sheet 超期情况说明" + (f" · {court}" if court else "")
    return (
        f'<section class="sheet page" id="sheet-{index}" aria-labelledby="sheet-{index}-name">'
        f'<p class="kicker">{_e(kicker)}</p>'
        f'<h2 id="sheet-{index}-name">{_e(name)}</h2>'
        f"{_sheet_facts(report, stats, items)}{_sheet_operations(stats)}"
        "<h3>Breached requests 超期明细</h3>"
        f"{_breach_table(items, report.generated_at)}</section>"
    )


def _sheet_facts(
    report: PerformanceReport, stats: Sequence[OperationStats], items: Sequence[BreachItem]
) -> str:
    deadlines = "; ".join(f"{_operation_label(s.operation)}: {s.deadline}" for s in stats) or "—"
    still_owed = sum(1 for b in items if b.answered_at is None)
    facts = (
        ("Period 统计期间", _period_text(report)),
        ("Deadline 办理期限", deadlines),
        ("Requests 请求数", str(sum(s.count for s in stats))),
        ("Answered 已答复", str(sum(s.answered for s in stats))),
        ("Breaches 超期", f"{len(items) - still_owed} answered late, {still_owed} unanswered"),
    )
    rows = "".join(f"<div><dt>{_e(k)}</dt><dd>{_e(v)}</dd></div>" for k, v in facts)
    return f'<dl class="facts">{rows}</dl>'


def _sheet_operations(stats: Sequence[OperationStats]) -> str:
    if not stats:
        return ""
    rows = "".join(
        f'<tr><td class="text">{_e(_operation_label(s.operation))}</td>'
        f'<td class="text">{_e(s.deadline)}</td><td>{s.count}</td><td>{s.answered}</td>'
        f"<td>{_duration(s.median_hours)}</td><td>{s.breaches}</td>"
        f'<td class="{_rate_class(s.breach_rate)}">{_percent(s.breach_rate)}</td>'
        f"<td>{s.open_overdue}</td></tr>"
        for s in stats
    )
    return (
        '<table class="ops"><thead><tr><th scope="col" class="text">Operation</th>'
        '<th scope="col" class="text">Deadline</th><th scope="col">Requests</th>'
        '<th scope="col">Answered</th><th scope="col">Median</th>'
        '<th scope="col">Late</th><th scope="col">Breach rate</th>'
        f'<th scope="col">Open overdue</th></tr></thead><tbody>{rows}</tbody></table>'
    )


def _breach_table(items: Sequence[BreachItem], generated_at: datetime) -> str:
    if not items:
        return '<p class="empty good">No breaches in the period.</p>'
    rows = "".join(_breach_row(number, item) for number, item in enumerate(items, start=1))
    notes = (
        "Most delayed first. Delay: from the due time to the answer or, for a request still "
        f"unanswered, to {_e(_local_time(generated_at))}. Times are Beijing time."
    )
    if any(item.provisional for item in items):
        notes += (
            f" {_PROVISIONAL_MARK} Provisional: the due time was computed without an announced "
            "public-holiday schedule."
        )
    return (
        '<table class="evidence"><thead><tr><th scope="col">No.</th>'
        '<th scope="col" class="text">Case number 案号</th>'
        '<th scope="col" class="text">Operation</th>'
        '<th scope="col" class="text">Reference</th>'
        '<th scope="col" class="text">Requested 发起</th>'
        '<th scope="col" class="text">Due 应答复</th>'
        '<th scope="col" class="text">Answered 答复</th>'
        '<th scope="col">Delay 超期</th></tr></thead>'
        f'<tbody>{rows}</tbody></table><p class="note">{notes}</p>'
    )


def _breach_row(number: int, item: BreachItem) -> str:
    due = _e(_local_time(item.due_at))
    if item.provisional:
        due += f' <span class="mark" title="provisional">{_PROVISIONAL_MARK}</span>'
    answered = (
        _e(_local_time(item.answered_at))
        if item.answered_at is not None
        else '<strong class="alert">still unanswered</strong>'
    )
    return (
        f"<tr><td>{number}</td>"
        f'<td class="text case">{_e(item.case_number)}</td>'
        f'<td class="text">{_e(_operation_label(item.operation))}</td>'
        f'<td class="text ref">{_e(item.reference)}</td>'
        f'<td class="text">{_e(_local_time(item.requested_at))}</td>'
        f'<td class="text">{due}</td><td class="text">{answered}</td>'
        f'<td class="delay">{_e(_delay(item.delay_hours))}</td></tr>'
    )


# --- style ---------------------------------------------------------------------------

# The page's stylesheet is package data (report.css beside this module), inlined into every
# page so the report stays one self-contained file.
_CSS = resources.files(__package__).joinpath("report.css").read_text(encoding="utf-8")
