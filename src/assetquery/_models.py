"""The data a lookup takes and gives: parties, cases, assets, per-institution results, reports.

All models are immutable pydantic models. JSON field names are the attribute names. Personal
data appears in full in ``model_dump`` output (result files belong to the court) but ``repr``
masks it, so a stray ``print`` or log line does not leak it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Annotated, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from ._errors import InvalidInput
from ._identifiers import (
    CaseNumber,
    mask_id_number,
    mask_name,
    parse_case_number,
    validate_resident_id,
    validate_uscc,
)
from ._money import Money

__all__ = [
    "NOT_APPLICABLE",
    "AssetKind",
    "AssetRecord",
    "AssetStatus",
    "Case",
    "Coverage",
    "Encumbrance",
    "EncumbranceKind",
    "ErrorInfo",
    "InstitutionResult",
    "KindTotal",
    "LookupReport",
    "LookupRequest",
    "Operation",
    "Owner",
    "Party",
    "PartyKind",
    "Provenance",
    "ResultStatus",
    "UtcDatetime",
]


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


#: A timezone-aware datetime, stored and serialized in UTC. Naive datetimes are refused.
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]


def _parse_share(value: object) -> Fraction | None:
    """``"1/2"``, ``"50%"``, ``"0.5"``, ``Decimal``, ``Fraction`` → a fraction in (0, 1]."""
    if value is None or isinstance(value, Fraction):
        share = value
    elif isinstance(value, Decimal | int):
        share = Fraction(value)
    elif isinstance(value, str):
        text = value.strip().replace("／", "/").replace("％", "%")
        try:
            share = Fraction(Decimal(text[:-1])) / 100 if text.endswith("%") else Fraction(text)
        except (ValueError, ZeroDivisionError, ArithmeticError):
            raise ValueError(f"share {value!r} is not a fraction like 1/2 or 50%") from None
    else:
        raise ValueError(f"share must be a fraction string like 1/2, not {type(value).__name__}")
    if share is not None and not 0 < share <= 1:
        raise ValueError(f"share {value!r} is not between 0 and 1")
    return share


#: An ownership share, exact (``1/3`` stays a third); JSON as ``"1/3"``.
Share = Annotated[
    Fraction,
    BeforeValidator(_parse_share),
    PlainSerializer(lambda f: f"{f.numerator}/{f.denominator}", return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^\d+/\d+$", "examples": ["1/2"]}),
]


class _Model(BaseModel):
    # hide_input_in_errors: validation messages must never echo ID numbers or names.
    model_config = ConfigDict(
        frozen=True, extra="forbid", arbitrary_types_allowed=True, hide_input_in_errors=True
    )


# --- who and why --------------------------------------------------------------------------


class PartyKind(StrEnum):
    PERSON = "person"
    ORGANIZATION = "organization"


# Characters that never belong in a name: a byte-order mark, zero-width spaces and joiners
# (invisible, from copying between programs) are dropped; control characters refused.
_INVISIBLE = dict.fromkeys(map(ord, "\ufeff\u200b\u200c\u200d\u2060\u00ad"))


def _clean_name(value: str, field: str = "name") -> str:
    if not isinstance(value, str):
        raise InvalidInput(field, f"is a {type(value).__name__}, not text")
    name = " ".join(value.translate(_INVISIBLE).split())
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co") for c in name):
        raise InvalidInput(field, "contains control or formatting characters; retype it")
    if not name:
        raise InvalidInput(field, "is empty; give the name as registered")
    if len(name) > 200:
        raise InvalidInput(field, f"has {len(name)} characters; at most 200 are accepted")
    return name


class Party(_Model):
    """The party whose assets are sought: a person or an organization.

    Build with ``person``, ``organization``, or ``parse`` when the kind is not
    known (an 18-character number is tried as a resident ID, then as a credit code).
    """

    kind: PartyKind
    name: str
    id_number: str

    @model_validator(mode="after")
    def _validate_identity(self) -> Self:
        name = _clean_name(self.name)
        if self.kind is PartyKind.PERSON:
            number = validate_resident_id(self.id_number)
        else:
            number = validate_uscc(self.id_number)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "id_number", number)
        return self

    @classmethod
    def person(cls, name: str, id_number: str) -> Party:
        """A natural person with an 18-character resident identity number."""
        return cls.model_construct(
            kind=PartyKind.PERSON, name=_clean_name(name), id_number=validate_resident_id(id_number)
        )

    @classmethod
    def organization(cls, name: str, uscc: str) -> Party:
        """An organization with an 18-character unified social credit code."""
        return cls.model_construct(
            kind=PartyKind.ORGANIZATION, name=_clean_name(name), id_number=validate_uscc(uscc)
        )

    @classmethod
    def parse(cls, name: str, id_number: str, kind: str | None = None) -> Party:
        """Build a party from a name and an ID number, inferring the kind if not given."""
        if kind:
            try:
                party_kind = PartyKind(kind.strip().lower())
            except ValueError:
                raise InvalidInput(
                    "kind", f"{kind!r} is not a party kind; use person or organization"
                ) from None
            build = cls.person if party_kind is PartyKind.PERSON else cls.organization
            return build(name, id_number)
        try:
            return cls.person(name, id_number)
        except InvalidInput as as_person:
            try:
                return cls.organization(name, id_number)
            except InvalidInput as as_organization:
                # Report against the reading the number most looks like.
                compacted = id_number.strip().upper()
                looks_like_code = any(c.isalpha() and c != "X" for c in compacted)
                raise (as_organization if looks_like_code else as_person) from None

    @property
    def masked(self) -> str:
        """``张* (1101************39)``: safe for logs."""
        return f"{mask_name(self.name)} ({mask_id_number(self.id_number)})"

    def __repr__(self) -> str:
        return f"Party(kind={self.kind.value!r}, {self.masked})"

    __str__ = __repr__


def _money_or_none(value: object) -> object:
    if isinstance(value, Decimal | int | str) and not isinstance(value, bool):
        return Money(value) if str(value).strip() else None
    return value


class Case(_Model):
    """The enforcement case a lookup or control action is made under.

    ``number`` is stored canonical: full-width brackets, simplified 执 and 号.
    """

    number: str
    operator: str = Field(description="who asks: the enforcement officer's name or staff id")
    court: str | None = None
    claim: Annotated[Money | None, BeforeValidator(_money_or_none)] = Field(
        default=None, description="judgment debt plus enforcement costs, in CNY"
    )
    enforcement_document: str | None = Field(
        default=None, description="number of the assistance notice (协助执行通知书)"
    )

    @field_validator("number")
    @classmethod
    def _canonical_number(cls, value: str) -> str:
        parsed = parse_case_number(value, field="case.number")
        if not (parsed.is_enforcement or parsed.is_preservation):
            raise InvalidInput(
                "case.number",
                f"case type {parsed.case_type} is not an enforcement (执…) or preservation "
                "(财保) case; asset inquiries are made under one",
            )
        return str(parsed)

    @field_validator("operator")
    @classmethod
    def _operator_present(cls, value: str) -> str:
        operator = value.strip()
        if not operator:
            raise InvalidInput("case.operator", "is empty; every inquiry names who asks")
        return operator

    @field_validator("court", "enforcement_document")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return (value.strip() or None) if value is not None else None

    @property
    def parsed_number(self) -> CaseNumber:
        return parse_case_number(self.number)


# --- what was found -----------------------------------------------------------------------


class AssetKind(StrEnum):
    """The kinds the built-in adapters report. ``AssetRecord.kind`` is open to more."""

    BANK_ACCOUNT = "bank_account"
    REAL_ESTATE = "real_estate"
    HOUSING_FUND = "housing_fund"


class AssetStatus(StrEnum):
    ACTIVE = "active"
    DORMANT = "dormant"
    CLOSED = "closed"
    UNKNOWN = "unknown"


class EncumbranceKind(StrEnum):
    FREEZE = "freeze"
    SEAL = "seal"
    MORTGAGE = "mortgage"
    OTHER = "other"


class Owner(_Model):
    """An owner as the institution reports them (the spelling may differ from the party's)."""

    name: str
    id_number: str | None = None
    share: Share | None = None

    def __repr__(self) -> str:
        number = mask_id_number(self.id_number) if self.id_number else None
        return f"Owner(name={mask_name(self.name)!r}, id_number={number!r})"


class Encumbrance(_Model):
    """An existing control or charge on an asset: another court's freeze, a mortgage, ..."""

    kind: EncumbranceKind
    authority: str | None = None
    case_number: str | None = None
    amount: Money | None = None
    start: date | None = None
    end: date | None = None
    waiting: bool = Field(
        default=False, description="a waiting-line (轮候) control, not yet in force"
    )
    position: int | None = Field(default=None, ge=1, description="place in the waiting line")


class Provenance(_Model):
    """Where a record came from."""

    institution: str
    adapter: str
    reference: str | None = Field(default=None, description="the institution's own query id")
    received_at: UtcDatetime


_KIND_PATTERN = r"^[a-z][a-z0-9_]*$"


class AssetRecord(_Model):
    """One asset, whichever institution reported it."""

    kind: str = Field(
        pattern=_KIND_PATTERN, description="bank_account, real_estate, housing_fund, ..."
    )
    institution: str
    identifier: str = Field(min_length=1, description="the institution's own key for the asset")
    identifier_type: str = Field(description="account_number, unit_number, fund_account, ...")
    owner: Owner
    value: Money | None = Field(default=None, description="balance, or value where reported")
    available: Money | None = Field(default=None, description="what existing controls leave free")
    share: Share | None = Field(default=None, description="the party's ownership share")
    co_owners: tuple[Owner, ...] = ()
    encumbrances: tuple[Encumbrance, ...] = ()
    status: AssetStatus = AssetStatus.ACTIVE
    as_of: UtcDatetime
    details: dict[str, str] = Field(default_factory=dict)
    provenance: Provenance

    @property
    def key(self) -> tuple[str, str, str]:
        """What makes two records the same asset."""
        return (self.kind, self.institution, self.identifier)

    def __repr__(self) -> str:
        return (
            f"AssetRecord(kind={self.kind!r}, institution={self.institution!r}, "
            f"identifier=...{self.identifier[-4:]!r}, value={self.value}, status={self.status})"
        )


# --- per-institution results and the report -----------------------------------------------


#: the values of the statuses that are definite answers (compared as strings: an enum's own
#: members are looked up through a descriptor, several times slower, on every result)
_ANSWERED = ("ok", "not_found")


class ResultStatus(StrEnum):
    OK = "ok"
    NOT_FOUND = "not_found"
    PENDING = "pending"
    FAILED = "failed"
    TIMEOUT = "timeout"
    SKIPPED = "skipped"
    REJECTED = "rejected"

    @property
    def answered(self) -> bool:
        """The institution gave a definite answer (assets, or none)."""
        return self in _ANSWERED


#: ``ErrorInfo.code`` of a result skipped because the institution cannot hold such assets.
NOT_APPLICABLE = "not_applicable"


class ErrorInfo(_Model):
    code: str
    message: str
    retryable: bool


class InstitutionResult(_Model):
    """What one institution answered to one lookup."""

    institution: str
    name: str
    adapter: str
    status: ResultStatus
    assets: tuple[AssetRecord, ...] = ()
    error: ErrorInfo | None = None
    attempts: int = 0
    latency_seconds: float | None = None
    started_at: UtcDatetime
    finished_at: UtcDatetime | None = None
    ticket: str | None = Field(
        default=None, description="kept while pending, to fetch the answer later"
    )
    poll_at: UtcDatetime | None = Field(
        default=None, description="while pending: when the institution asked to be asked again"
    )
    sla_due: UtcDatetime | None = None
    sla_met: bool | None = None

    @property
    def settled(self) -> bool:
        """Nothing more to wait for: a definite answer, or the institution does not apply."""
        return self.status.answered or (
            self.status is ResultStatus.SKIPPED
            and self.error is not None
            and self.error.code == NOT_APPLICABLE
        )


class KindTotal(_Model):
    count: int
    value: Money | None = None
    available: Money | None = None


class Coverage(_Model):
    """How much of the claim the assets found could cover (CNY amounts with a known value)."""

    claim: Money | None
    available: Money
    ratio: Decimal | None = Field(description="available / claim, 4 decimals; None without claim")
    covered: bool | None
    unvalued_assets: int = Field(description="assets with no reported value, e.g. real estate")


class LookupReport(_Model):
    """One party, every configured institution, one merged view of the assets."""

    lookup_id: str
    reference: str | None = Field(default=None, description="the caller's own id for this lookup")
    party: Party
    case: Case
    started_at: UtcDatetime
    finished_at: UtcDatetime
    results: tuple[InstitutionResult, ...]
    assets: tuple[AssetRecord, ...]
    totals: dict[str, KindTotal]
    coverage: Coverage
    complete: bool = Field(description="every institution gave a definite answer")
    sandbox: bool = Field(default=False, description="answered by the simulated registries")

    def result_for(self, institution: str) -> InstitutionResult:
        for result in self.results:
            if result.institution == institution:
                return result
        raise KeyError(institution)

    def __repr__(self) -> str:
        statuses = ", ".join(f"{r.institution}={r.status.value}" for r in self.results)
        return (
            f"LookupReport({self.party.masked}, case={self.case.number}, "
            f"assets={len(self.assets)}, {statuses})"
        )


# --- what is asked of institutions --------------------------------------------------------


class Operation(StrEnum):
    """What an institution can be asked to do."""

    INQUIRY = "inquiry"
    FREEZE = "freeze"
    SEAL = "seal"
    DEDUCT = "deduct"
    RENEW = "renew"
    RELEASE = "release"
    STATUS = "status"


@dataclass(frozen=True, slots=True)
class LookupRequest:
    """One item for ``lookup_many``; ``reference`` comes back on
    the report (a batch puts the input row there)."""

    party: Party
    case: Case
    reference: str | None = None
