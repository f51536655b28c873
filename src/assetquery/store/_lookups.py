"""Lookups kept in the store: the parties of a job, and reports with answers still to come.

A *job* is a batch handed to the worker. Submitting it writes the job and one row per party
in one transaction, so a job is there whole or not at all. Each row then gets its report
exactly once: a report is written only into a row that has none, in the same transaction
as the lookup's SLA clocks and audit entries, so a unit of work that runs again after a
crash looks up only the parties still without one.

A report with a pending answer (a bank's feedback that comes tomorrow) keeps the time its
institution asked to be asked again. The worker *claims* the reports that are due, by
moving that time a lease ahead in the same transaction, so two workers never poll the same
report at once and a worker that dies while polling only delays the next poll.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, Table, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from .._errors import InvalidInput, JobNotFound
from .._models import Case, LookupReport, LookupRequest, Party, ResultStatus
from ._audit import append_events
from ._clocks import clock_values, close_clock
from ._records import AuditEvent, ClockClose, NewClock
from ._schema import ClockRow, JobRow, StoredLookupRow

__all__ = [
    "Job",
    "JobProgress",
    "Jobs",
    "LookupOutcome",
    "Reports",
    "StoredLookup",
    "insert_report",
    "insert_reports",
    "next_poll",
    "outcome_of",
]


T = TypeVar("T")


class LookupOutcome(StrEnum):
    WAITING = "waiting"  # a job's party not looked up yet
    COMPLETE = "complete"  # every institution gave a definite answer
    PENDING = "pending"  # some institution's answer is still to be collected
    INCOMPLETE = "incomplete"  # done, but some institution failed or was given up on
    REFUSED = "refused"  # purpose binding refused the lookup; never sent


def outcome_of(report: LookupReport) -> LookupOutcome:
    if report.complete:
        return LookupOutcome.COMPLETE
    if any(r.status is ResultStatus.PENDING and r.ticket for r in report.results):
        return LookupOutcome.PENDING
    return LookupOutcome.INCOMPLETE


def next_poll(report: LookupReport, now: datetime) -> datetime | None:
    """When the report's pending answers should next be asked for; None if none is."""
    times = [
        r.poll_at or now for r in report.results if r.status is ResultStatus.PENDING and r.ticket
    ]
    return min(times) if times else None


