"""Follow-ups: every action still waiting for its institution followed until it is settled.

A freeze is often acknowledged at once and carried out hours or days later; a seal waits in
a registry's queue. Each action in a pending state (requested, submitted, acknowledged,
waiting in line) gets one durable workflow of its own, named after the action
(``assetquery.action.<id>``): it asks the institution, sleeps durably for the follow-up
interval, and asks again, until the action is in force, refused or closed. The name makes
starting it idempotent: the scan that starts follow-ups every minute, on any worker, never
starts a second one for the same action, and a follow-up interrupted by a crash resumes
where it slept. Each question goes through the work queue, so it takes one of the
court's slots and its share of the institution's caps while it is asked, and none while
the follow-up sleeps.
"""

from __future__ import annotations

import asyncio

from dbos import DBOS, SetWorkflowID

from .._logging import get_logger
from ..ledger import PENDING_STATES, ActionLedger, ActionState
from ._context import current, dispatcher_for, step, store_for
from ._queues import WORK, queue

__all__ = ["ask_action", "follow_action", "start_follow_ups"]

log = get_logger("assetquery.worker")


@step("assetquery.follow.ask")
async def ask_once(action_id: int) -> str:
    """Ask the institution where the action stands; its state as recorded after."""
    context = current()
    async with dispatcher_for(context) as dispatcher:
        action = await ActionLedger(store_for(context.store_url), dispatcher).follow(action_id)
    return action.state.value


@DBOS.workflow(name="assetquery.follow.ask")
async def ask_action(action_id: int) -> str:
    return await ask_once(action_id)


@DBOS.workflow(name="assetquery.follow")
async def follow_action(action_id: int, every_seconds: float) -> str:
    """Follow one action until it leaves the pending states; its final state."""
    work = await queue(WORK)
    while True:
        handle = await work.enqueue_async(ask_action, action_id)
        state = ActionState(await handle.get_result())
        if state not in PENDING_STATES:
            log.info("action settled", action_id=action_id, state=state.value)
            return state.value
        await DBOS.sleep_async(every_seconds)


@step("assetquery.follow.pending")
async def pending_actions() -> list[int]:
    store = store_for(current().store_url)
    found = await asyncio.to_thread(store.find, states=PENDING_STATES)
    return [action.id for action in found]


async def start_follow_ups() -> None:
    """Start a follow-up for every pending action (one per action, by its name)."""
    every = current().follow_every
    for action_id in await pending_actions():
        with SetWorkflowID(f"assetquery.action.{action_id}"):
            await DBOS.start_workflow_async(follow_action, action_id, every)
