"""The Chinese working-day calendar: which days count for "N working days" deadlines.

A working day is Monday to Friday, minus the holidays, plus the make-up workdays (调休): a
Saturday or Sunday worked in exchange for a longer break. The days come from, in order:

1. a schedule the operator loaded from a TOML file (``load_schedule``), so an announced
   year can be used, or a wrong one corrected, without upgrading anything;
2. ``chinese-calendar``, which carries the State Council's announced schedules;
3. for any other year, weekends plus the statutory holidays the law fixes, lunar dates
   included (from ``holidays``), with no make-up workdays and no compensatory days off. Those
   days are **provisional**: the real schedule exists only once the State Council announces it.

See ``docs/calendar.md``.
"""

from __future__ import annotations

import functools
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any

import chinese_calendar
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from .._errors import ConfigurationError, InvalidInput
from .._time import end_of_local_day, local_date

__all__ = [
    "Deadline",
    "WorkingCalendar",
    "YearSchedule",
    "default_calendar",
    "load_schedule",
    "load_schedules",
    "schedule_from_mapping",
]

#: The holidays every citizen has off, as the law names them (全国年节及纪念日放假办法, art. 2).
#: ``holidays`` uses these names in zh_CN; anything else it lists (调休 days off, one-off
#: holidays of announced years) is not fixed by the law and is left out.
_STATUTORY_NAMES = frozenset(
    {"元旦", "农历除夕", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节"}
)
#: what ``holidays`` appends to a date it estimates rather than knows
_ESTIMATED_SUFFIX = "（推定）"
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _is_weekend(day: date) -> bool:
    return day.weekday() >= 5


# --- deadlines ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Deadline:
    """When something falls due (aware, UTC), and whether that rests on an unannounced year."""

    due_at: datetime
    #: true when a day on the way lies in a year with no announced schedule: the deadline may
    #: move once the State Council announces it
    provisional: bool


# --- schedules ------------------------------------------------------------------------------

_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _parse_day(value: object) -> object:
    # TOML local dates arrive as date; a datetime or a number is refused rather than guessed at
    # (pydantic alone would read 20270101 as seconds since 1970).
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DAY.match(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            # Only digits and dashes matched: safe to quote, and the quickest fix to find.
            raise ValueError(f"{value.strip()} is not a calendar date") from None
    raise ValueError(f'write a date as "2027-01-01", not a {type(value).__name__}')


_Day = Annotated[date, BeforeValidator(_parse_day)]


def _listing(days: Iterable[date]) -> str:
    return ", ".join(f"{d} ({_WEEKDAYS[d.weekday()]})" for d in sorted(days))


class YearSchedule(BaseModel):
    """The announced schedule of one year: its days off and its make-up workdays.

    A schedule is complete for its year: once loaded, days not listed follow the plain rule
    (Monday to Friday work, Saturday and Sunday rest), whatever ``chinese-calendar`` says.
    Build one from a file with ``load_schedule``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    year: int = Field(strict=True, ge=1, le=9999)
    holidays: frozenset[_Day] = Field(
        description="days off; those falling on a weekend may be listed or not"
    )
    workdays: frozenset[_Day] = Field(
        default=frozenset(), description="make-up workdays (调休): Saturdays or Sundays worked"
    )
    source: str | None = Field(
        default=None, min_length=1, description="the notice the schedule comes from"
    )

    @field_validator("holidays")
    @classmethod
    def _some_holidays(cls, value: frozenset[date]) -> frozenset[date]:
        if not value:
            raise ValueError(
                "lists no days off; an announced schedule has at least the statutory days"
            )
        return value

    @field_validator("holidays", "workdays")
    @classmethod
    def _in_year(cls, value: frozenset[date], info: ValidationInfo) -> frozenset[date]:
        year = info.data.get("year")
        if year is not None:
            outside = [d for d in value if d.year != year]
            if outside:
                verb = "is" if len(outside) == 1 else "are"
                raise ValueError(f"{_listing(outside)} {verb} not in {year}")
        return value

    @field_validator("workdays")
    @classmethod
    def _make_up_days(cls, value: frozenset[date], info: ValidationInfo) -> frozenset[date]:
        weekdays = [d for d in value if not _is_weekend(d)]
        if weekdays:
            raise ValueError(
                f"{_listing(weekdays)}: a make-up workday is a Saturday or Sunday that is "
                "worked; a weekday is a working day already and cannot be made up"
            )
        both = value & info.data.get("holidays", frozenset())
        if both:
            raise ValueError(
                f"{_listing(both)} {'is' if len(both) == 1 else 'are'} also listed under "
                "holidays; a day is either off or worked"
            )
        return value


def _location(loc: tuple[int | str, ...]) -> str:
    """``("holidays", 3)`` → ``holidays[3]``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(top level)"


def schedule_from_mapping(data: Mapping[str, Any], source: str = "schedule") -> YearSchedule:
    """Validate schedule data; errors name the source, the key and the problem."""
    try:
        return YearSchedule.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"  {_location(error['loc'])}: {error['msg'].removeprefix('Value error, ')}"
            for error in exc.errors()
        ]
        raise ConfigurationError(
            f"{source} is not a valid holiday schedule:\n" + "\n".join(problems)
        ) from None


def load_schedule(path: str | os.PathLike[str]) -> YearSchedule:
    """Read and validate one year's schedule from a TOML file (format: ``docs/calendar.md``)."""
    file = Path(path)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"{file}: cannot be read ({exc.strerror})") from None
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ConfigurationError(f"{file}: is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{file}: is not valid TOML ({exc})") from None
    except (RecursionError, ValueError):
        raise ConfigurationError(
            f"{file}: is not usable TOML (nested too deeply, or a number too long)"
        ) from None
    return schedule_from_mapping(data, str(file))


