"""The engine's queues: where durable work waits until some worker takes it.

``assetquery.work`` holds every unit that talks to institutions (a chunk of a job, a batch
of late answers); its global concurrency is ``worker.slots`` for the whole court, and each
worker takes at most ``--concurrency`` of them at once. ``assetquery.jobs`` holds the jobs
themselves: a job only hands its chunks to the work queue and waits for them.

Dequeuing is poll-based (each worker looks once every ``worker.poll_interval`` seconds),
which is why the units are coarse: hundreds of parties, never one request.
"""

from __future__ import annotations

import asyncio
import threading

from dbos import DBOS, Queue

__all__ = ["JOBS", "WORK", "queue", "register_queues"]

WORK = "assetquery.work"
JOBS = "assetquery.jobs"

_registered: dict[str, Queue] = {}
# Set once both queues are registered: a workflow the engine recovers as it launches may
# run before the worker has registered them.
_ready = threading.Event()


async def register_queues(*, slots: int, concurrency: int, poll_interval: float) -> None:
    """Register (or update, court-wide) both queues; after the engine has launched."""
    _registered[WORK] = await DBOS.register_queue_async(
        WORK,
        global_concurrency=slots,
        worker_concurrency=concurrency,
        polling_interval_sec=poll_interval,
    )
    _registered[JOBS] = await DBOS.register_queue_async(
        JOBS, worker_concurrency=64, polling_interval_sec=poll_interval
    )
    _ready.set()


async def queue(name: str) -> Queue:
    """A registered queue, once the worker has registered them."""
    if not _ready.is_set() and not await asyncio.to_thread(_ready.wait, 60):
        raise RuntimeError(f"queue {name!r} was not registered: is this a worker?")
    return _registered[name]
