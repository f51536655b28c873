"""The judicial recommendation's evidence pack: figures worked out by hand, the draft letter,
the annex spreadsheet, the commands, and the PDF and page as Chromium prints and shows them.

One slow bank and two others, four weeks of requests at known times, judged at a fixed
"now": the slow bank's inquiries are 10 requests, 6 answered (反馈率 60 %), 4 of them on
time (及时反馈率 40 %), third of three banks.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assetquery import Case, Money, Party
from assetquery._actions import ActionKind
from assetquery._cli._app import app
from assetquery._config import settings_from_mapping
from assetquery._time import SHANGHAI, local_date, utc_now
from assetquery.rules import load_rule_pack
from assetquery.rules._pack import rule_pack_from_mapping
from assetquery.sla import (
    ClockOutcome,
    EvidencePack,
    NothingToRecommend,
    Peer,
    PrintError,
    annex_csv,
    build_evidence_pack,
    evidence_pack,
    performance,
    print_pdf,
    render_letter,
    write_evidence_pack,
)
from assetquery.sla._letter import chinese_number, deadline_words, problems_found
from assetquery.store import AuditEvent, Clock, NewAction, NewClock, Store
from assetquery.testing import build_report

from ..browser import Chromium, net_log_requests, png_rows

# --- the requests, at known times ------------------------------------------------------------


def at(day: int, hour: int = 10, minute: int = 0, month: int = 11) -> datetime:
    """A moment of November 2026, Beijing time, in UTC as the store keeps it."""
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


FIRST, LAST = date(2026, 11, 2), date(2026, 11, 29)  # four weeks, Monday to Sunday
SINCE, UNTIL = at(2, 0), at(30, 0)  # the period: [2 Nov, 30 Nov) in Shanghai
NOW = at(30, 9)  # judged on the Monday morning after it

SLOW, EAST, SOUTH = "bank-slow", "bank-east", "bank-south"
SLOW_NAME = "西部农商银行<i>&试点</i>"  # a name that must be escaped wherever it is shown
NAMES = {SLOW: SLOW_NAME, EAST: "东方商业银行", SOUTH: "南方商业银行"}
CASE_A = "（2026）甘0102执100号"
CASE_B = "（2026）甘0102执101号"
PERSON = Party.person("张三", "110105199003071239")
COMPANY = Party.organization("兰州示例商贸有限公司", "911100007109288314")
COURT = "兰州新区人民法院"

# The slow bank's ten inquiries: (day, hour, answered after hours | outcome, case).
MET, BREACHED = ClockOutcome.MET, ClockOutcome.BREACHED
SLOW_INQUIRIES: list[tuple[datetime, float | ClockOutcome, str]] = [
    (at(2), 2.0, CASE_A),  # met
    (at(3), 5.0, CASE_A),  # met
    (at(4), 20.0, CASE_A),  # met
    (at(5), 23.0, CASE_A),  # met
    (at(9), 30.0, CASE_A),  # 6 h late
    (at(10), 50.5, CASE_B),  # 26.5 h late
    (at(11), ClockOutcome.OPEN, CASE_B),  # still owed: due 12 Nov 10:00, 431 h late by NOW
    (at(16), ClockOutcome.OVERDUE, CASE_B),  # given up: due 17 Nov 10:00, 311 h late by NOW
    (at(23), ClockOutcome.FAILED, CASE_B),  # failed: timeout
    (at(29, 20), ClockOutcome.OPEN, CASE_B),  # due 30 Nov 20:00: not yet due at NOW
]
EXPECTED_LATE = {
    "slow-4": "6.0",
    "slow-5": "26.5",
    "slow-6": "431.0",
    "slow-7": "311.0",
    "freeze": "6.0",
}


def new_clock(
    institution: str,
    reference: str,
    started: datetime,
    case: str = CASE_A,
    *,
    subject: str = "inquiry",
    operation: str = "inquiry",
) -> NewClock:
    return NewClock(
        subject=subject,
        operation=operation,
        institution=institution,
        institution_name=NAMES[institution],
        case_number=case,
        reference=reference,
        started_at=started,
        due_at=started + timedelta(hours=24),
        provisional=False,
        rule="24 h",
    )


def close(store: Store, clock: NewClock, outcome: float | ClockOutcome) -> None:
    if outcome is ClockOutcome.OPEN:
        return
    store.clocks.close(
        subject=clock.subject,
        reference=clock.reference,
        institution=clock.institution,
        operation=clock.operation,
        answered_at=(
            clock.started_at + timedelta(hours=outcome) if isinstance(outcome, float) else None
        ),
        failed=outcome is ClockOutcome.FAILED,
    )


def fill(store: Store) -> None:
    """The requests of the period (and two outside it), the parties and an audit entry."""
    plan: list[tuple[NewClock, float | ClockOutcome]] = []
    for i, (started, outcome, case) in enumerate(SLOW_INQUIRIES):
        plan.append((new_clock(SLOW, f"slow-{i}", started, case), outcome))
    # Outside the period: before its first day, and on the day after its last.
    plan.append((new_clock(SLOW, "slow-before", at(30, 10, month=10)), 1.0))
    plan.append((new_clock(SLOW, "slow-after", at(30, 10)), ClockOutcome.OPEN))
    plan += [(new_clock(EAST, f"east-{d}", at(2 + d)), 1.0) for d in range(5)]
    plan += [(new_clock(SOUTH, f"south-{d}", at(2 + d)), 3.0) for d in range(6)]
    plan += [(new_clock(SOUTH, f"south-{d}", at(2 + d)), 25.0) for d in (6, 7)]
    freeze = store.record(
        NewAction(
            kind=ActionKind.FREEZE,
            party=PERSON,
            case_number=CASE_A,
            enforcement_document="（2026）甘0102执100号之一",
            court=COURT,
            requested_by="李承办",
            institution=SLOW,
            asset_kind="bank_account",
            asset_identifier="6230000000000000017",
            amount=Money("1000.00"),
        ),
        at=at(4, 14),
        reason="freeze for the claim",
    )
    plan.append(
        (
            new_clock(SLOW, str(freeze.id), at(4, 14), subject="action", operation="freeze"),
            30.0,
        )
    )
    store.clocks.open([clock for clock, _ in plan])
    for clock, outcome in plan:
        close(store, clock, outcome)
    # The lookups' reports, which name the parties, as every lookup with a store keeps them.
    for i, (started, _, case_number) in enumerate(SLOW_INQUIRIES):
        party = PERSON if case_number == CASE_A else COMPANY
        case = Case(number=case_number, court=COURT, operator="李承办", claim="50000")
        report = build_report(party, case, lookup_id=f"slow-{i}", at=started)
        store.record_lookup([], [], at=started, report=report)
    # The failed request's answer in the audit trail, with its error code.
    store.audit.append(
        [
            AuditEvent(
                event="inquiry.answer",
                actor=SLOW,
                case_number=CASE_B,
                party=COMPANY.masked,
                institution=SLOW,
                subject="lookup:slow-8",
                detail={"status": "timeout", "assets": 0, "attempts": 3, "error": "timeout"},
            )
        ],
        at=at(23, 10, 5),
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(f"sqlite:///{tmp_path}/s.db")
    fill(opened)
    yield opened
    opened.close()


@pytest.fixture
def clocks(store: Store) -> list[Clock]:
    return store.clocks.find(since=SINCE, until=UNTIL)


def pure_pack(clocks: list[Clock], **more: object) -> EvidencePack:
    options: dict[str, object] = {
        "institution": SLOW,
        "since": SINCE,
        "until": UNTIL,
        "now": NOW,
        "court": COURT,
        "legal_basis": load_rule_pack().sla_sources["bank"],
        "adapter": "bank",
        "peers": [Peer(SLOW, SLOW_NAME), Peer(EAST, NAMES[EAST]), Peer(SOUTH, NAMES[SOUTH])],
    }
    options.update(more)
    return build_evidence_pack(clocks, **options)  # type: ignore[arg-type]


@pytest.fixture
def pack(store: Store) -> EvidencePack:
    """As the command builds it: from the store, the parties and error codes read there."""
    settings = settings_from_mapping(
        {
            "court": COURT,
            "institutions": [
                {"id": i, "name": NAMES[i], "adapter": "bank", "base_url": f"https://{i}.example"}
                for i in (SLOW, EAST, SOUTH)
            ],
        }
    )
    return evidence_pack(
        store, SLOW, since=SINCE, until=UNTIL, settings=settings, court=COURT, now=NOW
    )


# --- the figures ------------------------------------------------------------------------------


def test_the_figures_are_the_hand_worked_ones(clocks: list[Clock]) -> None:
    pack = pure_pack(clocks)
    inquiry, freeze = (
        next(s for s in pack.stats if s.operation == op) for op in ("inquiry", "freeze")
    )
    assert (inquiry.count, inquiry.answered, inquiry.met) == (10, 6, 4)
    assert inquiry.feedback_rate == pytest.approx(0.6)
    assert inquiry.timely_rate == pytest.approx(0.4)
    # answered after 2, 5, 20, 23, 30 and 50.5 h: linear interpolation between ranks
    assert inquiry.median_hours == pytest.approx(21.5)
    assert inquiry.p90_hours == pytest.approx(40.25)
    assert (inquiry.breaches, inquiry.open_overdue, inquiry.failed) == (2, 2, 1)
    assert (freeze.count, freeze.answered, freeze.met, freeze.breaches) == (1, 1, 0, 1)
    assert (pack.requests, pack.answered, pack.met) == (11, 7, 4)
    assert pack.period_from == FIRST and pack.period_to == LAST


def test_the_figures_are_those_the_performance_report_shows(
    store: Store, clocks: list[Clock], pack: EvidencePack
) -> None:
    report = performance(store, since=SINCE, until=UNTIL, now=NOW)
    shown = [s for s in report.stats if s.institution == SLOW]
    assert len(shown) == 2
    # The same figures; the letter takes inquiries first, then controls.
    assert [s.operation for s in pack.stats] == ["inquiry", "freeze"]
    assert sorted(pure_pack(clocks).stats, key=lambda s: s.operation) == shown
    assert sorted(pack.stats, key=lambda s: s.operation) == shown


def test_the_slow_bank_ranks_last_of_three_with_each_sample_size(clocks: list[Clock]) -> None:
    pack = pure_pack(clocks)
    inquiry = next(r for r in pack.rankings if r.operation == "inquiry")
    assert [(e.institution, e.rank, e.requests, e.met) for e in inquiry.entries] == [
        (EAST, 1, 5, 5),
        (SOUTH, 2, 8, 6),
        (SLOW, 3, 10, 4),
    ]
    assert (inquiry.position, inquiry.ranked) == (3, 3)
    assert [e.timely_rate for e in inquiry.entries] == pytest.approx([1.0, 0.75, 0.4])
    # No peer was asked to freeze: the slow bank is alone, the others listed without a rank.
    freeze = next(r for r in pack.rankings if r.operation == "freeze")
    assert (freeze.position, freeze.ranked) == (1, 1)
    assert [(e.institution, e.rank, e.requests) for e in freeze.entries[1:]] == [
        (EAST, None, 0),
        (SOUTH, None, 0),
    ]


def test_equal_rates_rank_the_larger_sample_first() -> None:
    def met(institution: str, reference: str, day: int) -> Clock:
        started = at(day)
        return Clock(
            subject="inquiry",
            operation="inquiry",
            institution=institution,
            institution_name=institution,
            case_number=CASE_A,
            reference=reference,
            started_at=started,
            due_at=started + timedelta(hours=24),
            provisional=False,
            rule="24 h",
            answered_at=started + timedelta(hours=1),
            outcome=ClockOutcome.MET,
        )

    clocks = [met("few", "f1", 2), met("many", "m1", 3), met("many", "m2", 4)]
    pack = build_evidence_pack(clocks, institution="few", since=SINCE, until=UNTIL, now=NOW)
    assert pack.peers_by == "rule"  # not configured: peers are those with the same deadline
    ranking = pack.rankings[0]
    assert [(e.institution, e.rank, e.requests) for e in ranking.entries] == [
        ("many", 1, 2),
        ("few", 2, 1),
    ]


def test_failure_reasons_are_counted_with_the_audit_trails_error_codes(
    pack: EvidencePack, clocks: list[Clock]
) -> None:
    failures = pack.failures
    assert failures.answered_late == 3  # two inquiries and the freeze
    assert (failures.unanswered_past_due, failures.given_up_overdue) == (1, 1)
    assert failures.failed == 1
    assert failures.failed_by_error == (("timeout", 1),)
    # Without the trail, the failure is still counted: its reason unrecorded.
    assert pure_pack(clocks).failures.failed_by_error == (("unrecorded", 1),)


def test_an_empty_period_is_refused(clocks: list[Clock]) -> None:
    with pytest.raises(NothingToRecommend, match=r"no request to .* between 2026-12-01 and"):
        pure_pack(clocks, since=at(1, 0, month=12), until=at(8, 0, month=12))


# --- the letter -------------------------------------------------------------------------------


@pytest.fixture
def html(pack: EvidencePack) -> str:
    return render_letter(pack)


class _Parts(HTMLParser):
    """The letter's parts (首部, 主文, 尾部) and the external resources the page names."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("data-part"):
            self.parts.append(f"{tag}:{values['data-part']}")
        for name in ("src", "href", "action", "srcset", "poster", "data"):
            if values.get(name):
                self.links.append(str(values[name]))


