"""Time zones: UTC is stored, Asia/Shanghai is shown and is what institutions speak."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

__all__ = ["SHANGHAI", "end_of_local_day", "local_date", "shanghai_datetime", "utc_now"]

SHANGHAI = ZoneInfo("Asia/Shanghai")


def utc_now() -> datetime:
    return datetime.now(UTC)


def shanghai_datetime(value: datetime) -> datetime:
    """Read a naive wall-clock time an institution sent as Shanghai time; return it in UTC."""
    return value.replace(tzinfo=SHANGHAI).astimezone(UTC)


def local_date(value: datetime) -> date:
    """The Shanghai calendar date of an aware datetime."""
    return value.astimezone(SHANGHAI).date()


def end_of_local_day(day: date) -> datetime:
    """The last moment of a Shanghai calendar day, in UTC."""
    return datetime.combine(day, time.max, SHANGHAI).astimezone(UTC)
