"""The fan-out engine: one party, every institution at once, one report.

For each institution the dispatcher holds a route: the adapter, its own HTTP client and
pool, a gate (concurrency cap and rate limit) and a retry policy. A lookup asks every route
concurrently; each answer, failure or silence becomes that institution's result, so one
institution can never fail the lookup. Ticket-and-poll institutions are polled until the
lookup's deadline; a ticket still open then is kept in the result for ``refresh``.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import AsyncExitStack
from datetime import datetime
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, NoReturn, Protocol, Self, TypeVar

import httpx

from .._access import refusal
from .._config import InstitutionSettings, Settings, load_settings
from .._errors import RefusedRequest
from .._http._transport import build_client, idempotent
from .._logging import get_logger
from .._models import (
    Case,
    InstitutionResult,
    LookupReport,
    LookupRequest,
    Operation,
    Party,
    ResultStatus,
)
from .._time import utc_now
from ..adapters import (
    Adapter,
    ControlRequest,
    ControlStatus,
    InquiryRequest,
    Institution,
    load_adapter,
)
from ..rules import Deadline, SlaPolicy, SlaRule
from ..store import LookupRecord
from ._exchange import Exchange, Exchanges, Route, aware_clock, together
from ._records import GroupCommit, answered, inquiry_clocks, inquiry_events, refusal_event
from ._report import build_report, with_results
from ._resilience import Trace
from ._timeouts import Timeouts

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from ..sandbox import SandboxConfig
    from ..store import Store

__all__ = ["Dispatcher", "LookupRequest", "use_embedded_default"]

log = get_logger("assetquery.dispatcher")

T = TypeVar("T")


class EmbeddedDefault(Protocol):
    """Builds the dispatcher of ``Dispatcher.sandbox`` (the simulated registries)."""

    def __call__(
        self,
        config: SandboxConfig | None = None,
        *,
        app: Starlette | None = None,
        store: Store | None = None,
        clock: Callable[[], datetime] = utc_now,
        deadline: float | None = None,
    ) -> Dispatcher: ...


# The engine does not import the simulated registries: the package's root hands it their
# wiring (assetquery.sandbox.sandbox_dispatcher) when assetquery is imported.
_embedded_default: list[EmbeddedDefault] = []


def use_embedded_default(build: EmbeddedDefault) -> None:
    """Make ``build`` what ``Dispatcher.sandbox`` returns."""
    _embedded_default[:] = [build]


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
        self._clock = aware_clock(clock)
        #: where SLA clocks (and, with the ledger, control actions) are recorded, if anywhere
        self.store = store
        # Lookups that finish together are written in one transaction (group commit).
        self._records: GroupCommit[LookupRecord] = GroupCommit(self._record_lookups)
        #: the deadlines institutions must meet
        self.sla = SlaPolicy.from_settings(settings)
        #: every request's timeout, and a waiting party's at a gate, on shared timers
        self._timeouts = Timeouts()
        self._exchanges = Exchanges(
            clock=self._clock,
            sla=self.sla,
            timeouts=self._timeouts,
            lookup_deadline=settings.lookup.deadline,
        )
        self._routes = tuple(
            Route(
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

        Pass ``app`` (from ``assetquery.sandbox.create_app``) to keep a handle on the
        sandbox, e.g. to steer it through ``assetquery.sandbox.sandbox_admin``;
        ``deadline`` (seconds) replaces the lookup deadline, e.g. for simulated days.
        """
        if not _embedded_default:  # pragma: no cover - assetquery/__init__ sets it
            raise RuntimeError("the simulated registries are not wired in: import assetquery")
        return _embedded_default[0](config, app=app, store=store, clock=clock, deadline=deadline)

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

    def capabilities(self, institution_id: str) -> frozenset[Operation]:
        """What the institution's adapter can be asked to do."""
        return self.adapter(institution_id).capabilities

    def due(
        self, institution_id: str, operation: str, started_at: datetime
    ) -> tuple[SlaRule, Deadline] | None:
        """The deadline rule for ``operation`` at the institution, and when a request made
        at ``started_at`` falls due; None where no deadline applies."""
        return self.sla.due(self.institution(institution_id), operation, started_at)

    def _record_lookups(self, records: Sequence[LookupRecord]) -> None:
        assert self.store is not None, "only lookups made with a store are recorded"
        self.store.record_lookups(records)

    # --- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._stack is not None:
            raise RuntimeError("this Dispatcher is already open")
        async with AsyncExitStack() as stack:
            for route in self._routes:
                # Each attempt runs under one timer of the dispatcher's (see Exchanges.call).
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

        Raises ``RefusedRequest`` (recorded in the audit trail) when the case or the
        operator does not allow the inquiry.
        """
        return await self._lookup(party, case, reference, own_task=False)

    async def _lookup(
        self,
        party: Party,
        case: Case,
        reference: str | None,
        *,
        own_task: bool,
        asked: Callable[[], None] | None = None,
    ) -> LookupReport:
        """``lookup``; ``own_task`` says it runs in a task of the dispatcher's own (one
        of ``lookup_many``'s), where it may ask an institution itself. ``asked`` is called
        once every institution has answered, before the report is written to the store."""
        reason = self._refusal(party, case)
        if reason is not None:
            await self._refuse(party, case, reason)
        if self._stack is None:
            raise RuntimeError("open the Dispatcher first: `async with Dispatcher...() as d:`")
        lookup_id = _lookup_id()
        started_at = self._clock()
        deadline = asyncio.get_running_loop().time() + self.settings.lookup.deadline
        # Loops, not comprehensions (closures would make this function's variables cells).
        # Which institutions cannot concern the party is decided before any is asked.
        exchanges = []
        results: list[InstitutionResult | None] = []
        for route in self._routes:
            exchange = Exchange(route, started_at)  # every institution is asked from now on
            exchanges.append(exchange)
            results.append(self._exchanges.not_applicable(exchange, party))
        asks = []  # (its place in results, the ask not yet awaited)
        for place, exchange in enumerate(exchanges):
            if results[place] is None:
                request = InquiryRequest(party, case, f"{lookup_id}-{exchange.route.settings.id}")
                asks.append((place, self._exchanges.ask(exchange, request, deadline)))
        # Inquiries may be sent twice (never control actions): set once, for the tasks
        # started here (they inherit it) and an ask awaited here.
        with idempotent():
            answered = await together(asks, results, here=own_task)
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
            if asked is not None:
                asked()
            await self._records.write(
                LookupRecord(
                    inquiry_clocks(report, self.institution, self.sla.due),
                    inquiry_events(report),
                    report.finished_at,
                    report,
                    # No other process can reach an in-process sandbox to collect its answers.
                    collect=not self._sandbox,
                )
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
        return self.refusal(case)

    def refusal(self, case: Case) -> str | None:
        """Why a request under ``case`` would be refused here, or None if it may go out."""
        return refusal(case, self.settings.access)

    async def _refuse(self, party: Party, case: Case, reason: str) -> NoReturn:
        """Record the refusal in the audit trail (with a store), and raise it."""
        if self.store is not None:
            event = refusal_event(party, case, reason)
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
            exchange = Exchange(route, result.started_at)
            fresh = await self._exchanges.ask(exchange, request, deadline, result.ticket)
            if self.store is not None and fresh.status is not ResultStatus.PENDING:
                await asyncio.to_thread(
                    self.store.clocks.close,
                    subject="inquiry",
                    reference=report.lookup_id,
                    institution=fresh.institution,
                    operation="inquiry",
                    answered_at=fresh.finished_at or self._clock(),
                    failed=not answered(fresh.status),
                )
            return fresh

        with idempotent():  # as in lookup: polls may be sent twice
            results = await asyncio.gather(*(refreshed(r) for r in report.results))
        fresh = with_results(report, results, self._clock())
        if self.store is not None:  # the case file reads the latest answers
            await asyncio.to_thread(
                self.store.reports.keep, fresh, at=fresh.finished_at, collect=not self._sandbox
            )
        return fresh

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
        With a store, a party whose institutions have all answered leaves the window while
        its report is written, and as many again may wait for their commit: the next
        parties are asked meanwhile, and the store writes bigger batches.
        """
        limit = window or self.settings.lookup.window or self._default_window()
        source = _as_async_iterator(items)
        running: set[asyncio.Task[LookupReport]] = set()
        # Finished lookups queue up here: waiting costs the same however many are in flight
        # (asyncio.wait would re-register on every running task each time one finishes).
        # None: a lookup has been answered and its report is being written (in ``writing``).
        finished: asyncio.Queue[asyncio.Task[LookupReport] | None] = asyncio.Queue()
        writing: set[asyncio.Task[Any] | None] = set()

        def asked() -> None:
            writing.add(asyncio.current_task())
            finished.put_nowait(None)

        on_asked = asked if self.store is not None else None
        exhausted = False
        try:
            while True:
                while (
                    not exhausted
                    and len(running) - len(writing) < limit
                    and len(running) < 2 * limit
                ):
                    try:
                        item = await anext(source)
                    except StopAsyncIteration:
                        exhausted = True
                        break
                    request = item if isinstance(item, LookupRequest) else LookupRequest(*item)
                    task = asyncio.create_task(
                        self._lookup(
                            request.party,
                            request.case,
                            request.reference,
                            own_task=True,
                            asked=on_asked,
                        )
                    )
                    running.add(task)
                    task.add_done_callback(finished.put_nowait)
                if not running:
                    return
                done = await finished.get()
                if done is None:
                    continue
                running.discard(done)
                writing.discard(done)
                yield done.result()
        finally:
            for task in running:
                task.cancel()
            if running:
                await asyncio.gather(*running, return_exceptions=True)

    def _default_window(self) -> int:
        # Enough parties in flight to keep the busiest institution's slots full.
        caps = [route.settings.concurrency for route in self._routes] or [1]
        return max(2 * max(caps), 8)

    # --- control actions -------------------------------------------------------------------

    async def submit_control(self, institution_id: str, request: ControlRequest) -> ControlStatus:
        """Send one control action to an institution: gated and timed, never retried.

        A failure raises the adapter's typed error. Whether a failed submission was applied
        is unknown: ask ``control_status`` (the ledger does) rather than sending again.
        """
        route = self._route_for(institution_id, request.operation)
        submit = partial(route.adapter.submit, self._client(route), request)
        return await self._exchanges.call(route, Trace(), submit, retry=False)

    async def control_status(self, institution_id: str, request: ControlRequest) -> ControlStatus:
        """Ask an institution where a control action (by its idempotency key) stands."""
        route = self._route_for(institution_id, Operation.STATUS)
        ask = partial(route.adapter.control_status, self._client(route), request)
        return await self._exchanges.call(route, Trace(), ask, retry=False)

    def _route_for(self, institution_id: str, operation: Operation) -> Route:
        for route in self._routes:
            if route.settings.id == institution_id:
                if operation not in route.adapter.capabilities:
                    raise RefusedRequest(
                        f"{route.settings.name} does not offer {operation.value} "
                        f"(it offers {', '.join(sorted(route.adapter.capabilities))})"
                    )
                return route
        raise RefusedRequest(f"no institution {institution_id!r} is configured")

    def _client(self, route: Route) -> httpx.AsyncClient:
        if route.client is None:
            raise RuntimeError("open the Dispatcher first: `async with Dispatcher...() as d:`")
        return route.client


# A version-4 UUID's bits: its version nibble and its RFC 4122 variant.
_UUID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID_SET = (0x4000 << 64) | (0x8000 << 48)


def _lookup_id() -> str:
    """``uuid4().hex``, made without the UUID object (a lookup id for every party)."""
    return f"{int.from_bytes(os.urandom(16)) & _UUID_CLEAR | _UUID_SET:032x}"


async def _as_async_iterator(items: Iterable[T] | AsyncIterable[T]) -> AsyncIterator[T]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item