@dataclass(frozen=True, slots=True)
class StoredLookup:
    """A row: its id, what to look up, and the latest report if there is one."""

    id: int
    request: LookupRequest
    report: LookupReport | None
    line: int | None = None


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    source: str
    submitted_at: datetime
    submitted_by: str | None
    parties: int
    rejected: int
    chunk_size: int
    cancelled_at: datetime | None
    finished_at: datetime | None

    @property
    def chunks(self) -> int:
        return -(-self.parties // self.chunk_size)

    @property
    def state(self) -> str:
        if self.cancelled_at is not None:
            return "cancelled"
        return "finished" if self.finished_at is not None else "running"


@dataclass(frozen=True, slots=True)
class JobProgress:
    """How far a job is: parties by outcome."""

    parties: int
    waiting: int = 0
    complete: int = 0
    pending: int = 0
    incomplete: int = 0
    refused: int = 0

    @property
    def looked_up(self) -> int:
        return self.parties - self.waiting

    @property
    def settled(self) -> bool:
        """Every party looked up and no answer still to collect."""
        return self.waiting == 0 and self.pending == 0


def encode_request(request: LookupRequest) -> str:
    return json.dumps(
        {
            "party": request.party.model_dump(mode="json"),
            "case": request.case.model_dump(mode="json"),
            "reference": request.reference,
        },
        ensure_ascii=False,
    )


def decode_request(text: str) -> LookupRequest:
    data = json.loads(text)
    return LookupRequest(
        Party.model_validate(data["party"]), Case.model_validate(data["case"]), data["reference"]
    )


def _batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _case_values(case: Case) -> dict[str, Any]:
    return {
        "case_number": case.number,
        "court": case.court,
        "operator": case.operator,
        "claim_fen": case.claim.fen if case.claim is not None else None,
    }


def _report_values(report: LookupReport, now: datetime, *, collect: bool = True) -> dict[str, Any]:
    return {
        "lookup_id": report.lookup_id,
        "report": report.model_dump_json(),
        "outcome": outcome_of(report).value,
        "pending": sum(1 for r in report.results if r.status is ResultStatus.PENDING),
        # No time to poll, no poll: a report the worker cannot collect is only kept.
        "poll_at": next_poll(report, now) if collect else None,
        "assets": len(report.assets),
        "looked_up_at": report.started_at,
        "updated_at": now,
    }


def insert_report(session: Session, report: LookupReport, at: datetime, *, collect: bool) -> None:
    """A lookup made outside a job, kept for the case file (and, if ``collect``, for the
    worker to collect its pending answers)."""
    insert_reports(session, [(report, at, collect)])


_INSERT_REPORT = insert(cast(Table, StoredLookupRow.__table__))


def insert_reports(
    into: Connection | Session, reports: Sequence[tuple[LookupReport, datetime, bool]]
) -> None:
    """Several ``(report, at, collect)`` as ``insert_report`` keeps one, in one INSERT."""
    if not reports:
        return
    values = []
    for report, at, collect in reports:
        request = LookupRequest(report.party, report.case, report.reference)
        values.append(
            {
                "request": encode_request(request),
                **_case_values(report.case),
                **_report_values(report, at, collect=collect),
            }
        )
    into.execute(_INSERT_REPORT, values)


def _stored(row: StoredLookupRow) -> StoredLookup:
    return StoredLookup(
        id=row.id,
        request=decode_request(row.request),
        report=LookupReport.model_validate_json(row.report) if row.report else None,
        line=row.line,
    )


class Reports:
    """Reports whose pending answers the worker collects (``Store.reports``)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def keep(self, report: LookupReport, *, at: datetime, collect: bool = True) -> None:
        """Keep a report in the store: for the case file, and (unless ``collect`` is false)
        for the worker, which collects its pending answers from now on.

        Keeping the same lookup again replaces the stored report with this one.
        """
        with self._sessions() as session, session.begin():
            done = session.execute(
                update(StoredLookupRow)
                .where(StoredLookupRow.lookup_id == report.lookup_id)
                .values(**_report_values(report, at, collect=collect))
            )
            if done.rowcount == 0:  # type: ignore[attr-defined]
                insert_report(session, report, at, collect=collect)

    def get(self, lookup_id: str) -> LookupReport | None:
        """The latest report of a lookup kept in the store, or None."""
        with self._sessions() as session:
            text = session.scalar(
                select(StoredLookupRow.report).where(StoredLookupRow.lookup_id == lookup_id)
            )
        return LookupReport.model_validate_json(text) if text else None

    def pending(self) -> int:
        """How many stored reports still wait on an institution."""
        with self._sessions() as session:
            return (
                session.scalar(
                    select(func.count()).where(
                        StoredLookupRow.outcome == LookupOutcome.PENDING.value
                    )
                )
                or 0
            )

    def claim_due(self, now: datetime, *, limit: int, lease: timedelta) -> list[int]:
        """Rows whose pending answers are due a poll, taken for ``lease``: no other
        claim returns them until the lease runs out or they are saved."""
        query = (
            select(StoredLookupRow.id)
            .where(
                StoredLookupRow.outcome == LookupOutcome.PENDING.value,
                StoredLookupRow.poll_at <= now,
            )
            .order_by(StoredLookupRow.poll_at, StoredLookupRow.id)
            .limit(limit)
            # Another worker's claim in progress is skipped, not waited for (PostgreSQL).
            .with_for_update(skip_locked=True)
        )
        with self._sessions() as session, session.begin():
            ids = list(session.scalars(query))
            if ids:
                session.execute(
                    update(StoredLookupRow)
                    .where(StoredLookupRow.id.in_(ids))
                    .values(poll_at=now + lease)
                )
        return ids

    def load(self, ids: Sequence[int]) -> list[StoredLookup]:
        with self._sessions() as session:
            rows = session.scalars(
                select(StoredLookupRow)
                .where(StoredLookupRow.id.in_(ids))
                .order_by(StoredLookupRow.id)
            )
            return [_stored(row) for row in rows]

    def save(
        self,
        updates: Sequence[tuple[int, LookupReport]],
        closes: Sequence[ClockClose],
        events: Sequence[AuditEvent],
        *,
        at: datetime,
    ) -> None:
        """Refreshed reports, the clocks their new answers stop and the audit entries,
        in one transaction."""
        with self._sessions() as session, session.begin():
            for row_id, report in updates:
                session.execute(
                    update(StoredLookupRow)
                    .where(StoredLookupRow.id == row_id)
                    .values(**_report_values(report, at))
                )
            for close in closes:
                close_clock(
                    session,
                    subject="inquiry",
                    reference=close.reference,
                    institution=close.institution,
                    operation="inquiry",
                    answered_at=close.answered_at,
                    failed=close.failed,
                )
            append_events(session, events, at)


def _job(row: JobRow) -> Job:
    return Job(
        id=row.id,
        source=row.source,
        submitted_at=row.submitted_at,
        submitted_by=row.submitted_by,
        parties=row.parties,
        rejected=row.rejected,
        chunk_size=row.chunk_size,
        cancelled_at=row.cancelled_at,
        finished_at=row.finished_at,
    )


class Jobs:
    """Batches handed to the worker (``Store.jobs``)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def create(
        self,
        job_id: str,
        *,
        source: str,
        requests: Iterable[tuple[int, LookupRequest]],
        chunk_size: int,
        submitted_by: str | None,
        at: datetime,
        rejected: Callable[[], int] = lambda: 0,
    ) -> Job:
        """The job and every party's row (``(line, request)``), in one transaction.

        ``requests`` is read as it is written, a thousand rows at a time, so a file of any
        size costs the same memory; ``rejected``, asked once it is read, says how many rows
        of the file were left out. A job without a party raises ``InvalidInput`` and
        leaves nothing behind.
        """
        row = JobRow(
            id=job_id,
            source=source,
            submitted_at=at,
            submitted_by=submitted_by,
            parties=0,
            rejected=0,
            chunk_size=chunk_size,
        )
        table = cast(Table, StoredLookupRow.__table__)
        with self._sessions() as session, session.begin():
            session.add(row)
            session.flush()
            seq = 0
            for batch in _batches(requests, 1000):
                values = []
                for line, request in batch:
                    values.append(
                        {
                            "job_id": job_id,
                            "seq": seq,
                            "line": line,
                            **_case_values(request.case),
                            "request": encode_request(request),
                            "outcome": LookupOutcome.WAITING.value,
                            "pending": 0,
                            "updated_at": at,
                        }
                    )
                    seq += 1
                session.execute(insert(table), values)
            if seq == 0:
                raise InvalidInput("job", "has no party to look up")
            row.parties = seq
            row.rejected = rejected()
            return _job(row)

    def get(self, job_id: str) -> Job:
        with self._sessions() as session:
            row = session.get(JobRow, job_id)
            if row is None:
                raise JobNotFound(
                    f"no job {job_id!r} in the store; `assetquery jobs list` lists them"
                )
            return _job(row)

    def find(self, *, unfinished: bool = False) -> list[Job]:
        """Jobs, newest first; ``unfinished`` only those neither finished nor cancelled."""
        query = select(JobRow).order_by(JobRow.submitted_at.desc(), JobRow.id)
        if unfinished:
            query = query.where(JobRow.finished_at.is_(None), JobRow.cancelled_at.is_(None))
        with self._sessions() as session:
            return [_job(row) for row in session.scalars(query)]

    def progress(self, job_id: str) -> JobProgress:
        job = self.get(job_id)
        query = (
            select(StoredLookupRow.outcome, func.count())
            .where(StoredLookupRow.job_id == job_id)
            .group_by(StoredLookupRow.outcome)
        )
        with self._sessions() as session:
            counts: dict[str, int] = {}
            for outcome, count in session.execute(query):
                counts[outcome] = count
        return JobProgress(parties=job.parties, **counts)

    def cancel(self, job_id: str, *, at: datetime) -> Job:
        """Stop the job: parties not yet looked up stay so; answers already in are kept."""
        with self._sessions() as session, session.begin():
            row = session.get(JobRow, job_id, with_for_update=True)
            if row is None:
                raise JobNotFound(
                    f"no job {job_id!r} in the store; `assetquery jobs list` lists them"
                )
            if row.cancelled_at is None and row.finished_at is None:
                row.cancelled_at = at
            return _job(row)

    def finish(self, job_id: str, *, at: datetime) -> None:
        with self._sessions() as session, session.begin():
            session.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.finished_at.is_(None))
                .values(finished_at=at)
            )

    def cancelled(self, job_id: str) -> bool:
        with self._sessions() as session:
            return (
                session.scalar(select(JobRow.cancelled_at).where(JobRow.id == job_id)) is not None
            )

    def waiting(self, job_id: str, chunk: int) -> list[StoredLookup]:
        """The parties of one chunk of the job still without a report."""
        size = self.get(job_id).chunk_size
        query = (
            select(StoredLookupRow)
            .where(
                StoredLookupRow.job_id == job_id,
                StoredLookupRow.seq >= chunk * size,
                StoredLookupRow.seq < (chunk + 1) * size,
                StoredLookupRow.outcome == LookupOutcome.WAITING.value,
            )
            .order_by(StoredLookupRow.seq)
        )
        with self._sessions() as session:
            return [_stored(row) for row in session.scalars(query)]

    def record(
        self,
        looked_up: Sequence[tuple[int, LookupReport, Sequence[NewClock], Sequence[AuditEvent]]],
        *,
        at: datetime,
    ) -> int:
        """Reports of parties looked up, with their clocks and audit entries, in one
        transaction; a row that has a report already keeps it (its lookup's clocks and
        entries are dropped with it). How many were written."""
        written = 0
        clocks: list[NewClock] = []
        events: list[AuditEvent] = []
        with self._sessions() as session, session.begin():
            for row_id, report, report_clocks, report_events in looked_up:
                done = session.execute(
                    update(StoredLookupRow)
                    .where(
                        StoredLookupRow.id == row_id,
                        StoredLookupRow.outcome == LookupOutcome.WAITING.value,
                    )
                    .values(**_report_values(report, at))
                )
                if done.rowcount == 1:  # type: ignore[attr-defined]
                    written += 1
                    clocks.extend(report_clocks)
                    events.extend(report_events)
            if clocks:
                session.execute(insert(cast(Table, ClockRow.__table__)), clock_values(clocks))
            append_events(session, events, at)
        return written

    def refuse(self, row_id: int, reason: str, event: AuditEvent, *, at: datetime) -> None:
        """A party the lookup was refused for: never sent, with the reason."""
        with self._sessions() as session, session.begin():
            done = session.execute(
                update(StoredLookupRow)
                .where(
                    StoredLookupRow.id == row_id,
                    StoredLookupRow.outcome == LookupOutcome.WAITING.value,
                )
                .values(outcome=LookupOutcome.REFUSED.value, note=reason, updated_at=at)
            )
            if done.rowcount == 1:  # type: ignore[attr-defined]
                append_events(session, [event], at)

    def results(self, job_id: str) -> Iterator[str]:
        """The job's reports as JSON lines (``batch -o``'s shape), in input order."""
        self.get(job_id)
        query = (
            select(StoredLookupRow.report)
            .where(StoredLookupRow.job_id == job_id, StoredLookupRow.report.is_not(None))
            .order_by(StoredLookupRow.seq)
            .execution_options(yield_per=500)
        )
        with self._sessions() as session:
            for text in session.scalars(query):
                assert text is not None
                yield text

    def refusals(self, job_id: str) -> list[tuple[int | None, str]]:
        """``(line, reason)`` of every party the lookup was refused for."""
        query = (
            select(StoredLookupRow.line, StoredLookupRow.note)
            .where(
                StoredLookupRow.job_id == job_id,
                StoredLookupRow.outcome == LookupOutcome.REFUSED.value,
            )
            .order_by(StoredLookupRow.seq)
        )
        with self._sessions() as session:
            return [(line, note or "") for line, note in session.execute(query)]
