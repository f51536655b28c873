"""Jurisdiction rule packs: how long a freeze or seal lasts, and when to renew it.

The legal rules are configuration, not literals. A rule pack is a TOML file; the one for China
ships in ``assetquery.rules`` and is what ``load_rule_pack`` returns by default. The
date functions here are pure: they take the pack, the asset kind and dates, and return dates.

Every computed end is *conservative*: never later than the law allows. A renewal warning that
comes a day late lets a control lapse, which cannot be undone; one that comes a day early
costs nothing.
"""

from __future__ import annotations

import calendar
import functools
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from .._errors import ConfigurationError, InvalidInput

__all__ = [
    "DEFAULT_KIND",
    "DayCount",
    "Period",
    "PeriodUnit",
    "RenewalPeriodFrom",
    "RulePack",
    "WaitingPeriodFrom",
    "control_end",
    "legal_end",
    "load_rule_pack",
    "promoted_end",
    "renewal_deadline",
    "renewed_end",
    "rule_pack_from_mapping",
]

#: The ``max_period`` key that applies to asset kinds the pack does not list.
DEFAULT_KIND = "default"

_PACKAGE = "assetquery.rules"
_DEFAULT_PACK = "china.toml"


# --- periods ------------------------------------------------------------------------------


class PeriodUnit(StrEnum):
    DAY = "d"
    MONTH = "m"
    YEAR = "y"


_PERIOD = re.compile(r"^\s*(\d{1,4})\s*([dmy])\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Period:
    """A legal period: a positive count of days, months or years (``"1y"``, ``"18m"``)."""

    count: int
    unit: PeriodUnit

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError(f"a period must be at least one {self.unit.name.lower()}")

    @classmethod
    def parse(cls, text: str) -> Self:
        """``"1y"`` → one year, ``"18m"`` → eighteen months, ``"30d"`` → thirty days."""
        match = _PERIOD.match(text)
        if match is None:
            raise ValueError("is not a period; write a count and a unit: 1y, 18m or 30d")
        return cls(int(match[1]), PeriodUnit(match[2].lower()))

    def after(self, start: date) -> date:
        """The end of this period under Civil Procedure Law art. 85, counted from ``start``.

        The start day is not counted. A period of months or years ends on the same date of
        its final month, or on that month's last day when the date does not exist there
        (Jan 31 + 1 month → Feb 28 or 29; Feb 29 + 1 year → Feb 28).
        """
        try:
            if self.unit is PeriodUnit.DAY:
                return start + timedelta(days=self.count)
            months = self.count * (12 if self.unit is PeriodUnit.YEAR else 1)
            index = start.year * 12 + start.month - 1 + months
            year, month = divmod(index, 12)
            month += 1
            return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))
        except (OverflowError, ValueError):
            raise InvalidInput(
                "effective_on", f"{start} plus {self} is beyond the last representable date"
            ) from None

    def __str__(self) -> str:
        return f"{self.count}{self.unit.value}"


def _parse_period(value: object) -> object:
    if isinstance(value, str):
        return Period.parse(value)
    if isinstance(value, Period):
        return value
    raise ValueError(
        f'write the period as a string like "1y" or "18m", not a {type(value).__name__}'
    )


#: A period in configuration: written ``"1y"``, held as ``Period``.
PeriodField = Annotated[
    Period,
    BeforeValidator(_parse_period),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^\d+[dmy]$", "examples": ["1y", "18m"]}),
]


# --- deadlines institutions must meet -------------------------------------------------------


class SlaKind(StrEnum):
    """The three kinds of deadline, kept apart: they are computed differently."""

    HOURS = "hours"  # on the clock: a bank's 24 hours
    WORKING_DAYS = "working_days"  # by the working-day calendar: a registry's 1 working day
    PERIOD = "period"  # a calendar period, art. 85 style: "1m"


