"""f. The store: control actions and audit entries written per second, SQLite and PostgreSQL.

Four figures per database, each on a fresh, empty, migrated database (creating and
migrating it is not timed):

* ``record`` — ``Store.record`` of ``n`` freezes, one transaction each (with its audit entry);
* ``transitions`` — ``n`` freezes recorded beforehand (not timed), then each moved
  requested → submitted → effective: ``2n`` checked moves, each with its audit entry;
* ``audit 1 by 1`` — ``n`` audit entries, one ``Store.audit.append`` call each;
* ``audit in batches`` — ``n`` audit entries appended ``batch`` at a time.

PostgreSQL runs when ``ASSETQUERY_TEST_POSTGRES_URL`` names a server (as for the test suite):
each repetition creates a database of its own there and drops it afterwards.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from assetquery import Money
from assetquery.ledger import ActionKind, ActionState
from assetquery.store import AuditEvent, NewAction, Store

from .harness import (
    Comparison,
    Log,
    Measurement,
    ScenarioResult,
    Side,
    Stopwatch,
    Target,
    interleave,
)
from .workload import OPERATOR, lookup_requests, postgres_database

ID = "f"
TITLE = "store"
POSTGRES_ENV = "ASSETQUERY_TEST_POSTGRES_URL"

Opener = Callable[[], AbstractContextManager[Store]]
#: what a court's shared PostgreSQL ledger must keep up with, per second
POSTGRES_TARGETS = {"record": 2000.0, "transitions": 1000.0, "audit in batches": 10000.0}
#: one figure: what to time on an empty store, and how many operations it makes
Work = Callable[[Store], int]


def run(
    n: int, repeat: int, *, batch: int = 100, warmup: bool = True, log: Log | None = None
) -> ScenarioResult:
    result = ScenarioResult(ID, TITLE, params={"n": n, "repeat": repeat, "batch": batch})
    databases: dict[str, Opener] = {"sqlite": sqlite_store}
    server_url = os.environ.get(POSTGRES_ENV)
    if server_url:
        databases["postgresql"] = lambda: postgres_store(server_url)
    else:
        result.skipped = f"PostgreSQL not measured: set {POSTGRES_ENV} to a server's URL"
    figures = _Figures(n, batch)
    sides = [
        Side(f"{database} {figure}", n, unit, _side(opener, prepare, work))
        for database, opener in databases.items()
        for figure, unit, prepare, work in figures.all()
    ]
    result.series = interleave(sides, repeat, warmup=warmup, log=log)
    if server_url:
        for figure, floor in POSTGRES_TARGETS.items():
            if figure == "audit in batches":
                figure = f"audit in batches of {batch}"
            result.comparisons.append(
                Comparison(
                    f"postgresql {figure}", f"{floor:,.0f}/s", Target(">=", 1.0), fixed=floor
                )
            )
    return result


def _side(
    opener: Opener, prepare: Callable[[Store], None], work: Work
) -> Callable[[], Measurement]:
    def measure() -> Measurement:
        with opener() as store:
            prepare(store)
            with Stopwatch() as watch:
                operations = work(store)
        return Measurement(
            operations / watch.elapsed, {"elapsed_s": watch.elapsed, "operations": operations}
        )

    return measure


class _Figures:
    """The work behind each figure, over ``n`` generated parties."""

    def __init__(self, n: int, batch: int) -> None:
        self.batch = batch
        self.ids: list[int] = []  # the actions ``recorded`` made, for ``transitions``
        requests = lookup_requests(n)
        self.actions = [
            NewAction(
                kind=ActionKind.FREEZE,
                party=request.party,
                case_number=request.case.number,
                enforcement_document=f"{request.case.number}之一",
                court=request.case.court,
                requested_by=OPERATOR,
                institution="bank-east",
                asset_kind="bank_account",
                asset_identifier=f"6222{index:015d}",
                amount=Money("1000.00"),
            )
            for index, request in enumerate(requests)
        ]
        self.events = [
            AuditEvent(
                event="inquiry.answer",
                actor="bank-east",
                case_number=request.case.number,
                party=request.party.masked,
                institution="bank-east",
                subject=f"lookup:{uuid.uuid4().hex}",
                detail={"status": "found", "assets": 2, "attempts": 1},
            )
            for request in requests
        ]

    def all(self) -> list[tuple[str, str, Callable[[Store], None], Work]]:
        return [
            ("record", "actions/s", _nothing, self.record),
            ("transitions", "transitions/s", self.recorded, self.transitions),
            ("audit 1 by 1", "entries/s", _nothing, self.audit_one_by_one),
            (f"audit in batches of {self.batch}", "entries/s", _nothing, self.audit_batched),
        ]

    def record(self, store: Store) -> int:
        for action in self.actions:
            store.record(action, at=_now(), reason="court asked")
        return len(self.actions)

    def recorded(self, store: Store) -> None:
        self.ids = [store.record(a, at=_now(), reason="court asked").id for a in self.actions]

    def transitions(self, store: Store) -> int:
        for action_id in self.ids:
            store.move(
                action_id, ActionState.SUBMITTED, at=_now(), actor="assetquery", reason="sent"
            )
        for action_id in self.ids:
            now = _now()
            store.move(
                action_id,
                ActionState.EFFECTIVE,
                at=now,
                actor="bank-east",
                reason="frozen",
                institution_reference=f"BE{action_id:010d}",
                effective_on=now.date(),
                expires_on=(now + timedelta(days=364)).date(),
            )
        return 2 * len(self.ids)

    def audit_one_by_one(self, store: Store) -> int:
        for event in self.events:
            store.audit.append([event], at=_now())
        return len(self.events)

    def audit_batched(self, store: Store) -> int:
        for start in range(0, len(self.events), self.batch):
            store.audit.append(self.events[start : start + self.batch], at=_now())
        return len(self.events)


def _nothing(store: Store) -> None:
    return None


def _now() -> datetime:
    return datetime.now(UTC)


@contextmanager
def sqlite_store() -> Iterator[Store]:
    with tempfile.TemporaryDirectory(prefix="assetquery-bench-") as folder:
        store = Store(f"sqlite:///{Path(folder) / 'assetquery.db'}")
        try:
            yield store
        finally:
            store.close()


@contextmanager
def postgres_store(server_url: str) -> Iterator[Store]:
    """A store in a database of its own on the server, dropped afterwards."""
    with postgres_database(server_url) as url:
        store = Store(url)
        try:
            yield store
        finally:
            store.close()
