"""SLA clocks on every inquiry and action, and the performance a court reads from them.

Institutions answer in hours; these tests run on simulated time (the sandbox's
``run_simulated``), so a day of turnaround passes in milliseconds and every timestamp the
library writes moves with it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assetquery import Case, Dispatcher, LookupRequest, Money, Party, ResultStatus
from assetquery._cli._app import app
from assetquery._config import settings_from_mapping
from assetquery._time import SHANGHAI
from assetquery.ledger._ledger import ActionLedger
from assetquery.rules import SlaPolicy, SlaRule
from assetquery.sandbox import SandboxConfig, dataset, run_simulated
from assetquery.sla import overdue, performance
from assetquery.sla._stats import _percentile, performance_report
from assetquery.store import ClockOutcome, Store

# A Monday in March 2026, 09:00 in Shanghai: no holidays nearby.
START = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
PARTIES = 30


def requests(count: int = PARTIES) -> list[LookupRequest]:
    return [
        LookupRequest(
            Party.parse(p.name, p.id_number, p.kind),
            Case(
                number=p.case_number,
                court=p.court,
                operator="李承办",
                claim=p.claim,
                enforcement_document="（2026）甘0102执1号之一",
            ),
            reference=p.id_number,
        )
        for p in dataset().parties[:count]
    ]


def batch_on_simulated_time(store: Store, *, deadline_hours: float = 96) -> datetime:
    """Look PARTIES parties up with realistic turnarounds; returns the simulated end time."""

    async def main(clock: Callable[[], datetime]) -> datetime:
        dispatcher = Dispatcher.sandbox(
            SandboxConfig.turnarounds(), store=store, clock=clock, deadline=deadline_hours * 3600
        )
        async with dispatcher:
            async for _ in dispatcher.lookup_many(requests()):
                pass
        return clock()

    return run_simulated(main, start=START)


@pytest.fixture
def store(store_url: str) -> Store:
    return Store(store_url)


def test_the_three_kinds_of_deadline() -> None:
    settings = settings_from_mapping(
        {
            "institutions": [
                {"id": "bank", "name": "B", "adapter": "bank", "base_url": "https://b.test"},
                {"id": "bdc", "name": "R", "adapter": "realestate", "base_url": "https://r.test"},
                {
                    "id": "odd",
                    "name": "O",
                    "adapter": "bank",
                    "base_url": "https://o.test",
                    "sla": {"inquiry": {"period": "1m"}, "freeze": {"working_days": 2}},
                },
            ]
        }
    )
    policy = SlaPolicy.from_settings(settings)
    bank, registry, odd = settings.institutions
    friday = datetime(2026, 2, 13, 10, 0, tzinfo=SHANGHAI)  # before Spring Festival

    rule, due = policy.due(bank, "inquiry", friday)  # type: ignore[misc]
    assert str(rule) == "24 h" and due.due_at == friday + timedelta(hours=24)

    rule, due = policy.due(registry, "inquiry", friday)  # type: ignore[misc]
    assert str(rule) == "1 working day"
    assert due.due_at.astimezone(SHANGHAI).date().isoformat() == "2026-02-14"  # make-up Sat

    rule, due = policy.due(odd, "inquiry", datetime(2026, 1, 14, 10, tzinfo=SHANGHAI))  # type: ignore[misc]
    assert str(rule) == "1m"
    # 2026-02-14 is a working day (make-up Saturday), so the period ends there
    assert due.due_at.astimezone(SHANGHAI).date().isoformat() == "2026-02-14"
    rule, due = policy.due(odd, "inquiry", datetime(2026, 1, 15, 10, tzinfo=SHANGHAI))  # type: ignore[misc]
    # 2026-02-15 falls in the Spring Festival holidays: the deadline moves to the 24th
    assert due.due_at.astimezone(SHANGHAI).date().isoformat() == "2026-02-24"
    assert str(policy.due(odd, "freeze", friday)[0]) == "2 working days"  # type: ignore[index]
    assert policy.due(registry, "deduct", friday) is None  # registries do not deduct


def test_hours_rules_keep_their_own_spans() -> None:
    # Each hours rule's span is worked out once and remembered: two rules never share one.
    policy = SlaPolicy.from_settings(settings_from_mapping({"institutions": []}))
    start = datetime(2026, 3, 2, 9, tzinfo=SHANGHAI)
    rules = [SlaRule(hours=hours) for hours in (24, 1.5, 72)]
    for _ in range(2):
        for rule in rules:
            deadline = policy.deadline(rule, start)
            assert deadline.due_at == start + timedelta(hours=rule.hours or 0)
            assert not deadline.provisional


def test_a_deadline_in_an_unannounced_year_is_provisional() -> None:
    settings = settings_from_mapping(
        {
            "institutions": [
                {
                    "id": "bdc",
                    "name": "R",
                    "adapter": "realestate",
                    "base_url": "https://r.test",
                    "sla": {"inquiry": {"working_days": 3}},
                },
            ]
        }
    )
    (registry,) = settings.institutions
    _, due = SlaPolicy.from_settings(settings).due(  # type: ignore[misc]
        registry, "inquiry", datetime(2026, 12, 30, 10, tzinfo=SHANGHAI)
    )
    assert due.provisional


def test_percentiles_interpolate_between_ranks() -> None:
    values = [1.0, 2.0, 3.0, 4.0, 5.0]
    assert _percentile(values, 0.5) == 3.0
    assert _percentile(values, 0.9) == pytest.approx(4.6)
    assert _percentile([7.0], 0.95) == 7.0
    assert _percentile([], 0.5) is None


def test_a_slow_bank_shows_up_slower_and_later_than_a_fast_one(store: Store) -> None:
    batch_on_simulated_time(store)
    report = performance(store, now=START + timedelta(days=10))
    inquiries = {s.institution: s for s in report.stats if s.operation == "inquiry"}
    east, west = inquiries["bank-east"], inquiries["bank-west"]

    assert east.count == west.count == PARTIES
    assert west.p95_hours is not None and east.p95_hours is not None
    assert west.p95_hours > 24 > 1 > east.p95_hours
    assert west.breaches > 0 and east.breaches == 0
    assert west.breach_rate is not None and west.breach_rate > (east.breach_rate or 0)
    assert east.deadline == "24 h" and east.deadline_hours == 24
    assert inquiries["registry"].deadline == "1 working day"
    assert inquiries["registry"].deadline_hours is None
    persons = sum(1 for p in dataset().parties[:PARTIES] if p.kind == "person")
    assert inquiries["fund"].count == persons  # organizations are not asked there
    late = [b for b in report.breaches if b.institution == "bank-west"]
    assert len(late) == west.breaches + west.open_overdue  # answered late, or still owed
    assert all(b.delay_hours > 0 for b in late)
    assert [b.delay_hours for b in report.breaches] == sorted(
        (b.delay_hours for b in report.breaches), reverse=True
    )


def test_pending_answers_keep_their_clocks_running_until_refreshed(store: Store) -> None:
    """Give up on the lookup after 6 hours: the west bank's clocks stay open, in the store."""

    async def main(clock: Callable[[], datetime]) -> None:
        dispatcher = Dispatcher.sandbox(
            SandboxConfig.turnarounds(), store=store, clock=clock, deadline=6 * 3600
        )
        async with dispatcher:
            reports = [r async for r in dispatcher.lookup_many(requests(10))]
            pending = [
                r for r in reports if r.result_for("bank-west").status is ResultStatus.PENDING
            ]
            assert pending
            assert store.clocks.find(outcome=ClockOutcome.OPEN)
            # Days later, another process (here: the same one) asks again.
            await asyncio.sleep(5 * 86400)
            for report in pending:
                refreshed = await dispatcher.refresh(report)
                result = refreshed.result_for("bank-west")
                assert result.status is not ResultStatus.PENDING
                assert result.started_at == report.result_for("bank-west").started_at
                assert result.sla_met is False  # answered, but more than 24 hours on

    run_simulated(main, start=START)
    assert not store.clocks.find(outcome=ClockOutcome.OPEN)


