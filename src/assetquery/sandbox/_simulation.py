"""Simulated time: run days of institution turnaround in seconds, against the in-process sandbox.

Institutions answer in hours and days; a demo or a report example cannot wait that long.
``run_simulated`` runs a coroutine on an event loop whose clock does not follow the wall:
whenever nothing is ready to run, the loop's clock jumps to the next timer. Every sleep,
poll interval, timeout and sandbox delay then takes no real time at all, and a
``clock`` that reads the loop's time gives the library consistent timestamps; the
in-process sandbox dates its answers and controls by it too.

Only for work without real network I/O (the in-process sandbox): a loop that jumps while a
socket is waiting would time it out. Work handed to threads (the store) is waited for: the
clock stands still while a thread is busy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from datetime import datetime, timedelta
from typing import TypeVar, TypeVarTuple, Unpack

from .._internals import JumpingLoop
from ._http import SANDBOX_CLOCK

__all__ = ["SimulatedLoop", "run_simulated"]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


class SimulatedLoop(JumpingLoop):
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

    def may_jump(self) -> bool:
        # A thread's work (the store) takes real time the loop cannot skip: wait for it.
        return not self._busy_threads

    def jump_to(self, when: float) -> None:
        self._now = max(self._now, when)


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
            # The in-process sandbox dates its answers and controls by the same clock.
            SANDBOX_CLOCK.set(clock)
            return await main(clock)

        return runner.run(wrapped())
