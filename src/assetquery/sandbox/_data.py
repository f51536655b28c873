"""The sandbox's fictional data: parties, what they hold where, and tags to find messy cases.

Every name, number and case here is invented. Amounts are ``Decimal``; each institution
encodes them its own way on the wire.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Literal

__all__ = [
    "TAGS",
    "BankAccount",
    "Control",
    "Dataset",
    "FundAccount",
    "Mortgage",
    "RealEstateUnit",
    "SandboxParty",
    "UnitOwner",
]

#: Every tag a party can carry, for ``Dataset.find``.
TAGS: tuple[str, ...] = (
    # what kinds of asset the party holds
    "bank_account",
    "housing_fund",
    "real_estate",
    "all_kinds",
    "no_assets",
    # real estate
    "co_owned",
    "joint_owned",
    "mortgaged",
    "sealed_by_other_court",
    "waiting_seal",
    # housing fund
    "fund_sealed",
    "fund_frozen",
    # banks
    "both_banks",
    "partially_frozen",
    "waiting_freeze",
    "dormant",
    "closed",
    "foreign_currency",
    "no_available_balance_field",
    # identifiers that naive validation gets wrong
    "legacy_area_code",
    "letter_uscc",
)

ZERO = Decimal("0.00")

PartyKind = Literal["person", "organization"]
Tenure = Literal["单独所有", "共同共有", "按份共有"]
FundStatus = Literal["01", "02", "03", "04"]
BankStatus = Literal["NORMAL", "DORMANT", "CLOSED"]


@dataclass(frozen=True, slots=True)
class Control:
    """A freeze or seal another court already holds on an asset.

    ``position`` is ``None`` for a control in force; a waiting-line (轮候) control has its
    place in the line, counted with the control in force as 1 (so it is 2 or more).
    ``amount`` is ``None`` for a seal on real estate.
    """

    authority: str
    case_number: str
    start: date
    end: date | None
    amount: Decimal | None = None
    position: int | None = None

    @property
    def waiting(self) -> bool:
        return self.position is not None


@dataclass(frozen=True, slots=True)
class Mortgage:
    mortgagee: str
    amount: Decimal
    start: date
    end: date


@dataclass(frozen=True, slots=True)
class UnitOwner:
    """An owner as the registry records them; ``share`` only for 按份共有."""

    name: str
    id_number: str
    share: Fraction | None = None


@dataclass(frozen=True, slots=True)
class RealEstateUnit:
    """A registered unit (a flat, a shop, a plant). Co-owned units are shared by every owner."""

    unit_number: str
    certificate: str
    location: str
    area: Decimal
    use: str | None
    registered_on: date
    tenure: Tenure
    owners: tuple[UnitOwner, ...]
    mortgages: tuple[Mortgage, ...] = ()
    seals: tuple[Control, ...] = ()


@dataclass(frozen=True, slots=True)
class FundAccount:
    """A housing fund account. ``status``: 01 normal, 02 sealed, 03 closed, 04 frozen."""

    account_number: str
    balance: Decimal
    status: FundStatus
    employer: str | None
    centre: str
    opened_on: date
    holds: tuple[Control, ...] = ()

    @property
    def frozen(self) -> Decimal:
        """What the freezes in force hold, at most the balance."""
        return min(_held(self.holds), self.balance)


@dataclass(frozen=True, slots=True)
class BankAccount:
    """An account at one sandbox bank (``bank`` is the institution id).

    ``available`` is the balance less the freezes in force; ``states_available`` is whether
    the bank says so in its answer (some leave the field out).
    """

    bank: str
    account_number: str
    account_type: str
    currency: str
    balance: Decimal
    status: BankStatus
    branch: str
    opened_on: date
    holds: tuple[Control, ...] = ()
    states_available: bool = True

    @property
    def available(self) -> Decimal:
        return max(self.balance - _held(self.holds), ZERO)


def _held(holds: Iterable[Control]) -> Decimal:
    return sum((h.amount or ZERO for h in holds if not h.waiting), ZERO)


@dataclass(frozen=True, slots=True)
class SandboxParty:
    """A fictional debtor with an enforcement case against them and what they hold."""

    kind: PartyKind
    name: str
    id_number: str
    court: str
    case_number: str
    claim: Decimal
    tags: frozenset[str]
    properties: tuple[RealEstateUnit, ...] = ()
    fund_accounts: tuple[FundAccount, ...] = ()
    bank_accounts: tuple[BankAccount, ...] = ()

    def accounts_at(self, bank: str) -> tuple[BankAccount, ...]:
        """The party's accounts at one bank, by institution id (``bank-east``, ...)."""
        return tuple(a for a in self.bank_accounts if a.bank == bank)

    def __repr__(self) -> str:
        # Fictional, but tests print parties: keep the habit of not showing ID numbers.
        return f"SandboxParty({self.kind}, {self.id_number[:4]}…, tags={sorted(self.tags)})"


class Dataset:
    """The parties one seed generates, findable by tag and by ID number."""

    def __init__(self, seed: int, parties: Iterable[SandboxParty]) -> None:
        self.seed = seed
        self.parties = tuple(parties)
        self._by_id: Mapping[str, SandboxParty] = {p.id_number: p for p in self.parties}
        if len(self._by_id) != len(self.parties):
            raise ValueError("two sandbox parties share an ID number")

    @property
    def persons(self) -> tuple[SandboxParty, ...]:
        return tuple(p for p in self.parties if p.kind == "person")

    @property
    def organizations(self) -> tuple[SandboxParty, ...]:
        return tuple(p for p in self.parties if p.kind == "organization")

    def find(self, tag: str) -> tuple[SandboxParty, ...]:
        """Every party carrying ``tag`` (one of ``TAGS``), in dataset order."""
        if tag not in TAGS:
            raise ValueError(f"no sandbox tag {tag!r}; the tags are {', '.join(TAGS)}")
        return tuple(p for p in self.parties if tag in p.tags)

    def get(self, id_number: str) -> SandboxParty | None:
        """The party with this resident ID or credit code, or ``None``."""
        return self._by_id.get(id_number.strip().upper())

    def __len__(self) -> int:
        return len(self.parties)

    def __iter__(self) -> Iterator[SandboxParty]:
        return iter(self.parties)

    def __repr__(self) -> str:
        return f"Dataset(seed={self.seed}, parties={len(self.parties)})"
