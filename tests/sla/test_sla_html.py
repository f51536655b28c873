"""The HTML performance report: self-contained, escaped, complete, and rendered by a browser."""

from __future__ import annotations

import itertools
import random
import re
import socket
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import pytest

from assetquery._time import SHANGHAI
from assetquery.sla._html import render_html
from assetquery.sla._model import BreachItem, OperationStats, PerformanceReport, TrendPoint

from ..browser import Chromium, net_log_requests, png_rows

# --- a realistic report: nine weeks, four institutions -----------------------------------------

SINCE = datetime(2026, 11, 2, tzinfo=SHANGHAI).astimezone(UTC)  # a Monday
UNTIL = datetime(2027, 1, 4, tzinfo=SHANGHAI).astimezone(UTC)  # exclusive: through 3 January
GENERATED = datetime(2027, 1, 4, 9, 30, tzinfo=SHANGHAI).astimezone(UTC)
# The 2027 holiday schedule is not announced yet: deadlines falling in 2027 are provisional.
ANNOUNCED_UNTIL = datetime(2027, 1, 1, tzinfo=SHANGHAI).astimezone(UTC)


@dataclass(frozen=True)
class Request:
    """One synthetic request: when it was sent, how long its deadline was, when it was answered."""

    number: int
    requested_at: datetime
    due_hours: float
    turnaround: float | None  # None: never answered

    @property
    def due_at(self) -> datetime:
        return self.requested_at + timedelta(hours=self.due_hours)


@dataclass(frozen=True)
class Operation:
    institution: str
    name: str
    operation: str
    deadline: str
    deadline_hours: float | None
    requests: tuple[Request, ...]
    failed: int = 0


def _requests(
    rng: random.Random,
    count: int,
    due_hours: float,
    turnaround: float,
    spread: float,
    *,
    unanswered: int = 0,
    first: int = 0,
) -> tuple[Request, ...]:
    """Requests spread over the period with log-normal turnarounds around a median."""
    period = (UNTIL - SINCE).total_seconds()
    requests = []
    for i in range(count):
        sent = SINCE + timedelta(seconds=rng.uniform(0, period * 0.92))
        took = None if i < unanswered else rng.lognormvariate(0, spread) * turnaround
        requests.append(Request(first + i, sent, due_hours, took))
    return tuple(requests)


def build_operations(seed: int = 7) -> list[Operation]:
    rng = random.Random(seed)
    east, west = "东方商业银行兰州分行", "西部农村商业银行七里河支行"
    registry, fund = "兰州新区不动产登记中心", "兰州住房公积金管理中心"
    return [
        # A fast bank: inquiries in minutes to a few hours, never late.
        Operation("bank-east", east, "inquiry", "24 h", 24.0, _requests(rng, 150, 24, 0.4, 0.9)),
        Operation("bank-east", east, "freeze", "24 h", 24.0, _requests(rng, 28, 24, 3.0, 0.5)),
        # A slow bank, often late, with requests still owed past their due time.
        Operation(
            "bank-west",
            west,
            "inquiry",
            "24 h",
            24.0,
            _requests(rng, 120, 24, 19.0, 0.55, unanswered=3, first=1000),
            failed=2,
        ),
        Operation(
            "bank-west", west, "freeze", "24 h", 24.0, _requests(rng, 22, 24, 28.0, 0.4, first=2000)
        ),
        # A registry with a deadline in working days (five working days: a week, here).
        Operation(
            "registry",
            registry,
            "seal",
            "5 working days",
            None,
            (
                *_requests(rng, 36, 168, 130.0, 0.35, first=3000),
                # Due on New Year's Day 2027, whose holiday schedule is not announced: late.
                Request(3999, datetime(2026, 12, 25, 15, tzinfo=SHANGHAI), 168, 180.0),
            ),
        ),
        # A fund centre that answered nothing in the period.
        Operation(
            "fund",
            fund,
            "inquiry",
            "10 working days",
            None,
            _requests(rng, 3, 336, 1.0, 0.1, unanswered=3, first=4000),
            failed=0,
        ),
    ]


