"""The fan-out engine: one party, every institution at once, one report.

For each institution the dispatcher holds a route: the adapter, its own HTTP client and
pool, a gate (concurrency cap and rate limit) and a retry policy. A lookup asks every route
concurrently; each answer, failure or silence becomes that institution's result, so one
institution can never fail the lookup. Ticket-and-poll institutions are polled until the
lookup's deadline; a ticket still open then is kept in the result for :meth:`refresh`.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Mapping,
    Sequence,
)
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, NoReturn, Self, TypeVar, cast
from uuid import uuid4

import httpx

from .._config import (
    AccessSettings,
    InstitutionSettings,
    Settings,
    load_settings,
    settings_from_mapping,
)
from .._errors import (
    AdapterError,
    InstitutionFailure,
    InstitutionTimeout,
    InstitutionUnreachable,
    RefusedRequest,
    RetryableAdapterError,
)
from .._http._transport import build_client, idempotent
from .._identifiers import parse_case_number, safe_code, scrub
from .._internals import assembled
from .._logging import get_logger
from .._models import (
    NOT_APPLICABLE,
    AssetRecord,
    Case,
    ErrorInfo,
    InstitutionResult,
    LookupReport,
    Party,
    ResultStatus,
)
from .._time import utc_now
from ..adapters import (
    Adapter,
    ControlRequest,
    ControlStatus,
    InquiryAnswer,
    InquiryRequest,
    Institution,
    Operation,
    load_adapter,
)
from ..rules import SlaPolicy
from ..store import AuditEvent, ClockOutcome, NewClock
from ._report import build_report
from ._resilience import CircuitBreaker, Gate, Trace, retrying_for
from ._timeouts import Timeouts

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from tenacity import AsyncRetrying

    from ..sandbox import SandboxConfig
    from ..store import Store

__all__ = ["Dispatcher", "LookupRequest"]

log = get_logger("assetquery.dispatcher")

SANDBOX_BASE_URL = "http://sandbox.assetquery.invalid"

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class LookupRequest:
    """One item for :meth:`Dispatcher.lookup_many`; ``reference`` comes back on the report."""

    party: Party
    case: Case
    reference: str | None = None


class _Route:
    """Everything the dispatcher holds for one institution."""

    __slots__ = ("adapter", "breaker", "client", "gate", "retrying", "settings")

    def __init__(self, settings: InstitutionSettings, adapter: Adapter, timeouts: Timeouts) -> None:
        self.settings = settings
        self.adapter = adapter
        self.gate = Gate(settings, timeouts)
        self.breaker = CircuitBreaker(settings.breaker)
        self.retrying: AsyncRetrying = retrying_for(settings.retry)
        self.client: httpx.AsyncClient | None = None


class Dispatcher:
    """Looks parties up at every configured institution. Use as ``async with``.

    ``transports`` maps institution ids to an ``httpx`` transport that replaces the network
    for them (the in-process sandbox, a ``MockTransport`` in tests). ``clock`` tells the
    time for results and SLA clocks (simulations and tests pass their own); it must return
    timezone-aware datetimes, which results store in UTC.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
        sandbox: bool = False,
        clock: Callable[[], datetime] = utc_now,
        store: Store | None = None,
    ) -> None:
        self.settings = settings
        self._transports = dict(transports or {})
        self._sandbox = sandbox
        self._clock = _aware_clock(clock)
        #: where SLA clocks (and, with the ledger, control actions) are recorded, if anywhere
        self.store = store
        #: the deadlines institutions must meet
        self.sla = SlaPolicy.from_settings(settings)
        #: every request's timeout, and a waiting party's at a gate, on shared timers
        self._timeouts = Timeouts()
        self._routes = tuple(
            _Route(
                inst,
                load_adapter(inst.adapter)(Institution(inst.id, inst.name, inst.options)),
                self._timeouts,
            )
            for inst in settings.enabled_institutions
        )
        self._stack: AsyncExitStack | None = None

    # --- construction ----------------------------------------------------------------------

    @classmethod
    def from_config(
        cls, path: str | os.PathLike[str] | None = None, *, store: Store | None = None
    ) -> Dispatcher:
        """From an institutions TOML file; ``None`` reads ``ASSETQUERY_CONFIG``, else sandbox."""
        path = path or os.environ.get("ASSETQUERY_CONFIG") or None
        if path is None:
            return cls.sandbox(store=store)
        return cls(load_settings(Path(path)), store=store)

    @classmethod
    def sandbox(
        cls,
        config: SandboxConfig | None = None,
        *,
        app: Starlette | None = None,
        store: Store | None = None,
        clock: Callable[[], datetime] = utc_now,
        deadline: float | None = None,
    ) -> Dispatcher:
        """The embedded default: the simulated registries, in process, no network.

        Pass ``app`` (from :func:`assetquery.sandbox.create_app`) to keep a handle on the
        sandbox, e.g. to steer it through :func:`assetquery.sandbox.sandbox_admin`;
        ``deadline`` (seconds) replaces the lookup deadline, e.g. for simulated days.
        """
        from ..sandbox import create_app, institutions

        if app is not None and config is not None:
            raise ValueError("give the sandbox a config or an app, not both")
        transport = httpx.ASGITransport(app=app or create_app(config))
        data: dict[str, object] = {"institutions": institutions(SANDBOX_BASE_URL)}
        if deadline is not None:
            data["lookup"] = {"deadline": deadline}
        settings = settings_from_mapping(data, "sandbox configuration")
        return cls(
            settings,
            transports={inst.id: transport for inst in settings.institutions},
            sandbox=True,
            store=store,
            clock=clock,
        )

    @property
    def is_sandbox(self) -> bool:
        return self._sandbox

    @property
    def institutions(self) -> tuple[InstitutionSettings, ...]:
        """The institutions every lookup asks, in report order."""
        return tuple(route.settings for route in self._routes)

    def institution(self, institution_id: str) -> InstitutionSettings:
        for route in self._routes:
            if route.settings.id == institution_id:
                return route.settings
        raise KeyError(institution_id)

    def adapter(self, institution_id: str) -> Adapter:
        for route in self._routes:
            if route.settings.id == institution_id:
                return route.adapter
        raise KeyError(institution_id)

    # --- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._stack is not None:
            raise RuntimeError("this Dispatcher is already open")
        async with AsyncExitStack() as stack:
            for route in self._routes:
                # Each attempt runs under one timer of the dispatcher's (see _call).
                client = build_client(
                    route.settings, self._transports.get(route.settings.id), timed=False
                )
                route.client = await stack.enter_async_context(client)
            self._stack = stack.pop_all()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()
        for route in self._routes:
            route.client = None

    # --- lookups ---------------------------------------------------------------------------

    async def lookup(
        self, party: Party, case: Case, *, reference: str | None = None
    ) -> LookupReport:
        """Ask every institution about ``party`` under ``case``; never raises for them.

        Raises :class:`RefusedRequest` (recorded in the audit trail) when the case or the
        operator does not allow the inquiry.
        """
        return await self._lookup(party, case, reference, own_task=False)

    async def _lookup(
        self, party: Party, case: Case, reference: str | None, *, own_task: bool
    ) -> LookupReport:
        """:meth:`lookup`; ``own_task`` says it runs in a task of the dispatcher's own (one
        of :meth:`lookup_many`'s), where it may ask an institution itself."""
        reason = self._refusal(party, case)
        if reason is not None:
            await self._refuse(party, case, reason)
        if self._stack is None:
            raise RuntimeError("open the Dispatcher first: `async with Dispatcher...() as d:`")
        lookup_id = uuid4().hex
        started_at = self._clock()
        deadline = asyncio.get_running_loop().time() + self.settings.lookup.deadline
        # Loops, not comprehensions (closures would make this function's variables cells).
        # Which institutions cannot concern the party is decided before any is asked.
        exchanges = []
        results: list[InstitutionResult | None] = []
        for route in self._routes:
            exchange = _Exchange(route, self._clock())
            exchanges.append(exchange)
            results.append(self._not_applicable(exchange, party))
        asks = []  # (its place in results, the ask not yet awaited)
        for place, exchange in enumerate(exchanges):
            if results[place] is None:
                request = InquiryRequest(party, case, f"{lookup_id}-{exchange.route.settings.id}")
                asks.append((place, self._ask(exchange, request, deadline)))
        # Inquiries may be sent twice (never control actions): set once, for the tasks
        # started here (they inherit it) and an ask awaited here.
        with idempotent():
            answered = await _together(asks, results, here=own_task)
        report = build_report(
            lookup_id=lookup_id,
            party=party,
            case=case,
            results=answered,
            started_at=started_at,
            finished_at=self._clock(),
            reference=reference,
            sandbox=self._sandbox,
        )
        if self.store is not None:
            await asyncio.to_thread(
                self.store.record_lookup,
                self._clocks(report),
                _audit_events(report),
                at=report.finished_at,
            )
        if log.isEnabledFor(logging.INFO):  # building the event costs even when dropped
            log.info(
                "lookup finished",
                lookup_id=lookup_id,
                case=case.number,
                party=party.masked,
                complete=report.complete,
                assets=len(report.assets),
            )
        return report

    def _refusal(self, party: Party, case: Case) -> str | None:
        """Why the inquiry is not allowed, or None. (Checked without a coroutine: nearly
        every lookup is allowed.)"""
        if not isinstance(party, Party) or not isinstance(case, Case):
            raise RefusedRequest("a lookup needs a Party and a Case")
        return refusal(case, self.settings.access)

    async def _refuse(self, party: Party, case: Case, reason: str) -> NoReturn:
        """Record the refusal in the audit trail (with a store), and raise it."""
        if self.store is not None:
            event = AuditEvent(
                event="inquiry.refused",
                actor=(case.operator or "").strip() or "(no operator)",
                case_number=case.number,
                party=party.masked,
                detail={"reason": reason},
            )
            await asyncio.to_thread(self.store.audit.append, [event], at=self._clock())
        raise RefusedRequest(f"refused: {reason}")

    async def refresh(self, report: LookupReport) -> LookupReport:
        """Poll the tickets a report still holds open; other results are kept as they are."""
        if self._stack is None:
            raise RuntimeError("open the Dispatcher first: `async with Dispatcher...() as d:`")
        deadline = asyncio.get_running_loop().time() + self.settings.lookup.deadline
        routes = {route.settings.id: route for route in self._routes}

        async def refreshed(result: InstitutionResult) -> InstitutionResult:
            route = routes.get(result.institution)
            if result.status is not ResultStatus.PENDING or not result.ticket or route is None:
                return result
            request = InquiryRequest(
                report.party, report.case, f"{report.lookup_id}-{route.settings.id}"
            )
            # The institution's deadline runs from the original request: its time is kept.
            exchange = _Exchange(route, result.started_at)
            fresh = await self._ask(exchange, request, deadline, result.ticket)
            if self.store is not None and fresh.status is not ResultStatus.PENDING:
                await asyncio.to_thread(
                    self.store.clocks.close,
                    subject="inquiry",
                    reference=report.lookup_id,
                    institution=fresh.institution,
                    operation="inquiry",
                    answered_at=fresh.finished_at or self._clock(),
                    failed=not _answered(fresh.status),
                )
            return fresh

        with idempotent():  # as in lookup: polls may be sent twice
            results = await asyncio.gather(*(refreshed(r) for r in report.results))
        return build_report(
            lookup_id=report.lookup_id,
            party=report.party,
            case=report.case,
            results=results,
            started_at=report.started_at,
            finished_at=self._clock(),
            reference=report.reference,
            sandbox=report.sandbox,
        )

    async def lookup_many(
        self,
        items: Iterable[LookupRequest | tuple[Party, Case]]
        | AsyncIterable[LookupRequest | tuple[Party, Case]],
        *,
        window: int | None = None,
    ) -> AsyncIterator[LookupReport]:
        """Look up many parties, yielding reports as they complete.

        At most ``window`` parties are in flight and ``items`` is consumed lazily, so memory
        stays flat however many parties go in. Each party's institutions are asked together.
        """
        limit = window or self.settings.lookup.window or self._default_window()
        source = _as_async_iterator(items)
        running: set[asyncio.Task[LookupReport]] = set()
        # Finished lookups queue up here: waiting costs the same however many are in flight
        # (asyncio.wait would re-register on every running task each time one finishes).
        finished: asyncio.Queue[asyncio.Task[LookupReport]] = asyncio.Queue()
        exhausted = False
        try:
            while True:
                while not exhausted and len(running) < limit:
                    try:
                        item = await anext(source)
                    except StopAsyncIteration:
                        exhausted = True
                        break
                    request = item if isinstance(item, LookupRequest) else LookupRequest(*item)
                    task = asyncio.create_task(
                        self._lookup(request.party, request.case, request.reference, own_task=True)
                    )
                    running.add(task)
                    task.add_done_callback(finished.put_nowait)
                if not running:
                    return
                task = await finished.get()
                running.discard(task)
                yield task.result()
        finally:
            for task in running:
                task.cancel()
            if running:
                await asyncio.gather(*running, return_exceptions=True)

    def _clocks(self, report: LookupReport) -> list[NewClock]:
        """One SLA clock per institution asked: stopped if it answered, running if pending."""
        clocks = []
        for result in report.results:
            if result.status is ResultStatus.SKIPPED:
                continue
            settings = self.institution(result.institution)
            due = self.sla.due(settings, "inquiry", result.started_at)
            answered = _answered(result.status)
            if result.status is ResultStatus.PENDING:
                outcome = ClockOutcome.OPEN
            elif not answered:
                outcome = ClockOutcome.FAILED
            else:
                outcome = ClockOutcome.BREACHED if result.sla_met is False else ClockOutcome.MET
            clocks.append(
                NewClock(
                    subject="inquiry",
                    operation="inquiry",
                    institution=result.institution,
                    institution_name=result.name,
                    case_number=report.case.number,
                    reference=report.lookup_id,
                    ticket=result.ticket,
                    started_at=result.started_at,
                    due_at=due[1].due_at if due else None,
                    provisional=due[1].provisional if due else False,
                    rule=str(due[0]) if due else None,
                    answered_at=result.finished_at if answered else None,
                    outcome=outcome,
                )
            )
        return clocks

    def _default_window(self) -> int:
        # Enough parties in flight to keep the busiest institution's slots full.
        caps = [route.settings.concurrency for route in self._routes] or [1]
        return max(2 * max(caps), 8)

    # --- control actions -------------------------------------------------------------------

    async def submit_control(self, institution_id: str, request: ControlRequest) -> ControlStatus:
        """Send one control action to an institution: gated and timed, never retried.

        A failure raises the adapter's typed error. Whether a failed submission was applied
        is unknown: ask :meth:`control_status` (the ledger does) rather than sending again.
        """
        route = self._route_for(institution_id, request.operation)
        submit = partial(route.adapter.submit, self._client(route), request)
        return await self._call(route, Trace(), submit, retry=False)

    async def control_status(self, institution_id: str, request: ControlRequest) -> ControlStatus:
        """Ask an institution where a control action (by its idempotency key) stands."""
        route = self._route_for(institution_id, Operation.STATUS)
        ask = partial(route.adapter.control_status, self._client(route), request)
        return await self._call(route, Trace(), ask, retry=False)

    def _route_for(self, institution_id: str, operation: Operation) -> _Route:
        for route in self._routes:
            if route.settings.id == institution_id:
                if operation not in route.adapter.capabilities:
                    raise RefusedRequest(
                        f"{route.settings.name} does not offer {operation.value} "
                        f"(it offers {', '.join(sorted(route.adapter.capabilities))})"
                    )
                return route
        raise RefusedRequest(f"no institution {institution_id!r} is configured")

    def _client(self, route: _Route) -> httpx.AsyncClient:
        if route.client is None:
            raise RuntimeError("open the Dispatcher first: `async with Dispatcher...() as d:`")
        return route.client

    # --- one institution -------------------------------------------------------------------

    def _not_applicable(self, exchange: _Exchange, party: Party) -> InstitutionResult | None:
        """The result of an institution that holds nothing of such a party (a fund centre
        and a company), made without a request or a coroutine; None if it may hold some."""
        route = exchange.route
        if route.adapter.serves(party):
            return None
        return self._result(
            exchange,
            ResultStatus.SKIPPED,
            error=ErrorInfo(
                code=NOT_APPLICABLE,
                message=f"{route.settings.name} holds no assets of a {party.kind.value}",
                retryable=False,
            ),
        )

    async def _ask(
        self,
        exchange: _Exchange,
        request: InquiryRequest,
        deadline: float,
        ticket: str | None = None,
    ) -> InstitutionResult:
        """Ask one institution, unless its circuit is open, and tell its circuit breaker."""
        breaker = exchange.route.breaker
        probing = breaker.probing
        if not breaker.allow(exchange.started):
            settings = exchange.route.settings
            return self._result(
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

    def _result(
        self,
        exchange: _Exchange,
        status: ResultStatus,
        *,
        assets: tuple[AssetRecord, ...] = (),
        error: ErrorInfo | None = None,
        ticket: str | None = None,
    ) -> InstitutionResult:
        """The institution's result: what it answered, when, and against which deadline."""
        route = exchange.route
        settings = route.settings
        started_at = exchange.started_at
        finished_at = self._clock()
        due = self.sla.due(settings, "inquiry", started_at)
        due_at = due[1].due_at if due is not None else None
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
            "sla_due": due_at,
            "sla_met": finished_at <= due_at if due_at is not None and _answered(status) else None,
        }
        if (
            type(assets) is tuple
            and all(type(asset) is AssetRecord for asset in assets)
            and (ticket is None or type(ticket) is str)
        ):
            # Every value was made here, or validated as it was made (the clock's times are
            # checked by _aware_clock): validating them all again costs each result.
            return assembled(InstitutionResult, fields)
        return InstitutionResult.model_validate(fields)  # what an adapter handed over: checked

    async def _answer(
        self,
        exchange: _Exchange,
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
                answer = await self._call(route, exchange, inquire, deadline)
            else:
                answer = InquiryAnswer.pending(ticket)
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
                            return self._result(exchange, ResultStatus.PENDING, ticket=ticket)
                        await asyncio.sleep(wait)
                        answer = await self._call(
                            route,
                            exchange,
                            partial(adapter.poll, client, ticket, request),
                            deadline,
                        )
        except TimeoutError:
            if ticket is not None:
                return self._result(exchange, ResultStatus.PENDING, ticket=ticket)
            seconds = self.settings.lookup.deadline
            last = exchange.last_error
            said = f"; last error: {last.message}" if last else ""
            return self._result(
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
            return self._result(
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
        return self._result(exchange, answer.status, assets=answer.assets)

    async def _call(
        self,
        route: _Route,
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
        route: _Route,
        trace: Trace,
        call: Callable[[], Awaitable[T]],
        deadline: float | None,
        failure: RetryableAdapterError,
    ) -> T:
        """The retries after a first failure, as the route's policy decides them.

        Apart from :meth:`_call` because of its closure: the variables a nested function
        uses are cells from the start of every call of the function that holds it.
        """
        first: RetryableAdapterError | None = failure

        async def again() -> T:
            nonlocal first
            if first is not None:
                failed, first = first, None
                raise failed
            return await self._call(route, trace, call, deadline, retry=False)

        async with asyncio.timeout_at(deadline):  # the waits between attempts count too
            answer: T = await route.retrying.copy()(again)
        return answer


class _Exchange(Trace):
    """One institution's part of one lookup: its route, when it began, and its attempts.

    One object per institution asked, rather than a closure over the same values: a lookup
    creates these by the thousand, and each closure cell is another object to collect.
    """

    __slots__ = ("loop", "route", "started", "started_at")

    def __init__(self, route: _Route, started_at: datetime) -> None:
        super().__init__()
        self.route = route
        self.started_at = started_at
        self.loop = asyncio.get_running_loop()
        self.started = self.loop.time()


def _aware_clock(clock: Callable[[], datetime]) -> Callable[[], datetime]:
    """``clock``, checked to tell timezone-aware time, in UTC (as results store it)."""
    if clock is utc_now:
        return clock

    def checked() -> datetime:
        moment = clock()
        if moment.utcoffset() is None:
            raise ValueError("the Dispatcher's clock must return timezone-aware datetimes")
        return moment.astimezone(UTC)

    return checked


async def _together(
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


def _answered(status: ResultStatus) -> bool:
    """An answer that stops the institution's clock: assets, none, or a refusal."""
    return status.answered or status is ResultStatus.REJECTED


def refusal(case: Case, access: AccessSettings) -> str | None:
    """Why a request under ``case`` may not go out, or None: the purpose-binding rules.

    Nothing leaves the process without a well-formed case number and an operator, and, when
    the configuration lists them, only allowed operators and courts may ask.
    """
    if not (case.operator or "").strip():
        return "the case names no operator; every request names who asks"
    try:
        parse_case_number(case.number)
    except ValueError as exc:
        return str(exc)
    if access.operators is not None and case.operator not in access.operators:
        return f"operator {case.operator!r} is not on the configured allow-list"
    if access.courts is not None and case.court not in access.courts:
        court = repr(case.court) if case.court else "(none given)"
        return f"court {court} is not on the configured allow-list"
    return None


def _audit_events(report: LookupReport) -> list[AuditEvent]:
    """The inquiry and each institution's answer: statuses and counts, never contents."""
    party = report.party.masked
    events = [
        AuditEvent(
            event="inquiry.sent",
            actor=report.case.operator,
            case_number=report.case.number,
            party=party,
            subject=f"lookup:{report.lookup_id}",
            detail={"court": report.case.court, "institutions": len(report.results)},
        )
    ]
    for result in report.results:
        detail: dict[str, object] = {
            "status": result.status.value,
            "assets": len(result.assets),
            "attempts": result.attempts,
        }
        if result.error is not None:
            detail["error"] = result.error.code
        events.append(
            AuditEvent(
                event="inquiry.answer",
                actor=result.institution,
                case_number=report.case.number,
                party=party,
                institution=result.institution,
                subject=f"lookup:{report.lookup_id}",
                detail=detail,
            )
        )
    return events


async def _as_async_iterator(items: Iterable[T] | AsyncIterable[T]) -> AsyncIterator[T]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item