def test_overdue_lists_open_requests_past_due_most_overdue_first(store: Store) -> None:
    end = batch_on_simulated_time(store, deadline_hours=6)  # the west bank is still pending
    assert overdue(store, now=end) == []  # nothing is due within 6 hours of asking
    later = overdue(store, now=START + timedelta(days=3))
    assert later
    assert {c.institution for c in later} == {"bank-west"}
    assert all(c.outcome is ClockOutcome.OPEN for c in later)
    due = [c.due_at for c in later]
    assert due == sorted(due)  # the earliest due is the most overdue


def test_control_actions_have_clocks_too(store: Store) -> None:
    debtor = dataset().find("both_banks")[0]
    party = Party.parse(debtor.name, debtor.id_number, debtor.kind)
    case = Case(
        number=debtor.case_number,
        court=debtor.court,
        operator="李承办",
        claim=debtor.claim,
        enforcement_document="（2026）甘0102执1号之一",
    )

    async def main(clock: Callable[[], datetime]) -> int:
        dispatcher = Dispatcher.sandbox(
            SandboxConfig.turnarounds(), store=store, clock=clock, deadline=4 * 86400
        )
        async with dispatcher:
            ledger = ActionLedger(store, dispatcher, clock=clock)
            report = await dispatcher.lookup(party, case)
            east = next(a for a in report.assets if a.institution == "bank-east")
            action = await ledger.freeze(
                party,
                case,
                institution="bank-east",
                identifier=east.identifier,
                amount=Money("1.00"),
            )
            assert action.state.value == "acknowledged"  # received; in force within the hour
            await asyncio.sleep(3 * 3600)
            await ledger.sync()
            assert (await ledger.get(action.id)).state.value == "effective"
            return action.id

    action_id = run_simulated(main, start=START)
    (clock,) = store.clocks.find(subject="action", reference=str(action_id))
    assert clock.operation == "freeze" and clock.rule == "24 h"
    assert clock.outcome is ClockOutcome.MET
    assert clock.answered_at is not None and clock.answered_at - clock.started_at >= timedelta(
        hours=3
    )


