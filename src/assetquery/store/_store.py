"""The store: control actions and every move they make, kept safe for several writers.

Each method is one short transaction. A state change reads and locks the row, checks the move
against the state machine and writes the new state with its transition in the same
transaction, so a concurrent writer waits its turn and then re-checks its move against what
the first one left. The row's version column is the safety net: an update that still finds
the row changed under it fails loudly and is retried from a fresh read, never overwritten.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar, cast

from sqlalchemy import Engine, Table, func, insert, select
from sqlalchemy.orm import Session, selectinload, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from .._actions import (
    ActionKind,
    ActionState,
    ControlAction,
    Transition,
    WithdrawalCondition,
    check_transition,
)
from .._errors import ActionNotFound, ConcurrentUpdate
from .._identifiers import mask_account, mask_id_number, mask_name, mask_text
from .._models import LookupReport, Party
from .._money import Money
from ._audit import Audit, AuditEvent, append_event_groups, append_events
from ._cases import Cases, Closures, Recommendations
from ._clocks import Clocks, NewClock, clock_values
from ._engine import DEFAULT_STORE, create_store_engine, migrate
from ._lookups import Jobs, Reports, insert_reports
from ._records import LookupRecord
from ._schema import ActionRow, ClockRow, TransitionRow

__all__ = ["NewAction", "Store"]

T = TypeVar("T")

# Fields a move or an update may set besides the state.
_CHANGEABLE = frozenset(
    {
        "institution_reference",
        "effective_on",
        "expires_on",
        "expiry_source",
        "waiting_position",
        "last_error",
        "amount",
    }
)
_CONFLICT_RETRIES = 5


@dataclass(frozen=True, slots=True)
class NewAction:
    """What the court asks for: recorded before anything is sent."""

    kind: ActionKind
    party: Party
    case_number: str
    enforcement_document: str
    court: str | None
    requested_by: str
    institution: str
    asset_kind: str
    asset_identifier: str
    amount: Money | None = None
    live_seal: bool = False
    withdrawal_condition: WithdrawalCondition | None = None
    override_reason: str | None = None
    target_id: int | None = None
    target_expires_on: date | None = None  # a renewal: the end date it extends


def _to_action(row: ActionRow) -> ControlAction:
    amount = (
        Money.from_fen(row.amount_fen, row.currency or "CNY")
        if row.amount_fen is not None
        else None
    )
    return ControlAction(
        id=row.id,
        idempotency_key=row.idempotency_key,
        kind=ActionKind(row.kind),
        state=ActionState(row.state),
        case_number=row.case_number,
        enforcement_document=row.enforcement_document,
        court=row.court,
        requested_by=row.requested_by,
        requested_at=row.requested_at,
        party_kind=row.party_kind,
        party_name=row.party_name,
        party_id_number=row.party_id_number,
        institution=row.institution,
        asset_kind=row.asset_kind,
        asset_identifier=row.asset_identifier,
        amount=amount,
        live_seal=row.live_seal,
        withdrawal_condition=(
            WithdrawalCondition(row.withdrawal_condition) if row.withdrawal_condition else None
        ),
        override_reason=row.override_reason,
        target_id=row.target_id,
        target_expires_on=row.target_expires_on,
        institution_reference=row.institution_reference,
        effective_on=row.effective_on,
        expires_on=row.expires_on,
        expiry_source=row.expiry_source,
        waiting_position=row.waiting_position,
        last_error=row.last_error,
        updated_at=row.updated_at,
        version=row.version,
        transitions=tuple(
            Transition(
                from_state=ActionState(t.from_state) if t.from_state else None,
                to_state=ActionState(t.to_state),
                at=t.at,
                actor=t.actor,
                reason=t.reason,
            )
            for t in row.transitions
        ),
    )


def _audit_event(
    action: ControlAction, event: str, actor: str, reason: str, before: str | None
) -> AuditEvent:
    """An action's move, as the audit trail keeps it: no name, ID or account in clear."""
    detail: dict[str, Any] = {
        "kind": action.kind.value,
        "asset_kind": action.asset_kind,
        "asset": mask_account(action.asset_identifier),
        "reason": mask_text(reason),
    }
    if before is not None:
        detail["from"] = before
        detail["to"] = action.state.value
    if action.amount is not None:
        detail["amount"] = str(action.amount.amount)
    if action.override_reason and before is None:
        detail["override_reason"] = mask_text(action.override_reason)
    return AuditEvent(
        event=event,
        actor=actor,
        case_number=action.case_number,
        party=f"{mask_name(action.party_name)} ({mask_id_number(action.party_id_number)})",
        institution=action.institution,
        subject=f"action:{action.id}",
        detail=detail,
    )