class SlaRule(BaseModel):
    """One deadline: exactly one of ``hours``, ``working_days`` or ``period``.

    In TOML: ``inquiry = { hours = 24 }``, ``seal = { working_days = 1 }``,
    ``receipt = { period = "1m" }``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    hours: float | None = Field(default=None, gt=0)
    working_days: int | None = Field(default=None, ge=1, le=366)
    period: PeriodField | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        given = [
            name for name in ("hours", "working_days", "period") if getattr(self, name) is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of hours, working_days or period, e.g. { hours = 24 }"
            )
        return self

    @property
    def kind(self) -> SlaKind:
        if self.hours is not None:
            return SlaKind.HOURS
        return SlaKind.WORKING_DAYS if self.working_days is not None else SlaKind.PERIOD

    def __str__(self) -> str:
        if self.hours is not None:
            return f"{self.hours:g} h"
        if self.working_days is not None:
            plural = "s" if self.working_days != 1 else ""
            return f"{self.working_days} working day{plural}"
        return f"{self.period}"


#: Operations a deadline can be set for: answering an inquiry, acknowledging receipt of an
#: action, and carrying out each kind of action.
SLA_OPERATIONS = frozenset({"inquiry", "receipt", "freeze", "seal", "deduct", "renew", "release"})


# --- the pack -----------------------------------------------------------------------------


class DayCount(StrEnum):
    """How the end date of a control is read. [U]: the choice is not settled law."""

    #: "from D1 to D2" with both days counted, as court documents state it: one day earlier
    INCLUSIVE = "inclusive"
    #: Civil Procedure Law art. 85 as written: the start day is not counted
    EXCLUSIVE = "exclusive"


class WaitingPeriodFrom(StrEnum):
    """Where the period of a converted waiting-line control starts. [U]"""

    PROMOTION = "promotion"  # the day it converted and took effect
    REGISTRATION = "registration"  # the day it was registered in the line


class RenewalPeriodFrom(StrEnum):
    """Where a renewal's new period starts. [U]"""

    RENEWAL = "renewal"  # the renewal's effective date
    PREVIOUS_END = "previous_end"  # follows on from the end of the period it renews


_KIND = re.compile(r"^[a-z][a-z0-9_]*$")
_CHOICES = (
    "day_count",
    "waiting_period_from",
    "renewal_period_from",
    "renewal_lead_days",
    "sla.housing_fund",
)


class RulePack(BaseModel):
    """The legal rules of one jurisdiction for freezes and seals.

    Build with ``load_rule_pack``. Keys named in ``unsettled`` hold defaults chosen where
    no primary text settles the question, not settled law.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, description="short name of the jurisdiction")
    sources: tuple[str, ...] = Field(min_length=1, description="citations the rules rest on")
    max_period: Mapping[str, PeriodField] = Field(
        description="longest period of one control per asset kind; 'default' for the rest"
    )
    renewal_lead_days: int = Field(
        ge=0, le=366, description="days before expiry by which a renewal must be applied for"
    )
    day_count: DayCount = DayCount.INCLUSIVE
    waiting_period_from: WaitingPeriodFrom = WaitingPeriodFrom.PROMOTION
    renewal_period_from: RenewalPeriodFrom = RenewalPeriodFrom.RENEWAL
    unsettled: frozenset[str] = Field(
        default=frozenset(), description="keys whose value is a default, not settled law"
    )
    sla: Mapping[str, Mapping[str, SlaRule]] = Field(
        default_factory=dict,
        description="default deadlines per institution type (adapter name) and operation",
    )
    sla_sources: Mapping[str, str] = Field(
        default_factory=dict,
        description="where each institution type's deadlines come from, as a judicial "
        "recommendation cites it",
    )

    @field_validator("sla")
    @classmethod
    def _sla_operations(
        cls, value: Mapping[str, Mapping[str, SlaRule]]
    ) -> Mapping[str, Mapping[str, SlaRule]]:
        for adapter, rules in value.items():
            unknown = sorted(set(rules) - SLA_OPERATIONS)
            if unknown:
                raise ValueError(
                    f"sla.{adapter}: unknown operation(s) {', '.join(unknown)}; "
                    f"use {', '.join(sorted(SLA_OPERATIONS))}"
                )
        return value

    @field_validator("sla_sources")
    @classmethod
    def _sla_sources_cite_deadlines(
        cls, value: Mapping[str, str], info: ValidationInfo
    ) -> Mapping[str, str]:
        # A source cites the pack's own deadlines: a type without any has nothing to cite, and
        # a stray key (a misspelt type, a credential pasted in the wrong table) is refused.
        sla = info.data.get("sla")
        if sla is not None:
            uncited = sorted(set(value) - set(sla))
            if uncited:
                raise ValueError(
                    f"{', '.join(uncited)}: no [sla.<type>] deadlines to cite for that type; "
                    f"name one of {', '.join(sorted(sla)) or '(none: add an [sla.<type>] table)'}"
                )
        if any(not text.strip() for text in value.values()):
            raise ValueError("a source is empty; cite the provision the deadlines rest on")
        return value

    @field_validator("sources")
    @classmethod
    def _sources_present(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not source.strip() for source in value):
            raise ValueError("a source is empty; cite the provision the rules rest on")
        return value

    @field_validator("max_period")
    @classmethod
    def _kinds(cls, value: Mapping[str, Period]) -> Mapping[str, Period]:
        for kind in value:
            if not _KIND.match(kind):
                raise ValueError("a key is not an asset kind (lowercase letters, digits and _)")
        if DEFAULT_KIND not in value:
            raise ValueError(
                f"needs a {DEFAULT_KIND!r} period for asset kinds not listed; "
                "the shortest listed period is the safe choice"
            )
        return value

    @model_validator(mode="after")
    def _known_unsettled(self) -> Self:
        unknown = sorted(self.unsettled - set(_CHOICES))
        if unknown:
            raise ValueError(
                f"unsettled names {', '.join(unknown)}; it may list {', '.join(_CHOICES)}"
            )
        return self

    def period_for(self, asset_kind: str) -> Period:
        """The longest period of one control on ``asset_kind`` (the default if not listed)."""
        return self.max_period.get(asset_kind, self.max_period[DEFAULT_KIND])


def _location(loc: tuple[int | str, ...]) -> str:
    """``("max_period", "bank_account")`` → ``max_period.bank_account``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text or "(top level)"