def _files(path: str | os.PathLike[str]) -> list[Path]:
    folder = Path(path)
    # sorted, so the same folder always loads (and reports problems) in the same order
    return sorted(folder.glob("*.toml")) if folder.is_dir() else [folder]


def _load_unique(paths: Iterable[str | os.PathLike[str]]) -> dict[int, YearSchedule]:
    loaded: dict[int, tuple[Path, YearSchedule]] = {}
    for path in paths:
        for file in _files(path):
            schedule = load_schedule(file)
            if schedule.year in loaded:
                raise ConfigurationError(
                    f"{file}: gives the schedule for {schedule.year}, and so does "
                    f"{loaded[schedule.year][0]}; keep one file per year"
                )
            loaded[schedule.year] = (file, schedule)
    return {year: schedule for year, (_, schedule) in loaded.items()}


def load_schedules(path: str | os.PathLike[str]) -> tuple[YearSchedule, ...]:
    """Every schedule in a folder (its ``*.toml`` files), or the one in a file, by year.

    Two files for the same year are refused: which one is right is for the operator to say.
    """
    return tuple(schedule for _, schedule in sorted(_load_unique([path]).items()))


# --- where the days come from ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Year:
    holidays: frozenset[date]  # days off (weekend ones may or may not be listed)
    workdays: frozenset[date]  # make-up workdays, all on weekends
    provisional: bool


@functools.cache
def _announced(year: int) -> _Year | None:
    """The year as chinese-calendar knows it from the State Council notice; None if it doesn't."""
    day = date(year, 1, 1)
    off: set[date] = set()
    worked: set[date] = set()
    try:
        while day.year == year:
            working = bool(chinese_calendar.is_workday(day))
            if _is_weekend(day) and working:
                worked.add(day)
            elif not _is_weekend(day) and not working:
                off.add(day)
            day += timedelta(days=1)
    except NotImplementedError:  # "no available data for year ..."
        return None
    return _Year(frozenset(off), frozenset(worked), provisional=False)


@functools.cache
def _statutory(year: int) -> _Year:
    """Weekends plus the statutory holidays, and nothing announced: a provisional year."""
    # Imported here: it takes a tenth of a second, and most runs only need announced years.
    import holidays

    # observed=False: no guessed compensatory days (补假) for statutory days on a weekend
    table = holidays.country_holidays("CN", years=year, observed=False, language="zh_CN")
    off = frozenset(
        day
        for day in table
        if any(
            name.removesuffix(_ESTIMATED_SUFFIX) in _STATUTORY_NAMES for name in table.get_list(day)
        )
    )
    return _Year(off, frozenset(), provisional=True)


