"""A year of one enforcement case on the sandbox, then its case file and the court's figures.

    python examples/case_file.py [OUTPUT_DIR]

The history, on simulated time (a year takes a second):

- 2026-01-05 the debtor is looked up; the west bank answers 30 hours later (due in 24);
- 2026-01-07 two freezes (10,000 at the east bank, 200 at the west bank) and a seal of the
  debtor's flat, which another court has sealed already: ours waits in line;
- 2026-01-08 the other court releases its seal; ours comes into force;
- 2026-02-02 3,000 of the east bank freeze is deducted;
- 2026-12-28 the east bank freeze is renewed, before its renewal deadline;
- 2027-01-08 the west bank freeze has lapsed: nobody renewed it.

Then it prints the case file's totals and next dates, writes the case file as JSON, CSV,
XLSX and HTML and the court's figures as JSON into OUTPUT_DIR (default: a temporary folder),
imports a closure so the official indicators appear, and writes the west bank's evidence
pack for a judicial recommendation (letter.html, letter.pdf with Chromium, annex.csv) into
OUTPUT_DIR/pack. Everything is fictional.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from assetquery import Case, Dispatcher, Money, Party
from assetquery.cases import Closure, case_file, court_figures, write_case_file
from assetquery.ledger import ActionLedger
from assetquery.sandbox import SandboxConfig, create_app, dataset, run_simulated, sandbox_admin
from assetquery.sla import PrintError, evidence_pack, write_evidence_pack
from assetquery.store import Store

START = datetime.fromisoformat("2026-01-05T09:00:00+08:00")
READ_AT = datetime.fromisoformat("2027-01-10T10:00:00+08:00")
CASE = "（2026）甘01执6490号"
OPERATOR = "李承办"
DOCUMENT = "（2026）甘01执6490号之一"
CLAIM = Money("20000.00")


def debtor() -> tuple[Party, Case]:
    p = next(p for p in dataset().parties if p.case_number == CASE)
    party = Party.parse(p.name, p.id_number, p.kind)
    case = Case(
        number=p.case_number,
        court=p.court,
        operator=OPERATOR,
        claim=CLAIM,
        enforcement_document=DOCUMENT,
    )
    return party, case


async def scripted_history(clock: Callable[[], datetime], store: Store) -> None:
    """The year of the module docstring, written into ``store``."""
    # The west bank answers an inquiry 30 hours after it is asked, always.
    config = SandboxConfig().with_profile(
        "bank-west", feedback_delay=30 * 3600, poll_after_seconds=3600
    )
    app = create_app(config)
    admin = sandbox_admin(app)
    party, case = debtor()

    async def until(moment: str) -> None:
        await asyncio.sleep((datetime.fromisoformat(moment) - clock()).total_seconds())

    def connected() -> Dispatcher:
        # Closed across the long gaps: an open one's housekeeping timers would make the
        # simulated loop step through the months one timer at a time.
        return Dispatcher.sandbox(app=app, store=store, clock=clock, deadline=60)

    async with connected() as dispatcher:
        report = await dispatcher.lookup(party, case)  # the west bank: pending
        await until("2026-01-06T15:05:00+08:00")
        await dispatcher.refresh(report)  # now it has answered, 6 hours late

        await until("2026-01-07T10:00:00+08:00")
        ledger = ActionLedger(store, dispatcher, clock=clock)
        holdings = next(p for p in dataset().parties if p.case_number == CASE)
        east_account = next(
            a.account_number
            for a in holdings.bank_accounts
            if a.bank == "bank-east" and not a.holds
        )
        west_account = next(
            a.account_number for a in holdings.bank_accounts if a.bank == "bank-west"
        )
        unit = holdings.properties[0].unit_number
        kept = await ledger.freeze(
            party, case, institution="bank-east", identifier=east_account, amount=Money("10000")
        )
        await ledger.freeze(
            party, case, institution="bank-west", identifier=west_account, amount=Money("200")
        )
        await ledger.seal(party, case, institution="registry", identifier=unit)

        await until("2026-01-08T10:00:00+08:00")
        admin.release("registry", unit)  # the court ahead of us releases its seal
        await ledger.sync()

        await until("2026-02-02T10:00:00+08:00")
        await ledger.deduct(kept.id, operator=OPERATOR, document=DOCUMENT, amount=Money("3000"))

    await until("2026-12-28T10:00:00+08:00")
    async with connected() as dispatcher:
        ledger = ActionLedger(store, dispatcher, clock=clock)
        await ledger.renew(kept.id, operator=OPERATOR, document=DOCUMENT)

    await until("2027-01-08T10:00:00+08:00")
    async with connected() as dispatcher:
        await ActionLedger(store, dispatcher, clock=clock).sync()  # west: ended, unrenewed


def main(folder: Path) -> None:
    store = Store(f"sqlite:///{folder / 'ledger.db'}")
    run_simulated(lambda clock: scripted_history(clock, store), start=START)

    case = case_file(store, "(2026)甘01執6490号", now=READ_AT)  # any spelling finds it
    t = case.totals
    print(f"{case.number} {case.court}")
    print(f"  claim {t.claim}, found available {t.available_found}")
    print(f"  frozen {t.frozen}, deducted {t.deducted}, uncovered {t.uncovered}")
    print(f"  seals in force without a reported value: {t.unvalued_seals}")
    for control in case.controls:
        print(
            f"  #{control.id} {control.kind} at {control.institution}: {control.state}, "
            f"ends {control.expires_on}, renewed {control.renewals}x"
        )
    for due in case.next_dates[:3]:
        print(f"  next: {due.on} {due.what}")
    for suffix in ("json", "csv", "xlsx", "html"):
        write_case_file(case, folder / f"case.{suffix}")
    print(f"  case file written to {folder}/case.{{json,csv,xlsx,html}}")

    figures = court_figures(store, now=READ_AT)
    west = next(
        s for s in figures.institutions if s.institution == "bank-west" and s.operation == "inquiry"
    )
    print(
        f"west bank inquiries: {west.count}, answered {west.answered}, "
        f"in time {west.met}, median {west.median_hours:.1f} h against {west.deadline}"
    )
    print(f"lapsed without renewal: {figures.total.lapsed} ({figures.total.lapsed_amount})")
    print(f"official indicators before closures are imported: {figures.official}")
    store.closures.put(
        [
            Closure(
                case_number=CASE,
                closed_on=READ_AT.date(),
                manner="terminated_this_round",
                applied=None,
                recovered_outside=Money("1000"),
            )
        ],
        source="example",
        at=READ_AT,
    )
    official = court_figures(store, now=READ_AT).official
    assert official is not None
    print(
        f"with the closure: 执行到位率 {official.execution_rate:.1%}, "
        f"首执终本率 {official.first_termination_rate:.0%}"
    )
    evidence(store, folder)
    store.close()


def evidence(store: Store, folder: Path) -> None:
    """The west bank's evidence pack for a judicial recommendation, over the whole year."""
    pack = evidence_pack(
        store,
        "bank-west",
        since=START,
        until=READ_AT,
        settings=Dispatcher.sandbox().settings,  # the sandbox's institutions: its peers
        court="甘肃省兰州市中级人民法院",
        now=READ_AT,
    )
    (inquiry,) = (s for s in pack.stats if s.operation == "inquiry")
    print(
        f"evidence pack for {pack.institution_name}: {inquiry.count} inquiry, "
        f"及时反馈率 {inquiry.timely_rate:.0%}, {len(pack.rows)} request(s) in the annex"
    )
    try:
        files = write_evidence_pack(pack, folder / "pack")
    except PrintError as error:  # no Chromium here: the letter and the annex are written
        print(f"  letter and annex written to {folder / 'pack'}; no PDF: {error}")
    else:
        print(
            f"  {files.letter.name}, {files.pdf.name} and {files.annex.name} in {folder / 'pack'}"
        )


if __name__ == "__main__":
    if len(sys.argv) > 1:
        target = Path(sys.argv[1])
        target.mkdir(parents=True, exist_ok=True)
        main(target)
    else:
        with tempfile.TemporaryDirectory() as temporary:
            main(Path(temporary))
