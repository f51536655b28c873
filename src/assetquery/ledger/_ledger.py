"""The action ledger: every freeze, seal, deduction, renewal and release, until it closes.

The ledger records an action, with a fresh idempotency key, *before* anything is sent. It
marks the action ``submitted`` before sending, so a crash between the two is never mistaken
for "not sent". A submission is never retried blindly: after any failure whose outcome is
unknown (a timeout, a dropped connection, a server error), the ledger asks the institution
for the status of that key. Only when the institution has no record of it is it sent again,
with the same key, so the institution can never apply it twice.

``sync`` walks every open action: it sends what was never sent, asks where everything else
stands, promotes waiting-line controls that came into force, closes what the institution
released or lapsed, and marks controls whose period ended without renewal as expired —
never silently: each change is a recorded transition and is reported back.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TypeVar

from .._actions import (
    CONTROL_KINDS,
    OPEN_STATES,
    ActionKind,
    ActionState,
    ControlAction,
    IllegalTransition,
    OverControl,
    WithdrawalCondition,
)
from .._errors import AdapterError, InstitutionRejected, InvalidInput, RefusedRequest
from .._identifiers import scrub
from .._models import AssetKind, Case, LookupReport, Party, PartyKind
from .._money import Money
from .._time import local_date, utc_now
from ..adapters import ControlRequest, ControlState, ControlStatus, Operation
from ..rules._pack import (
    RulePack,
    load_rule_pack,
    renewal_deadline,
)
from ..store import AuditEvent, NewAction, NewClock, Store
from ._channel import ControlChannel
from ._planner import FreezePlan, plan_controls
from ._reconcile import SYSTEM, decide

__all__ = ["ActionLedger", "DueControl", "SyncChange"]

T = TypeVar("T")
#: who the ledger names for the moves it makes itself (sending, marking expiry)

#: Freezes that count against the claim: in force, or on their way there.
_COUNTED = (
    ActionState.REQUESTED,
    ActionState.SUBMITTED,
    ActionState.ACKNOWLEDGED,
    ActionState.EFFECTIVE,
)
_ASSET_FOR = {ActionKind.SEAL: {AssetKind.REAL_ESTATE.value}}
_FREEZABLE = {AssetKind.BANK_ACCOUNT.value, AssetKind.HOUSING_FUND.value}


@dataclass(frozen=True, slots=True)
class SyncChange:
    """One thing a sync changed (or tried to, and why it could not)."""

    action_id: int
    kind: ActionKind
    before: ActionState
    after: ActionState
    note: str


@dataclass(frozen=True, slots=True)
class DueControl:
    """A control whose period ends soon: renew it before ``renew_by``."""

    action: ControlAction
    expires_on: date
    renew_by: date
    days_left: int


class ActionLedger:
    """Requests, submits and tracks control actions. Bound to a store and a dispatcher.

    The dispatcher must be open (``async with``) for anything that talks to institutions;
    listing, showing and the renewal radar only read the store.
    """

    def __init__(
        self,
        store: Store,
        dispatcher: ControlChannel,
        *,
        rules: RulePack | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store = store
        self.dispatcher = dispatcher
        self.rules = rules or load_rule_pack()
        self._clock = clock
        # Actions being sent from here, and the send's outcome: a sync meanwhile would ask
        # the institution too early and undo the submission, and a second send of the same
        # action (a sync racing a freeze that was just recorded) waits for the first.
        self._sending: dict[int, asyncio.Future[ControlAction]] = {}

    def _today(self) -> date:
        return local_date(self._clock())

    async def _db(self, work: Callable[..., T], *args: object, **kwargs: object) -> T:
        # The store is synchronous; keep the event loop free while it works.
        return await asyncio.to_thread(work, *args, **kwargs)

    # --- planning --------------------------------------------------------------------------

    async def plan(self, report: LookupReport, claim: Money | None = None) -> FreezePlan:
        """Controls that cover the claim without over-controlling, given what is in force."""
        already = await self._db(self.store.controlled_amount, report.case.number, _COUNTED)
        return plan_controls(report, claim, already_controlled=already)

    async def execute(
        self, plan: FreezePlan, party: Party, case: Case, *, document: str
    ) -> list[ControlAction]:
        """Request and submit every control of a plan."""
        actions = []
        for planned in plan.controls:
            if planned.operation is Operation.FREEZE:
                assert planned.amount is not None
                action = await self.freeze(
                    party,
                    case,
                    institution=planned.institution,
                    asset_kind=planned.asset_kind,
                    identifier=planned.asset_identifier,
                    amount=planned.amount,
                    document=document,
                )
            else:
                action = await self.seal(
                    party,
                    case,
                    institution=planned.institution,
                    identifier=planned.asset_identifier,
                    document=document,
                )
            actions.append(action)
        return actions

    # --- requests --------------------------------------------------------------------------

    async def freeze(
        self,
        party: Party,
        case: Case,
        *,
        institution: str,
        identifier: str,
        amount: Money,
        document: str | None = None,
        asset_kind: str = AssetKind.BANK_ACCOUNT.value,
        override_reason: str | None = None,
    ) -> ControlAction:
        """Freeze ``amount`` of a deposit or fund account, and submit it.

        Refused with ``OverControl`` if the case's freezes would exceed its claim,
        unless ``override_reason`` says why (the reason is recorded).
        """
        async with self._refusals(
            ActionKind.FREEZE, case.number, party, case.operator, institution
        ):
            self._allow(case)
            if asset_kind not in _FREEZABLE:
                raise InvalidInput("asset_kind", f"{asset_kind} is sealed, not frozen")
            if amount.amount <= 0:
                raise InvalidInput("amount", "a freeze states a positive amount")
            await self._check_proportionate(case, amount, override_reason)
            new = self._new(
                ActionKind.FREEZE,
                party,
                case,
                document,
                institution,
                asset_kind,
                identifier,
                amount=amount,
                override_reason=override_reason,
            )
            return await self._request_and_submit(new, f"freeze {amount} requested")

    async def seal(
        self,
        party: Party,
        case: Case,
        *,
        institution: str,
        identifier: str,
        document: str | None = None,
        live_seal: bool = False,
    ) -> ControlAction:
        """Seal a real-estate unit (``live_seal``: the debtor keeps using it), and submit it."""
        async with self._refusals(ActionKind.SEAL, case.number, party, case.operator, institution):
            self._allow(case)
            new = self._new(
                ActionKind.SEAL,
                party,
                case,
                document,
                institution,
                AssetKind.REAL_ESTATE.value,
                identifier,
                live_seal=live_seal,
            )
            reason = (
                "live seal requested (debtor keeps using it)" if live_seal else "seal requested"
            )
            return await self._request_and_submit(new, reason)

    async def deduct(
        self,
        freeze_id: int,
        *,
        operator: str,
        document: str,
        amount: Money | None = None,
        withdrawal_condition: WithdrawalCondition | None = None,
    ) -> ControlAction:
        """Deduct frozen money (all of it by default) into the court's account."""
        target = await self._db(self.store.get, freeze_id)
        async with self._refusals(
            ActionKind.DEDUCT, target.case_number, _party_of(target), operator, target.institution
        ):
            self._allow_on(target, operator)
            if target.kind is not ActionKind.FREEZE or target.state is not ActionState.EFFECTIVE:
                raise RefusedRequest(
                    f"a deduction needs an effective freeze of the same funds; #{freeze_id} is "
                    f"a {target.state.value} {target.kind.value}"
                )
            assert target.amount is not None
            amount = amount or target.amount
            if amount > target.amount:
                raise RefusedRequest(
                    f"cannot deduct {amount}: freeze #{freeze_id} holds only {target.amount}"
                )
            if target.asset_kind == AssetKind.HOUSING_FUND and withdrawal_condition is None:
                raise RefusedRequest(
                    "a housing fund deduction needs a recorded withdrawal condition (Housing "
                    "Provident Fund Regulations art. 24): pass withdrawal_condition"
                )
            new = self._operation(
                ActionKind.DEDUCT,
                target,
                operator,
                document,
                amount=amount,
                withdrawal_condition=withdrawal_condition,
            )
            return await self._request_and_submit(new, f"deduction of {amount} requested")

    async def renew(self, control_id: int, *, operator: str, document: str) -> ControlAction:
        """Renew a control in force for another full legal period."""
        target = await self._db(self.store.get, control_id)
        async with self._refusals(
            ActionKind.RENEW, target.case_number, _party_of(target), operator, target.institution
        ):
            self._allow_on(target, operator)
            if target.kind not in CONTROL_KINDS or target.state is not ActionState.EFFECTIVE:
                raise RefusedRequest(
                    f"only an effective freeze or seal can be renewed; #{control_id} is a "
                    f"{target.state.value} {target.kind.value}"
                )
            new = self._operation(
                ActionKind.RENEW, target, operator, document, target_expires_on=target.expires_on
            )
            return await self._request_and_submit(new, f"renewal of #{control_id} requested")

    async def release(
        self, control_id: int, *, operator: str, document: str, reason: str = "released"
    ) -> ControlAction:
        """Release a control in force or waiting in line."""
        target = await self._db(self.store.get, control_id)
        async with self._refusals(
            ActionKind.RELEASE, target.case_number, _party_of(target), operator, target.institution
        ):
            self._allow_on(target, operator)
            if target.kind not in CONTROL_KINDS or target.state not in (
                ActionState.EFFECTIVE,
                ActionState.WAITING,
            ):
                raise RefusedRequest(
                    f"only an effective or waiting freeze or seal can be released; "
                    f"#{control_id} is a {target.state.value} {target.kind.value}"
                )
            new = self._operation(ActionKind.RELEASE, target, operator, document)
            return await self._request_and_submit(new, f"release of #{control_id}: {reason}")

    # --- who may ask -----------------------------------------------------------------------

    def _allow(self, case: Case) -> None:
        """Purpose binding and the allow-lists, as for inquiries (the channel's ``refusal``)."""
        reason = self.dispatcher.refusal(case)
        if reason is not None:
            raise RefusedRequest(f"refused: {reason}")

    def _allow_on(self, target: ControlAction, operator: str) -> None:
        """An operation on an existing control: the same rules, for this operator."""
        self._allow(
            Case.model_construct(
                number=target.case_number,
                operator=operator.strip(),
                court=target.court,
                claim=None,
                enforcement_document=None,
            )
        )

    @asynccontextmanager
    async def _refusals(
        self,
        kind: ActionKind,
        case_number: str,
        party: Party,
        operator: str,
        institution: str,
    ) -> AsyncIterator[None]:
        """Every refused request leaves an entry in the audit trail, then fails as before."""
        try:
            yield
        except (RefusedRequest, OverControl) as exc:
            event = AuditEvent(
                event="action.refused",
                actor=operator.strip() or "(no operator)",
                case_number=case_number,
                party=party.masked,
                institution=institution,
                detail={"kind": kind.value, "reason": str(exc)},
            )
            await self._db(self.store.audit.append, [event], at=self._clock())
            raise

    # --- the institution side --------------------------------------------------------------

    async def submit(self, action_id: int) -> ControlAction:
        """Send a requested action (again: same key). What ``sync`` does for unsent ones."""
        action = await self._db(self.store.get, action_id)
        if action.state is not ActionState.REQUESTED:
            raise IllegalTransition(
                action.id,
                action.kind.value,
                action.state.value,
                ActionState.SUBMITTED.value,
                "only a requested action is sent from here; sync follows the others",
            )
        return await self._send(action)

    async def sync(self, states: Collection[ActionState] = OPEN_STATES) -> list[SyncChange]:
        """Bring open actions up to date with their institutions; report what changed.

        ``states`` narrows the sync, e.g. to actions still waiting for an answer
        (``PENDING_STATES``) between full syncs that also check the controls in force.
        """
        changes: list[SyncChange] = []
        open_actions = await self._db(self.store.find, states=states)
        for action in open_actions:
            if action.id in self._sending:  # its own answer is on the way
                continue
            try:
                after = await self._sync_one(action)
            except IllegalTransition as exc:
                # Another worker moved it first; its state is what the store now says.
                after = await self._db(self.store.get, action.id)
                changes.append(
                    SyncChange(
                        action.id,
                        action.kind,
                        action.state,
                        after.state,
                        f"changed concurrently: {exc}",
                    )
                )
                continue
            except AdapterError as exc:
                changes.append(
                    SyncChange(
                        action.id,
                        action.kind,
                        action.state,
                        action.state,
                        f"could not ask {action.institution}: {exc.message}",
                    )
                )
                continue
            if after.state is not action.state or after.version != action.version:
                last = after.transitions[-1].reason if after.transitions else ""
                changes.append(SyncChange(action.id, action.kind, action.state, after.state, last))
        return changes

    async def follow(self, action_id: int) -> ControlAction:
        """Bring one action up to date with its institution (what ``sync`` does for each).

        An action still requested is sent (again, with its key); one being sent from here
        is left to its answer. An institution that cannot be reached, or another writer
        moving the action first, leaves it as the store holds it: ask again later. Returns
        the action as the store now holds it.
        """
        action = await self._db(self.store.get, action_id)
        if action.id in self._sending or not action.is_open:
            return action
        try:
            return await self._sync_one(action)
        except (AdapterError, IllegalTransition):
            return await self._db(self.store.get, action_id)

    async def _sync_one(self, action: ControlAction) -> ControlAction:
        if action.state is ActionState.REQUESTED:
            return await self._send(action)
        request = await self._db(self.request_for, action)
        status = await self.dispatcher.control_status(action.institution, request)
        await self._db(self.store.count_status_check, action.id, at=self._clock())
        action = await self._adopt(action, status)
        if (
            action.state is ActionState.EFFECTIVE
            and action.expires_on is not None
            and action.expires_on < self._today()
        ):
            action = await self._move(
                action,
                ActionState.EXPIRED,
                f"lapsed: not renewed before its period ended on {action.expires_on}",
                actor=SYSTEM,
            )
        return action

    # --- the radar -------------------------------------------------------------------------

    async def due(self, within: timedelta, *, today: date | None = None) -> list[DueControl]:
        """Effective controls whose period ends within ``within`` of today, oldest first."""
        today = today or self._today()
        controls = await self._db(
            self.store.find,
            states=(ActionState.EFFECTIVE,),
            kinds=CONTROL_KINDS,
            expires_by=today + within,
        )
        return [
            DueControl(
                action=c,
                expires_on=c.expires_on,
                renew_by=renewal_deadline(self.rules, c.expires_on),
                days_left=(c.expires_on - today).days,
            )
            for c in controls
            if c.expires_on is not None
        ]

    # --- internals -------------------------------------------------------------------------

    async def _check_proportionate(
        self, case: Case, amount: Money, override_reason: str | None
    ) -> None:
        if case.claim is None:
            raise InvalidInput(
                "case.claim", "a freeze needs the case's claim to keep it proportionate"
            )
        controlled = await self._db(self.store.controlled_amount, case.number, _COUNTED)
        if controlled + amount > case.claim and not (override_reason or "").strip():
            raise OverControl(
                f"freezing {amount} would control {controlled + amount} under case "
                f"{case.number}, above its claim of {case.claim}; give an override reason "
                "if the excess is justified"
            )

    def _new(
        self,
        kind: ActionKind,
        party: Party,
        case: Case,
        document: str | None,
        institution: str,
        asset_kind: str,
        identifier: str,
        **extra: object,
    ) -> NewAction:
        document = (document or case.enforcement_document or "").strip()
        if not document:
            raise RefusedRequest(
                "refused: a control action needs the enforcement document number "
                "(协助执行通知书); set case.enforcement_document or pass document"
            )
        if kind in _ASSET_FOR and asset_kind not in _ASSET_FOR[kind]:
            raise InvalidInput("asset_kind", f"a {kind.value} applies to real estate")
        return NewAction(
            kind=kind,
            party=party,
            case_number=case.number,
            enforcement_document=document,
            court=case.court,
            requested_by=case.operator,
            institution=institution,
            asset_kind=asset_kind,
            asset_identifier=identifier,
            **extra,  # type: ignore[arg-type]
        )

    def _operation(
        self,
        kind: ActionKind,
        target: ControlAction,
        operator: str,
        document: str,
        **extra: object,
    ) -> NewAction:
        if not operator.strip():
            raise RefusedRequest("refused: every action names who asks (operator)")
        if not document.strip():
            raise RefusedRequest("refused: a control action needs the enforcement document number")
        return NewAction(
            kind=kind,
            party=_party_of(target),
            case_number=target.case_number,
            enforcement_document=document.strip(),
            court=target.court,
            requested_by=operator.strip(),
            institution=target.institution,
            asset_kind=target.asset_kind,
            asset_identifier=target.asset_identifier,
            target_id=target.id,
            **extra,  # type: ignore[arg-type]
        )

    async def _request_and_submit(self, new: NewAction, reason: str) -> ControlAction:
        # Refuse unsupported operations before anything is recorded.
        capabilities = self.dispatcher.capabilities(new.institution)
        if new.kind.operation not in capabilities:
            raise RefusedRequest(
                f"{new.institution} does not offer {new.kind.value} "
                f"(it offers {', '.join(sorted(capabilities))})"
            )
        action = await self._db(self.store.record, new, at=self._clock(), reason=reason)
        return await self._send(action)

    def request_for(self, action: ControlAction) -> ControlRequest:
        """The request that submits ``action`` (always the same: same idempotency key)."""
        target_reference = None
        if action.target_id is not None:
            target = self.store.get(action.target_id)
            target_reference = target.institution_reference
        return ControlRequest(
            operation=action.kind.operation,
            idempotency_key=action.idempotency_key,
            party=_party_of(action),
            case=Case(
                number=action.case_number,
                operator=action.requested_by,
                court=action.court,
                enforcement_document=action.enforcement_document,
            ),
            asset_kind=action.asset_kind,
            asset_identifier=action.asset_identifier,
            amount=action.amount,
            target=target_reference,
            live_seal=action.live_seal,
            withdrawal_condition=action.withdrawal_condition,
        )

    async def _send(self, action: ControlAction) -> ControlAction:
        """Submit ``action``; if it is already being sent from here, wait for that send."""
        running = self._sending.get(action.id)
        if running is not None:
            return await asyncio.shield(running)
        outcome: asyncio.Future[ControlAction] = asyncio.get_running_loop().create_future()
        self._sending[action.id] = outcome  # before any await: no second send can start
        try:
            sent = await self._send_now(action)
        except asyncio.CancelledError:
            outcome.cancel()
            raise
        except BaseException as exc:
            outcome.set_exception(exc)
            outcome.exception()  # a waiter gets it too; none is needed to retrieve it
            raise
        else:
            outcome.set_result(sent)
            return sent
        finally:
            del self._sending[action.id]

    async def _send_now(self, action: ControlAction) -> ControlAction:
        request = await self._db(self.request_for, action)
        action = await self._move(
            action, ActionState.SUBMITTED, f"sent to {action.institution}", actor=SYSTEM
        )
        try:
            status = await self.dispatcher.submit_control(action.institution, request)
        except InstitutionRejected as exc:
            # A refusal of the request itself (credentials, malformed): nothing was applied.
            said = scrub(exc.message, hide=(action.party_name,))
            return await self._move(action, ActionState.FAILED, said, last_error=said)
        except AdapterError as exc:
            said = scrub(exc.message, hide=(action.party_name,))
            await self._db(self.store.update, action.id, at=self._clock(), last_error=said)
            return await self._reconcile(action, request, exc)
        # Another worker may have synced it while it was on its way: adopt the answer from
        # where the store says the action now stands.
        current = await self._db(self.store.get, action.id)
        return await self._adopt(current, status)

    async def _reconcile(
        self, action: ControlAction, request: ControlRequest, error: AdapterError
    ) -> ControlAction:
        """After an ambiguous failure: ask, never resend blindly."""
        try:
            status = await self.dispatcher.control_status(action.institution, request)
        except AdapterError:
            return await self._db(
                self.store.update,
                action.id,
                at=self._clock(),
                last_error=f"{scrub(error.message, hide=(action.party_name,))}; outcome unknown "
                "until the next sync asks again",
            )
        return await self._adopt(action, status)

    async def _move(
        self,
        action: ControlAction,
        state: ActionState,
        reason: str,
        *,
        actor: str | None = None,
        **changes: object,
    ) -> ControlAction:
        """Record a move; by default the institution is its author (it said so)."""
        moved = await self._db(
            self.store.move,
            action.id,
            state,
            at=self._clock(),
            actor=actor or action.institution,
            reason=reason,
            **changes,
        )
        await self._time(action, moved)
        return moved

    async def _time(self, before: ControlAction, after: ControlAction) -> None:
        """Start the action's SLA clocks when it is sent; stop them when the institution answers."""
        now = self._clock()
        if after.state is ActionState.SUBMITTED and before.state is ActionState.REQUESTED:
            await self._db(self.store.clocks.open, self._new_clocks(after, now))
            return
        if before.state not in (ActionState.SUBMITTED, ActionState.ACKNOWLEDGED):
            return
        if after.state is ActionState.REQUESTED:
            return  # never received: its clocks run on while it is sent again
        failed = after.state is ActionState.FAILED
        stop = ["receipt"]
        if after.state is not ActionState.ACKNOWLEDGED:
            stop.append(after.kind.value)  # an outcome: in force, waiting, refused, done
        for operation in stop:
            await self._db(
                self.store.clocks.close,
                subject="action",
                reference=str(after.id),
                institution=after.institution,
                operation=operation,
                answered_at=now,
                failed=failed,
            )

    def _new_clocks(self, action: ControlAction, now: datetime) -> list[NewClock]:
        institution = self.dispatcher.institution(action.institution)
        clocks = []
        for operation in ("receipt", action.kind.value):
            due = self.dispatcher.due(action.institution, operation, now)
            if due is None and operation == "receipt":
                continue  # a receipt deadline only where one is configured
            clocks.append(
                NewClock(
                    subject="action",
                    operation=operation,
                    institution=action.institution,
                    institution_name=institution.name,
                    case_number=action.case_number,
                    reference=str(action.id),
                    started_at=now,
                    due_at=due[1].due_at if due else None,
                    provisional=due[1].provisional if due else False,
                    rule=str(due[0]) if due else None,
                )
            )
        return clocks

    async def _adopt(self, action: ControlAction, status: ControlStatus) -> ControlAction:
        """Record what the institution says about an action (the moves ``decide`` says)."""
        target = None
        if (
            not action.kind.is_control
            and status.state is ControlState.EFFECTIVE
            and action.target_id is not None
            and action.state is not ActionState.COMPLETED
        ):
            target = await self._db(self.store.get, action.target_id)
        current = {action.id: action}
        if target is not None:
            current[target.id] = target
        for move in decide(action, status, self.rules, self._today(), target=target):
            before = current[move.action_id]
            if move.state is None:
                current[move.action_id] = await self._db(
                    self.store.update, move.action_id, at=self._clock(), **move.changes
                )
            else:
                current[move.action_id] = await self._move(
                    before, move.state, move.reason, actor=move.actor, **move.changes
                )
        return current[action.id]

    # --- reading ---------------------------------------------------------------------------

    async def get(self, action_id: int) -> ControlAction:
        return await self._db(self.store.get, action_id)

    async def list(self, **filters: object) -> Sequence[ControlAction]:
        return await self._db(self.store.find, **filters)


def _party_of(action: ControlAction) -> Party:
    kind = PartyKind(action.party_kind)
    return Party.model_construct(
        kind=kind, name=action.party_name, id_number=action.party_id_number
    )
