"""The tables. Money is stored as integer fen (exact on SQLite and PostgreSQL alike), times
as timezone-aware UTC, dates as dates. Changing a table means a new Alembic migration."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "ActionRow",
    "AuditRow",
    "Base",
    "ClockRow",
    "ClosureRow",
    "JobRow",
    "RecommendationRow",
    "StoredLookupRow",
    "TransitionRow",
    "UtcDateTime",
]


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every database.

    SQLite has no time zones: it would hand back naive values. Naive values going in are
    refused, so a local wall-clock time can never be stored as if it were UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("refusing to store a naive datetime; give it a time zone")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Named constraints, so migrations can refer to them on every database.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class ActionRow(Base):
    """One control action (freeze, seal, deduct, renew, release) and where it stands."""

    __tablename__ = "control_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), index=True)
    case_number: Mapped[str] = mapped_column(String(64), index=True)
    enforcement_document: Mapped[str] = mapped_column(String(128))
    court: Mapped[str | None] = mapped_column(String(128))
    requested_by: Mapped[str] = mapped_column(String(128))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime())
    party_kind: Mapped[str] = mapped_column(String(16))
    party_name: Mapped[str] = mapped_column(String(200))
    party_id_number: Mapped[str] = mapped_column(String(32))
    institution: Mapped[str] = mapped_column(String(64))
    asset_kind: Mapped[str] = mapped_column(String(32))
    asset_identifier: Mapped[str] = mapped_column(String(64))
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    live_seal: Mapped[bool] = mapped_column(Boolean, default=False)
    withdrawal_condition: Mapped[str | None] = mapped_column(String(32))
    override_reason: Mapped[str | None] = mapped_column(Text)
    target_id: Mapped[int | None] = mapped_column(ForeignKey("control_actions.id"))
    # A renewal: its control's end date when the renewal was asked for (was it in time?).
    target_expires_on: Mapped[date | None] = mapped_column(Date)
    institution_reference: Mapped[str | None] = mapped_column(String(128))
    effective_on: Mapped[date | None] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date, index=True)
    expiry_source: Mapped[str | None] = mapped_column(String(16))
    waiting_position: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    status_checks: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Optimistic locking: an UPDATE that finds another writer got there first fails
    # instead of silently overwriting it.
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    transitions: Mapped[list[TransitionRow]] = relationship(
        back_populates="action", order_by="TransitionRow.id", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's protocol
    __table_args__ = (Index("ix_control_actions_asset", "institution", "asset_identifier"),)


class TransitionRow(Base):
    """One move of an action from one state to another: when, by whom, and why."""

    __tablename__ = "action_transitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("control_actions.id"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)

    action: Mapped[ActionRow] = relationship(back_populates="transitions")


class ClockRow(Base):
    """One SLA clock: a request to an institution, its due time, and when it was answered.

    ``subject`` is ``inquiry`` (``reference`` the lookup id) or ``action`` (the action id).
    A clock stays ``open`` until the institution answers, across processes and restarts.
    """

    __tablename__ = "sla_clocks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(String(16))
    operation: Mapped[str] = mapped_column(String(16))
    institution: Mapped[str] = mapped_column(String(64))
    institution_name: Mapped[str] = mapped_column(String(200))
    case_number: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str] = mapped_column(String(64))
    ticket: Mapped[str | None] = mapped_column(String(128))
    rule: Mapped[str | None] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    outcome: Mapped[str] = mapped_column(String(16), index=True)

    __table_args__ = (
        Index("ix_sla_clocks_period", "institution", "operation", "started_at"),
        Index(
            "uq_sla_clocks_request",
            "subject",
            "reference",
            "institution",
            "operation",
            unique=True,
        ),
    )


class AuditRow(Base):
    """One entry of the append-only, hash-chained audit trail.

    ``hash`` covers every other column and the previous entry's hash, so editing, deleting or
    reordering any entry breaks the chain from that entry on. No personal data is stored in
    clear: the party is masked, institution answers are statuses, not contents.
    """

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(128))
    event: Mapped[str] = mapped_column(String(64))
    case_number: Mapped[str | None] = mapped_column(String(64))
    party: Mapped[str | None] = mapped_column(String(256))
    institution: Mapped[str | None] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class JobRow(Base):
    """A batch submitted to the worker: where it came from, how it is cut, how it ended."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    source: Mapped[str] = mapped_column(String(512))
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    submitted_by: Mapped[str | None] = mapped_column(String(128))
    parties: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[int] = mapped_column(Integer)
    chunk_size: Mapped[int] = mapped_column(Integer)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class StoredLookupRow(Base):
    """One party's lookup kept in the store: asked for by a job, or handed over.

    ``request`` is what to look up; ``report`` the latest report (JSON, exactly as
    ``batch -o`` writes it) once there is one. While any institution's answer is pending,
    ``poll_at`` says when to ask again; the worker collects it then.
    """

    __tablename__ = "stored_lookups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id"))
    seq: Mapped[int | None] = mapped_column(Integer)
    line: Mapped[int | None] = mapped_column(Integer)
    case_number: Mapped[str] = mapped_column(String(64), index=True)
    request: Mapped[str] = mapped_column(Text)
    lookup_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    outcome: Mapped[str] = mapped_column(String(16))
    report: Mapped[str | None] = mapped_column(Text)
    pending: Mapped[int] = mapped_column(Integer, default=0)
    poll_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Who asked, for how much, and what came back: read by the case file and the figures
    # without opening the report.
    court: Mapped[str | None] = mapped_column(String(128))
    operator: Mapped[str | None] = mapped_column(String(128))
    claim_fen: Mapped[int | None] = mapped_column(BigInteger)
    assets: Mapped[int | None] = mapped_column(Integer)
    looked_up_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)

    __table_args__ = (
        Index("uq_stored_lookups_place", "job_id", "seq", unique=True),
        Index("ix_stored_lookups_due", "outcome", "poll_at"),
    )


class ClosureRow(Base):
    """How a case was closed, as the court's case system says (imported, never inferred)."""

    __tablename__ = "case_closures"

    case_number: Mapped[str] = mapped_column(String(64), primary_key=True)
    closed_on: Mapped[date] = mapped_column(Date)
    manner: Mapped[str] = mapped_column(String(32))
    applied_fen: Mapped[int | None] = mapped_column(BigInteger)
    recovered_outside_fen: Mapped[int] = mapped_column(BigInteger)
    court: Mapped[str | None] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(512))
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime())


class RecommendationRow(Base):
    """A judicial recommendation's evidence pack, and its letter's reply deadline once sent."""

    __tablename__ = "recommendations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    institution: Mapped[str] = mapped_column(String(64))
    period_from: Mapped[date] = mapped_column(Date)
    period_to: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    directory: Mapped[str] = mapped_column(String(512))
    reply_days: Mapped[int] = mapped_column(Integer)
    sent_on: Mapped[date | None] = mapped_column(Date)
    reply_due: Mapped[date | None] = mapped_column(Date)
    replied_on: Mapped[date | None] = mapped_column(Date)
