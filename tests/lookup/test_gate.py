"""The gate: a cap on requests in flight, handed out first come, first served.

Waits that involve time run on looptime's virtual clock.
"""

from __future__ import annotations

import asyncio

import pytest

from assetquery._config import InstitutionSettings
from assetquery._lookup._resilience import Gate


def gate(concurrency: int, rate_limit: float | None = None) -> Gate:
    settings = InstitutionSettings(
        id="bank-east",
        name="Bank East",
        adapter="bank",
        base_url="http://bank.test",
        concurrency=concurrency,
        rate_limit=rate_limit,
    )
    return Gate(settings)


def assert_one_slot_left(door: Gate) -> None:
    """With one slot given back, exactly one can be taken: none was lost or made up."""
    door.leave()
    assert door.enter_now()
    assert not door.enter_now()


async def settle() -> None:
    """Let every task that can run, run."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_free_slots_are_taken_at_once_and_counted() -> None:
    door = gate(2)
    assert door.enter_now()
    assert door.enter_now()
    assert not door.enter_now()  # both taken
    door.leave()
    assert door.enter_now()


async def test_waiters_get_slots_in_the_order_they_came() -> None:
    door = gate(1)
    await door.enter()
    order: list[int] = []

    async def waiter(n: int) -> None:
        await door.enter()
        order.append(n)

    tasks = [asyncio.create_task(waiter(n)) for n in range(3)]
    await settle()
    assert order == []
    for expected in ([0], [0, 1], [0, 1, 2]):
        door.leave()
        await settle()
        assert order == expected
    await asyncio.gather(*tasks)


async def test_a_newcomer_does_not_take_a_slot_ahead_of_the_queue() -> None:
    door = gate(1)
    await door.enter()
    queued = asyncio.create_task(door.enter())
    await settle()
    door.leave()  # handed to the waiter, not put back on the shelf
    assert not door.enter_now()
    await queued
    door.leave()
    assert door.enter_now()


async def test_a_cancelled_waiter_leaves_the_line() -> None:
    door = gate(1)
    await door.enter()
    gone = asyncio.create_task(door.enter())
    stays = asyncio.create_task(door.enter())
    await settle()
    gone.cancel()
    await settle()
    door.leave()
    await asyncio.wait_for(stays, 1)  # the slot went past the cancelled one
    assert gone.cancelled()
    assert_one_slot_left(door)


async def test_a_slot_given_back_passes_over_a_waiter_cancelled_but_not_yet_run() -> None:
    door = gate(1)
    await door.enter()
    gone = asyncio.create_task(door.enter())
    stays = asyncio.create_task(door.enter())
    await settle()
    gone.cancel()
    door.leave()  # before the cancelled waiter has had a turn to step out of line
    await asyncio.wait_for(stays, 1)
    await settle()
    assert gone.cancelled()
    assert_one_slot_left(door)


async def test_a_waiter_cancelled_after_being_handed_a_slot_passes_it_on() -> None:
    door = gate(1)
    await door.enter()
    first = asyncio.create_task(door.enter())
    second = asyncio.create_task(door.enter())
    await settle()
    door.leave()  # the slot is first's, but first has not run yet
    first.cancel()
    await settle()
    assert first.cancelled()
    await asyncio.wait_for(second, 1)
    assert_one_slot_left(door)


@pytest.mark.looptime
async def test_a_deadline_that_passes_in_line_raises_and_keeps_the_count() -> None:
    door = gate(1)
    await door.enter()
    loop = asyncio.get_running_loop()
    with pytest.raises(TimeoutError):
        await door.enter(deadline=loop.time() + 5)
    assert_one_slot_left(door)


@pytest.mark.looptime
async def test_a_rate_limit_spaces_entries_even_when_slots_are_free() -> None:
    door = gate(5, rate_limit=2.0)  # two per second, no initial burst beyond the first
    loop = asyncio.get_running_loop()
    assert not door.enter_now()  # a rate limit always goes through enter()
    started = loop.time()
    times = []
    for _ in range(3):
        await door.enter()
        times.append(loop.time() - started)
    assert times == pytest.approx([0.0, 0.5, 1.0])
