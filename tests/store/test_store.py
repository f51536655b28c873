"""The store on SQLite and PostgreSQL: the same schema, the same behaviour, no lost updates."""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, insert, inspect, select, text, update
from sqlalchemy.exc import OperationalError

from assetquery import Money, Party
from assetquery._actions import ActionKind, ActionState, IllegalTransition
from assetquery.store import ActionNotFound, AuditEvent, NewAction, Store
from assetquery.store._audit import _ADVISORY_LOCK as AUDIT_LOCK
from assetquery.store._engine import (
    SCHEMA_REVISION,
    create_store_engine,
    normalize_url,
    upgrade,
)
from assetquery.store._schema import ActionRow, Base, TransitionRow

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
PARTY = Party.person("张三", "110105199003071239")
CASE = "（2024）甘0191执1234号"


def new_freeze(amount: str = "1000.00", **changes: object) -> NewAction:
    fields: dict[str, object] = {
        "kind": ActionKind.FREEZE,
        "party": PARTY,
        "case_number": CASE,
        "enforcement_document": "（2024）甘0191执1234号之一",
        "court": "兰州新区人民法院",
        "requested_by": "李承办",
        "institution": "bank-east",
        "asset_kind": "bank_account",
        "asset_identifier": "6222021234567890128",
        "amount": Money(amount),
    }
    fields.update(changes)
    return NewAction(**fields)  # type: ignore[arg-type]


@pytest.fixture
def store(store_url: str) -> Store:
    return Store(store_url)


def test_migrations_create_the_schema_and_run_again_harmlessly(store_url: str) -> None:
    Store(store_url).close()
    store = Store(store_url)
    tables = set(inspect(store.engine).get_table_names())
    assert {"control_actions", "action_transitions", "alembic_version"} <= tables
    with store.engine.connect() as connection:
        assert connection.execute(text("select version_num from alembic_version")).scalar()


def _shape(engine: Engine) -> dict[str, object]:
    """Everything the database says about its tables, comparable between two databases."""
    found = inspect(engine)
    return {
        table: {
            # by name: a column a later migration adds comes last, one created at once not
            "columns": sorted(
                (c["name"], str(c["type"]), c["nullable"], c.get("default"))
                for c in found.get_columns(table)
            ),
            "primary key": found.get_pk_constraint(table),
            "foreign keys": sorted(str(key) for key in found.get_foreign_keys(table)),
            "indexes": sorted(str(index) for index in found.get_indexes(table)),
            "unique": sorted(str(unique) for unique in found.get_unique_constraints(table)),
        }
        for table in sorted(found.get_table_names())
    }


def test_a_new_store_gets_the_schema_the_migrations_build(
    store_url: str, second_store_url: str
) -> None:
    """A new store is created at once, not migrated step by step; both must agree."""
    migrated = create_store_engine(store_url)
    with migrated.begin() as connection:
        upgrade(connection)  # every migration, from an empty database
    with migrated.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    created = Store(second_store_url)
    assert _shape(created.engine) == _shape(migrated)
    for engine in (migrated, created.engine):
        with engine.connect() as connection:
            version = connection.execute(text("select version_num from alembic_version"))
            assert version.scalars().all() == [SCHEMA_REVISION]
    created.close()
    migrated.dispose()


def test_the_revision_a_store_is_checked_against_is_the_newest_migration() -> None:
    import importlib.resources

    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    location = importlib.resources.files("assetquery.store") / "migrations"
    config.set_main_option("script_location", str(location))
    assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_REVISION


