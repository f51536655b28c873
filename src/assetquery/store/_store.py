"""The store: control actions and every move they make, kept safe for several writers.

Each method is one short transaction. A state change reads and locks the row, checks the move
against the state machine and writes the new state with its transition in the same
transaction, so a concurrent writer waits its turn and then re-checks its move against what
the first one left. The row's version column is the safety net: an update that still finds
the row changed under it fails loudly and is retried from a fresh read, never overwritten.

Actions are read and written with SQLAlchemy Core, statements built once: every court's
freezes and their moves go through here, and the ORM's unit of work cost more than the
database did (docs/performance.md, scenario f).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from itertools import groupby
from typing import Any, TypeVar, cast

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import sessionmaker

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

_ACTIONS = cast(Table, ActionRow.__table__)
_TRANSITIONS = cast(Table, TransitionRow.__table__)

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
# The columns every write of an action sets: one statement, compiled once, for every write.
_WRITTEN = (
    "state",
    "updated_at",
    "status_checks",
    *sorted(_CHANGEABLE - {"amount"}),
    "amount_fen",
    "currency",
)
_CONFLICT_RETRIES = 5
# Moves are read with their action, one row per move; the labels keep them apart.
_MOVE_COLUMNS = (
    _TRANSITIONS.c.from_state.label("move_from"),
    _TRANSITIONS.c.to_state.label("move_to"),
    _TRANSITIONS.c.at.label("move_at"),
    _TRANSITIONS.c.actor.label("move_actor"),
    _TRANSITIONS.c.reason.label("move_reason"),
)
_READ = (
    select(_ACTIONS, *_MOVE_COLUMNS)
    .outerjoin(_TRANSITIONS, _TRANSITIONS.c.action_id == _ACTIONS.c.id)
    .where(_ACTIONS.c.id == bindparam("action_id"))
    .order_by(_TRANSITIONS.c.id)
)
# Writers lock the row (PostgreSQL; SQLite's BEGIN IMMEDIATE already serializes), so
# concurrent moves wait their turn instead of failing on the version check. The moves are
# read after the lock, by a statement of their own: a locked read that waited sees the
# row as the writer before it left it, but rows joined to it as they were when it began.
_LOCK = select(_ACTIONS).where(_ACTIONS.c.id == bindparam("action_id")).with_for_update()
_MOVES = (
    select(*_MOVE_COLUMNS)
    .where(_TRANSITIONS.c.action_id == bindparam("action_id"))
    .order_by(_TRANSITIONS.c.id)
)
_MOVES_OF = (
    select(_TRANSITIONS.c.action_id, *_MOVE_COLUMNS)
    .where(_TRANSITIONS.c.action_id.in_(bindparam("ids", expanding=True)))
    .order_by(_TRANSITIONS.c.action_id, _TRANSITIONS.c.id)
)
_INSERT_ACTION = insert(_ACTIONS).returning(_ACTIONS.c.id)
_INSERT_MOVE = insert(_TRANSITIONS)
_INSERT_CLOCK = insert(cast(Table, ClockRow.__table__))
_WRITE = update(_ACTIONS).where(
    _ACTIONS.c.id == bindparam("the_id"), _ACTIONS.c.version == bindparam("read_version")
)
# ``find`` reads the moves of this many actions at a time (SQLite's limit on parameters).
_MOVES_CHUNK = 500


class _Conflict(Exception):
    """The row changed between the read and the write: read again."""


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


def _move(row: Mapping[Any, Any]) -> Transition:
    return Transition(
        from_state=ActionState(row["move_from"]) if row["move_from"] else None,
        to_state=ActionState(row["move_to"]),
        at=row["move_at"],
        actor=row["move_actor"],
        reason=row["move_reason"],
    )


def _to_action(row: Mapping[Any, Any], moves: Sequence[Transition]) -> ControlAction:
    fen = row["amount_fen"]
    condition = row["withdrawal_condition"]
    return ControlAction(
        id=row["id"],
        idempotency_key=row["idempotency_key"],
        kind=ActionKind(row["kind"]),
        state=ActionState(row["state"]),
        case_number=row["case_number"],
        enforcement_document=row["enforcement_document"],
        court=row["court"],
        requested_by=row["requested_by"],
        requested_at=row["requested_at"],
        party_kind=row["party_kind"],
        party_name=row["party_name"],
        party_id_number=row["party_id_number"],
        institution=row["institution"],
        asset_kind=row["asset_kind"],
        asset_identifier=row["asset_identifier"],
        amount=Money.from_fen(fen, row["currency"] or "CNY") if fen is not None else None,
        live_seal=row["live_seal"],
        withdrawal_condition=WithdrawalCondition(condition) if condition else None,
        override_reason=row["override_reason"],
        target_id=row["target_id"],
        target_expires_on=row["target_expires_on"],
        institution_reference=row["institution_reference"],
        effective_on=row["effective_on"],
        expires_on=row["expires_on"],
        expiry_source=row["expiry_source"],
        waiting_position=row["waiting_position"],
        last_error=row["last_error"],
        updated_at=row["updated_at"],
        version=row["version"],
        transitions=tuple(moves),
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


def _move_values(action_id: int, move: Transition) -> dict[str, Any]:
    return {
        "action_id": action_id,
        "from_state": move.from_state.value if move.from_state is not None else None,
        "to_state": move.to_state.value,
        "at": move.at,
        "actor": move.actor,
        "reason": move.reason,
    }


def _columns(changes: Mapping[str, Any]) -> dict[str, Any]:
    """The columns ``changes`` (keyword arguments of a move or an update) set."""
    unknown = set(changes) - _CHANGEABLE
    if unknown:
        raise TypeError(f"cannot change {', '.join(sorted(unknown))} of an action")
    columns = dict(changes)
    if "amount" in columns:
        amount: Money | None = columns.pop("amount")
        columns["amount_fen"] = amount.fen if amount is not None else None
        columns["currency"] = amount.currency if amount is not None else None
    return columns


def _read(
    connection: Connection, action_id: int, *, for_update: bool = False
) -> tuple[dict[str, Any], list[Transition]]:
    """An action's columns and its moves: one query, or (``for_update``) the row locked
    first and then its moves."""
    key = {"action_id": action_id}
    if for_update:
        first = connection.execute(_LOCK, key).mappings().first()
        rows = connection.execute(_MOVES, key).mappings().all() if first is not None else []
    else:
        joined = connection.execute(_READ, key).mappings().all()
        first = joined[0] if joined else None
        rows = joined
    if first is None:
        raise ActionNotFound(f"no control action #{action_id} in the store")
    moves = [_move(row) for row in rows if row["move_to"] is not None]
    return {column.name: first[column.name] for column in _ACTIONS.columns}, moves


def _write(connection: Connection, row: dict[str, Any]) -> None:
    """Write ``row`` (as read, then changed) back and count its version up. Raises
    ``_Conflict`` if another writer changed it since it was read."""
    done = connection.execute(
        _WRITE,
        {
            **{name: row[name] for name in _WRITTEN},
            "version": row["version"] + 1,
            "the_id": row["id"],
            "read_version": row["version"],
        },
    )
    if done.rowcount != 1:
        raise _Conflict
    row["version"] += 1


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

    def _retrying(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in a transaction, again from a fresh read if a writer got in first."""
        for _ in range(_CONFLICT_RETRIES):
            try:
                with self.engine.begin() as connection:
                    return work(connection)
            except _Conflict:
                continue
        raise ConcurrentUpdate(
            f"the action kept changing under {_CONFLICT_RETRIES} attempts; try again"
        )

    # --- writing ---------------------------------------------------------------------------

    def record(self, new: NewAction, *, at: datetime, reason: str) -> ControlAction:
        """Store a requested action with a fresh idempotency key, before anything is sent."""
        row: dict[str, Any] = {
            "idempotency_key": uuid.uuid4().hex,
            "kind": new.kind.value,
            "state": ActionState.REQUESTED.value,
            "case_number": new.case_number,
            "enforcement_document": new.enforcement_document,
            "court": new.court,
            "requested_by": new.requested_by,
            "requested_at": at,
            "party_kind": new.party.kind.value,
            "party_name": new.party.name,
            "party_id_number": new.party.id_number,
            "institution": new.institution,
            "asset_kind": new.asset_kind,
            "asset_identifier": new.asset_identifier,
            "amount_fen": new.amount.fen if new.amount is not None else None,
            "currency": new.amount.currency if new.amount is not None else None,
            "live_seal": new.live_seal,
            "withdrawal_condition": (
                new.withdrawal_condition.value if new.withdrawal_condition else None
            ),
            "override_reason": new.override_reason,
            "target_id": new.target_id,
            "target_expires_on": new.target_expires_on,
            "institution_reference": None,
            "effective_on": None,
            "expires_on": None,
            "expiry_source": None,
            "waiting_position": None,
            "last_error": None,
            "status_checks": 0,
            "updated_at": at,
            "version": 1,
        }
        first = Transition(None, ActionState.REQUESTED, at, new.requested_by, reason)
        with self.engine.begin() as connection:
            row["id"] = connection.execute(_INSERT_ACTION, row).scalar_one()
            connection.execute(_INSERT_MOVE, _move_values(row["id"], first))
            action = _to_action(row, [first])
            append_events(
                connection,
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
        columns = _columns(changes)

        def work(connection: Connection) -> ControlAction:
            row, moves = _read(connection, action_id, for_update=True)
            before = row["state"]
            check_transition(action_id, ActionKind(row["kind"]), ActionState(before), to_state)
            row.update(columns, state=to_state.value, updated_at=at)
            _write(connection, row)
            moved = Transition(ActionState(before), to_state, at, actor, reason)
            connection.execute(_INSERT_MOVE, _move_values(action_id, moved))
            action = _to_action(row, [*moves, moved])
            append_events(
                connection,
                [_audit_event(action, f"action.{to_state.value}", actor, reason, before)],
                at,
            )
            return action

        return self._retrying(work)

    def update(self, action_id: int, *, at: datetime, **changes: Any) -> ControlAction:
        """Change facts about an action without moving it (an error, a waiting position)."""
        columns = _columns(changes)

        def work(connection: Connection) -> ControlAction:
            row, moves = _read(connection, action_id, for_update=True)
            row.update(columns, updated_at=at)
            _write(connection, row)
            return _to_action(row, moves)

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
        with self.engine.begin() as connection:
            if clocks:
                connection.execute(_INSERT_CLOCK, clock_values(clocks))
            append_event_groups(connection, [(r.events, r.at) for r in records])
            insert_reports(
                connection, [(r.report, r.at, r.collect) for r in records if r.report is not None]
            )

    def count_status_check(self, action_id: int, *, at: datetime) -> ControlAction:
        """Note one more status query of an action (a counter two syncs may bump at once)."""

        def work(connection: Connection) -> ControlAction:
            row, moves = _read(connection, action_id, for_update=True)
            row.update(status_checks=row["status_checks"] + 1, updated_at=at)
            _write(connection, row)
            return _to_action(row, moves)

        return self._retrying(work)

    # --- reading ---------------------------------------------------------------------------

    def get(self, action_id: int) -> ControlAction:
        with self.engine.connect() as connection:
            return _to_action(*_read(connection, action_id))

    def status_checks(self, action_id: int) -> int:
        with self.engine.connect() as connection:
            count: int = _read(connection, action_id)[0]["status_checks"]
            return count

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
        columns = _ACTIONS.c
        query = select(_ACTIONS)
        if states is not None:
            query = query.where(columns.state.in_([s.value for s in states]))
        if kinds is not None:
            query = query.where(columns.kind.in_([k.value for k in kinds]))
        if case_number is not None:
            query = query.where(columns.case_number == case_number)
        if institution is not None:
            query = query.where(columns.institution == institution)
        if asset_identifier is not None:
            query = query.where(columns.asset_identifier == asset_identifier)
        if target_id is not None:
            query = query.where(columns.target_id == target_id)
        if expires_by is not None:
            query = query.where(columns.expires_on <= expires_by)
        query = query.order_by(columns.expires_on.is_(None), columns.expires_on, columns.id)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
            moves: dict[int, list[Transition]] = {}
            ids = [row["id"] for row in rows]
            for start in range(0, len(ids), _MOVES_CHUNK):
                chunk = connection.execute(_MOVES_OF, {"ids": ids[start : start + _MOVES_CHUNK]})
                for action_id, group in groupby(chunk.mappings(), key=lambda m: m["action_id"]):
                    moves[action_id] = [_move(m) for m in group]
        return [_to_action(row, moves.get(row["id"], ())) for row in rows]

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
        with self.engine.connect() as connection:
            fen = connection.scalar(query) or 0
        return Money(Decimal(int(fen)).scaleb(-2), currency)