def test_the_letter_has_the_structure_of_a_judicial_recommendation(html: str) -> None:
    parts = _Parts()
    parts.feed(html)
    assert parts.parts == ["header:首部", "section:主文", "footer:尾部"]
    assert '<h1 class="doc-title">司法建议书</h1>' in html
    assert COURT in html
    assert re.search(r"（\d{4}）×法建×号", html)
    assert "（2026）×法建×号" in html  # the year the period ends
    assert "二〇××年××月××日" in html and "（院印）" in html and "抄送：" in html
    assert "西部农商银行&lt;i&gt;&amp;试点&lt;/i&gt;：" in html  # the institution addressed
    assert "收到本建议书之日起三十日内" in html
    # 一、二、三… the recommendations, one by one
    items = re.findall(r'<span class="item-number">(.)、</span>', html)
    assert items[:4] == ["一", "二", "三", "四"]
    assert "24小时内有效反馈" in html


def test_the_letter_states_the_figures_and_the_legal_basis(html: str) -> None:
    assert "查询请求10件，你单位反馈6件，反馈率为60.0%" in html
    assert "其中在24小时的期限内反馈4件，及时反馈率为40.0%" in html
    assert "中位数为21.5小时，90%分位数为40.2小时，而期限为24小时" in html
    assert "尚有2件请求已过反馈期限仍未反馈" in html
    assert "3家同类银行中，你单位的及时反馈率排名第3位" in html
    basis = load_rule_pack().sla_sources["bank"]
    assert "关于进一步推进网络执行查控工作的通知" in basis
    assert basis in html
    # the annex: the peers with their sample sizes, the reasons, the charts
    assert "请求件数（样本量）" in html
    assert "超时（timeout）" in html
    assert html.count('<svg class="chart distribution"') == 1
    assert html.count('<svg class="chart trend"') == 1
    assert "响应时间" in html and "期限" in html and "超期率" in html