def test_a_store_already_at_the_newest_schema_opens_without_loading_alembic(
    store_url: str,
) -> None:
    Store(store_url).close()  # migrated
    opened = subprocess.run(
        [sys.executable, "-c", OPEN_AND_REPORT, store_url],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout.split() == [SCHEMA_REVISION, "False"]


OPEN_AND_REPORT = """
import sys
from sqlalchemy import text
from assetquery.store import Store
store = Store(sys.argv[1])
with store.engine.connect() as connection:
    print(connection.execute(text("select version_num from alembic_version")).scalar())
print("alembic" in sys.modules)
"""


def test_a_recorded_action_has_its_key_before_anything_is_sent(store: Store) -> None:
    action = store.record(new_freeze(), at=NOW, reason="court asked")
    assert action.state is ActionState.REQUESTED
    assert len(action.idempotency_key) == 32
    assert action.amount == Money("1000.00")
    assert action.requested_at == NOW and action.requested_at.tzinfo is UTC
    (first,) = action.transitions
    assert (first.from_state, first.to_state, first.actor) == (
        None,
        ActionState.REQUESTED,
        "李承办",
    )


def test_moves_are_recorded_with_time_actor_and_reason(store: Store) -> None:
    action = store.record(new_freeze(), at=NOW, reason="court asked")
    store.move(action.id, ActionState.SUBMITTED, at=NOW, actor="assetquery", reason="sent")
    action = store.move(
        action.id,
        ActionState.EFFECTIVE,
        at=NOW,
        actor="bank-east",
        reason="frozen",
        amount=Money("800.00"),
        effective_on=date(2026, 11, 26),
        expires_on=date(2027, 11, 25),
        expiry_source="institution",
        institution_reference="CTL-1",
    )
    assert action.state is ActionState.EFFECTIVE
    assert action.amount == Money("800.00")
    assert action.expires_on == date(2027, 11, 25)
    assert [t.to_state for t in action.transitions] == [
        ActionState.REQUESTED,
        ActionState.SUBMITTED,
        ActionState.EFFECTIVE,
    ]
    assert store.get(action.id) == action


def test_an_illegal_move_names_the_move_and_why(store: Store) -> None:
    action = store.record(new_freeze(), at=NOW, reason="court asked")
    with pytest.raises(
        IllegalTransition,
        match=r"freeze #\d+: requested → effective is not "
        r"allowed: from requested a freeze may only",
    ):
        store.move(action.id, ActionState.EFFECTIVE, at=NOW, actor="x", reason="y")
    store.move(action.id, ActionState.REJECTED, at=NOW, actor="bank", reason="no")
    with pytest.raises(IllegalTransition, match="the institution refused it"):
        store.move(action.id, ActionState.SUBMITTED, at=NOW, actor="x", reason="again")
    assert store.get(action.id).state is ActionState.REJECTED


def test_money_is_exact_and_filters_work(store: Store) -> None:
    a = store.record(new_freeze("0.10"), at=NOW, reason="r")
    b = store.record(new_freeze("0.20", asset_identifier="6222000011112222"), at=NOW, reason="r")
    store.record(new_freeze("5.00", case_number="（2024）甘0191执9号"), at=NOW, reason="r")
    assert store.controlled_amount(CASE, [ActionState.REQUESTED]) == Money("0.30")
    assert [x.id for x in store.find(case_number=CASE)] == [a.id, b.id]
    assert [x.id for x in store.find(asset_identifier="6222000011112222")] == [b.id]
    assert store.find(states=[ActionState.EFFECTIVE]) == []


def test_expiring_controls_come_earliest_first(store: Store) -> None:
    ids = []
    for expiry in (date(2027, 3, 1), date(2027, 1, 1), date(2028, 1, 1)):
        action = store.record(new_freeze(), at=NOW, reason="r")
        store.move(action.id, ActionState.SUBMITTED, at=NOW, actor="a", reason="sent")
        store.move(
            action.id,
            ActionState.EFFECTIVE,
            at=NOW,
            actor="b",
            reason="in force",
            expires_on=expiry,
        )
        ids.append(action.id)
    found = store.find(states=[ActionState.EFFECTIVE], expires_by=date(2027, 6, 30))
    assert [a.expires_on for a in found] == [date(2027, 1, 1), date(2027, 3, 1)]


def test_unknown_action(store: Store) -> None:
    with pytest.raises(ActionNotFound, match="no control action #999"):
        store.get(999)


def test_naive_times_are_refused(store: Store) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        store.record(new_freeze(), at=datetime(2026, 11, 26, 10, 0), reason="r")


def run_in_processes(*scripts: str) -> list[str]:
    """Run Python snippets in parallel child processes; their last stdout lines."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for script in scripts
    ]
    outputs = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
        outputs.append(stdout.strip().splitlines()[-1] if stdout.strip() else "")
    return outputs


BUMP = """
from datetime import UTC, datetime
from assetquery.store import Store
store = Store({url!r})
for _ in range({times}):
    store.count_status_check({action_id}, at=datetime.now(UTC))
print("done")
"""


def _until_a_backend_waits_for_a_lock(engine: Engine) -> None:
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    deadline = time.monotonic() + 30
    with engine.connect() as watcher:
        while not watcher.execute(waiting).scalar():
            assert time.monotonic() < deadline, "the second writer never waited for the lock"
            time.sleep(0.005)


def test_a_move_that_waited_for_another_writer_returns_that_writers_move(
    store_url: str,
) -> None:
    if store_url.startswith("sqlite"):
        pytest.skip("on SQLite a writer waits before its transaction begins: nothing stale")
    store = Store(store_url)
    action = store.record(new_freeze(), at=NOW, reason="court asked")
    actions, moves = ActionRow.__table__, TransitionRow.__table__
    with store.engine.connect() as other, ThreadPoolExecutor(1) as pool:
        # Another writer locks the action and moves it, and has not committed yet.
        other.execute(select(actions).where(actions.c.id == action.id).with_for_update())
        other.execute(
            insert(moves).values(
                action_id=action.id, from_state="requested", to_state="submitted",
                at=NOW, actor="other", reason="sent",
            )
        )  # fmt: skip
        other.execute(
            update(actions)
            .where(actions.c.id == action.id)
            .values(state="submitted", version=actions.c.version + 1)
        )
        second = pool.submit(
            store.move, action.id, ActionState.ACKNOWLEDGED, at=NOW, actor="bank-east",
            reason="received",
        )  # fmt: skip
        _until_a_backend_waits_for_a_lock(store.engine)
        other.commit()
        moved = second.result(timeout=30)
    assert [move.to_state for move in moved.transitions] == [
        ActionState.REQUESTED,
        ActionState.SUBMITTED,
        ActionState.ACKNOWLEDGED,
    ]
    assert moved.version == 3
    assert moved == store.get(action.id)
    store.close()


def test_a_timeout_waiting_for_the_audit_trail_is_sqlalchemys_operational_error(
    store_url: str,
) -> None:
    """The worker retries OperationalError; the chain's lock must raise nothing else."""
    if store_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's advisory lock")
    impatient = create_engine(
        normalize_url(store_url), connect_args={"options": "-c statement_timeout=50"}
    )
    store = Store(store_url, engine=impatient)
    event = AuditEvent(event="inquiry.sent", actor="test", detail={})
    with store.engine.connect() as holder:
        holder.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK})
        with pytest.raises(OperationalError, match="statement timeout"):
            store.audit.append([event], at=NOW)
        holder.rollback()
    store.audit.append([event], at=NOW)  # the lock given back: appends again
    assert store.audit.verify().entries == 1
    store.close()


