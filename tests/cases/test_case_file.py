"""The case file and the court's figures, on a year of one case scripted against the sandbox.

The history is ``examples/case_file.py``'s (on simulated time): one lookup, the west bank
answering 30 hours after it was asked (due in 24); freezes of 10,000 (east) and 200 (west);
a seal that waits behind another court's and is promoted the next day; 3,000 deducted from
the east freeze; the east freeze renewed before its deadline; the west freeze left to lapse.
Every expected figure below is worked out by hand from that history and the sandbox's data.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest
from typer.testing import CliRunner

from assetquery import Case, Dispatcher, Money, Party
from assetquery._cli._app import app
from assetquery.cases import (
    CaseFile,
    CaseNotFound,
    CourtFigures,
    case_file,
    case_files,
    court_figures,
)
from assetquery.sandbox import dataset, run_simulated
from assetquery.store import Closure, LookupFacts, Store

from ..browser import Chromium, net_log_requests

EXAMPLE = Path(__file__).parents[2] / "examples" / "case_file.py"
NOW = datetime.fromisoformat("2027-01-10T10:00:00+08:00")
CASE = "（2026）甘01执6490号"
COURT = "甘肃省兰州市中级人民法院"


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("case_file_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_history(url: str) -> Store:
    example = _example()
    store = Store(url)
    run_simulated(lambda clock: example.scripted_history(clock, store), start=example.START)
    return store


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, str]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('history') / 'ledger.db'}"
    store = build_history(url)
    yield store, url
    store.close()


@pytest.fixture(scope="module")
def case(history: tuple[Store, str]) -> CaseFile:
    return case_file(history[0], CASE, now=NOW)


def cny(text: str) -> Money:
    return Money(text)


# --- the case file ---------------------------------------------------------------------------


def test_the_totals_are_the_ones_worked_out_by_hand(case: CaseFile) -> None:
    t = case.totals
    assert t.claim == cny("20000.00")
    # east: 277,102.88 free + 6,838.99 less another court's 3,487.88; west 298.69; fund 0
    assert t.available_found == cny("277102.88") + cny("3351.11") + cny("298.69")
    assert t.frozen == cny("7000.00")  # 10,000 less the 3,000 deducted; the west one lapsed
    assert t.deducted == cny("3000.00")
    assert t.waiting == cny("0")
    assert t.sealed_value == cny("0")  # the registry reports no value for the flat
    assert t.unvalued_seals == 1
    assert t.uncovered == cny("10000.00")  # 20,000 − 3,000 − 7,000


def test_every_control_with_its_dates_and_where_they_come_from(case: CaseFile) -> None:
    east, west, seal = case.controls
    assert (east.kind, east.state, east.institution) == ("freeze", "effective", "bank-east")
    assert east.amount == cny("7000.00") and east.deducted == cny("3000.00")
    assert east.effective_on == date(2026, 1, 7)
    # renewed on 2026-12-28 for another year from the renewal, as the bank reports
    assert (east.expires_on, east.expiry_reported, east.renewals) == (date(2028, 1, 6), True, 1)
    assert east.renew_by == date(2027, 12, 30)  # seven days ahead (the rule pack's lead)
    assert (west.state, west.expires_on) == ("lapsed", date(2027, 1, 6))
    assert west.expiry_reported is False  # the west bank gives no end date: computed
    assert west.renew_by is None  # no longer in force: nothing to renew
    assert (seal.kind, seal.state, seal.effective_on) == ("seal", "effective", date(2026, 1, 8))
    assert (seal.expires_on, seal.waiting_position) == (date(2029, 1, 7), None)
    kinds = [(o.kind, o.state, o.target_id, o.amount) for o in case.operations]
    assert kinds == [
        ("deduct", "completed", east.id, cny("3000.00")),
        ("renew", "completed", east.id, None),
    ]


def test_lookups_say_who_answered_and_who_was_late(case: CaseFile) -> None:
    (lookup,) = case.lookups
    assert lookup.started_at == datetime.fromisoformat("2026-01-05T09:00:00+08:00")
    answers = {a.institution: a for a in lookup.answers}
    assert set(answers) == {"registry", "fund", "bank-east", "bank-west"}
    west = answers["bank-west"]
    assert west.status == "ok" and west.late is True
    assert west.answered_at == datetime.fromisoformat("2026-01-06T15:05:00+08:00")
    assert west.due_at == datetime.fromisoformat("2026-01-06T09:00:00+08:00")
    assert all(answers[i].late is False for i in ("registry", "fund", "bank-east"))
    assert lookup.waiting_on == ()
    (party,) = case.parties
    assert party.name == "邓明华" and case.court == COURT and case.operators == ("李承办",)


def test_assets_show_other_courts_controls_on_them(case: CaseFile) -> None:
    others = {
        f.record.identifier: [(e.kind.value, e.authority, e.case_number) for e in f.others]
        for f in case.assets
    }
    assert others["620104015019GB77269F00250805"] == [
        ("seal", "兰州市红古区人民法院", "（2023）甘0111执7308号")
    ]
    assert others["27018185318372343115"] == [
        ("freeze", "天水市秦州区人民法院", "（2026）甘0502执923号")
    ]
    assert others["6217995488409766068"] == []  # the one we froze: free when looked up


def test_the_next_dates_come_in_order(case: CaseFile) -> None:
    upcoming = [(d.on, d.what) for d in case.next_dates]
    assert upcoming == [
        (date(2027, 12, 30), "renew freeze #1 at bank-east by"),
        (date(2028, 1, 6), "freeze #1 at bank-east ends"),
        (date(2028, 12, 31), "renew seal #3 at registry by"),
        (date(2029, 1, 7), "seal #3 at registry ends"),
    ]
    assert not any(d.overdue for d in case.next_dates)


def test_any_spelling_of_the_number_finds_the_case(history: tuple[Store, str]) -> None:
    for spelling in (
        "(2026)甘01執6490号",
        "（２０２６）甘０１执６４９０号",
        " (2026)甘01执6490號 ",
    ):
        assert case_file(history[0], spelling, now=NOW).number == CASE


def test_an_unknown_case_suggests_the_close_ones(history: tuple[Store, str]) -> None:
    with pytest.raises(CaseNotFound) as raised:
        case_file(history[0], "(2026)甘01执6409号", now=NOW)
    assert raised.value.close == (CASE,)
    assert "did you mean （2026）甘01执6490号" in str(raised.value)
    with pytest.raises(CaseNotFound, match="case list"):
        case_file(history[0], "(2019)京0105执1号", now=NOW)


def test_case_list_filters(history: tuple[Store, str]) -> None:
    store = history[0]

    def numbers(**filters: object) -> list[str]:
        return [c.number for c in case_files(store, now=NOW, **filters)]  # type: ignore[arg-type]

    assert numbers() == [CASE]
    assert numbers(court=COURT, operator="李承办", open_controls=True) == [CASE]
    assert numbers(court="兰州市城关区人民法院") == []
    assert numbers(uncovered_above=cny("9999.99")) == [CASE]
    assert numbers(uncovered_above=cny("10000.00")) == []
    # the next renewal deadline is 2027-12-30: 354 days after NOW
    assert numbers(renewal_within=timedelta(days=354)) == [CASE]
    assert numbers(renewal_within=timedelta(days=353)) == []


# --- exports -----------------------------------------------------------------------------------


def test_exports_in_every_format(case: CaseFile, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from assetquery.cases import write_case_file

    for suffix in ("json", "csv", "xlsx", "html"):  # into a folder not made yet
        assert write_case_file(case, tmp_path / "out" / f"case.{suffix}") == suffix
    tmp_path = tmp_path / "out"
    data = json.loads((tmp_path / "case.json").read_text(encoding="utf-8"))
    assert data["totals"]["uncovered"] == {"amount": "10000.00", "currency": "CNY"}
    assert data["controls"][0]["expires_on"] == "2028-01-06"
    raw = (tmp_path / "case.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads the BOM as "this is UTF-8"
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert ["still uncovered 尚未控制", "10,000.00"] in rows
    # An identity number would lose its last digits in Excel as a number: it is text.
    party = next(row for row in rows if "邓明华" in row)
    assert '="620103198606102914"' in party
    book = load_workbook(tmp_path / "case.xlsx")
    assert book.sheetnames == [
        "totals",
        "parties",
        "lookups",
        "assets",
        "controls",
        "operations",
        "dates",
    ]
    assert book["controls"]["A3"].value == "1"
    totals = {row[0].value: row[1] for row in book["totals"].iter_rows(min_row=3)}
    uncovered = totals["still uncovered 尚未控制"]
    assert (uncovered.value, uncovered.number_format) == (Decimal("10000.00"), "#,##0.00")
    assert "620103198606102914" in [c.value for c in book["parties"]["C"]]  # kept as text
    page = (tmp_path / "case.html").read_text(encoding="utf-8")
    assert "default-src 'none'" in page and "http" not in page.replace("http-equiv", "")
    assert "邓明华" in page and "10,000.00" in page


def test_gbk_on_request_and_a_clear_error_for_what_it_cannot_write(
    case: CaseFile, tmp_path: Path
) -> None:
    from assetquery import InvalidInput
    from assetquery.cases import write_case_file

    write_case_file(case, tmp_path / "case.csv", encoding="gbk")
    assert "邓明华" in (tmp_path / "case.csv").read_bytes().decode("gbk")
    rare = replace(case, parties=(replace(case.parties[0], name="𠮷野"),))
    with pytest.raises(InvalidInput, match="GBK cannot"):
        write_case_file(rare, tmp_path / "rare.csv", encoding="gbk")
    with pytest.raises(InvalidInput, match="json, csv, xlsx, html"):
        write_case_file(case, tmp_path / "case.pdf")
    with pytest.raises(InvalidInput, match="only a CSV file is written in gbk"):
        write_case_file(case, tmp_path / "case.json", encoding="gbk")


# --- the court's figures -------------------------------------------------------------------------


def test_institution_feedback_figures_are_what_the_clocks_imply(
    history: tuple[Store, str],
) -> None:
    figures = court_figures(history[0], now=NOW)
    inquiries = {s.institution: s for s in figures.institutions if s.operation == "inquiry"}
    west = inquiries["bank-west"]
    assert (west.count, west.answered, west.met) == (1, 1, 0)
    assert (west.feedback_rate, west.timely_rate) == (1.0, 0.0)  # 反馈率 100 %, 及时 0 %
    assert west.median_hours == pytest.approx(30 + 5 / 60)
    east = inquiries["bank-east"]
    assert (east.count, east.met, east.timely_rate) == (1, 1, 1.0)
    freezes = {s.institution for s in figures.institutions if s.operation == "freeze"}
    assert freezes == {"bank-east", "bank-west"}


def test_what_the_court_secured_worked_out_by_hand(history: tuple[Store, str]) -> None:
    figures = court_figures(history[0], now=NOW)
    (group,) = figures.groups
    assert (group.court, group.operator) == (COURT, "李承办")
    assert (group.lookups, group.lookups_with_assets) == (1, 1)
    assert (group.cases, group.cases_with_assets) == (1, 1)
    assert (group.controls_requested, group.controls_in_force) == (3, 2)
    assert group.claims == cny("20000.00")
    assert (group.frozen, group.deducted) == (cny("7000.00"), cny("3000.00"))
    assert group.deducted_share == 0.15  # a lower bound of what was recovered
    assert (group.lapsed, group.lapsed_amount) == (1, cny("200.00"))
    assert (group.renewals, group.renewals_on_time) == (1, 1)
    assert figures.total == replace(group, court=None, operator=None)  # one group: the total
    assert figures.official is None  # no closures imported: never estimated


def test_a_period_counts_only_what_happened_in_it(history: tuple[Store, str]) -> None:
    since = datetime.fromisoformat("2027-01-01T00:00:00+08:00")
    figures = court_figures(history[0], since=since, now=NOW)
    total = figures.total
    assert (total.lookups, total.controls_requested, total.renewals) == (0, 0, 0)
    assert (total.lapsed, total.lapsed_amount) == (1, cny("200.00"))  # lapsed on 2027-01-08
    assert total.deducted == cny("0")
    assert figures.institutions == ()


def build_two_courts(url: str) -> Store:
    """The history, and a second court's operator looking up another debtor in February."""
    store = build_history(url)
    other = dataset().parties[0]  # （2026）甘0103执9456号, 兰州市七里河区人民法院
    party = Party.parse(other.name, other.id_number, other.kind)
    case = Case(number=other.case_number, court=other.court, operator="王承办", claim=Money("5000"))

    async def look_up(clock: Callable[[], datetime]) -> None:
        async with Dispatcher.sandbox(store=store, clock=clock) as dispatcher:
            await dispatcher.lookup(party, case)

    run_simulated(look_up, start=datetime.fromisoformat("2026-02-10T09:00:00+08:00"))
    return store


