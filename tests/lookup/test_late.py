"""Late answers, decided without a store: what is given up, what is kept, what is recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from assetquery import Case, ErrorInfo, InstitutionResult, Party, ResultStatus
from assetquery._lookup._late import OVERDUE, collected, give_up_overdue, still_waiting
from assetquery.store import ClockClose
from assetquery.testing import build_report

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
GRACE = timedelta(hours=24)


def waiting(institution: str = "bank-west") -> InstitutionResult:
    return InstitutionResult(
        institution=institution, name="西部银行", adapter="bank", status=ResultStatus.PENDING,
        ticket="TK-1", started_at=T0, finished_at=T0, poll_at=T0 + timedelta(hours=1),
        sla_due=T0 + timedelta(hours=24),
    )  # fmt: skip


def test_a_pending_answer_is_given_up_only_past_its_deadline_plus_the_grace(
    person: Party, case: Case
) -> None:
    report = build_report(person, case, [waiting()], lookup_id="l1")
    just_before = T0 + timedelta(hours=48) - timedelta(seconds=1)
    assert give_up_overdue(report, just_before, GRACE) is report

    given_up = give_up_overdue(report, T0 + timedelta(hours=48), GRACE)
    (result,) = given_up.results
    assert result.status is ResultStatus.TIMEOUT and result.poll_at is None
    assert result.error is not None and result.error.code == OVERDUE
    assert "24 h of grace" in result.error.message
    assert result.ticket == "TK-1"  # kept for the record
    closes, events = collected(report, given_up)
    assert closes == [ClockClose("l1", "bank-west", answered_at=None, failed=False)]
    assert events[0].detail["error"] == OVERDUE and events[0].detail["late"] is True


def test_an_answer_that_came_in_stops_its_clock_when_it_came(person: Party, case: Case) -> None:
    before = build_report(person, case, [waiting()], lookup_id="l2")
    came = T0 + timedelta(hours=20)
    answer = waiting().model_copy(
        update={"status": ResultStatus.NOT_FOUND, "ticket": None, "poll_at": None,
                "finished_at": came}
    )  # fmt: skip
    after = build_report(person, case, [answer], lookup_id="l2")
    closes, events = collected(before, after)
    assert closes == [ClockClose("l2", "bank-west", answered_at=came)]
    assert events[0].party == person.masked and person.name not in str(events[0])
    assert collected(after, after) == ([], [])  # nothing was waiting: nothing to record


def test_a_poll_that_failed_for_a_passing_reason_keeps_the_ticket(
    person: Party, case: Case
) -> None:
    before = build_report(person, case, [waiting()], lookup_id="l3")
    busy = waiting().model_copy(
        update={"status": ResultStatus.FAILED, "error": ErrorInfo(code="busy", message="503",
                                                                  retryable=True)}
    )  # fmt: skip
    now = T0 + timedelta(hours=2)
    kept = still_waiting(before, build_report(person, case, [busy], lookup_id="l3"), now,
                         timedelta(minutes=5))  # fmt: skip
    (result,) = kept.results
    assert result.status is ResultStatus.PENDING and result.ticket == "TK-1"
    assert result.poll_at == now + timedelta(minutes=5)

    refused = busy.model_copy(
        update={"status": ResultStatus.REJECTED, "error": ErrorInfo(code="denied", message="no",
                                                                    retryable=False)}
    )  # fmt: skip
    final = build_report(person, case, [refused], lookup_id="l3")
    assert still_waiting(before, final, now, timedelta(minutes=5)) is final
