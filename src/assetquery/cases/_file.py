"""One case on one page: its parties, lookups, assets, controls, totals and next dates.

``build_case_file`` is a pure function of what the store holds for the case (its reports,
its control actions and their SLA clocks) and of the day it is read, so every figure on
the page is tested without a database. Amounts are CNY ``Money``; a figure the facts do
not give (no claim, no reported value) is ``None``, never a guess.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction

from .._actions import OPEN_STATES, ActionKind, ActionState, ControlAction
from .._lookup._report import merge_assets
from .._models import AssetRecord, Encumbrance, InstitutionResult, LookupReport, ResultStatus
from .._money import Money
from .._time import local_date
from ..rules._pack import RulePack, renewal_deadline
from ..store import Clock, ClockOutcome

__all__ = [
    "CaseControl",
    "CaseFile",
    "CaseLookup",
    "CaseOperation",
    "CaseParty",
    "CaseTotals",
    "FoundAsset",
    "InstitutionAnswer",
    "NextDate",
    "build_case_file",
]


@dataclass(frozen=True, slots=True)
class CaseParty:
    kind: str
    name: str
    id_number: str


@dataclass(frozen=True, slots=True)
class InstitutionAnswer:
    """How one institution answered one lookup, against its deadline."""

    institution: str
    name: str
    status: str  # the result's status: ok, not_found, pending, failed, timeout, …
    requested_at: datetime
    answered_at: datetime | None  # None: no answer (yet)
    due_at: datetime | None
    late: bool | None  # answered after due, or still owed past it; None without a deadline


@dataclass(frozen=True, slots=True)
class CaseLookup:
    lookup_id: str
    party: CaseParty
    started_at: datetime
    operator: str
    answers: tuple[InstitutionAnswer, ...]

    @property
    def waiting_on(self) -> tuple[str, ...]:
        """The institutions whose answer is still to come."""
        return tuple(a.name for a in self.answers if a.status == ResultStatus.PENDING.value)


@dataclass(frozen=True, slots=True)
class FoundAsset:
    """An asset from the latest answer of its institution, with others' controls on it."""

    party: CaseParty
    record: AssetRecord
    lookup_id: str
    others: tuple[Encumbrance, ...]  # controls and charges not made under this case


@dataclass(frozen=True, slots=True)
class CaseControl:
    """A freeze or seal of the case and where it stands."""

    id: int
    kind: str
    state: str
    institution: str
    asset_kind: str
    asset_identifier: str
    amount: Money | None  # a freeze's amount now (a partial deduction lowers it)
    share: Fraction | None  # a seal: the party's share of the property, where reported
    value: Money | None  # a seal: the property's reported value times the share
    effective_on: date | None
    expires_on: date | None
    expiry_reported: bool | None  # the institution gave the end date (else computed)
    waiting_position: int | None
    renew_by: date | None  # last day to apply for renewal, while in force
    renewals: int  # renewals carried out
    deducted: Money  # carried out deductions from this freeze


@dataclass(frozen=True, slots=True)
class CaseOperation:
    """A renewal, deduction or release of one of the case's controls."""

    id: int
    kind: str
    state: str
    target_id: int | None
    amount: Money | None
    requested_at: datetime
    requested_by: str


@dataclass(frozen=True, slots=True)
class CaseTotals:
    """What the case claims and what the court has found and secured for it (CNY)."""

    claim: Money | None
    available_found: Money  # free balances the latest answers report
    frozen: Money  # freezes in force, at their current amounts
    waiting: Money  # freezes waiting in line behind other authorities
    sealed_value: Money  # seals in force whose property has a reported value
    unvalued_seals: int  # seals in force without a reported value
    deducted: Money  # deductions carried out
    uncovered: Money | None  # claim minus deducted, frozen and sealed value; None: no claim


@dataclass(frozen=True, slots=True)
class NextDate:
    """A date that needs action: a renewal deadline, a control's end, an answer due."""

    on: date
    what: str
    reference: str  # "action:12" or "lookup:<id>"
    overdue: bool  # already past on the day the file was read


@dataclass(frozen=True, slots=True)
class CaseFile:
    number: str
    court: str | None
    operators: tuple[str, ...]
    as_of: datetime
    parties: tuple[CaseParty, ...]
    lookups: tuple[CaseLookup, ...]
    assets: tuple[FoundAsset, ...]
    controls: tuple[CaseControl, ...]
    operations: tuple[CaseOperation, ...]
    totals: CaseTotals
    next_dates: tuple[NextDate, ...]

    @property
    def open_controls(self) -> int:
        return sum(1 for c in self.controls if c.state in _OPEN_CONTROL)


