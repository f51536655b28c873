"""``assetquery actions …``: plan, submit and track freezes, seals, deductions, renewals
and releases in the store."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from pydantic import TypeAdapter
from rich.markup import escape
from rich.table import Table

from .._actions import ActionKind, ActionState, ControlAction, WithdrawalCondition
from .._config import load_settings
from .._lookup._dispatcher import Dispatcher
from .._models import Case, Party
from .._money import Money
from ..ledger._ledger import ActionLedger, DueControl, SyncChange
from ..ledger._planner import FreezePlan
from ..store import DEFAULT_STORE, Store
from ._common import EXIT_REFUSED, ConfigOption, CourtOption, err, fail_cleanly, out, parse_within

__all__ = ["actions_app"]

T = TypeVar("T")

actions_app = typer.Typer(
    help="Freeze, seal, deduct, renew and release; track every control until it closes.",
    no_args_is_help=True,
)

StoreOption = Annotated[
    str,
    typer.Option("--store", envvar="ASSETQUERY_STORE", help="Database URL of the ledger."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
OperatorOption = Annotated[
    str, typer.Option("--operator", envvar="ASSETQUERY_OPERATOR", help="Who asks (承办人).")
]
DocumentOption = Annotated[
    str, typer.Option("--document", help="Enforcement document number (协助执行通知书).")
]

_ACTIONS_JSON = TypeAdapter(list[ControlAction])


def _run(
    config: Path | None,
    store_url: str,
    work: Callable[[ActionLedger], Awaitable[T]],
    *,
    talks: bool = True,
    dispatcher: Dispatcher | None = None,
) -> T:
    """Open the store (and the dispatcher, when ``talks``), run ``work``, close them."""
    with fail_cleanly():
        store = Store(store_url)
        if dispatcher is None:
            dispatcher = _dispatcher(config)
        ledger = ActionLedger(store, dispatcher)

        async def run() -> T:
            if not talks:
                return await work(ledger)
            async with dispatcher:
                return await work(ledger)

        try:
            return asyncio.run(run())
        finally:
            store.close()


def _dispatcher(config: Path | None) -> Dispatcher:
    return Dispatcher(load_settings(config)) if config else Dispatcher.sandbox()


def _report_sent(actions: Sequence[ControlAction], as_json: bool, title: str = "Actions") -> None:
    """Show actions just sent; a refused one is said on stderr and ends with exit code 3."""
    _print_actions(actions, as_json, title)
    refused = [a for a in actions if a.state in (ActionState.REJECTED, ActionState.FAILED)]
    for a in refused:
        why = a.last_error or (a.transitions[-1].reason if a.transitions else "no reason given")
        verb = "rejected" if a.state is ActionState.REJECTED else "could not carry out"
        err.print(
            f"[bold red]refused:[/] {a.institution} {verb} {a.kind.value} #{a.id}: "
            f"{escape(why)}. Nothing was applied; correct the request and ask again.",
            soft_wrap=True,
        )
    if refused:
        raise typer.Exit(EXIT_REFUSED)


def _print_actions(actions: Sequence[ControlAction], as_json: bool, title: str = "Actions") -> None:
    if as_json:
        out.print_json(_ACTIONS_JSON.dump_json(list(actions)).decode())
        return
    table = Table(title=title, title_justify="left")
    for column in (
        "id",
        "kind",
        "state",
        "institution",
        "asset",
        "amount",
        "expires",
        "case",
        "note",
    ):
        table.add_column(column)
    for a in actions:
        note = a.last_error or (a.transitions[-1].reason if a.transitions else "")
        if a.state is ActionState.WAITING and a.waiting_position:
            note = f"position {a.waiting_position}; {note}"
        table.add_row(
            str(a.id),
            a.kind.value,
            a.state.value,
            a.institution,
            a.asset_identifier,
            str(a.amount) if a.amount else "",
            str(a.expires_on or ""),
            a.case_number,
            note,
        )
    out.print(table)


def _case(
    case_number: str, operator: str, claim: str | None, court: str | None, document: str | None
) -> Case:
    return Case(
        number=case_number,
        operator=operator,
        claim=claim,
        court=court,
        enforcement_document=document,
    )


@actions_app.command("plan")
def plan(
    name: Annotated[str, typer.Option("--name", help="Name of the debtor.")],
    id_number: Annotated[str, typer.Option("--id", help="Resident ID or credit code.")],
    case_number: Annotated[str, typer.Option("--case", help="Case number.")],
    claim: Annotated[str, typer.Option("--claim", help="Claim plus costs, CNY.")],
    operator: OperatorOption,
    court: CourtOption = None,
    execute: Annotated[
        bool, typer.Option("--execute", help="Submit the planned controls now.")
    ] = False,
    document: Annotated[
        str | None, typer.Option("--document", help="Document number, for --execute.")
    ] = None,
    store: StoreOption = DEFAULT_STORE,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Look the debtor up and propose controls that cover the claim, and no more."""
    party = Party.parse(name, id_number)
    case = _case(case_number, operator, claim, court, document)
    if execute and not (document or "").strip():
        raise typer.BadParameter("--execute needs --document", param_hint="--document")

    with fail_cleanly():
        dispatcher = _dispatcher(config)

    async def work(ledger: ActionLedger) -> tuple[FreezePlan, list[ControlAction]]:
        report = await dispatcher.lookup(party, case)
        proposal = await ledger.plan(report)
        done = (
            await ledger.execute(proposal, party, case, document=document or "") if execute else []
        )
        return proposal, done

    proposal, done = _run(config, store, work, dispatcher=dispatcher)
    if as_json and not execute:
        out.print_json(TypeAdapter(FreezePlan).dump_json(proposal).decode())
        return
    _print_plan(proposal)
    if execute:
        _report_sent(done, as_json, "Submitted")


