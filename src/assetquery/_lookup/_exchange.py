"""One institution's part of a lookup: its route, and how each exchange with it runs.

An *exchange* is one institution asked about one party: the inquiry, the polls while the
answer is pending, the retries after a failure that may pass, each attempt through the
institution's gate and under one timer. Whatever happens ends as that institution's
``InstitutionResult``, so one institution can never fail a lookup.
``Exchanges`` holds what every exchange shares (the clock, the SLA policy, the timers);
the dispatcher holds the routes and fans out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar, cast

import httpx

from .._config import InstitutionSettings
from .._errors import (
    AdapterError,
    InstitutionFailure,
    InstitutionTimeout,
    InstitutionUnreachable,
    RetryableAdapterError,
)
from .._identifiers import safe_code, scrub
from .._internals import assembled
from .._logging import get_logger
from .._models import NOT_APPLICABLE, AssetRecord, ErrorInfo, InstitutionResult, Party, ResultStatus
from .._time import utc_now
from ..adapters import Adapter, InquiryRequest
from ..rules import SlaPolicy, SlaRule
from ._records import answered
from ._resilience import CircuitBreaker, Gate, Trace, retrying_for
from ._timeouts import Timeouts

if TYPE_CHECKING:
    from tenacity import AsyncRetrying

__all__ = ["Exchange", "Exchanges", "Route", "aware_clock", "together"]

log = get_logger("assetquery.dispatcher")

T = TypeVar("T")

_UNKNOWN = object()  # not looked up yet (None: there is no rule)


class Route:
    """Everything the dispatcher holds for one institution."""

    __slots__ = ("adapter", "breaker", "client", "gate", "inquiry_rule", "retrying", "settings")

    def __init__(self, settings: InstitutionSettings, adapter: Adapter, timeouts: Timeouts) -> None:
        self.settings = settings
        self.adapter = adapter
        self.gate = Gate(settings, timeouts)
        self.breaker = CircuitBreaker(settings.breaker)
        self.retrying: AsyncRetrying = retrying_for(settings.retry)
        self.client: httpx.AsyncClient | None = None
        #: the institution's inquiry deadline rule, looked up at its first result
        self.inquiry_rule: SlaRule | object | None = _UNKNOWN


class Exchange(Trace):
    """One institution's part of one lookup: its route, when it began, and its attempts.

    One object per institution asked, rather than a closure over the same values: a lookup
    creates these by the thousand, and each closure cell is another object to collect.
    """

    __slots__ = ("loop", "route", "started", "started_at")

    def __init__(self, route: Route, started_at: datetime) -> None:
        super().__init__()
        self.route = route
        self.started_at = started_at
        self.loop = asyncio.get_running_loop()
        self.started = self.loop.time()


class Exchanges:
    """How every exchange runs: gated, timed, retried and polled, and what its result says.

    ``lookup_deadline`` (seconds) is only for saying, in a timeout's message, how long the
    institution was given; each call passes its own deadline on the loop's clock.
    """

    __slots__ = ("_clock", "_timeouts", "lookup_deadline", "sla")

    def __init__(
        self,
        *,
        clock: Callable[[], datetime],
        sla: SlaPolicy,
        timeouts: Timeouts,
        lookup_deadline: float,
    ) -> None:
        self._clock = clock
        self.sla = sla
        self._timeouts = timeouts
        self.lookup_deadline = lookup_deadline

    def not_applicable(self, exchange: Exchange, party: Party) -> InstitutionResult | None:
        """The result of an institution that holds nothing of such a party (a fund centre
        and a company), made without a request or a coroutine; None if it may hold some."""
        route = exchange.route
        if route.adapter.serves(party):
            return None
        return self.result(
            exchange,
            ResultStatus.SKIPPED,
            error=ErrorInfo(
                code=NOT_APPLICABLE,
                message=f"{route.settings.name} holds no assets of a {party.kind.value}",
                retryable=False,
            ),
        )

    async def ask(
        self,
        exchange: Exchange,
        request: InquiryRequest,
        deadline: float,
        ticket: str | None = None,
    ) -> InstitutionResult:
        """Ask one institution, unless its circuit is open, and tell its circuit breaker."""
        breaker = exchange.route.breaker
        probing = breaker.probing
        if not breaker.allow(exchange.started):
            settings = exchange.route.settings
            return self.result(
                exchange,
                ResultStatus.SKIPPED,
                error=ErrorInfo(
                    code="circuit_open",
                    message=f"{settings.name} failed {breaker.failures} times in a row; "
                    f"not asked again for {breaker.retry_in(exchange.started):.0f} s",
                    retryable=True,
                ),
            )
        trial = breaker.probing and not probing
        try:
            answered = await self._answer(exchange, request, deadline, ticket)
        except BaseException:  # cancelled: no answer either way
            if trial:
                breaker.abandon_trial()
            raise
        # Only failures that say the institution is down or overloaded open the circuit.
        down = answered.status is ResultStatus.TIMEOUT or (
            answered.status is ResultStatus.FAILED
            and answered.error is not None
            and answered.error.retryable
        )
        breaker.record(ok=not down, now=exchange.loop.time())
        return answered

    def result(
        self,
        exchange: Exchange,
        status: ResultStatus,
        *,
        assets: tuple[AssetRecord, ...] = (),
        error: ErrorInfo | None = None,
        ticket: str | None = None,
        poll_after: float | None = None,
    ) -> InstitutionResult:
        """The institution's result: what it answered, when, and against which deadline.

        A pending result says when to ask again: ``poll_after`` seconds from now as the
        institution asked, else after the institution's poll interval."""
        route = exchange.route
        settings = route.settings
        started_at = exchange.started_at
        finished_at = self._clock()
        rule = route.inquiry_rule
        if rule is _UNKNOWN:
            rule = route.inquiry_rule = self.sla.rule(settings, "inquiry")
        due_at = None
        if isinstance(rule, SlaRule):
            due_at = self.sla.deadline(rule, started_at).due_at
        fields: dict[str, Any] = {
            "institution": settings.id,
            "name": settings.name,
            "adapter": route.adapter.name,
            "status": status,
            "assets": assets,
            "error": error,
            "attempts": exchange.attempts,
            "latency_seconds": round(exchange.loop.time() - exchange.started, 6),
            "started_at": started_at,
            "finished_at": finished_at,
            "ticket": ticket,
            "poll_at": (
                finished_at
                + timedelta(seconds=settings.poll_interval if poll_after is None else poll_after)
                if status is ResultStatus.PENDING
                else None
            ),
            "sla_due": due_at,
            "sla_met": finished_at <= due_at if due_at is not None and answered(status) else None,
        }
        if type(assets) is tuple and _made_here(assets) and (ticket is None or type(ticket) is str):
            # Every value was made here, or validated as it was made (the clock's times are
            # checked by _aware_clock): validating them all again costs each result.
            return assembled(InstitutionResult, fields)
        return InstitutionResult.model_validate(fields)  # what an adapter handed over: checked

    async def _answer(
        self,
        exchange: Exchange,
        request: InquiryRequest,
        deadline: float,
        ticket: str | None,
    ) -> InstitutionResult:
        """The exchange itself: inquire, poll while pending, classify every failure.

        The first answer runs under one timer, the sooner of the attempt's timeout and the
        lookup's deadline (most lookups end there); retries and polling, which wait between
        requests, run under the lookup's deadline as a whole.
        """
        route = exchange.route
        settings = route.settings
        adapter = route.adapter
        client = route.client
        assert client is not None
        # Runs inside lookup's or refresh's idempotent(): inquiries and polls may be sent
        # twice, as a stale pooled connection is retried at once.
        try:
            if ticket is None:
                inquire = partial(adapter.inquire, client, request)
                answer = await self.call(route, exchange, inquire, deadline)
            else:
                # A ticket kept from earlier: its caller waited already, so ask at once.
                poll = partial(adapter.poll, client, ticket, request)
                answer = await self.call(route, exchange, poll, deadline)
            if answer.status is ResultStatus.PENDING:
                async with asyncio.timeout_at(deadline):
                    while answer.status is ResultStatus.PENDING:
                        ticket = answer.ticket
                        assert ticket is not None
                        wait = answer.poll_after
                        wait = settings.poll_interval if wait is None else wait
                        if exchange.loop.time() + wait >= deadline:
                            # The next poll would come too late: the ticket goes back now
                            # (refresh() picks it up), not after holding the party's place
                            # in the batch's window until the deadline.
                            return self.result(
                                exchange, ResultStatus.PENDING, ticket=ticket, poll_after=wait
                            )
                        await asyncio.sleep(wait)
                        answer = await self.call(
                            route,
                            exchange,
                            partial(adapter.poll, client, ticket, request),
                            deadline,
                        )
        except TimeoutError:
            if ticket is not None:
                return self.result(exchange, ResultStatus.PENDING, ticket=ticket)
            seconds = self.lookup_deadline
            last = exchange.last_error
            said = f"; last error: {last.message}" if last else ""
            return self.result(
                exchange,
                ResultStatus.TIMEOUT,
                error=ErrorInfo(
                    code="deadline",
                    message=f"{settings.name} gave no answer within the lookup deadline "
                    f"({seconds:g} s){said}",
                    retryable=True,
                ),
            )
        except AdapterError as error:
            if log.isEnabledFor(logging.DEBUG):
                log.debug(
                    "institution failed",
                    institution=settings.id,
                    code=error.code,
                    attempts=exchange.attempts,
                )
            return self.result(
                exchange,
                ResultStatus(error.status),
                # Whatever an adapter let through, no ID, account or the party's name goes on.
                error=ErrorInfo(
                    code=safe_code(error.code, "error"),
                    message=scrub(error.message, hide=(request.party.name,), limit=300),
                    retryable=error.retryable,
                ),
                ticket=ticket,
            )
        return self.result(exchange, answer.status, assets=answer.assets)

    async def call(
        self,
        route: Route,
        trace: Trace,
        call: Callable[[], Awaitable[T]],
        deadline: float | None = None,
        *,
        retry: bool = True,
    ) -> T:
        """One adapter call: an attempt, gated and timed, and the route's retries after it.

        Most calls succeed at once, so the first attempt runs outside tenacity; only a
        retryable failure hands over to the retry policy, which counts that failure as its
        first attempt and makes each later one here with ``retry`` False. A lookup's
        ``deadline`` passing raises TimeoutError.
        """
        trace.attempts += 1
        settings = route.settings
        gate = route.gate
        if not gate.enter_now():
            await gate.enter(deadline)
        ends = asyncio.get_running_loop().time() + settings.timeout
        deadline_first = deadline is not None and deadline <= ends
        timer = self._timeouts.at(deadline if deadline_first else ends)
        failure: AdapterError
        try:
            with timer:
                return await call()
        except AdapterError as error:
            failure = error
        except (TimeoutError, httpx.TimeoutException):
            if deadline_first and timer.expired:
                raise TimeoutError from None  # the lookup's deadline, not this attempt's
            failure = InstitutionTimeout(
                f"{settings.name} did not answer within {settings.timeout:g} s", code="timeout"
            )
        except httpx.TransportError as exc:
            # An adapter that sends without ``Adapter.send`` lets these through.
            failure = InstitutionUnreachable(
                f"{settings.name} could not be reached ({type(exc).__name__})", code="connection"
            )
        except Exception as exc:
            log.warning(
                "adapter raised an unexpected exception",
                institution=settings.id,
                adapter=route.adapter.name,
                exception=type(exc).__name__,
            )
            failure = InstitutionFailure(
                f"the {route.adapter.name} adapter failed on {settings.name}'s answer "
                f"({type(exc).__name__}); this is a bug in the adapter",
                code="adapter_error",
            )
        finally:
            gate.leave()
        trace.last_error = failure
        if retry and isinstance(failure, RetryableAdapterError):
            return await self._retry(route, trace, call, deadline, failure)
        raise failure

    async def _retry(
        self,
        route: Route,
        trace: Trace,
        call: Callable[[], Awaitable[T]],
        deadline: float | None,
        failure: RetryableAdapterError,
    ) -> T:
        """The retries after a first failure, as the route's policy decides them.

        Apart from ``_call`` because of its closure: the variables a nested function
        uses are cells from the start of every call of the function that holds it.
        """
        first: RetryableAdapterError | None = failure

        async def again() -> T:
            nonlocal first
            if first is not None:
                failed, first = first, None
                raise failed
            return await self.call(route, trace, call, deadline, retry=False)

        async with asyncio.timeout_at(deadline):  # the waits between attempts count too
            answer: T = await route.retrying.copy()(again)
        return answer