#: the states of a freeze or seal not yet closed, as the case file holds them (strings)
_OPEN_CONTROL = frozenset(state.value for state in OPEN_STATES)


def _party(kind: str, name: str, id_number: str) -> CaseParty:
    return CaseParty(kind=kind, name=name, id_number=id_number)


def _answer(result: InstitutionResult, clock: Clock | None, now: datetime) -> InstitutionAnswer:
    due = clock.due_at if clock is not None else result.sla_due
    answered_at = clock.answered_at if clock is not None else result.finished_at
    if result.status is ResultStatus.PENDING:
        answered_at = None
    if due is None:
        late = None
    elif answered_at is not None:
        late = answered_at > due
    else:
        late = now > due if result.status is ResultStatus.PENDING else None
    return InstitutionAnswer(
        institution=result.institution,
        name=result.name,
        status=result.status.value,
        requested_at=result.started_at,
        answered_at=answered_at,
        due_at=due,
        late=late,
    )


def _latest_answers(
    reports: Sequence[LookupReport],
) -> list[tuple[LookupReport, InstitutionResult]]:
    """Per party and institution, the latest result that answered (assets or none)."""
    latest: dict[tuple[str, str], tuple[LookupReport, InstitutionResult]] = {}
    for report in sorted(reports, key=lambda r: r.started_at):
        for result in report.results:
            if result.status.answered:
                latest[(report.party.id_number, result.institution)] = (report, result)
    return list(latest.values())


def _found(reports: Sequence[LookupReport], number: str) -> list[FoundAsset]:
    answers = _latest_answers(reports)
    found = []
    for report, result in answers:
        party = _party(report.party.kind.value, report.party.name, report.party.id_number)
        for record in merge_assets([result]):
            others = tuple(e for e in record.encumbrances if e.case_number != number)
            found.append(FoundAsset(party, record, report.lookup_id, others))
    return found


def _cny(amounts: Iterable[Money | None]) -> Money:
    return Money.from_fen(sum(m.fen for m in amounts if m is not None and m.currency == "CNY"))


def _seal_value(action: ControlAction, assets: dict[tuple[str, str], AssetRecord]) -> Money | None:
    record = assets.get((action.institution, action.asset_identifier))
    if record is None or record.value is None:
        return None
    if record.share is None:
        return record.value
    share = record.share
    fen = record.value.fen * share.numerator // share.denominator
    return Money.from_fen(fen, record.value.currency)


def _controls(
    actions: Sequence[ControlAction],
    assets: dict[tuple[str, str], AssetRecord],
    rules: RulePack,
) -> list[CaseControl]:
    done = [a for a in actions if a.state is ActionState.COMPLETED]
    controls = []
    for action in actions:
        if not action.kind.is_control:
            continue
        record = assets.get((action.institution, action.asset_identifier))
        in_force = action.state is ActionState.EFFECTIVE
        controls.append(
            CaseControl(
                id=action.id,
                kind=action.kind.value,
                state=action.state.value,
                institution=action.institution,
                asset_kind=action.asset_kind,
                asset_identifier=action.asset_identifier,
                amount=action.amount,
                share=record.share if record is not None else None,
                value=_seal_value(action, assets) if action.kind is ActionKind.SEAL else None,
                effective_on=action.effective_on,
                expires_on=action.expires_on,
                expiry_reported=(
                    None if action.expiry_source is None else action.expiry_source == "institution"
                ),
                waiting_position=action.waiting_position,
                renew_by=(
                    renewal_deadline(rules, action.expires_on)
                    if in_force and action.expires_on is not None
                    else None
                ),
                renewals=sum(
                    1 for a in done if a.kind is ActionKind.RENEW and a.target_id == action.id
                ),
                deducted=_cny(
                    a.amount
                    for a in done
                    if a.kind is ActionKind.DEDUCT and a.target_id == action.id
                ),
            )
        )
    return controls


def _totals(
    claim: Money | None,
    found: Sequence[FoundAsset],
    controls: Sequence[CaseControl],
    operations: Sequence[CaseOperation],
) -> CaseTotals:
    effective = [c for c in controls if c.state == ActionState.EFFECTIVE.value]
    freezes = [c for c in effective if c.kind == ActionKind.FREEZE.value]
    seals = [c for c in effective if c.kind == ActionKind.SEAL.value]
    frozen = _cny(c.amount for c in freezes)
    sealed = _cny(c.value for c in seals)
    deducted = _cny(
        o.amount
        for o in operations
        if o.kind == ActionKind.DEDUCT.value and o.state == ActionState.COMPLETED.value
    )
    uncovered = None
    if claim is not None:
        left = claim.fen - deducted.fen - frozen.fen - sealed.fen
        uncovered = Money.from_fen(max(left, 0))
    return CaseTotals(
        claim=claim,
        available_found=_cny(f.record.available for f in found),
        frozen=frozen,
        waiting=_cny(
            c.amount
            for c in controls
            if c.kind == ActionKind.FREEZE.value and c.state == ActionState.WAITING.value
        ),
        sealed_value=sealed,
        unvalued_seals=sum(1 for c in seals if c.value is None),
        deducted=deducted,
        uncovered=uncovered,
    )


