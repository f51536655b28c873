"""SLA clocks in the store: opened when a request goes out, closed when it is answered.

A clock left open (a ticket not yet answered, an action acknowledged but not in force) keeps
running across processes: ``overdue`` finds it whichever process opened it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ._records import Clock, ClockOutcome, NewClock
from ._schema import ClockRow

__all__ = [
    "Clock",
    "ClockOutcome",
    "Clocks",
    "NewClock",
    "clock_rows",
    "clock_values",
    "close_clock",
    "outcome_of",
]


def clock_values(clocks: Sequence[NewClock]) -> list[dict[str, object]]:
    """Clocks as rows for a multi-row INSERT."""
    return [
        {
            "subject": c.subject,
            "operation": c.operation,
            "institution": c.institution,
            "institution_name": c.institution_name,
            "case_number": c.case_number,
            "reference": c.reference,
            "ticket": c.ticket,
            "rule": c.rule,
            "started_at": c.started_at,
            "due_at": c.due_at,
            "provisional": c.provisional,
            "answered_at": c.answered_at,
            "outcome": c.outcome.value,
        }
        for c in clocks
    ]


def clock_rows(clocks: Sequence[NewClock]) -> list[ClockRow]:
    return [
        ClockRow(
            subject=c.subject,
            operation=c.operation,
            institution=c.institution,
            institution_name=c.institution_name,
            case_number=c.case_number,
            reference=c.reference,
            ticket=c.ticket,
            rule=c.rule,
            started_at=c.started_at,
            due_at=c.due_at,
            provisional=c.provisional,
            answered_at=c.answered_at,
            outcome=c.outcome.value,
        )
        for c in clocks
    ]


def outcome_of(due_at: datetime | None, answered_at: datetime) -> ClockOutcome:
    return (
        ClockOutcome.BREACHED if due_at is not None and answered_at > due_at else (ClockOutcome.MET)
    )


def close_clock(
    session: Session,
    *,
    subject: str,
    reference: str,
    institution: str,
    operation: str,
    answered_at: datetime | None,
    failed: bool = False,
) -> Clock | None:
    """``Clocks.close`` inside the caller's transaction."""
    row = session.scalars(
        select(ClockRow).where(
            ClockRow.subject == subject,
            ClockRow.reference == reference,
            ClockRow.institution == institution,
            ClockRow.operation == operation,
            ClockRow.outcome == ClockOutcome.OPEN.value,
        )
    ).first()
    if row is None:
        return None
    if failed:
        outcome, answered_at = ClockOutcome.FAILED, None
    elif answered_at is None:
        outcome = ClockOutcome.OVERDUE
    else:
        outcome = outcome_of(row.due_at, answered_at)
    # Conditional on still being open: a concurrent close wins once, never twice.
    done = session.execute(
        update(ClockRow)
        .where(ClockRow.id == row.id, ClockRow.outcome == ClockOutcome.OPEN.value)
        .values(answered_at=answered_at, outcome=outcome.value)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        return None
    session.refresh(row)
    return _to_clock(row)


def _to_clock(row: ClockRow) -> Clock:
    return Clock(
        id=row.id,
        subject=row.subject,
        operation=row.operation,
        institution=row.institution,
        institution_name=row.institution_name,
        case_number=row.case_number,
        reference=row.reference,
        ticket=row.ticket,
        rule=row.rule,
        started_at=row.started_at,
        due_at=row.due_at,
        provisional=row.provisional,
        answered_at=row.answered_at,
        outcome=ClockOutcome(row.outcome),
    )


class Clocks:
    """The ``sla_clocks`` table. Reached as ``Store.clocks``."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def open(self, clocks: Sequence[NewClock]) -> None:
        """Record clocks (one transaction). A clock already recorded is left as it is."""
        if not clocks:
            return
        rows = clock_rows(clocks)
        try:
            with self._sessions() as session, session.begin():
                session.add_all(rows)
        except IntegrityError:
            # Some were recorded before (a retried sync); record the rest one by one.
            for row in rows:
                try:
                    with self._sessions() as session, session.begin():
                        session.add(row)
                except IntegrityError:
                    continue

    def close(
        self,
        *,
        subject: str,
        reference: str,
        institution: str,
        operation: str,
        answered_at: datetime | None,
        failed: bool = False,
    ) -> Clock | None:
        """Stop an open clock: met or breached by ``answered_at``, failed, or (no
        ``answered_at``, not failed) overdue. None if no clock was open."""
        with self._sessions() as session, session.begin():
            return close_clock(
                session,
                subject=subject,
                reference=reference,
                institution=institution,
                operation=operation,
                answered_at=answered_at,
                failed=failed,
            )

    def find(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        outcome: ClockOutcome | None = None,
        institution: str | None = None,
        subject: str | None = None,
        reference: str | None = None,
    ) -> list[Clock]:
        """Clocks started in [since, until), oldest first."""
        query = select(ClockRow)
        if since is not None:
            query = query.where(ClockRow.started_at >= since)
        if until is not None:
            query = query.where(ClockRow.started_at < until)
        if outcome is not None:
            query = query.where(ClockRow.outcome == outcome.value)
        if institution is not None:
            query = query.where(ClockRow.institution == institution)
        if subject is not None:
            query = query.where(ClockRow.subject == subject)
        if reference is not None:
            query = query.where(ClockRow.reference == reference)
        with self._sessions() as session:
            return [
                _to_clock(r)
                for r in session.scalars(query.order_by(ClockRow.started_at, ClockRow.id))
            ]

    def overdue(self, now: datetime) -> list[Clock]:
        """Open clocks past their due time, most overdue first."""
        query = (
            select(ClockRow)
            .where(ClockRow.outcome == ClockOutcome.OPEN.value, ClockRow.due_at < now)
            .order_by(ClockRow.due_at, ClockRow.id)
        )
        with self._sessions() as session:
            return [_to_clock(r) for r in session.scalars(query)]
