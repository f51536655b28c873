"""Persistence: control actions and their transitions, in SQLite or PostgreSQL.

``Store(url)`` opens (and migrates) the database: SQLite in a local file by default,
PostgreSQL with ``postgresql+psycopg://…`` (extra ``postgres``) when several workers share
one ledger.
"""

from ._audit import Audit, AuditEntry, AuditEvent, ChainCheck
from ._clocks import Clock, ClockOutcome, Clocks, NewClock
from ._engine import DEFAULT_STORE, normalize_url
from ._store import ActionNotFound, ConcurrentUpdate, NewAction, Store

__all__ = [
    "DEFAULT_STORE",
    "ActionNotFound",
    "Audit",
    "AuditEntry",
    "AuditEvent",
    "ChainCheck",
    "Clock",
    "ClockOutcome",
    "Clocks",
    "ConcurrentUpdate",
    "NewAction",
    "NewClock",
    "Store",
    "normalize_url",
]
