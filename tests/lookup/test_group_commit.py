"""Lookups that finish together are written in one transaction, and none is lost; while
the store writes, the fan-out asks the next parties."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
import respx

from assetquery import Case, Dispatcher, LookupReport, Party
from assetquery._lookup._records import GroupCommit
from assetquery.store import LookupRecord, Store

from .. import samples
from ..samples import BANK_PATH, FUND_PATH, REGISTRY_PATH, TICKET_PATH


class Recorder:
    """A commit that blocks until released, so the test decides when the store is busy."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.batches: list[list[int]] = []
        self.release = threading.Event()
        self.started = threading.Event()
        self.fail_on = fail_on

    def commit(self, items: Sequence[int]) -> None:
        self.started.set()
        self.release.wait(5)
        self.batches.append(list(items))
        if self.fail_on is not None and self.fail_on in items:
            raise RuntimeError("the store went away")


async def under_way(recorder: Recorder) -> None:
    """The first commit has started in its thread (and waits to be released)."""
    await asyncio.to_thread(recorder.started.wait, 5)


async def queued() -> None:
    """Let the tasks just created run up to their wait (no time passes)."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_lone_item_is_written_at_once() -> None:
    recorder = Recorder()
    recorder.release.set()
    commits: GroupCommit[int] = GroupCommit(recorder.commit)
    await commits.write(1)
    assert recorder.batches == [[1]]


async def test_items_arriving_in_the_same_turn_of_the_loop_share_a_commit() -> None:
    recorder = Recorder()
    recorder.release.set()
    commits: GroupCommit[int] = GroupCommit(recorder.commit)
    await asyncio.gather(*(commits.write(i) for i in range(3)))
    assert recorder.batches == [[0, 1, 2]]


async def test_items_arriving_during_a_commit_share_the_next_one() -> None:
    recorder = Recorder()
    commits: GroupCommit[int] = GroupCommit(recorder.commit)
    first = asyncio.create_task(commits.write(0))
    await under_way(recorder)
    rest = [asyncio.create_task(commits.write(i)) for i in range(1, 6)]
    await queued()
    recorder.release.set()
    await asyncio.gather(first, *rest)
    assert recorder.batches == [[0], [1, 2, 3, 4, 5]]


async def test_a_batch_is_at_most_the_limit() -> None:
    recorder = Recorder()
    commits: GroupCommit[int] = GroupCommit(recorder.commit, limit=2)
    first = asyncio.create_task(commits.write(0))
    await under_way(recorder)
    rest = [asyncio.create_task(commits.write(i)) for i in range(1, 6)]
    await queued()
    recorder.release.set()
    await asyncio.gather(first, *rest)
    assert recorder.batches == [[0], [1, 2], [3, 4], [5]]


async def test_a_failed_commit_fails_every_item_in_it_and_no_other() -> None:
    recorder = Recorder(fail_on=2)
    commits: GroupCommit[int] = GroupCommit(recorder.commit)
    first = asyncio.create_task(commits.write(0))
    await under_way(recorder)
    second = [asyncio.create_task(commits.write(i)) for i in (1, 2)]
    await queued()
    recorder.release.set()
    await first
    for task in second:
        with pytest.raises(RuntimeError, match="went away"):
            await task
    await commits.write(3)  # the next one is written as usual
    assert recorder.batches == [[0], [1, 2], [3]]


async def test_a_cancelled_writer_leaves_its_batch_to_be_written() -> None:
    recorder = Recorder()
    commits: GroupCommit[int] = GroupCommit(recorder.commit)
    leader = asyncio.create_task(commits.write(0))
    await under_way(recorder)
    follower = asyncio.create_task(commits.write(1))
    await queued()
    leader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leader
    recorder.release.set()
    await follower  # written in the next batch, the cancelled one's commit having finished
    assert recorder.batches == [[0], [1]]


# --- the fan-out around it ----------------------------------------------------------------


async def test_answered_lookups_leave_the_window_while_their_reports_are_written(
    person: Party, case: Case, tmp_path: Path
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'assetquery.db'}")
    batches: list[int] = []
    first = threading.Event()
    release = threading.Event()
    record = store.record_lookups

    def blocking(records: Sequence[LookupRecord]) -> None:
        first.set()
        release.wait(5)  # the store is slow: the first commit waits for the test
        batches.append(len(records))
        record(records)

    store.record_lookups = blocking  # type: ignore[method-assign]
    with respx.mock(assert_all_called=False, using="httpx") as router:
        route = router.post(REGISTRY_PATH).respond(
            200, content=samples.registry_xml(person.id_number)
        )
        router.post(FUND_PATH).respond(200, json=samples.fund_json(person.id_number))
        router.post(BANK_PATH).respond(200, json=samples.bank_json())
        router.post(TICKET_PATH).respond(200, json=samples.bank_json(accounts=2))
        async with Dispatcher(samples.settings(), store=store) as dispatcher:
            reports = dispatcher.lookup_many([(person, case)] * 6, window=2)
            collected = asyncio.create_task(_all(reports))
            await asyncio.to_thread(first.wait, 5)
            for _ in range(200):  # the loop goes on while the store thread is busy
                await asyncio.sleep(0)
            # Two in the commit, two more asked meanwhile and waiting for the next one;
            # no more than that: as many again as the window, never an unbounded queue.
            assert route.call_count == 4
            release.set()
            assert len(await collected) == 6
    assert sum(batches) == 6 and batches[0] == 2
    assert len(list(store.clocks.find())) == 6 * 4
    store.close()


async def _all(reports: AsyncIterator[LookupReport]) -> list[LookupReport]:
    return [report async for report in reports]