@pytest.fixture(scope="module")
def two_courts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = build_two_courts(f"sqlite:///{tmp_path_factory.mktemp('two') / 'ledger.db'}")
    yield store
    store.close()


FEBRUARY = {
    "since": datetime.fromisoformat("2026-02-01T00:00:00+08:00"),
    "until": datetime.fromisoformat("2026-03-01T00:00:00+08:00"),
}


def test_claims_frozen_and_deducted_are_read_over_the_same_cases(two_courts: Store) -> None:
    figures = court_figures(two_courts, now=NOW, **FEBRUARY)
    li, wang = sorted(figures.groups, key=lambda g: g.operator or "")  # 李 < 王
    assert (li.court, li.operator) == (COURT, "李承办")
    # February: only the 3,000 deducted, in the case whose claim is 20,000.
    assert (li.cases, li.lookups, li.claims) == (1, 0, cny("20000.00"))
    assert (li.deducted, li.deducted_share) == (cny("3000.00"), 0.15)
    # In force at the end of February: both freezes (east at its amount now) and the seal.
    assert (li.controls_in_force, li.frozen) == (3, cny("7200.00"))
    assert (wang.operator, wang.cases, wang.lookups, wang.claims) == (
        "王承办",
        1,
        1,
        cny("5000.00"),
    )
    assert (wang.deducted, wang.controls_in_force, wang.frozen) == (cny("0"), 0, cny("0"))
    assert figures.total.claims == cny("25000.00")


