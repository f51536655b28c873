"""Connecting to the store: SQLite in a local file by default, PostgreSQL by URL.

One schema and one code path serve both. What differs is only how each database is made
safe for several writers: SQLite waits for the write lock (``busy_timeout``) and takes it at
the start of each transaction (``BEGIN IMMEDIATE``), so two processes never deadlock
upgrading a read lock; WAL lets readers go on while one writes. PostgreSQL needs nothing
special: concurrent updates of one row are caught by the version column.
"""

from __future__ import annotations

import importlib.resources
import os
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    create_engine,
    event,
    inspect,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, ProgrammingError

from .._errors import ConfigurationError, StoreUnavailable

__all__ = [
    "DEFAULT_STORE",
    "SCHEMA_REVISION",
    "at_head",
    "create_store_engine",
    "migrate",
    "normalize_url",
    "upgrade",
]

DEFAULT_STORE = "sqlite:///assetquery.db"


def normalize_url(url: str) -> str:
    """Accept the spellings people use; name the driver assetquery installs."""
    text = url.strip()
    if text.startswith(("postgres://", "postgresql://")):
        text = "postgresql+psycopg://" + text.split("://", 1)[1]
    try:
        parsed = make_url(text)
    except ArgumentError:
        raise ConfigurationError(
            f"store URL {url!r} is not a database URL; use sqlite:///path/to/file.db or "
            "postgresql+psycopg://user@host/db"
        ) from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigurationError(f"store URL {url!r}: only SQLite and PostgreSQL are supported")
    return text


def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    # Python's sqlite3 would otherwise open transactions itself, lazily; SQLAlchemy's
    # "begin" event below takes over, so that every transaction starts with the write lock.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode, NORMAL keeps every commit safe from a crash of the process (only a power
    # loss may take the last commits back) and spares an fsync on each of them.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin_immediate(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_store_engine(url: str = DEFAULT_STORE) -> Engine:
    """An engine for the store at ``url``; the SQLite file's folder must exist."""
    normalized = normalize_url(url)
    parsed = make_url(normalized)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            folder = Path(database).expanduser().resolve().parent
            if not folder.is_dir():
                raise ConfigurationError(
                    f"store {url!r}: folder {folder} does not exist; create it first"
                )
        engine = create_engine(normalized, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise ConfigurationError(
            "a PostgreSQL store needs the postgres extra: pip install 'assetquery[postgres]'"
        ) from None
    return create_engine(normalized, pool_pre_ping=True)


# Any constant will do, as long as every process migrating uses it ("migr").
_MIGRATION_LOCK = 0x6D696772


#: the newest migration (``migrations/versions``); a test holds it to Alembic's head
SCHEMA_REVISION = "0005"


def at_head(engine: Engine) -> bool:
    """The store's schema is already the newest: nothing to migrate."""
    try:
        with engine.connect() as connection:
            version = connection.execute(text("SELECT version_num FROM alembic_version"))
            return [row[0] for row in version] == [SCHEMA_REVISION]
    except OperationalError:
        return False  # no such table yet, or no database yet: migrate says which
    except ProgrammingError:
        return False  # PostgreSQL's "relation does not exist"


def migrate(engine: Engine) -> None:
    """Bring the schema up to date; safe to run every start.

    A new, empty database gets the newest schema at once (the tables as ``_schema``
    declares them, stamped with ``SCHEMA_REVISION``: a test holds them to what the
    migrations build); an older store is upgraded by Alembic, which is loaded only then
    (about 70 ms, and 40 ms more to run every migration, of a command's start otherwise).
    """
    if at_head(engine):
        return
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Workers started together would otherwise each create the tables of a new
                # database and all but one fail; held until this transaction ends.
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK}
                )
            if inspect(connection).get_table_names():
                upgrade(connection)
            else:
                _create_newest(connection)
    except OperationalError as exc:
        raise StoreUnavailable(
            f"the store at {engine.url.render_as_string(hide_password=True)} cannot be "
            f"opened or migrated: {exc.orig}"
        ) from None


def upgrade(connection: Connection) -> None:
    """Alembic's ``upgrade head``, in the caller's transaction."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    location = importlib.resources.files("assetquery.store") / "migrations"
    config.set_main_option("script_location", os.fspath(Path(str(location))))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _create_newest(connection: Connection) -> None:
    from ._schema import Base

    Base.metadata.create_all(connection)
    # Alembic's own bookkeeping table, as it creates it, so later migrations run from here.
    version = MetaData()
    table = Table(
        "alembic_version",
        version,
        Column("version_num", String(32), nullable=False),
        PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
    )
    version.create_all(connection)
    connection.execute(table.insert(), {"version_num": SCHEMA_REVISION})
