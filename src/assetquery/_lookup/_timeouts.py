"""Timeouts for thousands of requests at once, on one loop timer per slice of time.

``asyncio.timeout`` arms a timer of its own for every block it guards: a timer handle, a
copy of the context, a bound method and the timeout itself, pushed onto the loop's heap,
and nearly always cancelled again, as nearly every answer comes in time. For a batch that
is a few objects more per request for the garbage collector to walk, and a heap of
cancelled timers for the loop to sift. Here a guarded block joins the slice of time its
deadline falls in, one timer per slice cancels whatever is still in it, and a block that
ends leaves its slice.

A deadline fires up to one slice late (10 ms by default), never early. Otherwise a block
behaves as under ``asyncio.timeout_at``: the task is cancelled, the ``CancelledError``
leaving the block becomes ``TimeoutError``, and a cancellation from elsewhere is never
mistaken for the timeout (the task's cancel requests are counted, as asyncio does).
"""

from __future__ import annotations

import asyncio
import math
from types import TracebackType

__all__ = ["Timeout", "Timeouts"]

#: how late a deadline may fire, in seconds
SLICE = 0.01


class Timeouts:
    """The timeouts of one event loop's requests (of one dispatcher, say).

    Used from another loop (a dispatcher opened again under a new ``asyncio.run``), it
    starts afresh: the old loop's timers will never fire.
    """

    __slots__ = ("_loop", "_slice", "_slices")

    def __init__(self, slice_seconds: float = SLICE) -> None:
        if not slice_seconds > 0:
            raise ValueError("a timeout slice must be longer than 0 s")
        self._slice = slice_seconds
        self._loop: asyncio.AbstractEventLoop | None = None
        #: slice number -> the blocks whose deadline falls in it (a dict keeps their order)
        self._slices: dict[int, dict[Timeout, None]] = {}

    def at(self, when: float | None) -> Timeout:
        """A guard that raises ``TimeoutError`` once the loop's clock passes ``when``
        (``None``: never). Enter it with ``with``, inside a task."""
        return Timeout(self, when)

    def join(self, member: Timeout, when: float) -> int:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop = loop
            self._slices = {}
        number = math.ceil(when / self._slice)
        members = self._slices.get(number)
        if members is None:
            members = self._slices[number] = {}
            loop.call_at(max(number * self._slice, when), self._expire, number)
        members[member] = None
        return number

    def leave(self, member: Timeout, number: int) -> None:
        members = self._slices.get(number)
        if members is not None:
            members.pop(member, None)

    def _expire(self, number: int) -> None:
        for member in self._slices.pop(number, {}):
            member.expire()


class Timeout:
    """One guarded block; see ``Timeouts.at``."""

    __slots__ = ("_cancelling", "_owner", "_slice", "_task", "_when", "expired")

    def __init__(self, owner: Timeouts, when: float | None) -> None:
        self._owner = owner
        self._when = when
        self._task: asyncio.Task[object] | None = None
        self._cancelling = 0
        self._slice: int | None = None
        #: whether the deadline passed while the block ran
        self.expired = False

    def __enter__(self) -> Timeout:
        if self._task is not None:
            raise RuntimeError("a Timeout guards one block only")
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("a Timeout must be entered inside a task")
        self._task = task
        self._cancelling = task.cancelling()
        if self._when is not None:
            self._slice = self._owner.join(self, self._when)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if not self.expired:
            if self._slice is not None:
                self._owner.leave(self, self._slice)
            return
        assert self._task is not None
        # The cancel request was ours; only with no other one pending is it a timeout.
        if self._task.uncancel() <= self._cancelling and exc_type is asyncio.CancelledError:
            raise TimeoutError from exc

    def expire(self) -> None:
        assert self._task is not None
        self.expired = True
        self._task.cancel()