def test_the_institution_figures_follow_the_court_and_operator(two_courts: Store) -> None:
    everyone = court_figures(two_courts, now=NOW)
    theirs = court_figures(two_courts, now=NOW, operator="王承办")
    ours = court_figures(two_courts, now=NOW, operator="李承办")

    def requests(figures: CourtFigures) -> dict[tuple[str, str], int]:
        return {(s.institution, s.operation): s.count for s in figures.institutions}

    assert {op for _, op in requests(theirs)} == {"inquiry"}  # a lookup, no control
    assert all(count == 1 for count in requests(theirs).values())
    assert ("bank-east", "freeze") in requests(ours)
    merged = {k: requests(ours).get(k, 0) + requests(theirs).get(k, 0) for k in requests(everyone)}
    assert merged == requests(everyone)
    assert court_figures(two_courts, now=NOW, court="不存在的法院").empty


def test_in_force_means_at_the_periods_end_even_when_the_expiry_was_noticed_later(
    history: tuple[Store, str],
) -> None:
    # The west freeze's period ended on 2027-01-06; the sync that marked it lapsed ran on
    # the 8th. At the end of the 7th it no longer held anything.
    figures = court_figures(
        history[0],
        since=datetime.fromisoformat("2026-12-01T00:00:00+08:00"),
        until=datetime.fromisoformat("2027-01-08T00:00:00+08:00"),
        now=NOW,
    )
    total = figures.total
    assert (total.cases, total.renewals) == (1, 1)  # the east freeze renewed on 12-28
    assert (total.controls_in_force, total.frozen) == (2, cny("7000.00"))  # east and the seal