def test_the_page_needs_no_network_and_escapes_every_text(html: str) -> None:
    parts = _Parts()
    parts.feed(html)
    assert parts.links == []
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert not re.search(r"(?:src|href)\s*=\s*[\"']?\s*(?:https?:)?//", html, re.I)
    assert "url(" not in html and "@import" not in html
    assert "<i>&" not in html and SLOW_NAME not in html
    assert PERSON.id_number not in html and COMPANY.id_number not in html


def test_a_letter_without_a_court_or_a_source_leaves_placeholders(clocks: list[Clock]) -> None:
    html = render_letter(pure_pack(clocks, court=None, legal_basis=None))
    assert html.count("××人民法院") == 2  # the head and the signature
    assert "未载明依据" in html


def test_an_institution_never_late_is_not_told_it_was(clocks: list[Clock]) -> None:
    east = pure_pack(clocks, institution=EAST)  # five inquiries, each answered in an hour
    assert problems_found(east) == []
    html = render_letter(east)
    assert "存在反馈不及时的问题" not in html
    assert "统计期间未见超期情况" in html  # and the judge is asked whether to send it
    assert "存在反馈不及时的问题" in render_letter(pure_pack(clocks))  # the slow bank is


def test_the_letters_charts_speak_chinese(html: str) -> None:
    charts = "".join(re.findall(r"<svg class=\"chart .*?</svg>", html, re.S))
    assert "超期" in charts and "刻度" in charts and "起一周" in charts
    assert re.search(r">\d+(?:分钟|小时|天)</text>", charts)  # tick units too
    assert not re.search(r"\d+ late\b|linear scale|logarithmic|Week of", charts)