def _next_dates(
    controls: Sequence[CaseControl],
    lookups: Sequence[CaseLookup],
    clocks: Sequence[Clock],
    today: date,
) -> list[NextDate]:
    dates = []
    for c in controls:
        if c.state != ActionState.EFFECTIVE.value or c.expires_on is None:
            continue
        what = f"{c.kind} #{c.id} at {c.institution}"
        assert c.renew_by is not None
        dates.append(NextDate(c.renew_by, f"renew {what} by", f"action:{c.id}", c.renew_by < today))
        dates.append(NextDate(c.expires_on, f"{what} ends", f"action:{c.id}", c.expires_on < today))
    for lookup in lookups:
        for answer in lookup.answers:
            if answer.status == ResultStatus.PENDING.value and answer.due_at is not None:
                on = local_date(answer.due_at)
                dates.append(
                    NextDate(
                        on,
                        f"answer due from {answer.name}",
                        f"lookup:{lookup.lookup_id}",
                        on < today,
                    )
                )
    for clock in clocks:
        if clock.subject == "action" and clock.outcome is ClockOutcome.OPEN and clock.due_at:
            on = local_date(clock.due_at)
            dates.append(
                NextDate(
                    on,
                    f"{clock.operation} answer due from {clock.institution_name}",
                    f"action:{clock.reference}",
                    on < today,
                )
            )
    return sorted(dates, key=lambda d: (d.on, d.reference, d.what))


def build_case_file(
    number: str,
    *,
    reports: Sequence[LookupReport],
    actions: Sequence[ControlAction],
    clocks: Sequence[Clock],
    rules: RulePack,
    now: datetime,
) -> CaseFile:
    """The case file of case ``number`` (canonical) from what the store holds for it."""
    reports = sorted(reports, key=lambda r: (r.started_at, r.lookup_id))
    actions = sorted(actions, key=lambda a: a.id)
    inquiry_clocks = {(c.reference, c.institution): c for c in clocks if c.subject == "inquiry"}
    lookups = [
        CaseLookup(
            lookup_id=r.lookup_id,
            party=_party(r.party.kind.value, r.party.name, r.party.id_number),
            started_at=r.started_at,
            operator=r.case.operator,
            answers=tuple(
                _answer(result, inquiry_clocks.get((r.lookup_id, result.institution)), now)
                for result in r.results
                if result.status is not ResultStatus.SKIPPED
            ),
        )
        for r in reports
    ]
    parties: dict[str, CaseParty] = {}
    for lookup in lookups:
        parties.setdefault(lookup.party.id_number, lookup.party)
    for action in actions:
        parties.setdefault(
            action.party_id_number,
            _party(action.party_kind, action.party_name, action.party_id_number),
        )
    found = _found(reports, number)
    by_asset = {(f.record.institution, f.record.identifier): f.record for f in found}
    controls = _controls(actions, by_asset, rules)
    operations = [
        CaseOperation(
            id=a.id,
            kind=a.kind.value,
            state=a.state.value,
            target_id=a.target_id,
            amount=a.amount,
            requested_at=a.requested_at,
            requested_by=a.requested_by,
        )
        for a in actions
        if not a.kind.is_control
    ]
    # The claim and court as the latest lookup states them (the ledger does not keep a claim).
    claim = next((r.case.claim for r in reversed(reports) if r.case.claim is not None), None)
    court = next((r.case.court for r in reversed(reports) if r.case.court), None) or next(
        (a.court for a in actions if a.court), None
    )
    operators = dict.fromkeys(
        [*(r.case.operator for r in reports), *(a.requested_by for a in actions)]
    )
    return CaseFile(
        number=number,
        court=court,
        operators=tuple(operators),
        as_of=now,
        parties=tuple(parties.values()),
        lookups=tuple(lookups),
        assets=tuple(found),
        controls=tuple(controls),
        operations=tuple(operations),
        totals=_totals(claim, found, controls, operations),
        next_dates=tuple(_next_dates(controls, lookups, clocks, local_date(now))),
    )