def _pure_figures(store: Store, lookups: list[LookupFacts], **period: datetime) -> CourtFigures:
    from assetquery.cases._figures import court_figures as compute
    from assetquery.rules import load_rule_pack

    return compute(
        lookups=lookups,
        actions=store.find(),
        clocks=[],
        closures=None,
        rules=load_rule_pack(),
        now=NOW,
        **period,
    )


def test_a_case_holds_its_controls_whoever_asked_for_them(history: tuple[Store, str]) -> None:
    # Another operator looks the case up again in February: the case is in his row, and
    # with it the three controls that hold its assets, though 李承办 asked for them.
    store = history[0]
    again = replace(
        store.cases.lookups()[0],
        operator="王承办",
        looked_up_at=datetime.fromisoformat("2026-02-15T09:00:00+08:00"),
    )
    figures = _pure_figures(store, [*store.cases.lookups(), again], **FEBRUARY)
    wang = next(g for g in figures.groups if g.operator == "王承办")
    assert (wang.cases, wang.claims, wang.deducted) == (1, cny("20000.00"), cny("0"))
    assert (wang.controls_in_force, wang.frozen) == (3, cny("7200.00"))


def test_the_share_deducted_counts_only_cases_whose_claim_is_known(
    history: tuple[Store, str],
) -> None:
    store = history[0]
    unclaimed = [replace(f, claim=None) for f in store.cases.lookups()]
    total = _pure_figures(store, unclaimed, **FEBRUARY).total
    assert (total.deducted, total.deducted_claimed) == (cny("3000.00"), cny("0"))
    assert (total.claims, total.deducted_share) == (cny("0"), None)  # not 3,000 ÷ nothing


