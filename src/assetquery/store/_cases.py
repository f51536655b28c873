"""Reading the store case by case, and the two records the court adds to it by hand.

The case file and the court's figures read what lookups and the ledger wrote (``Cases``).
How a case was closed is the court's case system's to know: it is imported
(``Closures``), never inferred. A judicial recommendation's evidence pack is recorded
when it is written, and its letter's reply deadline from the day it is marked sent
(``Recommendations``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, or_, select, union
from sqlalchemy.orm import Session, sessionmaker

from .._errors import InvalidInput
from .._models import LookupReport
from .._money import Money
from .._time import local_date
from ._clocks import _to_clock
from ._records import Clock
from ._schema import ActionRow, ClockRow, ClosureRow, RecommendationRow, StoredLookupRow

__all__ = ["Cases", "Closure", "Closures", "LookupFacts", "Recommendation", "Recommendations"]


@dataclass(frozen=True, slots=True)
class LookupFacts:
    """A stored lookup as the figures read it, without its report."""

    case_number: str
    court: str | None
    operator: str | None
    claim: Money | None
    assets: int
    looked_up_at: datetime
    lookup_id: str | None = None  # None only for rows written before lookups had ids


class Cases:
    """The store read one case at a time (``Store.cases``)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def numbers(self) -> list[str]:
        """Every case number the store has a lookup or an action under, sorted."""
        query = union(select(StoredLookupRow.case_number), select(ActionRow.case_number)).subquery()
        with self._sessions() as session:
            return sorted(session.scalars(select(query.c.case_number)))

    def reports(self, number: str) -> list[LookupReport]:
        """The latest report of every lookup made under the case, oldest lookup first."""
        query = (
            select(StoredLookupRow.report)
            .where(StoredLookupRow.case_number == number, StoredLookupRow.report.is_not(None))
            .order_by(StoredLookupRow.looked_up_at, StoredLookupRow.id)
        )
        with self._sessions() as session:
            return [
                LookupReport.model_validate_json(text) for text in session.scalars(query) if text
            ]

    def clocks(self, lookup_ids: Collection[str], action_ids: Collection[int]) -> list[Clock]:
        """The SLA clocks of these lookups and actions (found through their unique index)."""
        conditions = []
        if lookup_ids:
            conditions.append(
                and_(ClockRow.subject == "inquiry", ClockRow.reference.in_(list(lookup_ids)))
            )
        if action_ids:
            conditions.append(
                and_(
                    ClockRow.subject == "action",
                    ClockRow.reference.in_([str(i) for i in action_ids]),
                )
            )
        if not conditions:
            return []
        query = select(ClockRow).where(or_(*conditions)).order_by(ClockRow.started_at, ClockRow.id)
        with self._sessions() as session:
            return [_to_clock(row) for row in session.scalars(query)]

    def lookups(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> list[LookupFacts]:
        """Every stored lookup with a report, looked up in [since, until)."""
        query = select(
            StoredLookupRow.lookup_id,
            StoredLookupRow.case_number,
            StoredLookupRow.court,
            StoredLookupRow.operator,
            StoredLookupRow.claim_fen,
            StoredLookupRow.assets,
            StoredLookupRow.looked_up_at,
        ).where(StoredLookupRow.looked_up_at.is_not(None))
        if since is not None:
            query = query.where(StoredLookupRow.looked_up_at >= since)
        if until is not None:
            query = query.where(StoredLookupRow.looked_up_at < until)
        facts = []
        with self._sessions() as session:
            rows = session.execute(query.order_by(StoredLookupRow.looked_up_at, StoredLookupRow.id))
            for lookup_id, number, court, operator, claim, assets, at in rows:
                assert at is not None  # selected so
                facts.append(
                    LookupFacts(
                        lookup_id=lookup_id,
                        case_number=number,
                        court=court,
                        operator=operator,
                        claim=Money.from_fen(claim) if claim is not None else None,
                        assets=assets or 0,
                        looked_up_at=at,
                    )
                )
        return facts


# --- closures --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Closure:
    """How a case was closed, from the court's case system."""

    case_number: str
    closed_on: date
    manner: str  # a ClosureManner value
    applied: Money | None  # the amount applied for; None: the claim the store knows
    recovered_outside: Money  # recovered other than by online deduction (auction, payment…)
    court: str | None = None


class Closures:
    """Case closures imported from the court's case system (``Store.closures``)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def put(self, closures: Iterable[Closure], *, source: str, at: datetime) -> int:
        """Import closures; a case imported again takes the newer row. How many were put."""
        count = 0
        with self._sessions() as session, session.begin():
            for closure in closures:
                session.merge(
                    ClosureRow(
                        case_number=closure.case_number,
                        closed_on=closure.closed_on,
                        manner=closure.manner,
                        applied_fen=closure.applied.fen if closure.applied else None,
                        recovered_outside_fen=closure.recovered_outside.fen,
                        court=closure.court,
                        source=source[:512],
                        imported_at=at,
                    )
                )
                count += 1
        return count

    def all(self) -> list[Closure]:
        with self._sessions() as session:
            return [
                Closure(
                    case_number=row.case_number,
                    closed_on=row.closed_on,
                    manner=row.manner,
                    applied=Money.from_fen(row.applied_fen)
                    if row.applied_fen is not None
                    else None,
                    recovered_outside=Money.from_fen(row.recovered_outside_fen),
                    court=row.court,
                )
                for row in session.scalars(select(ClosureRow).order_by(ClosureRow.case_number))
            ]


# --- judicial recommendations ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Recommendation:
    """An evidence pack written for a judicial recommendation, and its letter's reply."""

    id: int
    institution: str
    period_from: date
    period_to: date
    created_at: datetime
    directory: str
    reply_days: int
    sent_on: date | None
    reply_due: date | None
    replied_on: date | None

    def state(self, today: date) -> str:
        if self.replied_on is not None:
            return "replied"
        if self.reply_due is None:
            return "draft"
        return "reply overdue" if today > self.reply_due else "awaiting reply"


def _recommendation(row: RecommendationRow) -> Recommendation:
    return Recommendation(
        id=row.id,
        institution=row.institution,
        period_from=row.period_from,
        period_to=row.period_to,
        created_at=row.created_at,
        directory=row.directory,
        reply_days=row.reply_days,
        sent_on=row.sent_on,
        reply_due=row.reply_due,
        replied_on=row.replied_on,
    )


class Recommendations:
    """Judicial recommendations and their replies (``Store.recommendations``)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def create(
        self,
        institution: str,
        *,
        period: tuple[date, date],
        directory: str,
        reply_days: int,
        at: datetime,
    ) -> Recommendation:
        row = RecommendationRow(
            institution=institution,
            period_from=period[0],
            period_to=period[1],
            created_at=at,
            directory=directory[:512],
            reply_days=reply_days,
        )
        with self._sessions() as session, session.begin():
            session.add(row)
            session.flush()
            return _recommendation(row)

    def _change(self, number: int, work: str, on: date) -> Recommendation:
        with self._sessions() as session, session.begin():
            row = session.get(RecommendationRow, number, with_for_update=True)
            if row is None:
                raise InvalidInput(
                    "recommendation",
                    f"no recommendation #{number}; `assetquery sla recommendations` lists them",
                )
            if work == "sent":
                written = local_date(row.created_at)
                if on < written:
                    raise InvalidInput("--on", f"{on} is before #{number} was written ({written})")
                if row.replied_on is not None:
                    raise InvalidInput(
                        "recommendation",
                        f"#{number} was replied to on {row.replied_on}: its sending stays as "
                        "recorded",
                    )
                row.sent_on = on
                row.reply_due = on + timedelta(days=row.reply_days)
            else:
                if row.sent_on is None:
                    raise InvalidInput(
                        "recommendation", f"#{number} was never marked sent; mark it sent first"
                    )
                if on < row.sent_on:
                    raise InvalidInput("--on", f"{on} is before #{number} was sent ({row.sent_on})")
                row.replied_on = on
            session.flush()
            return _recommendation(row)

    def sent(self, number: int, *, on: date) -> Recommendation:
        """The letter went out on ``on``: its reply is due ``reply_days`` later."""
        return self._change(number, "sent", on)

    def replied(self, number: int, *, on: date) -> Recommendation:
        return self._change(number, "replied", on)

    def find(self, institution: str | None = None) -> list[Recommendation]:
        query = select(RecommendationRow).order_by(RecommendationRow.id)
        if institution is not None:
            query = query.where(RecommendationRow.institution == institution)
        with self._sessions() as session:
            return [_recommendation(row) for row in session.scalars(query)]
