"""Launching the engine: which database it keeps its checkpoints in, and who this worker is.

DBOS keeps workflows, steps, queues and schedules in a *system database*. Beside a SQLite
store it is a sibling file (``ledger.db`` → ``ledger.dbos.sqlite``), so the engine's writes
never wait on the ledger's lock; with a PostgreSQL store it is the same database, in DBOS's
own ``dbos`` schema, which is what lets several workers on several machines share the work.

Every worker has an *executor id*, and a starting executor recovers every unfinished
workflow of its own id. Two live workers under one id would run each other's work twice, so
the id is the ``--worker-id`` given, else the host name, and a worker restarted on the same
machine comes back under the same id and resumes its own work.

On SQLite the engine's connections begin every transaction with ``BEGIN IMMEDIATE``
(``system_engine``). The driver on its own opens a transaction only before the first write,
so the engine's dequeue counted the units already running in autocommit and two workers
polling at once could each see the court's last free slot and both take it.
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from dbos import DBOS, DBOSConfig
from sqlalchemy import event
from sqlalchemy.engine import make_url

from .._errors import ConfigurationError, StoreUnavailable
from .._logging import get_logger
from ..store._engine import create_store_engine, normalize_url
from ._context import WorkerContext, configure, database_unavailable, store_for
from ._queues import register_queues

__all__ = [
    "APP_NAME",
    "engine_running",
    "executor_id",
    "store_reachable",
    "system_database_url",
    "system_engine",
]

log = get_logger("assetquery.worker")

#: the application's name in the engine's tables (shared by every worker of one court)
APP_NAME = "assetquery"

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")


def executor_id(given: str | None = None) -> str:
    """This worker's id: ``given``, else the host name; stable across restarts."""
    chosen = (given or socket.gethostname() or "").strip()
    if not _ID.fullmatch(chosen):
        raise ConfigurationError(
            f"worker id {chosen!r} is not usable: give --worker-id with letters, digits, "
            "'.', '_' or '-' (at most 63), unique to this worker"
        )
    return chosen


def system_database_url(store_url: str) -> str:
    """Where the engine keeps its checkpoints, for a ledger at ``store_url``."""
    url = make_url(normalize_url(store_url))
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise ConfigurationError(
                "the worker needs a store in a file (sqlite:///path/ledger.db) or PostgreSQL: "
                "its checkpoints must outlive the process"
            )
        ledger = Path(url.database)
        return f"sqlite:///{ledger.with_name(ledger.stem + '.dbos.sqlite')}"
    # DBOS names the driver itself: hand it the plain PostgreSQL URL, password included.
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def system_engine(url: str) -> sa.Engine | None:
    """The engine's own connections to a SQLite system database (None for PostgreSQL,
    whose dequeue already runs under REPEATABLE READ and row locks).

    They are made as the ledger's are: each transaction takes the write lock as it begins,
    so reading how many units run and claiming the next ones are one step for every worker
    on the file. The engine's migration opens ``BEGIN IMMEDIATE`` itself inside a
    transaction already begun; that one statement becomes a no-op.
    """
    if not url.startswith("sqlite"):
        return None
    # The ledger's own connections: WAL, a 30 s busy timeout, and BEGIN IMMEDIATE.
    engine = create_store_engine(url)

    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def _begun_once(
        connection: sa.Connection,
        _cursor: object,
        statement: str,
        parameters: Any,
        _context: object,
        _executemany: bool,
    ) -> tuple[str, Any]:
        # Every statement the engine runs comes through here: the cheap test first.
        if len(statement) > 20 or statement.strip().upper() != "BEGIN IMMEDIATE":
            return statement, parameters
        dbapi_connection = connection.connection.dbapi_connection
        if dbapi_connection is not None and dbapi_connection.in_transaction:
            return "SELECT 1", ()
        return statement, parameters

    return engine


async def store_reachable(url: str, *, attempts: int = 8) -> None:
    """Wait, as the steps do (1, 2, 4, … s: about two minutes), for a store that cannot be
    reached: a worker started while its database restarts or fails over waits for it
    instead of exiting. The store is opened (and migrated) here, before the engine."""
    for attempt in range(attempts):
        try:
            await asyncio.to_thread(store_for, url)
            return
        except Exception as error:
            passing = isinstance(error, StoreUnavailable) or database_unavailable(error)
            if not passing or attempt == attempts - 1:
                raise
            wait = 2.0**attempt
            log.warning("store not reachable yet", retry_in_s=wait, error=str(error))
            await asyncio.sleep(wait)


@asynccontextmanager
async def engine_running(
    context: WorkerContext, worker_id: str, *, concurrency: int | None = None
) -> AsyncIterator[None]:
    """The engine launched for this worker, its queues registered, and shut down
    (in-flight steps finished or left for recovery) on the way out.

    ``concurrency``: units of the work queue this worker runs at once (default: all of the
    court's ``worker.slots``).
    """
    # The workflows' modules register them with the engine as they are imported, which
    # must happen before it launches (and recovers this worker's unfinished ones).
    from . import _answers, _follow, _jobs, _notify, _scan, _sweep  # noqa: F401

    configure(context)
    await store_reachable(context.store_url)
    url = system_database_url(context.store_url)
    engine = system_engine(url)
    config: DBOSConfig = {
        "name": APP_NAME,
        "system_database_url": url,
        "system_database_engine": engine,
        "executor_id": worker_id,
        # Nothing may reach an outside address: no conductor key, no telemetry export; the
        # launch banner's hosted-console address stays below WARNING.
        "enable_otlp": False,
        "log_level": "WARNING",
    }
    DBOS(config=config)
    DBOS.launch()
    try:
        slots = context.worker.slots
        await register_queues(
            slots=slots,
            concurrency=concurrency or slots,
            poll_interval=context.worker.poll_interval,
        )
        yield
    finally:
        DBOS.destroy(workflow_completion_timeout_sec=5)
        if engine is not None:
            engine.dispose()
