"""Shared-slice timeouts: as ``asyncio.timeout_at`` says, up to one slice late, never early.

Every wait runs on looptime's virtual clock.
"""

from __future__ import annotations

import asyncio
import math

import looptime
import pytest

from assetquery._lookup._timeouts import SLICE, Timeouts


async def forever() -> None:
    await asyncio.sleep(3600)


@pytest.mark.looptime
async def test_a_block_past_its_deadline_raises_timeout_error_within_one_slice() -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    timer = Timeouts().at(start + 1.003)
    with pytest.raises(TimeoutError), timer:
        await forever()
    assert timer.expired
    assert start + 1.003 <= loop.time() <= start + 1.003 + SLICE


@pytest.mark.looptime
async def test_a_block_that_ends_in_time_is_not_touched_when_its_slice_fires() -> None:
    loop = asyncio.get_running_loop()
    timeouts = Timeouts()
    timer = timeouts.at(loop.time() + 1)
    with timer:
        await asyncio.sleep(0.5)
    await asyncio.sleep(2)  # the slice's timer fires meanwhile: this task is not cancelled
    assert not timer.expired
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


@pytest.mark.looptime
async def test_every_block_of_a_slice_expires_and_the_others_do_not() -> None:
    loop = asyncio.get_running_loop()
    timeouts = Timeouts()
    start = loop.time()

    async def guarded(deadline: float, work: float) -> str:
        try:
            with timeouts.at(start + deadline):
                await asyncio.sleep(work)
        except TimeoutError:
            return "timeout"
        return "done"

    # 50 blocks in one slice; 50 that end before it; 10 in the next slice that end in time
    outcomes = await asyncio.gather(
        *(guarded(1.0, 5) for _ in range(50)),
        *(guarded(1.0, 0.5) for _ in range(50)),
        *(guarded(1.0 + SLICE, 1.0 + SLICE / 2) for _ in range(10)),
    )
    assert outcomes == ["timeout"] * 50 + ["done"] * 60


@pytest.mark.looptime
async def test_a_cancellation_from_elsewhere_stays_a_cancellation() -> None:
    loop = asyncio.get_running_loop()
    timeouts = Timeouts()

    async def guarded() -> None:
        with timeouts.at(loop.time() + 10):
            await forever()

    task = asyncio.create_task(guarded())
    await asyncio.sleep(1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.looptime
async def test_a_cancellation_from_elsewhere_as_the_deadline_passes_is_not_a_timeout() -> None:
    loop = asyncio.get_running_loop()
    timeouts = Timeouts()
    start = loop.time()
    timer = timeouts.at(start + 1)

    async def guarded() -> None:
        with timer:
            await forever()

    task = asyncio.create_task(guarded())
    # Cancelled from elsewhere in the loop iteration where the slice's timer fires.
    fires = max(math.ceil((start + 1) / SLICE) * SLICE, start + 1)
    loop.call_at(fires, task.cancel)
    with pytest.raises(asyncio.CancelledError):
        await task
    assert timer.expired


@pytest.mark.looptime
async def test_no_deadline_never_expires_and_a_timeout_guards_one_block() -> None:
    timer = Timeouts().at(None)
    with timer:
        await asyncio.sleep(3600)
    assert not timer.expired
    with pytest.raises(RuntimeError, match="one block only"), timer:
        pass


async def test_a_timeout_needs_a_task_and_a_slice_a_length() -> None:
    failed: list[BaseException] = []

    def outside_a_task() -> None:  # a plain loop callback: no task runs it
        try:
            with Timeouts().at(None):
                pass
        except RuntimeError as error:
            failed.append(error)

    asyncio.get_running_loop().call_soon(outside_a_task)
    await asyncio.sleep(0)
    assert [str(error) for error in failed] == ["a Timeout must be entered inside a task"]
    with pytest.raises(ValueError, match="longer than 0"):
        Timeouts(0)


def test_timeouts_used_again_from_a_new_event_loop_still_fire() -> None:
    """A dispatcher opened again under a new ``asyncio.run``: the first loop's timers are
    gone with it, and the same deadline on the new loop's clock must still fire."""
    timeouts = Timeouts()

    async def in_time() -> None:
        with timeouts.at(5.0):  # leaves a slice whose timer this loop never reaches
            pass

    async def too_late() -> None:
        with timeouts.at(5.0):  # the same slice number on the new loop's clock
            await forever()

    with asyncio.Runner(loop_factory=lambda: looptime.new_event_loop(start=0)) as runner:
        runner.run(in_time())
    with (
        asyncio.Runner(loop_factory=lambda: looptime.new_event_loop(start=0)) as runner,
        pytest.raises(TimeoutError),
    ):
        runner.run(too_late())
