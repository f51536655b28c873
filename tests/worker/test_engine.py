"""A worker started while its database is away waits for it instead of exiting."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from assetquery._errors import StoreUnavailable
from assetquery.worker import _engine


def refused() -> OperationalError:
    return OperationalError("connect", {}, ConnectionRefusedError("connection refused"))


def unreachable() -> StoreUnavailable:
    """What opening a store whose database is down raises (its migration cannot connect)."""
    return StoreUnavailable("the store at postgresql://db.test/court cannot be opened")


async def test_a_store_that_comes_back_is_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    waits: list[float] = []

    def store_for(url: str) -> Any:
        calls.append(url)
        if len(calls) < 3:  # down for the first two tries
            raise unreachable() if len(calls) == 1 else refused()
        return object()

    async def no_sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(_engine, "store_for", store_for)
    monkeypatch.setattr(_engine.asyncio, "sleep", no_sleep)
    await _engine.store_reachable("postgresql+psycopg://db.test/court")
    assert len(calls) == 3 and waits == [1.0, 2.0]


async def test_a_store_that_stays_away_or_is_wrong_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    async def no_sleep(seconds: float) -> None:
        pass

    def down(url: str) -> Any:
        raise refused()

    monkeypatch.setattr(_engine.asyncio, "sleep", no_sleep)
    monkeypatch.setattr(_engine, "store_for", down)
    with pytest.raises(OperationalError):
        await _engine.store_reachable("postgresql+psycopg://db.test/court", attempts=3)

    def misconfigured(url: str) -> Any:
        raise ValueError("not a database URL")

    monkeypatch.setattr(_engine, "store_for", misconfigured)
    with pytest.raises(ValueError, match="not a database URL"):  # at once: no point waiting
        await _engine.store_reachable("nonsense")
