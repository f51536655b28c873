"""Protecting institutions and ourselves: retry policy, concurrency caps, rate limits.

Retries use tenacity with positive predicates only: a ``RetryableAdapterError`` is retried,
anything else (including cancellation) is not. Waits are exponential with jitter, except
that an institution's own ``Retry-After`` is honoured as given.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from .._config import BreakerSettings, InstitutionSettings, RetrySettings
from .._errors import AdapterError, RetryableAdapterError
from ._timeouts import Timeouts

__all__ = ["CircuitBreaker", "Gate", "RateLimiter", "Trace", "retrying_for"]

T = TypeVar("T")


class Trace:
    """What happened across the attempts of one call: how many, and the last error."""

    __slots__ = ("attempts", "last_error")

    def __init__(self) -> None:
        self.attempts = 0
        self.last_error: AdapterError | None = None


class _WaitRetryAfter:
    """Use the institution's ``Retry-After`` when it gave one, else exponential backoff."""

    def __init__(self, settings: RetrySettings) -> None:
        # initial, 2×initial, 4×initial … up to max, plus up to ``jitter`` seconds at random
        self._backoff = wait_exponential(multiplier=settings.initial, max=settings.max) + (
            wait_random(0, settings.jitter)
        )

    def __call__(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, RetryableAdapterError) and error.retry_after is not None:
            return error.retry_after
        return self._backoff(state)


def retrying_for(
    settings: RetrySettings, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
) -> AsyncRetrying:
    """A tenacity policy for one institution; ``.copy()`` it for each call (it holds state)."""
    return AsyncRetrying(
        stop=stop_after_attempt(settings.attempts),
        wait=_WaitRetryAfter(settings),
        retry=retry_if_exception_type(RetryableAdapterError),
        sleep=sleep,
        reraise=True,
    )


class RateLimiter:
    """At most ``rate`` acquisitions per second, evenly spaced: no initial burst.

    Each caller reserves the next free slot and sleeps until it; the reservation happens
    before the sleep, so concurrent callers queue in order without a lock.
    """

    def __init__(self, rate: float) -> None:
        self._interval = 1.0 / rate
        self._next_slot = 0.0

    async def acquire(self) -> None:
        now = asyncio.get_running_loop().time()
        slot = max(now, self._next_slot)
        self._next_slot = slot + self._interval
        if slot > now:
            await asyncio.sleep(slot - now)


class Gate:
    """The door to one institution: a cap on requests in flight and an optional rate limit.

    Slots go to waiters first come, first served: a slot given back is handed straight to
    the longest waiter, so a newcomer never takes it ahead of the queue. Most requests find
    a slot free; ``enter_now`` takes one without a coroutine or a timer.
    """

    __slots__ = ("_free", "_limiter", "_timeouts", "_waiting")

    def __init__(self, settings: InstitutionSettings, timeouts: Timeouts | None = None) -> None:
        self._free = settings.concurrency
        #: a waiter's deadline (shared with the requests' when a dispatcher makes the gate)
        self._timeouts = timeouts if timeouts is not None else Timeouts()
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._limiter = RateLimiter(settings.rate_limit) if settings.rate_limit else None

    def enter_now(self) -> bool:
        """Take a slot if one is free, nobody waits and no rate limit applies; else False,
        and ``enter`` is the way in. Pair a True with ``leave``."""
        if self._free and self._limiter is None and not self._waiting:
            self._free -= 1
            return True
        return False

    async def enter(self, deadline: float | None = None) -> None:
        """Take a slot (and the rate limit's turn); raise TimeoutError if ``deadline`` (loop
        time) passes first. Pair with ``leave``."""
        if self.enter_now():
            return
        with self._timeouts.at(deadline):  # None: no deadline
            if self._free and not self._waiting:
                self._free -= 1  # a slot is free, but the rate limit decides when
            else:
                waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                self._waiting.append(waiter)
                try:
                    await waiter  # until leave() hands this caller a slot
                except BaseException:
                    if waiter.cancelled():
                        with suppress(ValueError):  # leave() may have passed it over already
                            self._waiting.remove(waiter)
                    else:
                        self.leave()  # handed a slot, then cancelled before using it
                    raise
            if self._limiter is not None:
                try:
                    await self._limiter.acquire()
                except BaseException:
                    self.leave()
                    raise

    def leave(self) -> None:
        """Give a slot back: to the longest waiter if there is one."""
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():  # a cancelled waiter leaves the line only when it runs
                waiter.set_result(None)
                return
        self._free += 1


class CircuitBreaker:
    """Stop asking an institution that keeps failing; try again after a cool-down.

    Closed: every request goes out. After ``failures`` failed requests in a row it opens:
    requests are skipped at once, without waiting on the network. When ``cool_down``
    seconds have passed, one trial request goes out (half-open): an answer closes the
    circuit, another failure opens it for another cool-down.
    """

    def __init__(self, settings: BreakerSettings) -> None:
        self._threshold = settings.failures
        self._cool_down = settings.cool_down
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def failures(self) -> int:
        return self._failures

    @property
    def probing(self) -> bool:
        """Whether the trial request is out (half-open)."""
        return self._probing

    def allow(self, now: float) -> bool:
        """Whether a request may go out now (and, if this is the trial, claim it)."""
        if self._opened_at is None:
            return True
        if not self._probing and now - self._opened_at >= self._cool_down:
            self._probing = True
            return True
        return False

    def abandon_trial(self) -> None:
        """The trial request was cancelled and told nothing: let the next request be it."""
        self._probing = False

    def retry_in(self, now: float) -> float:
        """Seconds until a trial request will be let through."""
        if self._opened_at is None:
            return 0.0
        return max(self._opened_at + self._cool_down - now, 0.0)

    def record(self, *, ok: bool, now: float) -> None:
        if ok:
            self._failures = 0
            self._opened_at = None
            self._probing = False
            return
        self._failures += 1
        if self._probing or self._failures >= self._threshold:
            self._opened_at = now
            self._probing = False