# --- the command line ----------------------------------------------------------------------------


def run(*arguments: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(arguments))
    return result.exit_code, result.output


def test_case_show_and_stats_from_the_command_line(
    history: tuple[Store, str], tmp_path: Path
) -> None:
    url = history[1]
    code, output = run("case", "show", "(2026)甘01執6490号", "--store", url)
    assert code == 0, output
    assert "10,000.00" in output and "邓明华" in output
    code, output = run("case", "show", CASE, "--json", "--store", url)
    assert json.loads(output)["totals"]["deducted"]["amount"] == "3000.00"
    code, output = run("case", "show", "(2026)甘01执6409号", "--store", url)
    assert code == 2 and "did you mean （2026）甘01执6490号" in output
    code, output = run("case", "export", CASE, "-o", str(tmp_path / "c.xlsx"), "--store", url)
    assert code == 0 and (tmp_path / "c.xlsx").stat().st_size > 0
    code, output = run("case", "list", "--uncovered-above", "5000", "--json", "--store", url)
    assert [c["uncovered"] for c in json.loads(output)] == ["10000.00"]
    code, output = run("stats", "--format", "json", "--store", url)
    assert code == 0, output
    data = json.loads(output)
    west = next(
        i
        for i in data["institutions"]
        if i["institution"] == "bank-west" and i["operation"] == "inquiry"
    )
    assert (west["requests"], west["answered"], west["answered_in_time"]) == (1, 1, 0)
    assert data["total"]["lapsed_amount"] == "200.00" and data["official"] is None
    code, output = run("stats", "--from", "2030-01-01", "--store", url)
    assert code == 2 and "holds no lookup" in output and "2030-01-01" in output
    code, output = run("stats", "--format", "html", "-o", str(tmp_path / "s.html"), "--store", url)
    assert code == 0 and "执行查控统计" in (tmp_path / "s.html").read_text(encoding="utf-8")