def test_the_letter_number_carries_the_year_it_is_written_in(clocks: list[Clock]) -> None:
    written = datetime(2027, 1, 6, 9, tzinfo=SHANGHAI)  # about the last year's December
    assert "（2027）×法建×号" in render_letter(pure_pack(clocks, now=written))


def test_an_unsettled_deadline_is_flagged_for_the_judge(clocks: list[Clock]) -> None:
    source = load_rule_pack().sla_sources["housing_fund"]
    html = render_letter(pure_pack(clocks, legal_basis=source, legal_basis_unsettled=True))
    assert "[U]" not in html
    assert "发送前请核实依据" in html


def test_numbers_and_deadlines_in_words() -> None:
    assert [chinese_number(n) for n in (7, 10, 15, 30, 45, 100, 105, 120, 365)] == [
        "七",
        "十",
        "十五",
        "三十",
        "四十五",
        "一百",
        "一百零五",
        "一百二十",
        "三百六十五",
    ]
    assert deadline_words("24 h") == "24小时"
    assert deadline_words("1 working day") == "1个工作日"
    assert deadline_words("2 working days") == "2个工作日"
    assert deadline_words("1m") == "1个月"


# --- the annex spreadsheet --------------------------------------------------------------------


def test_the_annex_lists_every_request_with_the_party_masked(
    pack: EvidencePack, tmp_path: Path
) -> None:
    path = tmp_path / "annex.csv"
    path.write_text(annex_csv(pack), encoding="utf-8-sig", newline="")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    assert PERSON.id_number not in text and COMPANY.id_number not in text
    assert "张三" not in text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 11  # the ten inquiries and the freeze, not those outside the period
    by_reference = {row["请求编号"]: row for row in rows}
    freeze_ref = next(r.reference for r in pack.rows if r.operation == "freeze")
    late = {
        ("freeze" if ref == freeze_ref else ref): row["超期（小时）"]
        for ref, row in by_reference.items()
        if row["超期（小时）"]
    }
    assert late == EXPECTED_LATE
    assert by_reference["slow-0"]["当事人"] == "张* (1101************39)"
    assert by_reference["slow-9"]["当事人"] == COMPANY.masked
    assert by_reference[freeze_ref]["当事人"] == "张* (1101************39)"
    assert by_reference["slow-0"]["发起时间"] == "2026-11-02 10:00"
    assert by_reference["slow-0"]["应反馈时间"] == "2026-11-03 10:00"
    assert by_reference["slow-0"]["反馈时间"] == "2026-11-02 12:00"
    assert by_reference["slow-5"]["反馈时间"] == "2026-11-12 12:30"
    outcomes = {ref: row["结果"] for ref, row in by_reference.items()}
    assert outcomes["slow-0"] == "按期反馈"
    assert outcomes["slow-4"] == "超期反馈"
    assert outcomes["slow-6"] == "逾期未反馈"
    assert outcomes["slow-7"] == "逾期未反馈（已停止等待）"
    assert outcomes["slow-8"] == "请求失败：超时（timeout）"
    assert outcomes["slow-9"] == "待反馈（未到期）"
    assert by_reference["slow-9"]["超期（小时）"] == ""  # owed, but not yet due


