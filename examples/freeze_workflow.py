"""From lookup to controls, end to end on the sandbox: plan, freeze, wait in line, renew.

    python examples/freeze_workflow.py [ledger.db]

The ledger goes where the CLI's would: the file given, else the database ``ASSETQUERY_STORE``
names (e.g. ``postgresql+psycopg://…``), else a temporary file removed at the end.

1. look a debtor up and plan controls that cover the claim, and no more;
2. submit the plan; send the same freeze once more (as after a crash) and see that the bank
   applied it once;
3. freeze an account another court has frozen in full: our freeze waits in line; the other
   courts release theirs; a sync finds ours in force;
4. list what the renewal radar says, renew one control, release another.

The sandbox's admin stands in for the other courts. Everything is fictional.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from assetquery import Case, Dispatcher, Money, Party
from assetquery.ledger import ActionLedger
from assetquery.sandbox import create_app, dataset, sandbox_admin
from assetquery.store import Store

DOCUMENT = "（2026）甘0102执8426号之一"
OPERATOR = "李承办"


def debtor(tag: str) -> tuple[Party, Case]:
    p = dataset().find(tag)[0]
    case = Case(
        number=p.case_number,
        court=p.court,
        operator=OPERATOR,
        claim=p.claim,
        enforcement_document=DOCUMENT,
    )
    return Party.parse(p.name, p.id_number, p.kind), case


async def main(store_url: str) -> None:
    app = create_app()
    admin = sandbox_admin(app)
    store = Store(store_url)
    async with Dispatcher.sandbox(app=app) as dispatcher:
        ledger = ActionLedger(store, dispatcher)

        print("1. plan")
        party, case = debtor("both_banks")
        report = await dispatcher.lookup(party, case)
        plan = await ledger.plan(report)
        for control in plan.controls:
            print(f"   {control.operation.value} {control.asset_identifier} {control.amount}")
        print(f"   claim {plan.claim}, planned {plan.planned_amount}, shortfall {plan.shortfall}")

        print("2. submit the plan, then the first freeze once more")
        actions = await ledger.execute(plan, party, case, document=DOCUMENT)
        for action in actions:
            print(
                f"   #{action.id} {action.kind.value} {action.state.value} "
                f"until {action.expires_on} ({action.expiry_source})"
            )
        first = actions[0]
        resent = await dispatcher.submit_control(first.institution, ledger.request_for(first))
        applied = [v for v in admin.actions(first.institution) if v.asset == first.asset_identifier]
        print(f"   sent twice, answered {resent.state.value}; applied {len(applied)} time(s)")

        print("3. a freeze behind other courts")
        party, case = debtor("waiting_freeze")
        account = next(a for a in dataset().find("waiting_freeze")[0].bank_accounts if a.holds)
        ours = await ledger.freeze(
            party,
            case,
            institution=account.bank,
            identifier=account.account_number,
            amount=Money("500"),
        )
        print(f"   #{ours.id} {ours.state.value} at position {ours.waiting_position}")
        while (await ledger.get(ours.id)).state.value == "waiting":
            admin.release(account.bank, account.account_number)  # the court ahead releases
            await ledger.sync()
            now = await ledger.get(ours.id)
            print(
                f"   after a release ahead of us: {now.state.value}"
                + (
                    f" at position {now.waiting_position}"
                    if now.waiting_position
                    else f", {now.transitions[-1].reason}"
                )
            )

        print("4. the renewal radar (4 years ahead), a renewal and a release")
        for due in await ledger.due(timedelta(days=4 * 366)):
            print(
                f"   #{due.action.id} {due.action.kind.value} expires {due.expires_on}, "
                f"renew by {due.renew_by}"
            )
        renewal = await ledger.renew(first.id, operator=OPERATOR, document=DOCUMENT)
        renewed = await ledger.get(first.id)
        print(
            f"   renewal #{renewal.id} {renewal.state.value}: #{first.id} now until "
            f"{renewed.expires_on}"
        )
        release = await ledger.release(
            ours.id, operator=OPERATOR, document=DOCUMENT, reason="claim paid"
        )
        print(
            f"   release #{release.id} {release.state.value}: "
            f"#{ours.id} {(await ledger.get(ours.id)).state.value}"
        )
    store.close()


if __name__ == "__main__":
    if len(sys.argv) > 1:
        asyncio.run(main(f"sqlite:///{sys.argv[1]}"))
    elif os.environ.get("ASSETQUERY_STORE"):
        asyncio.run(main(os.environ["ASSETQUERY_STORE"]))
    else:
        with tempfile.TemporaryDirectory() as folder:
            asyncio.run(main(f"sqlite:///{Path(folder) / 'ledger.db'}"))
