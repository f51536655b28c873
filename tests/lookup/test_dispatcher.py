"""The dispatcher against mocked institutions (respx): fan-out, failures, retries, deadlines.

Tests that wait run on looptime's virtual clock: backoffs, Retry-After and deadlines pass
instantly while the code under test sees the time go by.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx

from assetquery import (
    AdapterError,
    AssetKind,
    Case,
    Dispatcher,
    InstitutionResult,
    LookupReport,
    LookupRequest,
    Party,
    RefusedRequest,
    ResultStatus,
)
from assetquery._lookup._resilience import Gate
from assetquery.adapters import Adapter, ControlRequest, InquiryAnswer, InquiryRequest, Operation

from .. import samples
from ..samples import BANK_PATH, FUND_PATH, REGISTRY_PATH, TICKET_PATH


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    # Mocked at httpx's level: whatever transport an institution uses underneath.
    with respx.mock(assert_all_called=False, using="httpx") as mock:
        yield mock


def answer_all(router: respx.MockRouter, person: Party) -> None:
    router.post(REGISTRY_PATH).respond(
        200,
        content=samples.registry_xml(person.id_number),
        headers={"content-type": "application/xml"},
    )
    router.post(FUND_PATH).respond(200, json=samples.fund_json(person.id_number))
    router.post(BANK_PATH).respond(200, json=samples.bank_json())
    router.post(TICKET_PATH).respond(200, json=samples.bank_json(accounts=2))


async def test_every_institution_answers_into_one_report(
    router: respx.MockRouter, person: Party, case: Case
) -> None:
    answer_all(router, person)
    async with Dispatcher(samples.settings()) as dispatcher:
        report = await dispatcher.lookup(person, case, reference="row 7")

    assert [r.status for r in report.results] == [ResultStatus.OK] * 4
    assert report.complete and report.reference == "row 7"
    lookup_id = uuid.UUID(report.lookup_id)  # a version-4 UUID, written as 32 hex digits
    assert (lookup_id.version, lookup_id.variant) == (4, uuid.RFC_4122)
    assert lookup_id.hex == report.lookup_id
    assert {a.kind for a in report.assets} == {"bank_account", "housing_fund", "real_estate"}
    # both banks report an account ...0120; they are different institutions, so both stay
    assert report.totals["bank_account"].count == 3
    assert report.totals["bank_account"].available is not None
    assert report.totals["bank_account"].available.amount == Decimal("45000.00")
    assert report.totals["housing_fund"].available.amount == Decimal("44321.00")  # type: ignore[union-attr]
    assert report.coverage.available.amount == Decimal("89321.00")
    assert report.coverage.ratio == Decimal("0.5955")
    assert report.coverage.covered is False
    assert report.coverage.unvalued_assets == 1  # the flat: the registry reports no value


async def test_one_failure_never_fails_the_lookup(
    router: respx.MockRouter, person: Party, case: Case
) -> None:
    answer_all(router, person)
    router.post(FUND_PATH).respond(500)
    router.post(TICKET_PATH).mock(side_effect=httpx.ConnectError("refused"))

    async with Dispatcher(samples.settings(retry={"attempts": 1})) as dispatcher:
        report = await dispatcher.lookup(person, case)

    fund = report.result_for("fund")
    assert fund.status is ResultStatus.FAILED
    assert fund.error is not None and fund.error.code == "http_500"
    assert "HTTP 500" in fund.error.message and fund.error.retryable is False
    unreachable = report.result_for("ticket-bank")
    assert unreachable.status is ResultStatus.FAILED
    assert unreachable.error is not None and unreachable.error.code == "connection"
    assert report.result_for("registry").status is ResultStatus.OK
    assert not report.complete
    assert {a.kind for a in report.assets} == {"bank_account", "real_estate"}


@pytest.mark.looptime
async def test_503_then_success_is_retried(
    router: respx.MockRouter, person: Party, case: Case
) -> None:
    answer_all(router, person)
    route = router.post(BANK_PATH)
    route.side_effect = [httpx.Response(503), httpx.Response(200, json=samples.bank_json())]

    async with Dispatcher(samples.settings()) as dispatcher:
        report = await dispatcher.lookup(person, case)

    bank = report.result_for("bank")
    assert bank.status is ResultStatus.OK and bank.attempts == 2
    assert route.call_count == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_4xx_is_not_retried(
    router: respx.MockRouter, person: Party, case: Case, status: int
) -> None:
    answer_all(router, person)
    route = router.post(BANK_PATH).respond(status)

    async with Dispatcher(samples.settings()) as dispatcher:
        report = await dispatcher.lookup(person, case)

    bank = report.result_for("bank")
    assert bank.status is ResultStatus.REJECTED
    assert bank.attempts == 1 and route.call_count == 1
    assert bank.error is not None and bank.error.code == f"http_{status}"


@pytest.mark.looptime
async def test_retry_after_is_honoured(router: respx.MockRouter, person: Party, case: Case) -> None:
    answer_all(router, person)
    seen: list[float] = []

    def throttled_once(request: httpx.Request) -> httpx.Response:
        seen.append(asyncio.get_running_loop().time())
        if len(seen) == 1:
            return httpx.Response(429, headers={"retry-after": "7"})
        return httpx.Response(200, json=samples.bank_json())

    router.post(BANK_PATH).mock(side_effect=throttled_once)
    async with Dispatcher(samples.settings()) as dispatcher:
        report = await dispatcher.lookup(person, case)

    assert report.result_for("bank").status is ResultStatus.OK
    assert seen[1] - seen[0] == pytest.approx(7, abs=0.01)


@pytest.mark.looptime
async def test_retries_stop_after_the_configured_attempts(
    router: respx.MockRouter, person: Party, case: Case
) -> None:
    answer_all(router, person)
    route = router.post(BANK_PATH).respond(503)

    async with Dispatcher(samples.settings(retry={"attempts": 4})) as dispatcher:
        report = await dispatcher.lookup(person, case)

    bank = report.result_for("bank")
    assert bank.status is ResultStatus.FAILED and bank.attempts == 4
    assert route.call_count == 4
    assert bank.error is not None and bank.error.retryable and bank.error.code == "http_503"


@pytest.mark.looptime
async def test_a_silent_institution_times_out_per_request_and_is_retried(
    router: respx.MockRouter, person: Party, case: Case
) -> None:
    answer_all(router, person)

    asked = 0

    async def never(request: httpx.Request) -> httpx.Response:
        nonlocal asked
        asked += 1
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    router.post(BANK_PATH).mock(side_effect=never)
    async with Dispatcher(samples.settings(timeout=5, retry={"attempts": 2})) as dispatcher:
        report = await dispatcher.lookup(person, case)

    bank = report.result_for("bank")
    assert bank.status is ResultStatus.TIMEOUT
    assert bank.error is not None and bank.error.code == "timeout"
    assert "did not answer within 5 s" in bank.error.message
    assert asked == 2


@pytest.mark.looptime
async def test_the_lookup_deadline_bounds_everything(
    router: respx.MockRouter, person: Party, case: Case
) -> None:
    answer_all(router, person)
    router.post(BANK_PATH).respond(503, headers={"retry-after": "3600"})

    loop = asyncio.get_running_loop()
    async with Dispatcher(samples.settings(deadline=30)) as dispatcher:
        start = loop.time()
        report = await dispatcher.lookup(person, case)
        took = loop.time() - start

    assert took == pytest.approx(30, abs=0.1)
    bank = report.result_for("bank")
    assert bank.status is ResultStatus.TIMEOUT
    assert bank.error is not None and bank.error.code == "deadline"
    assert "within the lookup deadline (30 s); last error:" in bank.error.message
    assert "HTTP 503" in bank.error.message
    assert report.result_for("registry").status is ResultStatus.OK


ALL_PATHS = {
    "registry": REGISTRY_PATH,
    "fund": FUND_PATH,
    "bank": BANK_PATH,
    "ticket-bank": TICKET_PATH,
}


def one_lookup(dispatcher: Dispatcher, person: Party, case: Case, how: str) -> Any:
    """A lookup awaited directly, or as lookup_many runs it (asking one institution in the
    lookup's own task)."""
    if how == "lookup":
        return dispatcher.lookup(person, case)
    return anext(dispatcher.lookup_many([(person, case)]))


async def never_answers(request: httpx.Request) -> httpx.Response:
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


@pytest.mark.looptime
@pytest.mark.parametrize(
    ("silent", "how"),
    [
        ("bank", "lookup"),
        # In a batch the last institution is asked in the lookup's own task, the others in
        # tasks of theirs: the deadline must end that one as it ends the others.
        ("ticket-bank", "lookup_many"),
    ],
)
async def test_a_deadline_shorter_than_the_timeout_ends_the_first_attempt(
    router: respx.MockRouter, person: Party, case: Case, silent: str, how: str
) -> None:
    # The first attempt runs under one timer, the sooner of the two: here the lookup's.
    answer_all(router, person)
    router.post(ALL_PATHS[silent]).mock(side_effect=never_answers)
    loop = asyncio.get_running_loop()
    async with Dispatcher(samples.settings(deadline=8, timeout=20)) as dispatcher:
        start = loop.time()
        report = await one_lookup(dispatcher, person, case, how)
        took = loop.time() - start

    assert took == pytest.approx(8, abs=0.1)
    assert [r.institution for r in report.results] == ["registry", "fund", "bank", "ticket-bank"]
    late = report.result_for(silent)
    assert late.status is ResultStatus.TIMEOUT and late.attempts == 1
    assert late.error is not None and late.error.code == "deadline"
    assert all(r.status is ResultStatus.OK for r in report.results if r is not late)


@pytest.mark.looptime
async def test_the_deadline_also_bounds_the_wait_for_a_free_slot(
    router: respx.MockRouter, person: Party, case: Case
) -> None:
    answer_all(router, person)

    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(9)
        return httpx.Response(200, json=samples.bank_json())

    router.post(BANK_PATH).mock(side_effect=slow)
    loop = asyncio.get_running_loop()
    async with Dispatcher(samples.settings(deadline=10, concurrency=1)) as dispatcher:
        start = loop.time()
        first, second = await asyncio.gather(
            dispatcher.lookup(person, case), dispatcher.lookup(person, case)
        )
        took = loop.time() - start

    # The second waited at the gate for 9 s, then got 1 s of its 10 s for a 9 s answer.
    assert took == pytest.approx(10, abs=0.1)
    assert first.result_for("bank").status is ResultStatus.OK
    late = second.result_for("bank")
    assert late.status is ResultStatus.TIMEOUT
    assert late.error is not None and late.error.code == "deadline"


@pytest.mark.looptime
async def test_a_lookup_waiting_for_a_slot_gives_up_at_its_deadline(
    router: respx.MockRouter, person: Party, case: Case
) -> None:
    # A control action (no lookup deadline) holds the bank's only slot for 25 s.
    answer_all(router, person)
    inquiries = router.post(BANK_PATH)

    async def held(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(25)
        return httpx.Response(503)

    router.post(url__startswith=samples.BANK).mock(side_effect=held)
    freeze = ControlRequest(
        Operation.FREEZE, "key-1", person, case, AssetKind.BANK_ACCOUNT, "6222020200112233445"
    )
    loop = asyncio.get_running_loop()
    async with Dispatcher(samples.settings(deadline=10, concurrency=1, timeout=30)) as dispatcher:
        control = asyncio.create_task(dispatcher.submit_control("bank", freeze))
        await asyncio.sleep(0.1)
        start = loop.time()
        report = await dispatcher.lookup(person, case)
        took = loop.time() - start
        with pytest.raises(AdapterError):
            await control

    assert took == pytest.approx(10, abs=0.1)
    bank = report.result_for("bank")
    assert bank.status is ResultStatus.TIMEOUT and bank.attempts == 1
    assert bank.error is not None and bank.error.code == "deadline"
    assert inquiries.call_count == 0  # it never got past the gate


@pytest.mark.looptime
async def test_ticket_is_polled_until_the_answer_is_ready(
    router: respx.MockRouter, person: Party, case: Case
) -> None:
    answer_all(router, person)
    router.post(TICKET_PATH).respond(
        202, json={"state": "ACCEPTED", "ticket": "TK-1", "pollAfterSeconds": 2}
    )
    poll = router.get(f"{TICKET_PATH}/TK-1")
    poll.side_effect = [
        httpx.Response(200, json={"state": "PROCESSING", "pollAfterSeconds": 3}),
        httpx.Response(200, json=samples.bank_json(accounts=2)),
    ]
    loop = asyncio.get_running_loop()
    async with Dispatcher(samples.settings()) as dispatcher:
        start = loop.time()
        report = await dispatcher.lookup(person, case)
        took = loop.time() - start

    result = report.result_for("ticket-bank")
    assert result.status is ResultStatus.OK and len(result.assets) == 2
    assert result.attempts == 3  # the inquiry and two polls
    assert took == pytest.approx(5, abs=0.1)  # waited as the bank asked: 2 s, then 3 s
    assert result.assets[0].provenance.reference == "TK-1"


@pytest.mark.looptime
async def test_a_ticket_still_open_at_the_deadline_is_kept_and_can_be_refreshed(
    router: respx.MockRouter, person: Party, case: Case
) -> None:
    answer_all(router, person)
    router.post(TICKET_PATH).respond(
        202, json={"state": "ACCEPTED", "ticket": "TK-9", "pollAfterSeconds": 5}
    )
    poll = router.get(f"{TICKET_PATH}/TK-9").respond(
        200, json={"state": "PROCESSING", "pollAfterSeconds": 5}
    )

    async with Dispatcher(samples.settings(deadline=12)) as dispatcher:
        report = await dispatcher.lookup(person, case)
        pending = report.result_for("ticket-bank")
        assert pending.status is ResultStatus.PENDING and pending.ticket == "TK-9"
        assert pending.error is None
        assert not report.complete

        poll.respond(200, json=samples.bank_json())
        refreshed = await dispatcher.refresh(report)

    result = refreshed.result_for("ticket-bank")
    assert result.status is ResultStatus.OK and result.ticket is None
    assert refreshed.complete and refreshed.lookup_id == report.lookup_id
    assert refreshed.result_for("bank") == report.result_for("bank")


@pytest.mark.looptime
async def test_a_ticket_whose_next_poll_is_past_the_deadline_comes_back_at_once(
    router: respx.MockRouter, person: Party, case: Case
) -> None:
    # A bank that feeds back in hours: waiting out the lookup's deadline would only hold
    # the party's place in a batch's window for nothing.
    answer_all(router, person)
    router.post(TICKET_PATH).respond(
        202, json={"state": "ACCEPTED", "ticket": "TK-7", "pollAfterSeconds": 3600}
    )
    poll = router.get(f"{TICKET_PATH}/TK-7").respond(200, json=samples.bank_json())
    loop = asyncio.get_running_loop()
    async with Dispatcher(samples.settings(deadline=60)) as dispatcher:
        start = loop.time()
        report = await dispatcher.lookup(person, case)
        took = loop.time() - start

    pending = report.result_for("ticket-bank")
    assert pending.status is ResultStatus.PENDING and pending.ticket == "TK-7"
    assert pending.attempts == 1 and not poll.called
    assert took < 1


@pytest.mark.looptime
async def test_a_pending_result_says_when_the_institution_asked_to_be_asked_again(
    router: respx.MockRouter, person: Party, case: Case
) -> None:
    answer_all(router, person)
    router.post(TICKET_PATH).respond(
        202, json={"state": "ACCEPTED", "ticket": "TK-7", "pollAfterSeconds": 3600}
    )
    async with Dispatcher(samples.settings(deadline=60)) as dispatcher:
        report = await dispatcher.lookup(person, case)
    result = report.result_for("ticket-bank")
    assert result.finished_at is not None and result.poll_at is not None
    assert result.poll_at - result.finished_at == timedelta(seconds=3600)
    assert all(r.poll_at is None for r in report.results if r.status is not ResultStatus.PENDING)


@pytest.mark.looptime
async def test_concurrency_limit_is_held_per_institution(
    router: respx.MockRouter, person: Party, case: Case
) -> None:
    answer_all(router, person)
    in_flight = 0
    peak = 0

    async def slow_bank(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(1)
        in_flight -= 1
        return httpx.Response(200, json=samples.bank_json())

    router.post(BANK_PATH).mock(side_effect=slow_bank)
    parties = [LookupRequest(person, case, reference=str(n)) for n in range(12)]
    async with Dispatcher(samples.settings(concurrency=3)) as dispatcher:
        reports = [r async for r in dispatcher.lookup_many(parties, window=12)]

    assert peak == 3
    assert sorted(int(r.reference or 0) for r in reports) == list(range(12))
    assert all(r.result_for("bank").status is ResultStatus.OK for r in reports)


@pytest.mark.looptime
async def test_rate_limit_spaces_requests_without_a_burst(
    router: respx.MockRouter, person: Party, case: Case
) -> None:
    answer_all(router, person)
    times: list[float] = []

    def stamp(request: httpx.Request) -> httpx.Response:
        times.append(asyncio.get_running_loop().time())
        return httpx.Response(200, json=samples.bank_json())

    router.post(BANK_PATH).mock(side_effect=stamp)
    async with Dispatcher(samples.settings(rate_limit=2)) as dispatcher:
        async for _ in dispatcher.lookup_many([(person, case)] * 5):
            pass

    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(times) == 5
    assert all(gap == pytest.approx(0.5, abs=0.01) for gap in gaps)


async def test_lookup_many_consumes_its_input_lazily(
    router: respx.MockRouter, person: Party, case: Case
) -> None:
    answer_all(router, person)
    pulled = 0

    def items() -> Iterator[tuple[Party, Case]]:
        nonlocal pulled
        for _ in range(50):
            pulled += 1
            yield person, case

    async with Dispatcher(samples.settings()) as dispatcher:
        stream = dispatcher.lookup_many(items(), window=4)
        first = await anext(stream)
        assert first.complete
        assert pulled <= 5  # the window, plus at most the one that replaced the first
        rest = [r async for r in stream]
    assert len(rest) == 49


async def test_housing_fund_is_not_asked_about_an_organization(
    router: respx.MockRouter, organization: Party, case: Case
) -> None:
    answer_all(router, organization)
    fund = router.post(FUND_PATH)

    async with Dispatcher(samples.settings()) as dispatcher:
        report = await dispatcher.lookup(organization, case)

    result = report.result_for("fund")
    assert result.status is ResultStatus.SKIPPED and fund.call_count == 0
    assert result.error is not None and result.error.code == "not_applicable"
    assert report.complete  # nothing to wait for: the fund centre cannot hold such assets


async def test_results_keep_the_institutions_order_around_one_not_asked(
    router: respx.MockRouter, organization: Party, case: Case
) -> None:
    answer_all(router, organization)
    async with Dispatcher(samples.settings()) as dispatcher:
        report = await dispatcher.lookup(organization, case)

    assert [(r.institution, r.status) for r in report.results] == [
        ("registry", ResultStatus.OK),
        ("fund", ResultStatus.SKIPPED),
        ("bank", ResultStatus.OK),
        ("ticket-bank", ResultStatus.OK),
    ]


@pytest.mark.parametrize("how", ["lookup", "lookup_many"])
@pytest.mark.parametrize("answering", [None, "ticket-bank", "registry"])
async def test_a_cancelled_lookup_cancels_every_request_and_leaves_no_task(
    router: respx.MockRouter, person: Party, case: Case, how: str, answering: str | None
) -> None:
    # ``answering`` answers at once, so the cancellation finds the lookup waiting on
    # another institution's task (or, with lookup_many and not ticket-bank, in the ask run
    # in its own task). Each institution's cleanup takes a few turns of the loop: the
    # lookup must wait for them.
    hanging = {name for name in ALL_PATHS if name != answering}
    started: list[str] = []
    cancelled: list[str] = []
    all_waiting = asyncio.Event()

    def hang_up(name: str) -> Any:
        async def hang(request: httpx.Request) -> httpx.Response:
            started.append(name)
            if len(started) == len(hanging):
                all_waiting.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                for _ in range(3):
                    await asyncio.sleep(0)
                cancelled.append(name)
                raise
            raise AssertionError("unreachable")

        return hang

    answer_all(router, person)
    for name in hanging:
        router.post(ALL_PATHS[name]).mock(side_effect=hang_up(name))

    async with Dispatcher(samples.settings()) as dispatcher:
        lookup = asyncio.ensure_future(one_lookup(dispatcher, person, case, how))
        await all_waiting.wait()
        lookup.cancel()
        with pytest.raises(asyncio.CancelledError):
            await lookup

        assert sorted(cancelled) == sorted(started) == sorted(hanging)
        assert asyncio.all_tasks() == {asyncio.current_task()}  # none left running
        for route in dispatcher._routes:  # noqa: SLF001 - every slot given back
            assert free_slots(route.gate) == route.settings.concurrency, route.settings.id


@pytest.mark.parametrize("how", ["lookup", "lookup_many"])
@pytest.mark.parametrize("swallowing", ["ticket-bank", "registry"])
async def test_a_cancellation_an_institution_swallows_still_cancels_the_lookup(
    router: respx.MockRouter, person: Party, case: Case, how: str, swallowing: str
) -> None:
    # A transport (or adapter) that catches CancelledError and answers anyway is a bug; the
    # lookup must not carry on as if it had not been cancelled.
    answer_all(router, person)
    reached = asyncio.Event()

    async def swallow(request: httpx.Request) -> httpx.Response:
        reached.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.Event().wait()
        return httpx.Response(200, json=samples.bank_json())

    router.post(ALL_PATHS[swallowing]).mock(side_effect=swallow)
    async with Dispatcher(samples.settings()) as dispatcher:
        lookup = asyncio.ensure_future(one_lookup(dispatcher, person, case, how))
        await reached.wait()
        lookup.cancel()
        with pytest.raises(asyncio.CancelledError):
            await lookup
        assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_context_an_institution_sets_does_not_reach_the_caller(
    person: Party, case: Case
) -> None:
    marker: contextvars.ContextVar[str | None] = contextvars.ContextVar("marker", default=None)

    def answer(request: httpx.Request) -> httpx.Response:
        marker.set(f"set while asking {request.url.host}")  # and never reset
        return httpx.Response(503)

    settings = samples.settings(retry={"attempts": 1})
    transports = {i.id: httpx.MockTransport(answer) for i in settings.institutions}
    async with Dispatcher(settings, transports=transports) as dispatcher:
        await dispatcher.lookup(person, case)
        assert marker.get() is None
        async for _ in dispatcher.lookup_many([(person, case)] * 3):
            assert marker.get() is None


def free_slots(gate: Gate) -> int:
    taken = 0
    while gate.enter_now():
        taken += 1
    for _ in range(taken):
        gate.leave()
    return taken


async def test_an_adapter_bug_is_contained(
    router: respx.MockRouter, person: Party, case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Broken(Adapter):
        name = "broken"

        async def inquire(
            self, client: httpx.AsyncClient, request: InquiryRequest
        ) -> InquiryAnswer:
            raise KeyError("accounts")

    from assetquery._lookup import _dispatcher

    real = _dispatcher.load_adapter
    monkeypatch.setattr(
        _dispatcher, "load_adapter", lambda name: Broken if name == "bank" else real(name)
    )
    answer_all(router, person)
    async with Dispatcher(samples.settings()) as dispatcher:
        report = await dispatcher.lookup(person, case)

    bank = report.result_for("bank")
    assert bank.status is ResultStatus.FAILED and bank.attempts == 1
    assert bank.error is not None and bank.error.code == "adapter_error"
    assert "bug in the adapter" in bank.error.message
    assert report.result_for("registry").status is ResultStatus.OK


async def test_a_lookup_without_an_operator_is_refused_before_any_request(
    router: respx.MockRouter, person: Party
) -> None:
    unchecked = Case.model_construct(
        number="（2024）甘0191执1234号",
        operator="",
        court=None,
        claim=None,
        enforcement_document=None,
    )
    async with Dispatcher(samples.settings()) as dispatcher:
        with pytest.raises(RefusedRequest, match="names no operator"):
            await dispatcher.lookup(person, unchecked)
    assert not router.calls


async def test_a_closed_dispatcher_says_how_to_open_it(person: Party, case: Case) -> None:
    dispatcher = Dispatcher(samples.settings())
    with pytest.raises(RuntimeError, match="async with"):
        await dispatcher.lookup(person, case)


async def test_results_made_without_revalidation_equal_validated_ones(
    router: respx.MockRouter, person: Party, case: Case
) -> None:
    answer_all(router, person)
    async with Dispatcher(samples.settings()) as dispatcher:
        report = await dispatcher.lookup(person, case)
    for result in report.results:
        assert InstitutionResult.model_validate(result.model_dump()) == result
    assert any(result.assets for result in report.results)
    validated = LookupReport.model_validate(report.model_dump())
    assert validated == report
    assert repr(validated) == repr(report)
    assert validated.model_fields_set == report.model_fields_set
    assert report.totals and report.coverage.ratio is not None


async def test_the_clock_is_kept_to_aware_time_in_utc(
    router: respx.MockRouter, person: Party, case: Case
) -> None:
    answer_all(router, person)
    beijing = timezone(timedelta(hours=8))
    at = datetime(2026, 11, 26, 18, 30, tzinfo=beijing)
    async with Dispatcher(samples.settings(), clock=lambda: at) as dispatcher:
        report = await dispatcher.lookup(person, case)
    assert {r.started_at for r in report.results} == {at}
    assert all(r.started_at.tzinfo is UTC for r in report.results)

    naive = datetime(2026, 11, 26, 18, 30)  # the mistake under test: no time zone
    async with Dispatcher(samples.settings(), clock=lambda: naive) as dispatcher:
        with pytest.raises(ValueError, match="clock must return timezone-aware"):
            await dispatcher.lookup(person, case)
