"""The freeze planner: which controls to request for a claim, and no more than the claim.

Proportionality rules the plan. Controlling clearly more than the claim plus enforcement costs
is prohibited; a deposit freeze states an amount and must not block funds beyond it. The one
exception is an indivisible asset, a house, which may be sealed beyond the remainder when the
debtor has nothing else sufficient.

So the planner goes from the most liquid assets to the least, and stops as soon as the
remainder (claim minus what this case already controls) is covered:

1. bank accounts in CNY, largest available balance first (fewer freezes to track), each
   frozen for the smaller of its available balance and the remainder;
2. housing provident fund balances, the same way;
3. only if some of the remainder is still uncovered, one property to seal.

The plan is a proposal for the clerk: every control and note carries a sentence saying why.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from .._errors import InvalidInput
from .._identifiers import parse_case_number
from .._models import (
    AssetKind,
    AssetRecord,
    AssetStatus,
    Encumbrance,
    EncumbranceKind,
    LookupReport,
    Operation,
)
from .._money import Money

__all__ = ["FreezePlan", "PlannedControl", "plan_controls"]

_CNY = "CNY"
_NOTHING = Money(0)
_FREEZABLE_STATUS = frozenset({AssetStatus.ACTIVE, AssetStatus.DORMANT})
# The liquid kinds, in the order they are used.
_LIQUID = (AssetKind.BANK_ACCOUNT, AssetKind.HOUSING_FUND)
_PLANNED_KINDS = frozenset({*_LIQUID, AssetKind.REAL_ESTATE})


@dataclass(frozen=True, slots=True)
class PlannedControl:
    """One freeze or seal the plan proposes.

    ``amount`` is the amount to freeze; a seal has none (the registry reports no value).
    ``exceeds_remainder`` marks a seal of an indivisible asset that may be worth more than
    the remainder; ``waiting_line`` a seal that will queue behind another court's seal.
    """

    operation: Operation
    institution: str
    asset_kind: str
    asset_identifier: str
    amount: Money | None
    exceeds_remainder: bool
    reason: str
    waiting_line: bool = False


@dataclass(frozen=True, slots=True)
class FreezePlan:
    """What to control for ``claim``, given ``already_controlled`` in the case.

    ``planned_amount`` totals the planned freezes; ``shortfall`` is what they leave uncovered.
    A planned seal does not reduce the shortfall: its value is not known until a valuation.
    """

    claim: Money
    already_controlled: Money
    controls: tuple[PlannedControl, ...]
    planned_amount: Money
    shortfall: Money
    notes: tuple[str, ...]

    @property
    def remainder(self) -> Money:
        """What may still be controlled: the claim less what is already controlled."""
        return max(self.claim - self.already_controlled, _NOTHING)

    @property
    def covered(self) -> bool:
        """The planned freezes (with what is already controlled) cover the claim."""
        return self.shortfall.amount == 0


def plan_controls(
    report: LookupReport, claim: Money | None = None, *, already_controlled: Money = _NOTHING
) -> FreezePlan:
    """Plan the freezes and seals that cover ``claim`` from the assets in ``report``.

    ``claim`` (judgment debt plus enforcement costs, CNY) defaults to the case's claim.
    ``already_controlled`` is what this case already holds frozen; only the rest is planned.
    """
    claim = _checked_claim(claim if claim is not None else report.case.claim)
    if already_controlled.currency != _CNY or already_controlled.amount < 0:
        raise InvalidInput(
            "already_controlled",
            f"{already_controlled} is not a CNY amount of zero or more",
        )
    remainder = max(claim - already_controlled, _NOTHING)
    if remainder.amount == 0:
        note = (
            f"The {already_controlled} already controlled in this case covers the claim of "
            f"{claim}, so nothing more may be frozen or sealed."
        )
        return FreezePlan(claim, already_controlled, (), _NOTHING, _NOTHING, (note,))

    controls: list[PlannedControl] = []
    notes: list[str] = []
    left = remainder
    for kind in _LIQUID:
        assets = [a for a in report.assets if a.kind == kind]
        notes.extend(_unusable_notes(assets))
        for asset, available in _by_available(assets):
            if left.amount == 0:
                break
            amount = min(available, left)
            left = left - amount
            controls.append(
                PlannedControl(
                    operation=Operation.FREEZE,
                    institution=asset.institution,
                    asset_kind=asset.kind,
                    asset_identifier=asset.identifier,
                    amount=amount,
                    exceeds_remainder=False,
                    reason=_freeze_reason(asset, available, amount, left),
                )
            )

    if left.amount > 0:
        seal, seal_notes = _plan_seal(report, left)
        if seal is not None:
            controls.append(seal)
        notes.extend(seal_notes)
        notes.extend(_other_kinds_note(report.assets))

    planned = Money(sum((c.amount.amount for c in controls if c.amount), Decimal(0)))
    return FreezePlan(claim, already_controlled, tuple(controls), planned, left, tuple(notes))


def _checked_claim(claim: Money | None) -> Money:
    if claim is None:
        raise InvalidInput(
            "claim",
            "a freeze plan needs the claim (judgment debt plus enforcement costs) to know how "
            "much may be controlled; set case.claim or pass claim",
        )
    if claim.currency != _CNY or claim.amount <= 0:
        raise InvalidInput("claim", f"{claim} is not a positive CNY amount")
    return claim


# --- liquid assets ------------------------------------------------------------------------


def _eligible_available(asset: AssetRecord) -> Money | None:
    """The CNY amount that may be frozen in a liquid asset, or None if it cannot be used."""
    available = asset.available
    if (
        asset.status not in _FREEZABLE_STATUS
        or available is None
        or available.currency != _CNY
        or available.amount <= 0
    ):
        return None
    return available


def _by_available(assets: Iterable[AssetRecord]) -> list[tuple[AssetRecord, Money]]:
    """Usable assets, largest available first: fewer freezes to cover the same amount."""
    usable = [(a, m) for a in assets if (m := _eligible_available(a)) is not None]
    return sorted(usable, key=lambda pair: (-pair[1].amount, pair[0].institution, pair[0].key))


def _name(asset: AssetRecord) -> str:
    what = "housing provident fund account" if asset.kind == AssetKind.HOUSING_FUND else "account"
    return f"{what} ending {asset.identifier[-4:]} at {asset.institution}"


def _unusable_notes(assets: Sequence[AssetRecord]) -> list[str]:
    notes = []
    for asset in assets:
        available = asset.available
        if asset.status is AssetStatus.CLOSED or available is None or available.amount <= 0:
            continue
        if available.currency != _CNY:
            notes.append(
                f"The {_name(asset)} has {available} available but is not planned: freezing "
                "a foreign-currency balance needs the amount converted at a rate the court "
                "sets."
            )
        elif asset.status not in _FREEZABLE_STATUS:
            notes.append(
                f"The {_name(asset)} has {available} available but is not planned: its "
                "status is not known, so confirm with the institution that it is open."
            )
    return notes


def _freeze_reason(asset: AssetRecord, available: Money, amount: Money, left: Money) -> str:
    name = _name(asset)
    after_holds = " after earlier freezes" if asset.encumbrances else ""
    if amount < available:
        reason = (
            f"Freeze {amount} in the {name}: it has {available} available{after_holds}, and "
            f"the freeze is limited to the part of the claim still uncovered so that no funds "
            "beyond the claim are blocked."
        )
    elif left.amount > 0:
        reason = (
            f"Freeze the whole {amount} available{after_holds} in the {name}; {left} of the "
            "claim remains uncovered after it."
        )
    else:
        reason = (
            f"Freeze the whole {amount} available{after_holds} in the {name}; with it the "
            "claim is covered."
        )
    if asset.status is AssetStatus.DORMANT:
        reason += " The account is dormant, which does not prevent a freeze."
    if asset.kind == AssetKind.HOUSING_FUND:
        reason += (
            " The fund balance can be frozen now but deducted only when a withdrawal condition "
            "of the Housing Provident Fund Regulations art. 24 holds, and the debtor's basic "
            "living must stay protected."
        )
    return reason


# --- real estate --------------------------------------------------------------------------


def _same_case(text: str | None, case_number: str) -> bool:
    if not text:
        return False
    try:
        return str(parse_case_number(text)) == case_number
    except InvalidInput:
        return text.strip() == case_number


def _owned_by_party(asset: AssetRecord, party_id: str) -> bool:
    """False when the registry names other owners only (no share could be matched)."""
    owner_id = asset.owner.id_number
    return asset.share is not None or not owner_id or owner_id.strip().upper() == party_id


def _other_seals(asset: AssetRecord, case_number: str) -> list[Encumbrance]:
    seals = [
        e
        for e in asset.encumbrances
        if e.kind is EncumbranceKind.SEAL and not _same_case(e.case_number, case_number)
    ]
    # The seal in force first: that is the one ours would queue behind.
    return sorted(seals, key=lambda e: e.waiting)


def _preference(asset: AssetRecord, case_number: str) -> tuple[int, int, Fraction, str, str]:
    share = asset.share
    ownership = 2 if share is None else 0 if share == 1 else 1
    if _other_seals(asset, case_number):
        burden = 2
    elif any(e.kind is EncumbranceKind.MORTGAGE for e in asset.encumbrances):
        burden = 1
    else:
        burden = 0
    return (ownership, burden, -(share or Fraction(0)), asset.institution, asset.identifier)


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def _property_name(asset: AssetRecord) -> str:
    location = asset.details.get("location")
    return f"the property at {location}" if location else f"property unit {asset.identifier}"


def _plan_seal(report: LookupReport, left: Money) -> tuple[PlannedControl | None, list[str]]:
    case_number = report.case.number
    properties = [
        a
        for a in report.assets
        if a.kind == AssetKind.REAL_ESTATE and a.status is not AssetStatus.CLOSED
    ]
    ours = [
        a
        for a in properties
        if any(
            e.kind is EncumbranceKind.SEAL and _same_case(e.case_number, case_number)
            for e in a.encumbrances
        )
    ]
    if ours:
        # One indivisible asset is the most the exception allows without a valuation.
        return None, [
            f"{_capitalized(_property_name(ours[0]))} is already sealed in this case and "
            f"{left} of the claim is still uncovered; have it valued before sealing any other "
            "property."
        ]
    notes = [
        f"{_capitalized(_property_name(a))} is not planned: the registry lists it under other "
        "owners, so confirm the debtor's title before sealing it."
        for a in properties
        if not _owned_by_party(a, report.party.id_number)
    ]
    candidates = sorted(
        (a for a in properties if _owned_by_party(a, report.party.id_number)),
        key=lambda a: _preference(a, case_number),
    )
    if not candidates:
        notes.append(
            f"The remaining {left} of the claim stays uncovered: no further asset found can be "
            "frozen or sealed for it."
        )
        return None, notes
    chosen, *others = candidates
    seals = _other_seals(chosen, case_number)
    control = PlannedControl(
        operation=Operation.SEAL,
        institution=chosen.institution,
        asset_kind=chosen.kind,
        asset_identifier=chosen.identifier,
        amount=None,
        exceeds_remainder=True,
        reason=_seal_reason(chosen, left, seals),
        waiting_line=bool(seals),
    )
    if others:
        what = (
            "The other property found was"
            if len(others) == 1
            else f"The other {len(others)} properties found were"
        )
        notes.append(
            f"{what} not planned: seal one property at a time, and another only once a "
            "valuation shows the first is not enough."
        )
    return control, notes


def _seal_reason(asset: AssetRecord, left: Money, seals: Sequence[Encumbrance]) -> str:
    name = _property_name(asset)
    parts = [
        f"Seal {name}: the deposits and fund balances found leave {left} of the claim "
        "uncovered, and the debtor has nothing else sufficient.",
        "A house cannot be divided, so sealing it may exceed the remainder; proportionality "
        "allows that for an indivisible asset when nothing else suffices.",
        "The registry reports no value, so have the property valued before sealing any more.",
    ]
    if asset.share is None:
        parts.append("The registry gives the debtor no defined share (joint ownership or unknown).")
    elif asset.share < 1:
        share = asset.share
        parts.append(
            f"The debtor holds a {share.numerator}/{share.denominator} share; the seal reaches "
            "that share only."
        )
    if seals:
        seal = seals[0]
        by = seal.authority or "another court"
        case = f" in case {seal.case_number}" if seal.case_number else ""
        parts.append(
            f"It is already sealed by {by}{case}, so this is a waiting-line seal: it has no "
            "effect while it waits, and takes effect when the seals ahead of it are released, "
            "in the order the assistance notices were served."
        )
    elif any(e.kind is EncumbranceKind.MORTGAGE for e in asset.encumbrances):
        parts.append("It is mortgaged; the mortgagee is paid first from a sale.")
    return " ".join(parts)


def _other_kinds_note(assets: Iterable[AssetRecord]) -> list[str]:
    kinds = sorted({a.kind for a in assets if a.kind not in _PLANNED_KINDS})
    if not kinds:
        return []
    return [
        f"Assets of other kinds were found ({', '.join(kinds)}); the planner does not plan "
        "them, so decide on them once they are valued."
    ]