def rule_pack_from_mapping(data: Mapping[str, Any], source: str = "rule pack") -> RulePack:
    """Validate rule-pack data; errors name the source, the key and the problem."""
    try:
        return RulePack.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"  {_location(error['loc'])}: {error['msg'].removeprefix('Value error, ')}"
            for error in exc.errors()
        ]
        raise ConfigurationError(
            f"{source} is not a valid rule pack:\n" + "\n".join(problems)
        ) from None


def _parse(raw: bytes, source: str) -> RulePack:
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ConfigurationError(f"{source}: is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{source}: is not valid TOML ({exc})") from None
    except (RecursionError, ValueError):
        raise ConfigurationError(
            f"{source}: is not usable TOML (nested too deeply, or a number too long)"
        ) from None
    return rule_pack_from_mapping(data, source)


@functools.cache
def _packaged_pack() -> RulePack:
    resource = resources.files(_PACKAGE).joinpath(_DEFAULT_PACK)
    return _parse(resource.read_bytes(), f"{_PACKAGE}/{_DEFAULT_PACK}")


def load_rule_pack(path: str | os.PathLike[str] | None = None) -> RulePack:
    """Read and validate a rule-pack TOML file; ``None`` gives the packaged China pack."""
    if path is None:
        return _packaged_pack()
    file = Path(path)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"{file}: cannot be read ({exc.strerror})") from None
    return _parse(raw, str(file))


# --- dates --------------------------------------------------------------------------------


def legal_end(pack: RulePack, asset_kind: str, effective_on: date) -> date:
    """The Civil Procedure Law art. 85 end of a control that took effect on ``effective_on``.

    This is the latest end the law could give; ``control_end`` is the one to act on.
    """
    return pack.period_for(asset_kind).after(effective_on)


def control_end(pack: RulePack, asset_kind: str, effective_on: date) -> date:
    """The last day a control that took effect on ``effective_on`` is in force, conservatively.

    Art. 85 gives the anniversary date; under the inclusive convention, where the effective
    day itself counts as the first day, the period ends one day earlier. Art. 85 also moves an
    end that falls on a statutory rest day to the next working day; that is not applied here,
    since it only ever makes the end later and the earlier date is the safe one to act on.
    Prefer the end date an institution reports in its receipt when there is one.
    """
    end = legal_end(pack, asset_kind, effective_on)
    if pack.day_count is DayCount.INCLUSIVE:
        return end - timedelta(days=1)
    return end


def renewal_deadline(pack: RulePack, expires_on: date) -> date:
    """The last day to apply for renewal of a control ending on ``expires_on``."""
    return expires_on - timedelta(days=pack.renewal_lead_days)


def renewed_end(
    pack: RulePack, asset_kind: str, renewal_effective_on: date, previous_end: date
) -> date:
    """The new end of a control renewed on ``renewal_effective_on``.

    Each renewal may run the full maximum period again. Under ``renewal_period_from =
    "renewal"`` the period counts from the renewal's effective date; under ``"previous_end"``
    it counts from the previous end date as if the control took effect again that day (under
    the inclusive convention that day is counted in both periods: a day early, never late).

    A renewal must take effect before the control ends: one dated after ``previous_end``
    raises ``InvalidInput``, because the control has lapsed and needs a new freeze or seal.
    """
    if renewal_effective_on > previous_end:
        raise InvalidInput(
            "renewal_effective_on",
            f"{renewal_effective_on} is after the control ended on {previous_end}; an expired "
            "control has lapsed and cannot be renewed, a new freeze or seal is needed",
        )
    start = (
        renewal_effective_on
        if pack.renewal_period_from is RenewalPeriodFrom.RENEWAL
        else previous_end
    )
    return control_end(pack, asset_kind, start)


def promoted_end(
    pack: RulePack, asset_kind: str, *, registered_on: date, promoted_on: date
) -> date:
    """The end of a waiting-line control that converted (took effect) on ``promoted_on``.

    While it waits it has no effect and no period runs. ``waiting_period_from`` decides
    whether the period counts from the conversion (the default) or from ``registered_on``.
    """
    if promoted_on < registered_on:
        raise InvalidInput(
            "promoted_on",
            f"{promoted_on} is before the control was registered in the line on {registered_on}",
        )
    start = (
        promoted_on if pack.waiting_period_from is WaitingPeriodFrom.PROMOTION else registered_on
    )
    return control_end(pack, asset_kind, start)
