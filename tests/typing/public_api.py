"""Type-checked only (mypy runs over it; pytest does not collect it).

It pins the public API's signatures as callers use them: if a change breaks this file, it
breaks court IT systems' code the same way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import assetquery
from assetquery import (
    AssetRecord,
    Case,
    Dispatcher,
    InstitutionResult,
    LookupReport,
    LookupRequest,
    Money,
    Party,
    ResultStatus,
)
from assetquery.adapters import Adapter, InquiryAnswer, InquiryRequest, Institution, load_adapter
from assetquery.ledger import ControlAction


async def asynchronous(config: str) -> LookupReport:
    party: Party = Party.person("张三", "110105199003071239")
    company: Party = Party.organization("某公司", "911100007109288314")
    case = Case(number="（2024）甘0191执1234号", operator="李", claim=Money("1.00"))
    parsed: Money = Money.of(Decimal("1.00"), "CNY")
    assert parsed == Money.from_fen(100)
    async with Dispatcher.from_config(config) as dispatcher:
        report: LookupReport = await dispatcher.lookup(party, case, reference="row 1")
        stream: AsyncIterator[LookupReport] = dispatcher.lookup_many(
            [LookupRequest(company, case), (party, case)], window=8
        )
        async for _ in stream:
            pass
        report = await dispatcher.refresh(report)
    async with Dispatcher.sandbox() as sandbox:
        report = await sandbox.lookup(party, case)
    result: InstitutionResult = report.results[0]
    status: ResultStatus = result.status
    asset: AssetRecord = report.assets[0]
    amount: Decimal | None = asset.available.amount if asset.available else None
    del status, amount
    return report


def synchronous() -> LookupReport:
    party = Party.parse("张三", "110105199003071239")
    case = Case(number="（2024）甘0191执1234号", operator="李")
    return assetquery.lookup(party, case)


def adapters() -> type[Adapter]:
    cls: type[Adapter] = load_adapter("bank")
    answer: InquiryAnswer = InquiryAnswer.not_found()
    request: InquiryRequest | None = None
    del answer, request
    return cls


async def ledger(store_url: str, report: LookupReport) -> list[ControlAction]:
    """The control-action ledger as a court system drives it."""
    from datetime import date, timedelta

    from assetquery.ledger import (
        ActionLedger,
        ActionState,
        ControlChannel,
        DueControl,
        FreezePlan,
        SyncChange,
        plan_controls,
    )
    from assetquery.rules import RulePack, control_end, load_rule_pack, renewal_deadline
    from assetquery.store import Store

    store = Store(store_url)
    rules: RulePack = load_rule_pack()
    async with Dispatcher.sandbox(store=store) as dispatcher:
        channel: ControlChannel = dispatcher  # a Dispatcher is what the ledger talks through
        book = ActionLedger(store, channel, rules=rules)
        plan: FreezePlan = await book.plan(report)
        plan = plan_controls(report, Money("100.00"), already_controlled=Money("0"))
        frozen: ControlAction = await book.freeze(
            report.party,
            report.case,
            institution="bank",
            identifier="6222020000000000",
            amount=Money("100.00"),
            document="（2024）甘0191执1234号之一",
        )
        renewed: ControlAction = await book.renew(frozen.id, operator="李", document="续冻")
        changes: list[SyncChange] = await book.sync()
        radar: list[DueControl] = await book.due(timedelta(days=30), today=date(2024, 5, 6))
        executed: list[ControlAction] = await book.execute(
            plan, report.party, report.case, document="文书"
        )
        open_ones: list[ControlAction] = store.find(states={ActionState.EFFECTIVE}, limit=10)
    ends: date = control_end(rules, "bank_account", date(2024, 2, 29))
    warn_from: date = renewal_deadline(rules, ends)
    del renewed, changes, radar, open_ones, warn_from
    store.close()
    return executed


def sla(store_url: str) -> str:
    """Deadlines and institution performance, as the court reads them."""
    from datetime import datetime

    from assetquery.rules import Deadline, WorkingCalendar, default_calendar
    from assetquery.sla import Clock, PerformanceReport, overdue, performance, render_html
    from assetquery.store import ChainCheck, Store

    calendar: WorkingCalendar = default_calendar()
    deadline: Deadline = calendar.add_working_days(datetime.now().astimezone(), 1)
    due_at: datetime = deadline.due_at
    store = Store(store_url)
    figures: PerformanceReport = performance(store, by="month")
    late: list[Clock] = overdue(store)
    chain: ChainCheck = store.audit.verify()
    del due_at, late, chain
    return render_html(figures)


async def hand_over(store_url: str, report: LookupReport) -> LookupReport | None:
    """A lookup's pending answers handed to the worker, and the jobs it runs."""
    from assetquery.store import Job, JobProgress, Store

    store = Store(store_url)
    store.reports.keep(report, at=report.finished_at)
    waiting: int = store.reports.pending()
    jobs: list[Job] = store.jobs.find(unfinished=True)
    progress: list[JobProgress] = [store.jobs.progress(job.id) for job in jobs]
    latest: LookupReport | None = store.reports.get(report.lookup_id)
    del waiting, progress
    store.close()
    return latest


def testing_kit() -> None:
    """What an adapter author's tests call."""
    from assetquery.testing import (
        AdapterConformance,
        mock_institution,
        run_inquiry,
        sample_case,
        sample_person,
    )

    kit: type[AdapterConformance] = AdapterConformance
    request = InquiryRequest(sample_person(), sample_case(), "request-1")
    with mock_institution("https://institution.test") as router:
        answer: InquiryAnswer = run_inquiry(load_adapter("bank")(_institution()), request, router)
    del kit, answer


def _institution() -> Institution:
    return Institution(id="bank", name="bank")


def case_file_and_figures(store_url: str, folder: Path) -> Money | None:
    """What a court's system calls to show a case and the period's figures."""
    from datetime import UTC, datetime

    from assetquery.cases import CaseFile, CourtFigures, case_file, court_figures, write_case_file
    from assetquery.store import Store

    store = Store(store_url)
    case: CaseFile = case_file(store, "(2024)甘0191执1234号")
    written: str = write_case_file(case, folder / "case.xlsx")
    figures: CourtFigures = court_figures(store, since=datetime(2026, 1, 1, tzinfo=UTC))
    rate: float | None = figures.institutions[0].timely_rate
    del written, rate
    store.close()
    return case.totals.uncovered