# --- the rule pack's sources ------------------------------------------------------------------


def test_the_rule_pack_cites_a_source_per_institution_type() -> None:
    sources = load_rule_pack().sla_sources
    assert set(sources) == {"bank", "realestate", "housing_fund"}
    assert "24小时" in sources["bank"] and "据公开报道" in sources["bank"]
    assert sources["housing_fund"].startswith("[U]")


def test_a_source_for_a_type_without_deadlines_is_refused() -> None:
    from assetquery import ConfigurationError

    data = load_rule_pack().model_dump(mode="json")
    data["sla_sources"] = {**data["sla_sources"], "vehicle": "某规定"}
    with pytest.raises(ConfigurationError, match=r"sla_sources: vehicle: no \[sla.<type>\]"):
        rule_pack_from_mapping(data, "pack.toml")
    data["sla_sources"] = {"bank": "  "}
    with pytest.raises(ConfigurationError, match="a source is empty"):
        rule_pack_from_mapping(data, "pack.toml")


# --- the commands -----------------------------------------------------------------------------

runner = CliRunner()
CONFIG = f"""
court = "{COURT}"

[[institutions]]
id = "{SLOW}"
name = "西部农商银行"
adapter = "bank"
base_url = "https://slow.bank.example"

[[institutions]]
id = "{EAST}"
name = "{NAMES[EAST]}"
adapter = "bank"
base_url = "https://east.bank.example"

[[institutions]]
id = "{SOUTH}"
name = "{NAMES[SOUTH]}"
adapter = "bank"
base_url = "https://south.bank.example"

[[institutions]]
id = "registry"
name = "不动产登记中心"
adapter = "realestate"
base_url = "https://registry.example"
"""


