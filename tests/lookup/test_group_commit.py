"""Lookups that finish together are written in one transaction, and none is lost."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest

from assetquery._lookup._records import GroupCommit


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