def _quantile(ordered: Sequence[float], share: float) -> float | None:
    if not ordered:
        return None
    position = (len(ordered) - 1) * share
    below, above = int(position), min(int(position) + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def _is_provisional(request: Request) -> bool:
    return request.due_at >= ANNOUNCED_UNTIL


def _stats(op: Operation) -> OperationStats:
    answered = [r for r in op.requests if r.turnaround is not None]
    turnarounds = sorted(r.turnaround for r in answered if r.turnaround is not None)
    overruns = tuple(r.turnaround - r.due_hours for r in answered if r.turnaround is not None)
    breaches = sum(1 for o in overruns if o > 0)
    open_overdue = sum(1 for r in op.requests if r.turnaround is None and r.due_at < GENERATED)
    return OperationStats(
        institution=op.institution,
        institution_name=op.name,
        operation=op.operation,
        deadline=op.deadline,
        deadline_hours=op.deadline_hours,
        count=len(op.requests),
        answered=len(answered),
        met=len(answered) - breaches,
        median_hours=_quantile(turnarounds, 0.5),
        p90_hours=_quantile(turnarounds, 0.9),
        p95_hours=_quantile(turnarounds, 0.95),
        breaches=breaches,
        breach_rate=breaches / len(answered) if answered else None,
        open_overdue=open_overdue,
        failed=op.failed,
        provisional=sum(1 for r in op.requests if _is_provisional(r)),
        turnarounds=tuple(turnarounds),
        overruns=overruns,
    )


def _week(moment: datetime) -> date:
    day = moment.astimezone(SHANGHAI).date()
    return day - timedelta(days=day.weekday())


def _trend(op: Operation) -> list[TrendPoint]:
    points = []
    weeks = [_week(SINCE) + timedelta(weeks=k) for k in range(9)]
    for week in weeks:
        sent = [r for r in op.requests if _week(r.requested_at) == week]
        answered = sorted(r.turnaround for r in sent if r.turnaround is not None)
        late = sum(1 for r in sent if r.turnaround is not None and r.turnaround > r.due_hours)
        points.append(
            TrendPoint(
                institution=op.institution,
                operation=op.operation,
                period_start=week,
                answered=len(answered),
                breaches=late,
                breach_rate=late / len(answered) if answered else None,
                median_hours=_quantile(answered, 0.5),
            )
        )
    return points


def _breaches(op: Operation) -> list[BreachItem]:
    items = []
    for r in op.requests:
        answered_at = (
            None if r.turnaround is None else r.requested_at + timedelta(hours=r.turnaround)
        )
        end = answered_at or GENERATED
        if end <= r.due_at:
            continue
        items.append(
            BreachItem(
                institution=op.institution,
                institution_name=op.name,
                operation=op.operation,
                case_number=f"（2026）甘0191执{1200 + r.number}号",
                reference=f"{'LK' if op.operation == 'inquiry' else 'CA'}-{r.number:06d}",
                requested_at=r.requested_at,
                due_at=r.due_at,
                answered_at=answered_at,
                delay_hours=(end - r.due_at).total_seconds() / 3600,
                provisional=_is_provisional(r),
            )
        )
    return items


def build_report(operations: Sequence[Operation] | None = None) -> PerformanceReport:
    ops = list(operations) if operations is not None else build_operations()
    breaches = sorted(
        (b for op in ops for b in _breaches(op)), key=lambda b: b.delay_hours, reverse=True
    )
    return PerformanceReport(
        generated_at=GENERATED,
        since=SINCE,
        until=UNTIL,
        bucket="week",
        stats=tuple(_stats(op) for op in ops),
        trend=tuple(p for op in ops for p in _trend(op)),
        breaches=tuple(breaches),
    )


@pytest.fixture(scope="module")
def report() -> PerformanceReport:
    return build_report()


@pytest.fixture(scope="module")
def page(report: PerformanceReport) -> str:
    return render_html(report, court="兰州新区人民法院")


def _sheets(html: str) -> dict[str, str]:
    """Each evidence sheet's HTML, by the institution name in its heading."""
    sheets = {}
    for chunk in html.split('<section class="sheet')[1:]:
        heading = re.search(r"<h2 [^>]*>(.*?)</h2>", chunk)
        assert heading is not None
        sheets[heading.group(1)] = chunk.split("</section>")[0]
    return sheets


# --- the document ------------------------------------------------------------------------------


def test_the_report_is_realistic(report: PerformanceReport) -> None:
    """The fixture has what the page must cope with, or the other tests prove little."""
    rates = {s.institution_name: s.breach_rate for s in report.stats if s.operation == "inquiry"}
    assert rates["东方商业银行兰州分行"] == 0
    assert (rates["西部农村商业银行七里河支行"] or 0) > 0.2
    assert rates["兰州住房公积金管理中心"] is None
    assert report.provisional
    assert any(b.answered_at is None for b in report.breaches)
    assert len({p.period_start for p in report.trend}) == 9


def test_the_page_needs_no_network(page: str) -> None:
    assert "http://" not in page
    assert "https://" not in page
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:[a-z]+:)?//""", page, re.IGNORECASE)
    assert not re.search(r"url\(", page, re.IGNORECASE)
    assert "<script" not in page.lower()
    assert "<link" not in page.lower()
    assert "@import" not in page.lower()
    assert "@font-face" not in page.lower()
    assert "default-src 'none'" in page