@dataclass(frozen=True)
class Setup:
    store: str
    config: Path
    out: Path


@pytest.fixture
def setup(tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch) -> Setup:
    for name in ("ASSETQUERY_CONFIG", "ASSETQUERY_COURT", "ASSETQUERY_CHROMIUM"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "institutions.toml"
    config.write_text(CONFIG, encoding="utf-8")
    return Setup(f"sqlite:///{tmp_path}/s.db", config, tmp_path / "pack")


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def recommend(setup: Setup, *more: str) -> tuple[int, str]:
    return invoke(
        "sla",
        "recommend",
        "--institution",
        SLOW,
        "--from",
        FIRST.isoformat(),
        "--to",
        LAST.isoformat(),
        "--config",
        str(setup.config),
        "--store",
        setup.store,
        "-o",
        str(setup.out),
        *more,
    )


def test_the_commands_have_help() -> None:
    for command in ("recommend", "sent", "replied", "recommendations"):
        code, output = invoke("sla", command, "--help")
        assert code == 0, command
        assert "Usage" in output


@pytest.fixture
def fake_chromium(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in that writes a one-line PDF where it is told: the commands' own work,
    tested on any machine (Chromium's printing is tested below, where it is installed)."""
    fake = tmp_path / "fake-chromium"
    fake.write_text(
        "#!/bin/sh\n"
        'for arg in "$@"; do case "$arg" in\n'
        "  --print-to-pdf=*) printf '%%PDF-1.4\\n%%%%EOF\\n' > \"${arg#--print-to-pdf=}\" ;;\n"
        "esac; done\n",
        encoding="utf-8",
    )
    fake.chmod(0o755)
    monkeypatch.setenv("ASSETQUERY_CHROMIUM", str(fake))
    monkeypatch.setattr("assetquery.sla._pdf._check_chinese_font", lambda: None)
    return fake


def test_recommend_writes_the_pack_and_records_it(setup: Setup, fake_chromium: Path) -> None:
    code, output = recommend(setup, "--reply-days", "15")
    assert code == 0, output
    for name in ("letter.html", "letter.pdf", "annex.csv"):
        assert (setup.out / name).stat().st_size > 0, name
    html = (setup.out / "letter.html").read_text(encoding="utf-8")
    assert "西部农商银行：" in html and "收到本建议书之日起十五日内" in html
    assert COURT in html  # the configuration's court
    assert "recommendation 1 (draft)" in output
    with closing(Store(setup.store)) as opened:
        [record] = opened.recommendations.find()
    assert (record.institution, record.period_from, record.period_to) == (SLOW, FIRST, LAST)
    assert record.reply_days == 15 and Path(record.directory) == setup.out.resolve()

    # The letter was written today (the command's own clock): it goes out today at the earliest.
    today = local_date(utc_now())
    before, after = (today - timedelta(days=1)).isoformat(), (today + timedelta(days=1)).isoformat()
    code, output = invoke("sla", "sent", "1", "--on", before, "--store", setup.store)
    assert code == 2 and f"{before} is before #1 was written ({today})" in output
    code, output = invoke("sla", "sent", "1", "--on", after, "--store", setup.store)
    assert code == 2 and f"{after} is in the future" in output
    code, output = invoke("sla", "replied", "1", "--store", setup.store)
    assert code == 2 and "never marked sent" in output

    code, output = invoke("sla", "sent", "1", "--store", setup.store)
    assert code == 0, output
    due = (today + timedelta(days=15)).isoformat()
    assert due in output
    code, output = invoke("sla", "recommendations", "--json", "--store", setup.store)
    assert code == 0, output
    [listed] = json.loads(output)
    assert listed["sent_on"] == today.isoformat() and listed["reply_due"] == due
    assert listed["state"] == "awaiting reply"
    code, output = invoke("sla", "replied", "1", "--store", setup.store)
    assert code == 0, output
    code, output = invoke("sla", "recommendations", "--json", "--store", setup.store)
    assert json.loads(output)[0]["state"] == "replied"
    code, output = invoke("sla", "recommendations", "--store", setup.store)
    assert code == 0 and "replied" in output
    code, output = invoke("sla", "sent", "1", "--store", setup.store)
    assert code == 2 and "was replied to" in output  # the reply's due date stays as it was


def test_an_empty_period_is_an_error_and_writes_nothing(setup: Setup) -> None:
    code, output = invoke(
        "sla",
        "recommend",
        "--institution",
        SLOW,
        "--from",
        "2026-12-01",
        "--to",
        "2026-12-05",
        "--config",
        str(setup.config),
        "--store",
        setup.store,
        "-o",
        str(setup.out),
    )
    assert code == 2
    assert "no request to 西部农商银行 (bank-slow) between 2026-12-01 and 2026-12-05" in output
    assert "widen --from/--to" in output
    assert not setup.out.exists()
    assert _recorded(setup.store) == 0


def test_an_unknown_institution_is_an_error_naming_the_configured_ones(setup: Setup) -> None:
    code, output = invoke(
        "sla",
        "recommend",
        "--institution",
        "bank-nowhere",
        "--config",
        str(setup.config),
        "--store",
        setup.store,
        "-o",
        str(setup.out),
    )
    assert code == 2
    assert "'bank-nowhere' is not configured" in output
    assert "bank-east, bank-slow, bank-south, registry" in output
    assert not setup.out.exists()


def test_marking_an_unknown_recommendation_sent_is_an_error(setup: Setup) -> None:
    code, output = invoke("sla", "sent", "7", "--store", setup.store)
    assert code == 2 and "no recommendation #7" in output


def test_without_chromium_the_letter_and_annex_are_still_written(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSETQUERY_CHROMIUM", str(setup.out.parent / "no-such-chromium"))
    code, output = recommend(setup)
    assert code == 1
    assert "ASSETQUERY_CHROMIUM" in output and "fonts-wqy-microhei" in output
    assert (setup.out / "letter.html").is_file() and (setup.out / "annex.csv").is_file()
    assert not (setup.out / "letter.pdf").exists()
    assert _recorded(setup.store) == 0


def test_a_failing_chromium_is_named(tmp_path: Path, pack: EvidencePack) -> None:
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\necho 'cannot open display' >&2\nexit 3\n", encoding="utf-8")
    fake.chmod(0o755)
    page = tmp_path / "letter.html"
    page.write_text(render_letter(pack), encoding="utf-8")
    with pytest.raises(PrintError, match=r"failed to print letter.html \(exit code 3\)"):
        print_pdf(page, tmp_path / "letter.pdf", chromium=str(fake))
    assert not (tmp_path / "letter.pdf").exists()
    slow = tmp_path / "slow-chromium"
    slow.write_text("#!/bin/sh\nsleep 30\n", encoding="utf-8")
    slow.chmod(0o755)
    with pytest.raises(PrintError, match=r"did not finish printing letter\.html within 0\.5 s"):
        print_pdf(page, tmp_path / "letter.pdf", chromium=str(slow), timeout=0.5)


def test_a_machine_without_a_chinese_font_is_told_which_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fc_list = tmp_path / "fc-list"
    fc_list.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")  # knows no Chinese font
    fc_list.chmod(0o755)
    monkeypatch.setattr(
        "assetquery.sla._pdf.shutil.which", lambda name: str(fc_list) if name == "fc-list" else None
    )
    page = tmp_path / "letter.html"
    page.write_text("<p>司法建议书</p>", encoding="utf-8")
    with pytest.raises(PrintError, match="install `fonts-wqy-microhei`"):
        print_pdf(page, tmp_path / "letter.pdf", chromium="/bin/true")


def _recorded(url: str) -> int:
    with closing(Store(url)) as opened:
        return len(opened.recommendations.find())


# --- in Chromium ------------------------------------------------------------------------------


@pytest.fixture
def printed(pack: EvidencePack, chromium: Chromium, tmp_path: Path) -> Path:
    write_evidence_pack(pack, tmp_path / "pack", chromium=chromium.path)
    return tmp_path / "pack"


def _pdf_pages(pdf: Path) -> list[str] | None:
    """Each page's text by pypdf (the dev extra), or poppler's pdftotext; None without both."""
    try:
        import pypdf
    except ImportError:
        pdftotext = shutil.which("pdftotext")
        if pdftotext is None:
            return None
        text = subprocess.run(
            [pdftotext, str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        return text.split("\f")
    return [page.extract_text() for page in pypdf.PdfReader(str(pdf)).pages]


def test_the_pdf_is_printed_on_its_own_pages_in_a_chinese_font(printed: Path) -> None:
    data = (printed / "letter.pdf").read_bytes()
    assert data.startswith(b"%PDF")
    pages = int(re.findall(rb"/Count (\d+)", data)[-1])
    assert pages >= 2  # the letter, then the annex on a page of its own
    fonts = set(re.findall(rb"/BaseFont /[A-Z]{6}\+([A-Za-z-]+)", data))
    assert any(b"WenQuanYi" in f or b"CJK" in f or b"Hei" in f for f in fonts), fonts


def test_the_pdf_text_holds_the_institution_and_its_timely_rate(printed: Path) -> None:
    pages = _pdf_pages(printed / "letter.pdf")
    if pages is None:
        pytest.skip(
            "no PDF text extractor: install the dev extra (pypdf) or poppler-utils "
            "(pdftotext) to check the PDF's text; its pages and fonts are checked above"
        )
    squeezed = [re.sub(r"\s+", "", page) for page in pages]
    text = "".join(squeezed)
    assert "司法建议书" in text and "（2026）×法建×号" in text
    assert SLOW_NAME in text  # escaped in the page, shown as written
    assert "及时反馈率为40.0%" in text
    # The annex starts on a page of its own, after the letter's last (with 抄送).
    last = max(i for i, page in enumerate(squeezed) if "抄送" in page)
    assert squeezed[last + 1].startswith("附件")
    assert not any("一、分项统计" in page for page in squeezed[: last + 1])


def test_chromium_shows_the_letter_and_draws_the_charts(
    printed: Path, chromium: Chromium, tmp_path: Path
) -> None:
    url = (printed / "letter.html").resolve().as_uri()
    shot = tmp_path / "letter.png"
    chromium.run(tmp_path / "profile-shot", url, f"--screenshot={shot}", "--window-size=1200,2400")
    width, height, rows = png_rows(shot.read_bytes())
    assert (width, height) == (1200, 2400)
    assert len(set(rows)) > 300  # text, tables and charts, not a blank page

    log = tmp_path / "net-log.json"
    dom = chromium.run(tmp_path / "profile-dom", url, "--dump-dom", f"--log-net-log={log}").stdout
    assert [r.url for r in net_log_requests(log) if r.for_a_page] == []  # nothing fetched
    assert "司法建议书" in dom and "（2026）×法建×号" in dom
    charts = re.findall(r'<svg class="chart (distribution|trend)"', dom)
    assert sorted(charts) == ["distribution", "trend"]
    distribution = dom[dom.index('<svg class="chart distribution"') :]
    distribution = distribution[: distribution.index("</svg>")]
    assert "响应时间" in distribution and "期限" in distribution
    assert distribution.count("<circle") == 7 + 5 + 8  # one dot per answer: slow, east, south
    trend = dom[dom.index('<svg class="chart trend"') :]
    trend = trend[: trend.index("</svg>")]
    assert "超期率" in trend and "11月2日" in trend
