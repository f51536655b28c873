"""The audit trail: who asked what about whom, under which case, and what happened.

Entries are append-only and hash-chained: each entry's hash covers its own fields and the
previous entry's hash, and sequence numbers run without gaps. Editing, deleting or
reordering any entry breaks the chain from there on, and ``Audit.verify`` names the
first broken entry. Truncating the newest entries cannot be seen from inside the chain:
keep the head hash ``Audit.verify`` reports somewhere else (docs/security.md).

Appending is serialized across processes: PostgreSQL by a transaction-scoped advisory lock,
SQLite by its write lock (every transaction there starts ``BEGIN IMMEDIATE``). Store methods
that change control actions append their entries in the same transaction as the change.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Connection, Table, insert, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from ._records import AuditEvent
from ._schema import AuditRow

__all__ = ["GENESIS", "Audit", "AuditEntry", "AuditEvent", "ChainCheck", "append_events"]

#: The "previous hash" of the first entry.
GENESIS = "0" * 64
# Any constant will do: it only has to be the same for every process appending.
_ADVISORY_LOCK = 0x61756469  # "audi"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """A recorded entry, as stored (``detail`` is the exact JSON text that was hashed)."""

    seq: int
    at: datetime
    actor: str
    event: str
    case_number: str | None
    party: str | None
    institution: str | None
    subject: str | None
    detail: str
    prev_hash: str
    hash: str

    def expected_hash(self) -> str:
        return _hash(
            self.prev_hash,
            self.seq,
            self.at,
            self.actor,
            self.event,
            self.case_number,
            self.party,
            self.institution,
            self.subject,
            self.detail,
        )


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """The outcome of ``Audit.verify``."""

    entries: int
    head_hash: str
    broken_at: int | None = None  # the sequence number of the first broken entry
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def _hash(
    prev_hash: str,
    seq: int,
    at: datetime,
    actor: str,
    event: str,
    case_number: str | None,
    party: str | None,
    institution: str | None,
    subject: str | None,
    detail: str,
) -> str:
    canonical = json.dumps(
        [
            prev_hash,
            seq,
            at.astimezone(UTC).isoformat(timespec="microseconds"),
            actor,
            event,
            case_number,
            party,
            institution,
            subject,
            detail,
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


_CHAIN_END = select(AuditRow.seq, AuditRow.hash).order_by(AuditRow.seq.desc()).limit(1)
# PostgreSQL: the lock and the read of the chain's end go as one message, two statements in
# one round trip. Each statement takes its own snapshot (read committed), so the read still
# sees every entry committed by whoever held the lock before.
_LOCK_AND_READ_CHAIN_END = (
    f"SELECT pg_advisory_xact_lock({_ADVISORY_LOCK}); "
    "SELECT seq, hash FROM audit_entries ORDER BY seq DESC LIMIT 1"
)
_INSERT = insert(cast(Table, AuditRow.__table__))


def append_events(into: Connection | Session, events: Sequence[AuditEvent], at: datetime) -> None:
    """Append ``events`` inside the caller's (write) transaction, chained to the last entry."""
    append_event_groups(into, [(events, at)])


def append_event_groups(
    into: Connection | Session, groups: Sequence[tuple[Sequence[AuditEvent], datetime]]
) -> None:
    """Append each group's events, stamped with its time, in order, chained to the last
    entry: one read of the chain's end and one INSERT however many groups there are."""
    if not any(events for events, _ in groups):
        return
    seq, prev_hash = _chain_end(into if isinstance(into, Connection) else into.connection())
    rows = []
    for events, moment in groups:
        # Stored and hashed at microsecond precision, as both databases keep it.
        at = moment.astimezone(UTC)
        for event in events:
            seq += 1
            detail = json.dumps(event.detail, ensure_ascii=False, sort_keys=True, default=str)
            digest = _hash(
                prev_hash,
                seq,
                at,
                event.actor,
                event.event,
                event.case_number,
                event.party,
                event.institution,
                event.subject,
                detail,
            )
            rows.append(
                {
                    "seq": seq,
                    "at": at,
                    "actor": event.actor,
                    "event": event.event,
                    "case_number": event.case_number,
                    "party": event.party,
                    "institution": event.institution,
                    "subject": event.subject,
                    "detail": detail,
                    "prev_hash": prev_hash,
                    "hash": digest,
                }
            )
            prev_hash = digest
    # One multi-row INSERT, not an ORM object per entry: appends are on every lookup's path.
    into.execute(_INSERT, rows)


def _chain_end(connection: Connection) -> tuple[int, str]:
    """The last entry's number and hash, once no other writer can append (locked until the
    transaction ends)."""
    if connection.dialect.name == "postgresql":
        dbapi = connection.dialect.loaded_dbapi
        cursor = connection.connection.cursor()
        try:
            cursor.execute(_LOCK_AND_READ_CHAIN_END)
            cursor.nextset()
            last = cursor.fetchone()
        except dbapi.Error as error:
            # As SQLAlchemy would have raised it (OperationalError for a timeout or a lost
            # server...), so that callers that retry a database's hiccups see one here too.
            raise DBAPIError.instance(_LOCK_AND_READ_CHAIN_END, None, error, dbapi.Error) from error
        finally:
            cursor.close()
    else:  # SQLite: the transaction began with the write lock
        last = connection.execute(_CHAIN_END).first()
    return (last[0], last[1]) if last is not None else (0, GENESIS)


def _entry(row: AuditRow) -> AuditEntry:
    return AuditEntry(
        seq=row.seq,
        at=row.at,
        actor=row.actor,
        event=row.event,
        case_number=row.case_number,
        party=row.party,
        institution=row.institution,
        subject=row.subject,
        detail=row.detail,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


class Audit:
    """The ``audit_entries`` table. Reached as ``Store.audit``."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def append(self, events: Sequence[AuditEvent], *, at: datetime) -> None:
        with self._sessions() as session, session.begin():
            append_events(session.connection(), events, at)

    def entries(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> Iterator[AuditEntry]:
        """Entries in chain order, read in batches (the trail may be long)."""
        query = select(AuditRow).order_by(AuditRow.seq)
        if since is not None:
            query = query.where(AuditRow.at >= since)
        if until is not None:
            query = query.where(AuditRow.at < until)
        with self._sessions() as session:
            for row in session.scalars(query.execution_options(yield_per=1000)):
                yield _entry(row)

    def verify(self) -> ChainCheck:
        """Walk the chain; report the first entry whose hash, link or number is wrong."""
        expected_prev, expected_seq, count = GENESIS, 1, 0
        for entry in self.entries():
            if entry.seq != expected_seq:
                return ChainCheck(
                    count,
                    expected_prev,
                    entry.seq,
                    f"entry {entry.seq} follows {expected_seq - 1}: entries "
                    f"{expected_seq}–{entry.seq - 1} are missing",
                )
            if entry.prev_hash != expected_prev:
                return ChainCheck(
                    count,
                    expected_prev,
                    entry.seq,
                    f"entry {entry.seq} does not link to the entry before it",
                )
            if entry.hash != entry.expected_hash():
                return ChainCheck(
                    count,
                    expected_prev,
                    entry.seq,
                    f"entry {entry.seq} was altered: its content does not match its hash",
                )
            expected_prev, expected_seq, count = entry.hash, entry.seq + 1, count + 1
        return ChainCheck(count, expected_prev)