def test_the_header_says_who_when_and_that_it_is_provisional(page: str) -> None:
    header = page.split("</header>")[0]
    assert '<html lang="zh-CN">' in page
    assert "兰州新区人民法院" in header
    assert "2026-11-02 – 2027-01-03" in header  # Shanghai dates, the exclusive end excluded
    assert "2027-01-04 09:30" in header
    assert "Provisional" in header


def test_the_summary_has_a_row_per_institution_and_operation(
    page: str, report: PerformanceReport
) -> None:
    summary = page.split('<table class="summary">')[1].split("</table>")[0]
    assert summary.count('<th scope="row"') == len(report.stats)
    assert "rate-bad" in summary  # the slow bank
    assert "rate-ok" in summary  # the fast one
    assert "rate-none" in summary  # the fund centre answered nothing


def test_every_breach_is_on_its_institutions_sheet_most_delayed_first(
    page: str, report: PerformanceReport
) -> None:
    sheets = _sheets(page)
    assert set(sheets) == {escape(s.institution_name) for s in report.stats}
    for name, sheet in sheets.items():
        own = [b for b in report.breaches if escape(b.institution_name) == name]
        rows = re.findall(r'<td class="text ref">(.*?)</td>', sheet)
        assert rows == [escape(b.reference) for b in own]  # all of them, most delayed first
        for item in own:
            assert escape(item.case_number) in sheet
        others = [b for b in report.breaches if escape(b.institution_name) != name]
        assert not any(f">{escape(b.reference)}<" in sheet for b in others)


def test_sheets_say_so_when_there_is_nothing_to_complain_of(page: str) -> None:
    sheets = _sheets(page)
    assert "No breaches in the period." in sheets["东方商业银行兰州分行"]
    assert "still unanswered" in sheets["兰州住房公积金管理中心"]
    assert "†" in sheets["兰州新区不动产登记中心"]  # a due date in 2027


def test_text_from_data_is_escaped() -> None:
    op = build_operations()[2]
    hostile = Operation(
        "bank-x", "Bank <b>& Co", op.operation, "24 h <i>", 24.0, op.requests, failed=1
    )
    report = build_report([hostile])
    evil = replace(report.breaches[0], case_number="<script>x()</script>", reference="a&b")
    page = render_html(
        replace(report, breaches=(evil, *report.breaches[1:])),
        title="Q4 <draft>",
        court="Court & <Co>",
    )
    assert "<b>&" not in page
    assert "Bank &lt;b&gt;&amp; Co" in page
    assert "<script" not in page
    assert "&lt;script&gt;x()&lt;/script&gt;" in page
    assert "<title>Q4 &lt;draft&gt;</title>" in page
    assert "Court &amp; &lt;Co&gt;" in page
    assert "<i>" not in page
    assert ">a&amp;b<" in page


def test_an_empty_report_still_renders() -> None:
    page = render_html(
        PerformanceReport(
            generated_at=GENERATED,
            since=None,
            until=None,
            bucket="month",
            stats=(),
            trend=(),
            breaches=(),
        )
    )
    assert "No requests in the period." in page
    assert "No answered requests in the period." in page
    assert '<section class="sheet' not in page
    assert "Provisional" not in page
    assert page.rstrip().endswith("</html>")


def test_minutes_and_days_share_a_log_scale(page: str) -> None:
    # The fast bank answers in minutes and the slow one in days: linear would crush one of them.
    assert "logarithmic scale" in page
    ticks = re.findall(r'class="tick">([^<]+)<', page)
    assert {"10 min", "1 h", "1 d", "3 d"} <= set(ticks)