# --- the calendar ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, init=False)
class WorkingCalendar:
    """Working days in China, with the schedules an operator loaded taking precedence.

    Immutable: ``with_schedule`` returns a new calendar.
    """

    #: the loaded schedules, by year
    schedules: tuple[YearSchedule, ...]
    _by_year: Mapping[int, YearSchedule] = field(compare=False, hash=False, repr=False)

    def __init__(self, schedules: Iterable[YearSchedule] = ()) -> None:
        by_year: dict[int, YearSchedule] = {}
        for schedule in schedules:
            if schedule.year in by_year:
                raise ValueError(f"two schedules for {schedule.year}; give one per year")
            by_year[schedule.year] = schedule
        object.__setattr__(self, "schedules", tuple(by_year[y] for y in sorted(by_year)))
        object.__setattr__(self, "_by_year", MappingProxyType(by_year))

    @classmethod
    def from_paths(cls, paths: Iterable[str | os.PathLike[str]]) -> WorkingCalendar:
        """A calendar with the schedules in these files and folders (``*.toml``) loaded.

        Raises ``ConfigurationError`` naming the file for a schedule that is
        not valid, or for two files giving the same year.
        """
        return cls(_load_unique(paths).values())

    def with_schedule(self, schedule: YearSchedule) -> WorkingCalendar:
        """This calendar with ``schedule`` loaded, replacing any loaded for the same year."""
        others = (s for s in self.schedules if s.year != schedule.year)
        return WorkingCalendar([*others, schedule])

    def _year(self, year: int) -> _Year:
        loaded = self._by_year.get(year)
        if loaded is not None:
            return _Year(loaded.holidays, loaded.workdays, provisional=False)
        return _announced(year) or _statutory(year)

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` is a working day (a make-up Saturday or Sunday is one)."""
        year = self._year(day.year)
        if day in year.workdays:
            return True
        return not _is_weekend(day) and day not in year.holidays

    def is_provisional(self, day: date) -> bool:
        """Whether ``day`` lies in a year with neither chinese-calendar data nor a loaded
        schedule, so that ``is_working_day`` only knows weekends and statutory holidays."""
        return self._year(day.year).provisional

    def _next(self, day: date) -> tuple[date, bool]:
        """The next working day after ``day``, and whether any day examined was provisional."""
        provisional = False
        while True:
            try:
                day += timedelta(days=1)
            except OverflowError:
                raise InvalidInput(
                    "day", f"no working day is known after {day}, the last representable date"
                ) from None
            provisional = provisional or self.is_provisional(day)
            if self.is_working_day(day):
                return day, provisional

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        return self._next(day)[0]

    def add_working_days(self, start: datetime, days: int) -> Deadline:
        """The deadline ``days`` working days after a request made at ``start``.

        As Civil Procedure Law art. 85 counts periods, the request's own day does not count,
        whether or not it is a working day and whatever the hour: the deadline is the end of
        the ``days``-th working day after the request's Shanghai calendar date (23:59:59.999999
        Asia/Shanghai), returned in UTC. It is provisional when any day after the request's
        date up to the due day lies in a year without a known schedule.
        """
        if start.tzinfo is None or start.utcoffset() is None:
            raise InvalidInput("start", f"{start} has no time zone; give an aware datetime")
        if days < 1:
            raise InvalidInput("days", f"{days}: a deadline is at least 1 working day")
        day = local_date(start)
        provisional = False
        for _ in range(days):
            day, examined_provisional = self._next(day)
            provisional = provisional or examined_provisional
        return Deadline(end_of_local_day(day), provisional=provisional)


@functools.cache
def default_calendar() -> WorkingCalendar:
    """The calendar with no schedules loaded: chinese-calendar, then statutory days only."""
    return WorkingCalendar()