def test_trend_by_week_and_month(store: Store) -> None:
    batch_on_simulated_time(store)
    clocks = store.clocks.find()
    weekly = performance_report(clocks, by="week", now=START + timedelta(days=10))
    monthly = performance_report(clocks, by="month", now=START + timedelta(days=10))
    assert {p.period_start.isoformat() for p in weekly.trend} == {"2026-03-02"}
    assert {p.period_start.isoformat() for p in monthly.trend} == {"2026-03-01"}
    with pytest.raises(ValueError, match="use week or month"):
        performance_report(clocks, by="day")


# --- the command line --------------------------------------------------------------------

runner = CliRunner()


def test_sla_report_and_overdue_from_the_command_line(store_url: str, tmp_path: Path) -> None:
    store = Store(store_url)
    batch_on_simulated_time(store, deadline_hours=30)
    store.close()

    result = runner.invoke(app, ["sla", "report", "--format", "json", "--store", store_url])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    stats = {s["institution"]: s for s in report["stats"] if s["operation"] == "inquiry"}
    assert stats["bank-west"]["p95_hours"] > stats["bank-east"]["p95_hours"]
    assert stats["bank-west"]["breach_rate"] > stats["bank-east"]["breach_rate"]

    result = runner.invoke(
        app,
        ["sla", "overdue", "--store", store_url, "--now", "2026-03-09T09:00:00+08:00", "--json"],
    )
    assert result.exit_code == 0, result.output
    late = json.loads(result.output)
    assert late and {c["institution"] for c in late} == {"bank-west"}

    result = runner.invoke(app, ["sla", "report", "--format", "csv", "--store", store_url])
    assert result.exit_code == 0
    assert result.output.splitlines()[0].startswith("institution,name,operation,deadline")

    html = tmp_path / "report.html"
    result = runner.invoke(
        app,
        [
            "sla",
            "report",
            "--format",
            "html",
            "-o",
            str(html),
            "--store",
            store_url,
            "--since",
            "2026-03-01",
            "--by",
            "month",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "<svg" in html.read_text(encoding="utf-8")

    result = runner.invoke(app, ["sla", "report", "--store", store_url])
    assert result.exit_code == 0
    assert "西部农村商业银行" in result.output and "p95" in result.output


def test_bad_report_options_exit_2(store_url: str) -> None:
    for args in (["--format", "pdf"], ["--by", "day"], ["--since", "last week"]):
        result = runner.invoke(app, ["sla", "report", "--store", store_url, *args])
        assert result.exit_code == 2, args


def test_naive_start_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        run_simulated(lambda clock: None, start=datetime(2026, 3, 2))  # type: ignore[arg-type,return-value]


def test_simulated_time_moves_only_when_idle() -> None:
    async def main(clock: Callable[[], datetime]) -> timedelta:
        first = clock()
        await asyncio.sleep(86400)
        await asyncio.to_thread(sum, range(1000))  # a thread: the clock waits for it
        return clock() - first

    assert run_simulated(main, start=datetime(2026, 3, 2, tzinfo=UTC)) == timedelta(days=1)
