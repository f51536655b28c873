"""Jobs and stored reports: a job stored whole, each party's report once, late answers
claimed by one worker at a time, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from assetquery import Case, InstitutionResult, InvalidInput, LookupRequest, Party, ResultStatus
from assetquery.store import (
    AuditEvent,
    ClockClose,
    ClockOutcome,
    JobNotFound,
    NewClock,
    Store,
)
from assetquery.testing import build_report

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = Store(store_url)
    yield opened
    opened.close()


def requests(person: Party, case: Case, count: int) -> list[tuple[int, LookupRequest]]:
    return [
        (line, LookupRequest(person, Case(number=f"（2024）甘0191执{1000 + line}号",
                                          court=case.court, operator=case.operator),
                             f"line {line}"))
        for line in range(2, count + 2)
    ]  # fmt: skip


def pending(at: datetime, poll_in: float = 3600) -> InstitutionResult:
    return InstitutionResult(
        institution="bank-west",
        name="西部银行",
        adapter="bank",
        status=ResultStatus.PENDING,
        ticket="TK-1",
        started_at=at,
        finished_at=at,
        poll_at=at + timedelta(seconds=poll_in),
        sla_due=at + timedelta(hours=24),
    )


def clock(reference: str, case: Case) -> NewClock:
    return NewClock(
        subject="inquiry", operation="inquiry", institution="bank-west",
        institution_name="西部银行", case_number=case.number, reference=reference,
        started_at=T0, due_at=T0 + timedelta(hours=24), provisional=False, rule="24h",
    )  # fmt: skip


def test_a_job_is_stored_whole_and_cut_into_chunks(store: Store, person: Party, case: Case) -> None:
    job = store.jobs.create(
        "job-1", source="parties.csv", requests=requests(person, case, 5), rejected=lambda: 1,
        chunk_size=2, submitted_by="李承办", at=T0,
    )  # fmt: skip
    assert job.chunks == 3 and job.state == "running"
    assert [row.line for row in store.jobs.waiting("job-1", 0)] == [2, 3]
    assert [row.line for row in store.jobs.waiting("job-1", 2)] == [6]
    assert store.jobs.waiting("job-1", 1)[0].request.reference == "line 4"
    progress = store.jobs.progress("job-1")
    assert (progress.parties, progress.waiting, progress.looked_up) == (5, 5, 0)
    assert [j.id for j in store.jobs.find(unfinished=True)] == ["job-1"]


def test_a_job_without_a_party_leaves_nothing_behind(store: Store) -> None:
    with pytest.raises(InvalidInput, match="no party"):
        store.jobs.create("job-0", source="p.csv", requests=iter(()), chunk_size=10,
                          submitted_by=None, at=T0)  # fmt: skip
    assert store.jobs.find() == []


def test_each_partys_report_is_written_once_with_its_clocks(
    store: Store, person: Party, case: Case
) -> None:
    store.jobs.create(
        "job-1", source="p.csv", requests=requests(person, case, 2),
        chunk_size=10, submitted_by=None, at=T0,
    )  # fmt: skip
    rows = store.jobs.waiting("job-1", 0)
    first = build_report(person, rows[0].request.case, [pending(T0)], lookup_id="a" * 32,
                         reference="line 2")  # fmt: skip
    event = AuditEvent(event="inquiry.sent", actor="李承办", case_number=case.number)
    looked = [(rows[0].id, first, [clock("a" * 32, case)], [event])]
    assert store.jobs.record(looked, at=T0) == 1
    # The same unit run again after a crash: the row keeps its report, nothing doubles.
    again = build_report(person, rows[0].request.case, [pending(T0)], lookup_id="b" * 32)
    assert store.jobs.record([(rows[0].id, again, [clock("b" * 32, case)], [event])], at=T0) == 0
    assert len(store.clocks.find()) == 1
    assert len(list(store.audit.entries())) == 1
    assert [row.id for row in store.jobs.waiting("job-1", 0)] == [rows[1].id]
    progress = store.jobs.progress("job-1")
    assert (progress.looked_up, progress.pending, progress.settled) == (1, 1, False)
    (line,) = store.jobs.results("job-1")
    assert '"lookup_id":"' + "a" * 32 in line


def test_a_cancelled_job_says_so_and_refused_parties_keep_their_reason(
    store: Store, person: Party, case: Case
) -> None:
    store.jobs.create(
        "job-1", source="p.csv", requests=requests(person, case, 2),
        chunk_size=10, submitted_by=None, at=T0,
    )  # fmt: skip
    row = store.jobs.waiting("job-1", 0)[0]
    event = AuditEvent(event="inquiry.refused", actor="李承办", case_number=case.number)
    store.jobs.refuse(row.id, "the case is closed", event, at=T0)
    assert store.jobs.refusals("job-1") == [(2, "the case is closed")]
    assert store.jobs.progress("job-1").refused == 1
    assert store.jobs.cancel("job-1", at=T0).state == "cancelled"
    assert store.jobs.cancelled("job-1")
    assert store.jobs.find(unfinished=True) == []
    with pytest.raises(JobNotFound, match="jobs list"):
        store.jobs.get("job-nope")


def test_pending_answers_are_claimed_by_one_poller_until_the_lease_ends(
    store: Store, person: Party, case: Case
) -> None:
    report = build_report(person, case, [pending(T0, poll_in=60)], lookup_id="c" * 32)
    store.reports.keep(report, at=T0)
    assert store.reports.pending() == 1
    lease = timedelta(minutes=10)
    assert store.reports.claim_due(T0, limit=10, lease=lease) == []  # not due for a minute
    later = T0 + timedelta(minutes=2)
    (claimed,) = store.reports.claim_due(later, limit=10, lease=lease)
    assert store.reports.claim_due(later, limit=10, lease=lease) == []  # taken
    # The poller died: once the lease is over, the report is due again.
    assert store.reports.claim_due(later + lease, limit=10, lease=lease) == [claimed]


def test_a_collected_answer_replaces_the_report_and_stops_its_clock(
    store: Store, person: Party, case: Case
) -> None:
    report = build_report(person, case, [pending(T0)], lookup_id="d" * 32)
    store.record_lookup([clock("d" * 32, case)], [], at=T0)
    store.reports.keep(report, at=T0)
    (row,) = store.reports.load(store.reports.claim_due(T0 + timedelta(hours=2), limit=5,
                                                        lease=timedelta(minutes=10)))  # fmt: skip
    answered = pending(T0).model_copy(
        update={"status": ResultStatus.NOT_FOUND, "ticket": None, "poll_at": None,
                "finished_at": T0 + timedelta(hours=30)}
    )  # fmt: skip
    fresh = build_report(person, case, [answered], lookup_id="d" * 32)
    close = ClockClose("d" * 32, "bank-west", answered_at=T0 + timedelta(hours=30))
    store.reports.save([(row.id, fresh)], [close], [], at=T0 + timedelta(hours=30))
    stored = store.reports.get("d" * 32)
    assert stored is not None and stored.results[0].status is ResultStatus.NOT_FOUND
    assert store.reports.pending() == 0
    (stopped,) = store.clocks.find()
    assert stopped.outcome is ClockOutcome.BREACHED  # 30 h against a 24 h deadline


def test_an_answer_given_up_closes_its_clock_as_overdue(store: Store, case: Case) -> None:
    store.record_lookup([clock("e" * 32, case)], [], at=T0)
    closed = store.clocks.close(
        subject="inquiry", reference="e" * 32, institution="bank-west", operation="inquiry",
        answered_at=None,
    )  # fmt: skip
    assert closed is not None and closed.outcome is ClockOutcome.OVERDUE


def test_several_lookups_are_recorded_in_one_go_each_at_its_time(
    store: Store, person: Party, case: Case
) -> None:
    from assetquery.store import LookupRecord

    records = []
    for index in range(3):
        at = T0 + timedelta(minutes=index)
        lookup_id = f"{index:032d}"
        event = AuditEvent(event="inquiry.sent", actor="李承办", case_number=case.number)
        report = build_report(person, case, [pending(at)], lookup_id=lookup_id)
        records.append(LookupRecord([clock(lookup_id, case)], [event, event], at, report))
    store.record_lookups(records)
    assert len(store.clocks.find()) == 3
    entries = list(store.audit.entries())
    assert [e.at for e in entries] == [T0 + timedelta(minutes=i // 2) for i in range(6)]
    assert store.audit.verify().ok
    assert [r.lookup_id for r in store.cases.reports(case.number)] == [
        f"{i:032d}" for i in range(3)
    ]
    assert store.reports.pending() == 3  # kept for the worker: their answers are due