@pytest.mark.parametrize("worst", [0.0, 0.004, 0.03, 0.07, 0.16, 0.22, 0.25, 0.37, 0.55, 0.71, 1.0])
def test_breach_rate_axes_are_labelled_in_round_steps(
    report: PerformanceReport, worst: float
) -> None:
    trend = [
        replace(p, breach_rate=min(p.breach_rate, worst)) if p.breach_rate is not None else p
        for p in report.trend
    ]
    trend[0] = replace(trend[0], breach_rate=worst)
    page = render_html(replace(report, trend=tuple(trend)))
    panel = page[page.index('class="chart trend"') :]
    labels = re.findall(r'class="tick">(\d+)%<', panel.split("</svg>")[0])
    rates = [int(label) for label in labels]
    steps = {b - a for a, b in itertools.pairwise(rates)}
    assert rates[0] == 0 and len(steps) == 1, labels
    (step,) = steps
    assert step in {1, 2, 5, 10, 20} and 5 <= len(rates) <= 7, labels
    assert rates[-1] >= worst * 100  # the worst period fits under the top


# --- in a real browser -------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    page: Path
    dom: str
    screenshot: Path
    net_log: Path


@pytest.fixture(scope="module")
def rendered(chromium: Chromium, page: str, tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    """The report opened twice: its DOM dumped, then screenshot while logging the network."""
    work = tmp_path_factory.mktemp("browser")
    html_file = work / "report.html"
    html_file.write_text(page, encoding="utf-8")
    url = html_file.as_uri()
    dom = chromium.run(work / "profile-dom", url, "--dump-dom").stdout
    screenshot, net_log = work / "report.png", work / "net-log.json"
    chromium.run(
        work / "profile-shot",
        url,
        f"--screenshot={screenshot}",
        "--window-size=1280,2000",
        f"--log-net-log={net_log}",
    )
    return Rendered(html_file, dom, screenshot, net_log)


class _DomCounter(HTMLParser):
    """Counts the marks inside each kind of chart and the rows of the evidence tables."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: Counter[str] = Counter()
        self.marks: Counter[tuple[str, str]] = Counter()
        self.evidence_rows = 0
        self._chart: str | None = None
        self._in_evidence = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if tag == "svg" and "chart" in classes:
            self._chart = classes[-1]
            self.charts[self._chart] += 1
        elif self._chart and tag in {"circle", "rect", "path", "line"}:
            self.marks[(self._chart, tag)] += 1
        elif tag == "table" and "evidence" in classes:
            self._in_evidence = True
        elif tag == "tr" and self._in_evidence:
            self.evidence_rows += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._chart = None
        elif tag == "table":
            self._in_evidence = False


def test_chromium_renders_the_charts_and_the_evidence(
    rendered: Rendered, report: PerformanceReport
) -> None:
    counter = _DomCounter()
    counter.feed(rendered.dom)
    institutions = {s.institution for s in report.stats}
    assert counter.charts["distribution"] == 2  # fixed deadlines, working-day deadlines
    assert counter.charts["trend"] == len(institutions)
    answered = sum(s.answered for s in report.stats)
    assert counter.marks[("distribution", "circle")] == answered
    assert counter.marks[("distribution", "rect")] > 0  # boxes
    assert counter.marks[("trend", "path")] > 0  # lines
    sheets_with_items = len({b.institution for b in report.breaches})
    assert counter.evidence_rows == len(report.breaches) + sheets_with_items  # + header rows
    assert "No breaches in the period." in rendered.dom


def test_chromium_screenshot_is_a_real_page(rendered: Rendered) -> None:
    data = rendered.screenshot.read_bytes()
    width, height, rows = png_rows(data)
    assert (width, height) == (1280, 2000)
    assert len(data) > 50_000
    # Rows of one flat colour filter to at most a handful of distinct byte strings; a page of
    # text, tables and charts gives hundreds.
    assert len(set(rows)) > 300


def test_chromium_makes_no_request_for_the_page(
    rendered: Rendered, chromium: Chromium, tmp_path: Path
) -> None:
    # Chromium itself may still call home (account and update checks no flag turns off); those
    # are the browser's, with no page origin. Nothing may be requested on the page's behalf:
    # the file:// page itself is read without a network request.
    requests = net_log_requests(rendered.net_log)
    assert [r.url for r in requests if r.for_a_page] == []

    # The log does show a page's request: a page with an image from a closed loopback port
    # (refused at once, network or not), opened the same way, is caught.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        image = f"http://127.0.0.1:{probe.getsockname()[1]}/chart.png"
    control = tmp_path / "control.html"
    control.write_text(f'<img src="{image}">', encoding="utf-8")
    log = tmp_path / "control-net-log.json"
    chromium.run(tmp_path / "profile", control.as_uri(), "--dump-dom", f"--log-net-log={log}")
    assert {r.url for r in net_log_requests(log) if r.for_a_page} == {image}