def _print_plan(proposal: FreezePlan) -> None:
    table = Table(title="Plan", title_justify="left")
    for column in ("operation", "institution", "asset", "amount", "why"):
        table.add_column(column)
    for c in proposal.controls:
        table.add_row(
            c.operation.value,
            c.institution,
            c.asset_identifier,
            str(c.amount) if c.amount else "",
            c.reason,
        )
    out.print(table)
    out.print(
        f"Claim {proposal.claim}; already controlled {proposal.already_controlled}; "
        f"planned {proposal.planned_amount}; shortfall {proposal.shortfall}."
    )
    for note in proposal.notes:
        out.print(f"- {note}")


@actions_app.command("freeze")
def freeze(
    name: Annotated[str, typer.Option("--name")],
    id_number: Annotated[str, typer.Option("--id")],
    case_number: Annotated[str, typer.Option("--case")],
    claim: Annotated[str, typer.Option("--claim", help="Claim plus costs, CNY.")],
    institution: Annotated[str, typer.Option("--institution", help="Institution id.")],
    account: Annotated[str, typer.Option("--account", help="Account number.")],
    amount: Annotated[str, typer.Option("--amount", help="Amount to freeze, CNY.")],
    document: DocumentOption,
    operator: OperatorOption,
    court: CourtOption = None,
    fund: Annotated[bool, typer.Option("--fund", help="A housing fund account.")] = False,
    override_reason: Annotated[
        str | None, typer.Option("--override-reason", help="Why exceeding the claim is right.")
    ] = None,
    store: StoreOption = DEFAULT_STORE,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Freeze an amount of a deposit (or --fund) account."""
    party = Party.parse(name, id_number)
    case = _case(case_number, operator, claim, court, document)
    action = _run(
        config,
        store,
        lambda ledger: ledger.freeze(
            party,
            case,
            institution=institution,
            identifier=account,
            amount=Money(amount),
            asset_kind="housing_fund" if fund else "bank_account",
            override_reason=override_reason,
        ),
    )
    _report_sent([action], as_json)


@actions_app.command("seal")
def seal(
    name: Annotated[str, typer.Option("--name")],
    id_number: Annotated[str, typer.Option("--id")],
    case_number: Annotated[str, typer.Option("--case")],
    institution: Annotated[str, typer.Option("--institution", help="Institution id.")],
    unit: Annotated[str, typer.Option("--unit", help="Real-estate unit number (28 characters).")],
    document: DocumentOption,
    operator: OperatorOption,
    court: CourtOption = None,
    live: Annotated[
        bool, typer.Option("--live", help="活查封: the debtor keeps using it.")
    ] = False,
    store: StoreOption = DEFAULT_STORE,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Seal a real-estate unit."""
    party = Party.parse(name, id_number)
    case = _case(case_number, operator, None, court, document)
    action = _run(
        config,
        store,
        lambda ledger: ledger.seal(
            party,
            case,
            institution=institution,
            identifier=unit,
            live_seal=live,
        ),
    )
    _report_sent([action], as_json)


@actions_app.command("deduct")
def deduct(
    freeze_id: Annotated[int, typer.Argument(help="Id of the effective freeze.")],
    document: DocumentOption,
    operator: OperatorOption,
    amount: Annotated[str | None, typer.Option("--amount", help="Default: all of it.")] = None,
    withdrawal_condition: Annotated[
        WithdrawalCondition | None,
        typer.Option("--withdrawal-condition", help="Needed for a housing fund account."),
    ] = None,
    store: StoreOption = DEFAULT_STORE,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Deduct frozen money into the court's account."""
    action = _run(
        config,
        store,
        lambda ledger: ledger.deduct(
            freeze_id,
            operator=operator,
            document=document,
            amount=Money(amount) if amount else None,
            withdrawal_condition=withdrawal_condition,
        ),
    )
    _report_sent([action], as_json)


@actions_app.command("renew")
def renew(
    control_id: Annotated[int, typer.Argument(help="Id of the effective freeze or seal.")],
    document: DocumentOption,
    operator: OperatorOption,
    store: StoreOption = DEFAULT_STORE,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Renew a control for another full legal period, before it expires."""
    action = _run(
        config, store, lambda ledger: ledger.renew(control_id, operator=operator, document=document)
    )
    _report_sent([action], as_json)


@actions_app.command("release")
def release(
    control_id: Annotated[int, typer.Argument(help="Id of the freeze or seal.")],
    document: DocumentOption,
    operator: OperatorOption,
    reason: Annotated[str, typer.Option("--reason", help="Why it is released.")] = "released",
    store: StoreOption = DEFAULT_STORE,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Release a freeze or seal (in force or waiting in line)."""
    action = _run(
        config,
        store,
        lambda ledger: ledger.release(
            control_id, operator=operator, document=document, reason=reason
        ),
    )
    _report_sent([action], as_json)


@actions_app.command("sync")
def sync(
    store: StoreOption = DEFAULT_STORE,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Ask the institutions about every open action; promote, close, mark expiries."""
    changes: list[SyncChange] = _run(config, store, lambda ledger: ledger.sync())
    if as_json:
        out.print_json(TypeAdapter(list[SyncChange]).dump_json(changes).decode())
        return
    table = Table(title=f"{len(changes)} change(s)", title_justify="left")
    for column in ("id", "kind", "before", "after", "note"):
        table.add_column(column)
    for c in changes:
        table.add_row(str(c.action_id), c.kind.value, c.before.value, c.after.value, c.note)
    out.print(table)


@actions_app.command("list")
def list_actions(
    state: Annotated[list[ActionState] | None, typer.Option("--state")] = None,
    kind: Annotated[list[ActionKind] | None, typer.Option("--kind")] = None,
    case_number: Annotated[str | None, typer.Option("--case")] = None,
    institution: Annotated[str | None, typer.Option("--institution")] = None,
    store: StoreOption = DEFAULT_STORE,
    as_json: JsonOption = False,
) -> None:
    """List actions in the store, those expiring soonest first."""
    actions = _run(
        None,
        store,
        lambda ledger: ledger.list(
            states=state or None,
            kinds=kind or None,
            case_number=case_number,
            institution=institution,
        ),
        talks=False,
    )
    _print_actions(actions, as_json)


@actions_app.command("due")
def due(
    within: Annotated[str, typer.Option("--within", help="Window: 30d, 4w, …")] = "30d",
    store: StoreOption = DEFAULT_STORE,
    as_json: JsonOption = False,
) -> None:
    """The renewal radar: controls in force whose period ends within the window."""
    with fail_cleanly():
        window = parse_within(within)
    found: list[DueControl] = _run(None, store, lambda ledger: ledger.due(window), talks=False)
    if as_json:
        out.print_json(TypeAdapter(list[DueControl]).dump_json(found).decode())
        return
    table = Table(title=f"Due within {within}", title_justify="left")
    for column in (
        "id",
        "kind",
        "institution",
        "asset",
        "expires",
        "renew by",
        "days left",
        "case",
    ):
        table.add_column(column)
    for d in found:
        a = d.action
        table.add_row(
            str(a.id),
            a.kind.value,
            a.institution,
            a.asset_identifier,
            str(d.expires_on),
            str(d.renew_by),
            str(d.days_left),
            a.case_number,
        )
    out.print(table)


@actions_app.command("show")
def show(
    action_id: Annotated[int, typer.Argument(help="Action id.")],
    store: StoreOption = DEFAULT_STORE,
    as_json: JsonOption = False,
) -> None:
    """One action with every move it made."""
    action = _run(None, store, lambda ledger: ledger.get(action_id), talks=False)
    if as_json:
        out.print_json(TypeAdapter(ControlAction).dump_json(action).decode())
        return
    _print_actions([action], False, f"{action.kind.value} #{action.id}")
    table = Table(title="Moves", title_justify="left")
    for column in ("at", "from", "to", "by", "why"):
        table.add_column(column)
    for t in action.transitions:
        table.add_row(
            t.at.isoformat(timespec="seconds"),
            t.from_state.value if t.from_state else "",
            t.to_state.value,
            t.actor,
            t.reason,
        )
    out.print(table)