def test_closures_import_keeps_the_good_rows_and_names_the_bad(tmp_path: Path) -> None:
    source = tmp_path / "closures.csv"
    source.write_text(
        "案号,结案日期,结案方式,申请执行标的,其他到位金额\n"
        "(2026)甘01执6490号,2027-01-20,终结本次执行程序,,1000\n"  # the claim: 20,000
        "(2026)甘01执7000号,2027/01/15,执行完毕,10000.00,10000\n"
        "(2026)甘01执7001号,2027-02-30,执行完毕,5000,\n"  # no such day
        "(2026)甘01执7002号,2027-01-15,调解,5000,\n"  # not a manner of closing
        "(2026)甘01执7003号,2027-01-15,执行完毕,-5,\n",
        encoding="gbk",
    )
    url = f"sqlite:///{tmp_path / 'own.db'}"
    build_history(url).close()  # a store of its own: the closures stay out of the others
    code, output = run("case", "closures", "import", str(source), "--store", url)
    assert code == 1, output
    assert "Imported 2 closure(s); 3 row(s) rejected" in output
    errors = list(csv.reader((tmp_path / "closures.csv.errors.csv").open(encoding="utf-8-sig")))
    assert [(line, field) for line, field, _ in errors[1:]] == [
        ("4", "closed_on"),
        ("5", "manner"),
        ("6", "applied_amount"),
    ]
    store = Store(url)
    try:
        official = court_figures(store, now=NOW).official
    finally:
        store.close()
    assert official is not None
    assert (official.closed, official.completed) == (2, 1)
    # recovered: 3,000 deducted online + 1,000 outside, and 10,000; applied 20,000 + 10,000
    assert official.recovered == cny("14000.00") and official.applied == cny("30000.00")
    assert official.execution_rate == pytest.approx(14000 / 30000)
    assert official.completion_rate == 0.5
    assert (official.first_closed, official.first_terminated) == (2, 1)
    assert official.first_termination_rate == 0.5


def test_the_history_reads_the_same_on_postgresql(store_url: str) -> None:
    store = build_history(store_url)
    try:
        case = case_file(store, CASE, now=NOW)
        figures = court_figures(store, now=NOW)
    finally:
        store.close()
    assert case.totals.uncovered == cny("10000.00")
    assert case.totals.frozen.amount == Decimal("7000.00")
    assert (figures.total.lapsed, figures.total.renewals_on_time) == (1, 1)


def test_chromium_renders_the_case_page_and_fetches_nothing(
    case: CaseFile, chromium: Chromium, tmp_path: Path
) -> None:
    from assetquery.cases import write_case_file

    page = tmp_path / "case.html"
    write_case_file(case, page)
    log = tmp_path / "net-log.json"
    dom = chromium.run(
        tmp_path / "profile", page.as_uri(), "--dump-dom", f"--log-net-log={log}"
    ).stdout
    assert dom.count("<table>") == 7  # totals, parties, lookups, assets, controls, ops, dates
    assert "邓明华" in dom and "尚未控制" in dom and "2027-12-30" in dom
    assert [r.url for r in net_log_requests(log) if r.for_a_page] == []
    shot = tmp_path / "case.png"
    chromium.run(tmp_path / "profile-shot", page.as_uri(), f"--screenshot={shot}")
    assert shot.stat().st_size > 20_000  # a page of tables and Chinese text, not a blank one


def test_the_figures_page_names_every_figure_and_fetches_nothing(
    chromium: Chromium, tmp_path: Path
) -> None:
    from assetquery.cases._figures_page import figures_data, figures_html

    store = build_two_courts(f"sqlite:///{tmp_path / 'own.db'}")  # its closure stays here
    try:
        closed = Closure(CASE, date(2026, 2, 20), "completed", None, Money("0"))
        store.closures.put([closed], source="test", at=NOW)
        data = figures_data(court_figures(store, now=NOW, **FEBRUARY))
        # The closed case is 李承办's: narrowed to the other operator, no case was closed.
        for operator, closed_cases in (("李承办", 1), ("王承办", 0)):
            narrowed = court_figures(store, now=NOW, operator=operator, **FEBRUARY).official
            assert narrowed is not None and narrowed.closed == closed_cases, operator
    finally:
        store.close()
    page = tmp_path / "stats.html"
    page.write_text(figures_html(data), encoding="utf-8")
    log = tmp_path / "net-log.json"
    dom = chromium.run(
        tmp_path / "profile", page.as_uri(), "--dump-dom", f"--log-net-log={log}"
    ).stdout
    assert [r.url for r in net_log_requests(log) if r.for_a_page] == []
    assert dom.count('<table class="figures">') == 3  # institutions, groups, official
    for name in (
        "反馈率",
        "及时反馈率",
        "扣划÷标的（下限）",
        "执行到位率",
        "执行完毕率",
        "首执终本率",
    ):
        assert name in dom, name
    assert "15.0%" in dom  # 3,000 deducted of the 20,000 claimed, as a percentage
    assert "2026-02-01 – 2026-02-28" in dom  # the period as asked: its last day included


