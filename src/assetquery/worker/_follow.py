"""Follow-ups: every action still waiting for its institution followed until it is settled.

A freeze is often acknowledged at once and carried out hours or days later; a seal waits in
a registry's queue. Each action in a pending state (requested, submitted, acknowledged,
waiting in line) gets one durable workflow of its own, named after the action
(``assetquery.action.<id>``): it asks the institution, sleeps durably for the follow-up
interval, and asks again, until the action is in force, refused or closed. The name makes
starting it idempotent: the scan that starts follow-ups every minute, on any worker, never
starts a second one for the same action, and a follow-up interrupted by a crash resumes
where it slept.
"""

from __future__ import annotations

from dbos import DBOS, SetWorkflowID

from .._logging import get_logger
from .._time import utc_now
from ..ledger import PENDING_STATES, ActionLedger, ActionState
from ..store import Store
from ._sweep import SweepContext, dispatcher_for

__all__ = ["SCAN", "follow_action", "follow_up_now", "start_follow_ups"]

log = get_logger("assetquery.worker")

#: the schedule that looks for actions nobody follows yet
SCAN = "assetquery.follow-up-scan"


@DBOS.step(name="assetquery.follow.ask")
async def ask_once(action_id: int, context: SweepContext) -> str:
    """Ask the institution where the action stands; its state as recorded after."""
    store = Store(context.store_url)
    try:
        async with dispatcher_for(context.config) as dispatcher:
            action = await ActionLedger(store, dispatcher).follow(action_id)
    finally:
        store.close()
    return action.state.value


@DBOS.workflow(name="assetquery.follow")
async def follow_action(action_id: int, context: SweepContext, every_seconds: float) -> str:
    """Follow one action until it leaves the pending states; its final state."""
    while True:
        state = ActionState(await ask_once(action_id, context))
        if state not in PENDING_STATES:
            log.info("action settled", action_id=action_id, state=state.value)
            return state.value
        await DBOS.sleep_async(every_seconds)


@DBOS.step(name="assetquery.follow.pending")
async def pending_actions(context: SweepContext) -> list[int]:
    store = Store(context.store_url)
    try:
        return [action.id for action in store.find(states=PENDING_STATES)]
    finally:
        store.close()


@DBOS.workflow(name="assetquery.follow-up-scan")
async def start_follow_ups(scheduled_at: object, context: tuple[SweepContext, float]) -> None:
    """Start a follow-up for every pending action (one per action, by its name)."""
    sweep, every_seconds = context
    for action_id in await pending_actions(sweep):
        with SetWorkflowID(f"assetquery.action.{action_id}"):
            await DBOS.start_workflow_async(follow_action, action_id, sweep, every_seconds)


async def follow_up_now(context: SweepContext, every_seconds: float) -> None:
    """Run the scan at once, as a worker starts: no action waits a minute to be followed."""
    await DBOS.start_workflow_async(start_follow_ups, utc_now(), (context, every_seconds))