def test_two_processes_updating_one_action_lose_no_update(store_url: str) -> None:
    store = Store(store_url)
    action = store.record(new_freeze(), at=NOW, reason="r")
    script = BUMP.format(url=store_url, action_id=action.id, times=40)
    assert run_in_processes(script, script) == ["done", "done"]
    assert store.status_checks(action.id) == 80


CLOSE = """
from datetime import UTC, datetime
from assetquery._actions import ActionState, IllegalTransition
from assetquery.store import Store
store = Store({url!r})
try:
    store.move({action_id}, ActionState({state!r}), at=datetime.now(UTC), actor="w",
               reason={state!r})
    print({state!r})
except IllegalTransition:
    print("refused")
"""


def test_two_processes_closing_one_control_cannot_both_win(store_url: str) -> None:
    store = Store(store_url)
    action = store.record(new_freeze(), at=NOW, reason="r")
    store.move(action.id, ActionState.SUBMITTED, at=NOW, actor="a", reason="sent")
    store.move(action.id, ActionState.EFFECTIVE, at=NOW, actor="b", reason="in force")
    outcomes = sorted(
        run_in_processes(
            *(
                CLOSE.format(url=store_url, action_id=action.id, state=state)
                for state in ("released", "expired")
            )
        )
    )
    final = store.get(action.id)
    assert outcomes in (["expired", "refused"], ["refused", "released"])
    assert final.state.value in outcomes
    assert [t.to_state for t in final.transitions][-1] is final.state
    assert len(final.transitions) == 4


def test_processes_opening_a_new_store_together_all_find_it_migrated(store_url: str) -> None:
    """Workers started at once on a new database: one creates the tables, the others wait
    for it (on PostgreSQL an advisory lock; SQLite's write lock does the same)."""
    script = (
        "import sys; from assetquery.store import Store; Store(sys.argv[1]).close(); print('ok')"
    )
    openers = [
        subprocess.Popen(
            [sys.executable, "-c", script, store_url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    for opener in openers:
        out, errors = opener.communicate(timeout=120)
        assert opener.returncode == 0, errors[-2000:]
        assert out.strip() == "ok"
    opened = Store(store_url)
    try:
        assert opened.find() == []
    finally:
        opened.close()
