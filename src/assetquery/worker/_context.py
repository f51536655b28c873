"""What every piece of the worker's durable work needs: the store, and the institutions.

A worker is started with a store URL and an institutions file; workflows carry only ids (a
job's, an action's, a report's), so work submitted by any process runs with the
configuration of the worker that picks it up. The store and the embedded sandbox are
opened once per process and shared by every step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from dbos import DBOS
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from .._config import Settings, WorkerSettings, load_settings
from .._lookup._dispatcher import Dispatcher
from ..store import Store
from ._caps import share_caps

if TYPE_CHECKING:
    from starlette.applications import Starlette

__all__ = [
    "WorkerContext",
    "configure",
    "current",
    "database_unavailable",
    "dispatcher_for",
    "step",
    "store_for",
]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class WorkerContext:
    """A worker's configuration, as the command line gives it."""

    store_url: str
    config: str | None = None
    #: how far ahead the renewal radar looks, in days (as ``actions due --within``)
    within_days: int = 30
    #: seconds between two questions about an action still waiting for its institution
    follow_every: float = 900.0

    @property
    def settings(self) -> Settings | None:
        return _settings(self.config)

    @property
    def worker(self) -> WorkerSettings:
        settings = self.settings
        return settings.worker if settings is not None else WorkerSettings()

    @property
    def answer_grace(self) -> timedelta:
        return timedelta(seconds=self.worker.answer_grace)


_current: list[WorkerContext] = []


def configure(context: WorkerContext) -> None:
    """Make ``context`` this process's worker configuration."""
    _current[:] = [context]


def current() -> WorkerContext:
    if not _current:
        raise RuntimeError("the worker is not configured: start it with `assetquery worker`")
    return _current[0]


@cache
def _settings(config: str | None) -> Settings | None:
    return load_settings(Path(config)) if config else None


@cache
def store_for(url: str) -> Store:
    """The process's store at ``url``, opened (and migrated) once."""
    return Store(url)


@cache
def _sandbox_app() -> Starlette:
    # One simulated registry per process: a ticket one step was given is known to the next.
    from ..sandbox import create_app

    return create_app()


def dispatcher_for(context: WorkerContext, *, shared: bool = True) -> Dispatcher:
    """A dispatcher over the worker's institutions (the sandbox without a file).

    ``shared``: with this unit's share of every institution's caps (see ``_caps``).
    """
    settings = context.settings
    if settings is None:
        return Dispatcher.sandbox(app=_sandbox_app())
    if shared:
        settings = share_caps(settings, settings.worker.slots)
    return Dispatcher(settings)


def database_unavailable(error: BaseException) -> bool:
    """The store could not be reached (down, restarting, its pool exhausted): worth the
    step running again, from the start, once it is back."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, OperationalError | PoolTimeout)


def step(name: str) -> Callable[[F], F]:
    """A durable step that waits out a passing database outage: run again on
    ``database_unavailable`` after 1, 2, 4, … seconds, about two minutes in all. Anything
    else fails the step at once. Every step here is safe to run again."""
    return DBOS.step(  # type: ignore[return-value]
        name=name,
        retries_allowed=True,
        max_attempts=8,
        interval_seconds=1.0,
        backoff_rate=2.0,
        should_retry=database_unavailable,
    )
