"""Simulated time: run days of institution turnaround in seconds, against the in-process sandbox.

Institutions answer in hours and days; a demo or a report example cannot wait that long.
:func:`run_simulated` runs a coroutine on an event loop whose clock does not follow the wall:
whenever nothing is ready to run, the loop's clock jumps to the next timer. Every sleep,
poll interval, timeout and sandbox delay then takes no real time at all, and a
``clock`` that reads the loop's time gives the library consistent timestamps.

Only for work without real network I/O (the in-process sandbox): a loop that jumps while a
socket is waiting would time it out. Work handed to threads (the store) is waited for: the
clock stands still while a thread is busy.
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from datetime import datetime, timedelta
from typing import Any, TypeVar, TypeVarTuple, Unpack

__all__ = ["SimulatedLoop", "run_simulated"]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


class SimulatedLoop(asyncio.SelectorEventLoop):
    """An event loop whose time jumps to the next timer when it would otherwise wait."""

    def __init__(self) -> None:
        super().__init__()
        self._now = 0.0
        self._busy_threads = 0

    def time(self) -> float:
        return self._now

    def run_in_executor(
        self, executor: Executor | None, func: Callable[[Unpack[Ts]], T], *args: *Ts
    ) -> asyncio.Future[T]:
        future = super().run_in_executor(executor, func, *args)
        self._busy_threads += 1
        future.add_done_callback(self._thread_done)
        return future

    def _thread_done(self, _: object) -> None:
        self._busy_threads -= 1

    def _run_once(self) -> None:
        ready: Any = self._ready  # type: ignore[attr-defined]
        scheduled: list[Any] = self._scheduled  # type: ignore[attr-defined]
        if not ready and scheduled and not self._busy_threads:
            # Drop cancelled timers first, so the clock never jumps to a time nobody waits for.
            while scheduled and scheduled[0]._cancelled:
                handle = heapq.heappop(scheduled)
                handle._scheduled = False
                self._timer_cancelled_count -= 1  # type: ignore[attr-defined]
            if scheduled:
                self._now = max(self._now, scheduled[0]._when)
        super()._run_once()  # type: ignore[misc]


def run_simulated(main: Callable[[Callable[[], datetime]], Awaitable[T]], *, start: datetime) -> T:
    """Run ``main(clock)`` on simulated time starting at ``start`` (timezone-aware).

    ``clock()`` returns the simulated now; pass it to ``Dispatcher(clock=…)`` and
    ``ActionLedger(clock=…)`` so their timestamps move with the simulation.
    """
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    with asyncio.Runner(loop_factory=SimulatedLoop) as runner:
        loop = runner.get_loop()

        def clock() -> datetime:
            return start + timedelta(seconds=loop.time())

        async def wrapped() -> T:
            return await main(clock)

        return runner.run(wrapped())