def _apply(row: ActionRow, changes: dict[str, Any]) -> None:
    unknown = set(changes) - _CHANGEABLE
    if unknown:
        raise TypeError(f"cannot change {', '.join(sorted(unknown))} of an action")
    for name, value in changes.items():
        if name == "amount":
            row.amount_fen = value.fen if value is not None else None
            row.currency = value.currency if value is not None else None
        else:
            setattr(row, name, value)


class Store:
    """The control-action ledger's database. ``Store()`` opens ``./assetquery.db``."""

    def __init__(self, url: str = DEFAULT_STORE, *, engine: Engine | None = None) -> None:
        self.engine = engine or create_store_engine(url)
        migrate(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        #: the SLA clocks
        self.clocks = Clocks(self._sessions)
        #: the hash-chained audit trail
        self.audit = Audit(self._sessions)
        #: batches handed to the worker, party by party
        self.jobs = Jobs(self._sessions)
        #: reports whose pending answers the worker collects
        self.reports = Reports(self._sessions)
        #: the store read case by case (the case file and the court's figures)
        self.cases = Cases(self._sessions)
        #: how cases were closed, imported from the court's case system
        self.closures = Closures(self._sessions)
        #: judicial recommendations' evidence packs and their replies
        self.recommendations = Recommendations(self._sessions)

    @property
    def url(self) -> str:
        """The database URL, password hidden."""
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    def _retrying(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in a transaction, again from a fresh read if a writer got in first."""
        for _ in range(_CONFLICT_RETRIES):
            try:
                with self._session() as session:
                    return work(session)
            except StaleDataError:
                continue
        raise ConcurrentUpdate(
            f"the action kept changing under {_CONFLICT_RETRIES} attempts; try again"
        )

    @staticmethod
    def _row(session: Session, action_id: int, *, for_update: bool = False) -> ActionRow:
        # Writers lock the row (PostgreSQL; SQLite's BEGIN IMMEDIATE already serializes), so
        # concurrent moves wait their turn instead of failing on the version check.
        row = session.get(
            ActionRow,
            action_id,
            options=[selectinload(ActionRow.transitions)],
            with_for_update=for_update,
        )
        if row is None:
            raise ActionNotFound(f"no control action #{action_id} in the store")
        return row

    # --- writing ---------------------------------------------------------------------------

    def record(self, new: NewAction, *, at: datetime, reason: str) -> ControlAction:
        """Store a requested action with a fresh idempotency key, before anything is sent."""
        row = ActionRow(
            idempotency_key=uuid.uuid4().hex,
            kind=new.kind.value,
            state=ActionState.REQUESTED.value,
            case_number=new.case_number,
            enforcement_document=new.enforcement_document,
            court=new.court,
            requested_by=new.requested_by,
            requested_at=at,
            party_kind=new.party.kind.value,
            party_name=new.party.name,
            party_id_number=new.party.id_number,
            institution=new.institution,
            asset_kind=new.asset_kind,
            asset_identifier=new.asset_identifier,
            amount_fen=new.amount.fen if new.amount is not None else None,
            currency=new.amount.currency if new.amount is not None else None,
            live_seal=new.live_seal,
            withdrawal_condition=new.withdrawal_condition,
            override_reason=new.override_reason,
            target_id=new.target_id,
            target_expires_on=new.target_expires_on,
            status_checks=0,
            updated_at=at,
            transitions=[
                TransitionRow(
                    from_state=None,
                    to_state=ActionState.REQUESTED.value,
                    at=at,
                    actor=new.requested_by,
                    reason=reason,
                )
            ],
        )
        with self._session() as session:
            session.add(row)
            session.flush()
            action = _to_action(row)
            append_events(
                session,
                [_audit_event(action, "action.requested", new.requested_by, reason, None)],
                at,
            )
            return action

    def move(
        self,
        action_id: int,
        to_state: ActionState,
        *,
        at: datetime,
        actor: str,
        reason: str,
        **changes: Any,
    ) -> ControlAction:
        """Move an action to ``to_state`` (checked), recording when, who and why."""

        def work(session: Session) -> ControlAction:
            row = self._row(session, action_id, for_update=True)
            check_transition(action_id, ActionKind(row.kind), ActionState(row.state), to_state)
            row.transitions.append(
                TransitionRow(
                    from_state=row.state,
                    to_state=to_state.value,
                    at=at,
                    actor=actor,
                    reason=reason,
                )
            )
            before = row.state
            row.state = to_state.value
            row.updated_at = at
            _apply(row, changes)
            session.flush()
            action = _to_action(row)
            append_events(
                session,
                [_audit_event(action, f"action.{to_state.value}", actor, reason, before)],
                at,
            )
            return action

        return self._retrying(work)

    def update(self, action_id: int, *, at: datetime, **changes: Any) -> ControlAction:
        """Change facts about an action without moving it (an error, a waiting position)."""

        def work(session: Session) -> ControlAction:
            row = self._row(session, action_id, for_update=True)
            _apply(row, changes)
            row.updated_at = at
            session.flush()
            return _to_action(row)

        return self._retrying(work)

    def record_lookup(
        self,
        clocks: Sequence[NewClock],
        events: Sequence[AuditEvent],
        *,
        at: datetime,
        report: LookupReport | None = None,
        collect: bool = True,
    ) -> None:
        """A lookup's SLA clocks and audit entries, and its report for the case file, in
        one transaction. ``collect``: the worker collects the report's pending answers
        (false for institutions no other process can reach, such as an in-process sandbox).
        """
        self.record_lookups([LookupRecord(clocks, events, at, report, collect)])

    def record_lookups(self, records: Sequence[LookupRecord]) -> None:
        """Several lookups' records in one transaction: one INSERT each of their clocks,
        audit entries and reports, however many lookups there are."""
        clocks = [clock for record in records for clock in record.clocks]
        with self._session() as session:
            if clocks:
                session.execute(insert(cast(Table, ClockRow.__table__)), clock_values(clocks))
            append_event_groups(session, [(r.events, r.at) for r in records])
            insert_reports(
                session, [(r.report, r.at, r.collect) for r in records if r.report is not None]
            )

    def count_status_check(self, action_id: int, *, at: datetime) -> ControlAction:
        """Note one more status query of an action (a counter two syncs may bump at once)."""

        def work(session: Session) -> ControlAction:
            row = self._row(session, action_id, for_update=True)
            row.status_checks += 1
            row.updated_at = at
            session.flush()
            return _to_action(row)

        return self._retrying(work)

    # --- reading ---------------------------------------------------------------------------

    def get(self, action_id: int) -> ControlAction:
        with self._session() as session:
            return _to_action(self._row(session, action_id))

    def status_checks(self, action_id: int) -> int:
        with self._session() as session:
            return self._row(session, action_id).status_checks

    def find(
        self,
        *,
        states: Collection[ActionState] | None = None,
        kinds: Collection[ActionKind] | None = None,
        case_number: str | None = None,
        institution: str | None = None,
        asset_identifier: str | None = None,
        target_id: int | None = None,
        expires_by: date | None = None,
        limit: int | None = None,
    ) -> list[ControlAction]:
        """Actions matching every filter given; those with an expiry first, earliest first."""
        query = select(ActionRow).options(selectinload(ActionRow.transitions))
        if states is not None:
            query = query.where(ActionRow.state.in_([s.value for s in states]))
        if kinds is not None:
            query = query.where(ActionRow.kind.in_([k.value for k in kinds]))
        if case_number is not None:
            query = query.where(ActionRow.case_number == case_number)
        if institution is not None:
            query = query.where(ActionRow.institution == institution)
        if asset_identifier is not None:
            query = query.where(ActionRow.asset_identifier == asset_identifier)
        if target_id is not None:
            query = query.where(ActionRow.target_id == target_id)
        if expires_by is not None:
            query = query.where(ActionRow.expires_on <= expires_by)
        query = query.order_by(ActionRow.expires_on.is_(None), ActionRow.expires_on, ActionRow.id)
        if limit is not None:
            query = query.limit(limit)
        with self._session() as session:
            return [_to_action(row) for row in session.scalars(query)]

    def controlled_amount(
        self, case_number: str, states: Collection[ActionState], currency: str = "CNY"
    ) -> Money:
        """The total amount of the case's freezes in ``states``."""
        query = select(func.coalesce(func.sum(ActionRow.amount_fen), 0)).where(
            ActionRow.case_number == case_number,
            ActionRow.kind == ActionKind.FREEZE.value,
            ActionRow.state.in_([s.value for s in states]),
            ActionRow.currency == currency,
        )
        with self._session() as session:
            fen = session.scalar(query) or 0
        return Money(Decimal(int(fen)).scaleb(-2), currency)