def test_bad_input_to_the_case_commands_names_the_fix(
    history: tuple[Store, str], tmp_path: Path
) -> None:
    url = history[1]
    missing = tmp_path / "mistyped.db"
    for command in (("case", "list"), ("stats",), ("case", "show", CASE)):
        code, output = run(*command, "--store", f"sqlite:///{missing}")
        assert code == 2 and f"there is no store at {missing}" in output, command
    assert not missing.exists()  # and none was made
    code, output = run("stats", "--store", "assetquery.db")  # a path, not a URL
    assert code == 2 and "is not a database URL; use sqlite:///" in output
    code, output = run("case", "list", "--renewal-within", "2m", "--store", url)
    assert code == 2 and "--renewal-within: '2m' is not a number of days" in output
    code, output = run("stats", "--court", "不存在的法院", "--store", url)
    assert code == 2 and "for 不存在的法院" in output and "check --court/--operator" in output
    assert "widen --from/--to" not in output  # no period was given to widen
    target = tmp_path / "new" / "folder" / "case.csv"
    code, output = run("case", "export", CASE, "-o", str(target), "--store", url)
    assert code == 0 and target.exists(), output
    code, output = run(
        "stats", "--format", "csv", "-o", str(tmp_path / "n" / "s.csv"), "--store", url
    )
    assert code == 0, output
    text = (tmp_path / "n" / "s.csv").read_text(encoding="utf-8-sig")
    assert "扣划÷标的（下限）deducted share, lower bound" in text and "失败 failed" in text


def test_the_evidence_pack_cites_the_same_figures_as_stats(history: tuple[Store, str]) -> None:
    from assetquery.sla import evidence_pack
    from assetquery.sla._letter import problems_found, render_letter

    store = history[0]
    start = datetime.fromisoformat("2026-01-01T00:00:00+08:00")
    pack = evidence_pack(
        store,
        "bank-west",
        since=start,
        until=NOW,
        settings=Dispatcher.sandbox().settings,
        court=COURT,
        now=NOW,
    )
    stats = court_figures(store, since=start, until=NOW, now=NOW).institutions
    west = {s.operation: s for s in stats if s.institution == "bank-west"}
    assert {s.operation: s for s in pack.stats} == west
    (inquiry,) = (s for s in pack.stats if s.operation == "inquiry")
    assert (inquiry.count, inquiry.answered, inquiry.met) == (1, 1, 0)  # 30 hours, due in 24
    assert problems_found(pack) == ["1件请求超过期限才予反馈"]
    assert [(r.case_number, r.operation) for r in pack.rows] == [
        (CASE, "inquiry"),
        (CASE, "freeze"),
    ]
    letter = render_letter(pack)
    assert "西部农村商业银行（沙盒）：" in letter and "及时反馈率为0.0%" in letter


def test_a_seal_waiting_in_line_shows_its_place(tmp_path: Path) -> None:
    """The history's seal on the day it was asked for: behind another court's."""
    from assetquery.ledger import ActionLedger

    example = _example()
    store = Store(f"sqlite:///{tmp_path / 'ledger.db'}")

    async def seal_behind_another_court(clock: Callable[[], datetime]) -> None:
        party, case = example.debtor()
        unit = next(p for p in dataset().parties if p.case_number == CASE).properties[0]
        async with Dispatcher.sandbox(store=store, clock=clock) as dispatcher:
            await dispatcher.lookup(party, case)
            ledger = ActionLedger(store, dispatcher, clock=clock)
            await ledger.seal(party, case, institution="registry", identifier=unit.unit_number)

    try:
        run_simulated(seal_behind_another_court, start=example.START)
        (seal,) = case_file(store, CASE, now=NOW).controls
    finally:
        store.close()
    assert (seal.kind, seal.state, seal.waiting_position) == ("seal", "waiting", 2)
    assert seal.effective_on is None  # not in force until the seal ahead of it is released
