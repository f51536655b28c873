"""Persistence: control actions and their transitions, in SQLite or PostgreSQL.

``Store(url)`` opens (and migrates) the database: SQLite in a local file by default,
PostgreSQL with ``postgresql+psycopg://…`` (extra ``postgres``) when several workers share
one ledger.

The plain records (``AuditEvent``, ``NewClock``, …) import at once; everything
that needs SQLAlchemy loads on first use, so that a process which never opens a store does
not load it.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .._errors import ActionNotFound, ConcurrentUpdate, JobNotFound
from ._records import AuditEvent, Clock, ClockClose, ClockOutcome, LookupRecord, NewClock

if TYPE_CHECKING:
    from ._audit import Audit, AuditEntry, ChainCheck
    from ._cases import Cases, Closure, Closures, LookupFacts, Recommendation, Recommendations
    from ._clocks import Clocks
    from ._engine import DEFAULT_STORE, normalize_url
    from ._lookups import Job, JobProgress, Jobs, LookupOutcome, Reports, StoredLookup
    from ._store import NewAction, Store

__all__ = [
    "DEFAULT_STORE",
    "ActionNotFound",
    "Audit",
    "AuditEntry",
    "AuditEvent",
    "Cases",
    "ChainCheck",
    "Clock",
    "ClockClose",
    "ClockOutcome",
    "Clocks",
    "Closure",
    "Closures",
    "ConcurrentUpdate",
    "Job",
    "JobNotFound",
    "JobProgress",
    "Jobs",
    "LookupFacts",
    "LookupOutcome",
    "LookupRecord",
    "NewAction",
    "NewClock",
    "Recommendation",
    "Recommendations",
    "Reports",
    "Store",
    "StoredLookup",
    "normalize_url",
]

#: where each name that needs SQLAlchemy lives
_LAZY = {
    "Audit": "._audit",
    "AuditEntry": "._audit",
    "ChainCheck": "._audit",
    "Cases": "._cases",
    "Closure": "._cases",
    "Closures": "._cases",
    "LookupFacts": "._cases",
    "Recommendation": "._cases",
    "Recommendations": "._cases",
    "Clocks": "._clocks",
    "DEFAULT_STORE": "._engine",
    "normalize_url": "._engine",
    "Job": "._lookups",
    "JobProgress": "._lookups",
    "Jobs": "._lookups",
    "LookupOutcome": "._lookups",
    "Reports": "._lookups",
    "StoredLookup": "._lookups",
    "NewAction": "._store",
    "Store": "._store",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value  # once loaded, an ordinary module attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