def _made_here(assets: tuple[Any, ...]) -> bool:
    """Every one an AssetRecord as such (a loop: a generator costs each result one more)."""
    for asset in assets:  # noqa: SIM110
        if type(asset) is not AssetRecord:
            return False
    return True


def aware_clock(clock: Callable[[], datetime]) -> Callable[[], datetime]:
    """``clock``, checked to tell timezone-aware time, in UTC (as results store it)."""
    if clock is utc_now:
        return clock

    def checked() -> datetime:
        moment = clock()
        if moment.utcoffset() is None:
            raise ValueError("the Dispatcher's clock must return timezone-aware datetimes")
        return moment.astimezone(UTC)

    return checked


async def together(
    asks: Sequence[tuple[int, Coroutine[Any, Any, InstitutionResult]]],
    results: list[InstitutionResult | None],
    *,
    here: bool,
) -> list[InstitutionResult]:
    """Await every ask at once, each result into its empty place in ``results``; return
    ``results``, now full. Cancellation behaves as with ``asyncio.gather``: it reaches
    every ask and waits for each, and it is not lost if an ask swallows it.

    Each ask runs in a task of its own, except with ``here`` the last, which runs in the
    calling task: one task fewer per lookup. Only for a task the dispatcher made for the
    lookup, as context variables an ask sets then stay in that task (not the caller's).
    """
    task = asyncio.current_task()
    cancels = task.cancelling() if task is not None else 0
    last = asks[-1] if here and asks else None
    started = [(place, asyncio.ensure_future(ask)) for place, ask in (asks[:-1] if here else asks)]
    try:
        if last is not None:
            results[last[0]] = await last[1]
        for place, running in started:
            results[place] = await running
    except BaseException:
        for _, running in started:
            running.cancel()
        await asyncio.gather(*(running for _, running in started), return_exceptions=True)
        raise
    if task is not None and task.cancelling() > cancels:
        # Cancelled while an ask that swallowed it (an adapter's bug) went on to answer.
        raise asyncio.CancelledError
    return cast("list[InstitutionResult]", results)  # every None was an ask's place
