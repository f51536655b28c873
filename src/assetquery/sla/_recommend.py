"""The evidence pack of a judicial recommendation (司法建议书) to one slow institution.

A court that recommends an institution answer faster has to show how it answered: the
figures per operation, how it compares with the institutions of its kind, why requests went
unanswered, and every request of the period. ``build_evidence_pack`` puts these together
from the period's clocks and what the store and the configuration say about them (masked
parties, error codes, peers): it is pure, and its figures are ``performance_report``'s
``OperationStats``, the ones ``assetquery sla report`` shows, never counted another way.
``evidence_pack`` reads the store and the configuration and calls it; ``annex_csv`` writes
the pack's every request as the spreadsheet attached to the letter.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from .._errors import AssetqueryError, InvalidInput
from .._identifiers import mask_id_number, mask_name, safe_code
from .._time import SHANGHAI, local_date, utc_now
from ..rules import load_rule_pack
from ..store import Clock, ClockOutcome
from ._model import OperationStats, PerformanceReport
from ._stats import performance_report

if TYPE_CHECKING:
    from .._config import Settings
    from ..store import Store

__all__ = [
    "UNRECORDED",
    "AnnexRow",
    "EvidencePack",
    "FailureReasons",
    "NothingToRecommend",
    "Peer",
    "PeerRank",
    "Ranking",
    "annex_csv",
    "build_evidence_pack",
    "evidence_pack",
    "period_bounds",
]

#: The error code of a failed request whose audit trail names none.
UNRECORDED = "unrecorded"

_HOUR = 3600.0
_UNKNOWN_PARTY = "（未记录）"


class NothingToRecommend(AssetqueryError, LookupError):
    """No request to the institution in the period: there is no figure to put in a letter."""


# --- the pack ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Peer:
    """An institution of the same kind as the one addressed, as the configuration names it."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class PeerRank:
    """One institution's place among its peers for one operation."""

    institution: str
    name: str
    requests: int
    answered: int
    met: int
    timely_rate: float | None  # 及时反馈率: met ÷ requests
    feedback_rate: float | None  # 反馈率: answered ÷ requests
    rank: int | None  # 1 is the most timely; None: no request in the period
    addressed: bool  # the institution the letter goes to


@dataclass(frozen=True, slots=True)
class Ranking:
    """The peers of one operation, most timely first (ties: more requests first)."""

    operation: str
    deadline: str
    entries: tuple[PeerRank, ...]  # the ranked first, then those without requests

    @property
    def ranked(self) -> int:
        """How many institutions had a request in the period and so a rank."""
        return sum(1 for entry in self.entries if entry.rank is not None)

    @property
    def position(self) -> int | None:
        """The addressed institution's rank."""
        return next((entry.rank for entry in self.entries if entry.addressed), None)


@dataclass(frozen=True, slots=True)
class FailureReasons:
    """Why requests were not answered in time, counted as the statistics count them."""

    answered_late: int  # answered after the due time (breaches)
    unanswered_past_due: int  # still waited for, past the due time
    given_up_overdue: int  # no answer by the due time plus the grace: no longer waited for
    failed: int  # ended without an answer
    failed_by_error: tuple[tuple[str, int], ...]  # error code and count, most frequent first

    @property
    def total(self) -> int:
        return self.answered_late + self.unanswered_past_due + self.given_up_overdue + self.failed


@dataclass(frozen=True, slots=True)
class AnnexRow:
    """One request of the period, as the annex lists it."""

    party: str  # masked: 张* (1101************39)
    case_number: str
    operation: str
    subject: str  # "inquiry" or "action"
    reference: str  # the lookup id or the control action id
    rule: str | None
    requested_at: datetime
    due_at: datetime | None
    answered_at: datetime | None
    outcome: ClockOutcome
    past_due: bool  # unanswered and its due time has passed
    late_hours: float | None  # None: on time, failed, or unanswered and not yet due
    error: str | None  # the error code of a failed request


@dataclass(frozen=True, slots=True)
class EvidencePack:
    """Everything a draft judicial recommendation to one institution rests on."""

    institution: str
    institution_name: str
    adapter: str | None  # its institution type; None when it is not configured
    court: str | None
    since: datetime  # the period: requests started in [since, until)
    until: datetime
    generated_at: datetime  # "now": what is past due is judged at this time
    reply_days: int  # days the institution has to reply in writing
    legal_basis: str | None  # the rule pack's source for the type's deadlines
    legal_basis_unsettled: bool  # the pack marks those deadlines as a default, not law
    own_deadlines: tuple[str, ...]  # operations whose deadline is configured for it alone
    peers_by: str  # "adapter": the configured institutions of its type; "rule": same deadline
    stats: tuple[OperationStats, ...]  # the institution's figures, per operation
    rankings: tuple[Ranking, ...]  # one per operation of ``stats``
    failures: FailureReasons
    rows: tuple[AnnexRow, ...]  # every request, oldest first
    report: PerformanceReport  # the institution and its peers: what the charts draw

    @property
    def period_from(self) -> date:
        return local_date(self.since)

    @property
    def period_to(self) -> date:
        """The last day of the period (its end is exclusive)."""
        local = self.until.astimezone(SHANGHAI)
        return local.date() - timedelta(days=1) if local.time() == time.min else local.date()

    @property
    def requests(self) -> int:
        return sum(s.count for s in self.stats)

    @property
    def answered(self) -> int:
        return sum(s.answered for s in self.stats)

    @property
    def met(self) -> int:
        return sum(s.met for s in self.stats)

    @property
    def open_overdue(self) -> int:
        return sum(s.open_overdue for s in self.stats)

    @property
    def failed(self) -> int:
        return sum(s.failed for s in self.stats)

    @property
    def feedback_rate(self) -> float | None:
        """反馈率 over every operation: answered ÷ requests."""
        return self.answered / self.requests if self.requests else None

    @property
    def timely_rate(self) -> float | None:
        """及时反馈率 over every operation: answered by the due time ÷ requests."""
        return self.met / self.requests if self.requests else None


def period_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """The start of ``first`` and the end of ``last`` (exclusive: the next day's start),
    in Shanghai, as ``since`` and ``until``."""
    if last < first:
        raise InvalidInput("period", f"ends on {last}, before it starts on {first}")
    since = datetime.combine(first, time.min, SHANGHAI)
    return since, datetime.combine(last + timedelta(days=1), time.min, SHANGHAI)


# --- building it (pure) -----------------------------------------------------------------------


def build_evidence_pack(
    clocks: Sequence[Clock],
    *,
    institution: str,
    since: datetime,
    until: datetime,
    now: datetime,
    institution_name: str | None = None,
    adapter: str | None = None,
    peers: Sequence[Peer] | None = None,
    parties: Mapping[tuple[str, str], str] | None = None,
    errors: Mapping[tuple[str, str], str] | None = None,
    legal_basis: str | None = None,
    legal_basis_unsettled: bool = False,
    own_deadlines: Sequence[str] = (),
    court: str | None = None,
    reply_days: int = 30,
) -> EvidencePack:
    """The evidence pack for ``institution`` from every clock started in [since, until).

    ``clocks`` are every institution's (the peers are compared on them); ``peers`` the
    configured institutions of its type, or None to compare it with those whose deadline
    for an operation is the same. ``parties`` maps a clock's ``(subject, reference)`` to its
    masked party, ``errors`` a failed one's to its error code. Raises
    ``NothingToRecommend`` when no clock of the institution is in the period.
    """
    if reply_days < 1:
        raise InvalidInput("reply_days", f"is {reply_days}; give the institution at least a day")
    if until <= since:
        raise InvalidInput("period", "ends before it starts")
    own = [c for c in clocks if c.institution == institution and since <= c.started_at < until]
    name = institution_name or (own[-1].institution_name if own else institution)
    if not own:
        raise NothingToRecommend(
            f"no request to {name} ({institution}) between {local_date(since)} and "
            f"{local_date(until - timedelta(microseconds=1))}; widen --from/--to"
        )
    in_period = [c for c in clocks if since <= c.started_at < until]
    report = performance_report(in_period, since=since, until=until, by="week", now=now)
    stats = tuple(
        sorted(
            (s for s in report.stats if s.institution == institution),
            key=lambda s: _operation_order(s.operation),
        )
    )
    names = {s.institution: s.institution_name for s in report.stats}
    names.update({p.id: p.name for p in peers or ()})
    names[institution] = name
    if peers is not None:
        peer_ids = list(dict.fromkeys([institution, *(p.id for p in peers)]))
        rankings = tuple(
            _ranking(s, report, peer_ids, names, institution, same_rule=False) for s in stats
        )
    else:
        rules = {(s.operation, s.deadline) for s in stats}
        peer_ids = list(
            dict.fromkeys(
                [institution]
                + [s.institution for s in report.stats if (s.operation, s.deadline) in rules]
            )
        )
        rankings = tuple(
            _ranking(s, report, peer_ids, names, institution, same_rule=True) for s in stats
        )
    return EvidencePack(
        institution=institution,
        institution_name=name,
        adapter=adapter,
        court=court,
        since=since,
        until=until,
        generated_at=now,
        reply_days=reply_days,
        legal_basis=legal_basis,
        legal_basis_unsettled=legal_basis_unsettled,
        own_deadlines=tuple(o for o in own_deadlines if any(s.operation == o for s in stats)),
        peers_by="adapter" if peers is not None else "rule",
        stats=stats,
        rankings=rankings,
        failures=_failures(own, errors or {}, now),
        rows=tuple(_row(c, parties or {}, errors or {}, now) for c in own),
        report=_chart_report(report, institution, rankings, names),
    )


# The order a letter takes the operations in: inquiries first, then controls as they follow
# one another in a case.
_OPERATION_ORDER = ("inquiry", "receipt", "freeze", "seal", "deduct", "renew", "release")


def _operation_order(operation: str) -> tuple[int, str]:
    if operation in _OPERATION_ORDER:
        return (_OPERATION_ORDER.index(operation), operation)
    return (len(_OPERATION_ORDER), operation)


def _ranking(
    stats: OperationStats,
    report: PerformanceReport,
    peer_ids: Sequence[str],
    names: Mapping[str, str],
    addressed: str,
    *,
    same_rule: bool,
) -> Ranking:
    by_institution = {s.institution: s for s in report.stats if s.operation == stats.operation}
    with_requests: list[OperationStats] = []
    without: list[PeerRank] = []
    for peer in peer_ids:
        found = by_institution.get(peer)
        if found is not None and same_rule and found.deadline != stats.deadline:
            continue
        if found is None or not found.count:
            if not same_rule:
                without.append(
                    PeerRank(peer, names.get(peer, peer), 0, 0, 0, None, None, None, False)
                )
            continue
        with_requests.append(found)
    # Most timely first; between equals, the larger sample is the firmer figure.
    with_requests.sort(key=lambda s: (-(s.timely_rate or 0.0), -s.count, names[s.institution]))
    ranked = [
        PeerRank(
            institution=s.institution,
            name=names.get(s.institution, s.institution_name),
            requests=s.count,
            answered=s.answered,
            met=s.met,
            timely_rate=s.timely_rate,
            feedback_rate=s.feedback_rate,
            rank=position,
            addressed=s.institution == addressed,
        )
        for position, s in enumerate(with_requests, start=1)
    ]
    without.sort(key=lambda entry: entry.name)
    return Ranking(stats.operation, stats.deadline, (*ranked, *without))


def _past_due(clock: Clock, now: datetime) -> bool:
    return clock.outcome is ClockOutcome.OPEN and clock.due_at is not None and clock.due_at < now


def _failures(
    clocks: Sequence[Clock], errors: Mapping[tuple[str, str], str], now: datetime
) -> FailureReasons:
    failed = [c for c in clocks if c.outcome is ClockOutcome.FAILED]
    codes = Counter(errors.get((c.subject, c.reference), UNRECORDED) for c in failed)
    return FailureReasons(
        answered_late=sum(1 for c in clocks if c.outcome is ClockOutcome.BREACHED),
        unanswered_past_due=sum(1 for c in clocks if _past_due(c, now)),
        given_up_overdue=sum(1 for c in clocks if c.outcome is ClockOutcome.OVERDUE),
        failed=len(failed),
        failed_by_error=tuple(sorted(codes.items(), key=lambda item: (-item[1], item[0]))),
    )


def _row(
    clock: Clock,
    parties: Mapping[tuple[str, str], str],
    errors: Mapping[tuple[str, str], str],
    now: datetime,
) -> AnnexRow:
    key = (clock.subject, clock.reference)
    late: float | None = None
    if clock.due_at is not None:
        if clock.outcome is ClockOutcome.BREACHED and clock.answered_at is not None:
            late = (clock.answered_at - clock.due_at).total_seconds() / _HOUR
        elif _past_due(clock, now) or clock.outcome is ClockOutcome.OVERDUE:
            # Still owed: late by as long as it has been owed, as the statistics count it.
            late = max((now - clock.due_at).total_seconds() / _HOUR, 0.0)
    return AnnexRow(
        party=parties.get(key, _UNKNOWN_PARTY),
        case_number=clock.case_number,
        operation=clock.operation,
        subject=clock.subject,
        reference=clock.reference,
        rule=clock.rule,
        requested_at=clock.started_at,
        due_at=clock.due_at,
        answered_at=clock.answered_at,
        outcome=clock.outcome,
        past_due=_past_due(clock, now),
        late_hours=late,
        error=errors.get(key, UNRECORDED) if clock.outcome is ClockOutcome.FAILED else None,
    )


def _chart_report(
    report: PerformanceReport,
    institution: str,
    rankings: Sequence[Ranking],
    names: Mapping[str, str],
) -> PerformanceReport:
    """The period's report cut down to the institution and its ranked peers, the
    institution first, each peer's name as configured."""
    order = [institution] + [
        e.institution
        for ranking in rankings
        for e in ranking.entries
        if e.rank is not None and e.institution != institution
    ]
    operations = {ranking.operation for ranking in rankings}
    chosen = dict.fromkeys(order)
    stats = sorted(
        (s for s in report.stats if s.institution in chosen and s.operation in operations),
        key=lambda s: (order.index(s.institution), _operation_order(s.operation)),
    )
    return PerformanceReport(
        generated_at=report.generated_at,
        since=report.since,
        until=report.until,
        bucket=report.bucket,
        stats=tuple(_renamed(s, names) for s in stats),
        trend=tuple(p for p in report.trend if p.institution == institution),
        breaches=tuple(b for b in report.breaches if b.institution == institution),
    )


def _renamed(stats: OperationStats, names: Mapping[str, str]) -> OperationStats:
    name = names.get(stats.institution, stats.institution_name)
    return stats if name == stats.institution_name else replace(stats, institution_name=name)


# --- reading it from the store ----------------------------------------------------------------


def evidence_pack(
    store: Store,
    institution: str,
    *,
    since: datetime,
    until: datetime,
    settings: Settings | None = None,
    court: str | None = None,
    reply_days: int = 30,
    now: datetime | None = None,
) -> EvidencePack:
    """The evidence pack for ``institution`` (its configured id) over [since, until).

    ``settings`` give its type, its peers (the configured institutions of the same adapter)
    and the rule pack whose source for that type's deadlines the letter cites; an
    institution they do not name is compared with those whose deadline is the same.
    """
    now = now or utc_now()
    configured = {i.id: i for i in settings.institutions} if settings else {}
    target = configured.get(institution)
    clocks = store.clocks.find(since=since, until=until)
    own = [c for c in clocks if c.institution == institution]
    if target is None and not own and not store.clocks.find(institution=institution):
        known = ", ".join(sorted(configured)) or "none"
        raise InvalidInput(
            "institution",
            f"{institution!r} is not configured and no request to it was ever recorded; "
            f"configured institutions: {known}",
        )
    peers = None
    adapter = legal_basis = None
    unsettled = False
    own_deadlines: list[str] = []
    if target is not None and settings is not None:
        adapter = target.adapter
        peers = [
            Peer(i.id, i.name)
            for i in settings.institutions
            if i.adapter == target.adapter and (i.enabled or i.id == institution)
        ]
        pack = load_rule_pack(settings.rules)
        legal_basis = pack.sla_sources.get(adapter)
        unsettled = f"sla.{adapter}" in pack.unsettled
        own_deadlines = sorted(target.sla)
    parties: dict[tuple[str, str], str] = {}
    errors: dict[tuple[str, str], str] = {}
    if own:
        parties = _parties(store, own)
        errors = _audit_facts(store, own, since, parties)
    return build_evidence_pack(
        clocks,
        institution=institution,
        since=since,
        until=until,
        now=now,
        institution_name=target.name if target is not None else None,
        adapter=adapter,
        peers=peers,
        parties=parties,
        errors=errors,
        legal_basis=legal_basis,
        legal_basis_unsettled=unsettled,
        own_deadlines=own_deadlines,
        court=court,
        reply_days=reply_days,
    )


def _parties(store: Store, clocks: Sequence[Clock]) -> dict[tuple[str, str], str]:
    """Each clock's party, masked, read once per case: from the case's stored reports for
    inquiries, from its control actions for actions."""
    cases: dict[str, set[str]] = {}
    for clock in clocks:
        cases.setdefault(clock.case_number, set()).add(clock.subject)
    parties: dict[tuple[str, str], str] = {}
    for number, subjects in cases.items():
        if "inquiry" in subjects:
            for report in store.cases.reports(number):
                parties[("inquiry", report.lookup_id)] = report.party.masked
        if "action" in subjects:
            for action in store.find(case_number=number):
                parties[("action", str(action.id))] = (
                    f"{mask_name(action.party_name)} ({mask_id_number(action.party_id_number)})"
                )
    return parties


def _audit_facts(
    store: Store,
    clocks: Sequence[Clock],
    since: datetime,
    parties: dict[tuple[str, str], str],
) -> dict[tuple[str, str], str]:
    """The error code of each failed inquiry, from its answer in the audit trail; the masked
    party of an inquiry whose report the store did not keep (older lookups) on the way."""
    institution = clocks[0].institution
    wanted = {c.reference for c in clocks if c.subject == "inquiry"}
    errors: dict[tuple[str, str], str] = {}
    for entry in store.audit.entries(since=since):
        if entry.event != "inquiry.answer" or entry.institution != institution:
            continue
        reference = (entry.subject or "").removeprefix("lookup:")
        if reference not in wanted:
            continue
        key = ("inquiry", reference)
        if entry.party and key not in parties:
            parties[key] = entry.party
        try:
            detail = json.loads(entry.detail)
        except ValueError:
            continue
        code = detail.get("error") if isinstance(detail, dict) else None
        if isinstance(code, str):
            errors[key] = safe_code(code, UNRECORDED)
    return errors


# --- the annex spreadsheet --------------------------------------------------------------------

OPERATION_NAMES = {
    "inquiry": "查询",
    "receipt": "签收",
    "freeze": "冻结",
    "seal": "查封",
    "deduct": "扣划",
    "renew": "续行冻结/续封",
    "release": "解除",
    "status": "状态查询",
}

ERROR_NAMES = {
    "timeout": "超时",
    "deadline": "超出查询时限",
    "unavailable": "服务不可用",
    "connection": "无法连接",
    "too_large": "报文过大",
    "empty_body": "空报文",
    "malformed_json": "报文无法解析",
    "malformed_xml": "报文无法解析",
    "malformed_encoding": "报文编码错误",
    "unexpected_shape": "报文格式不符",
    "unsupported_operation": "不支持的业务",
    UNRECORDED: "未记录原因",
}


def operation_name(operation: str) -> str:
    return OPERATION_NAMES.get(operation, operation)


def error_name(code: str) -> str:
    """``超时（timeout）``: the reason in words, with the code the logs use."""
    if code == UNRECORDED:
        return ERROR_NAMES[UNRECORDED]
    if code.startswith("http_"):
        return f"系统返回错误（{code}）"
    words = ERROR_NAMES.get(code)
    return f"{words}（{code}）" if words else code


def deadline_words(rule: str | None) -> str:
    """``24 h`` → 24小时, ``1 working day`` → 1个工作日, ``1m`` → 1个月."""
    if not rule or rule == "none":
        return "未设期限"
    number, _, unit = rule.partition(" ")
    if unit == "h":
        return f"{number}小时"
    if unit in ("working day", "working days"):
        return f"{number}个工作日"
    units = {"d": "日", "m": "个月", "y": "年"}
    if rule[:-1].isdigit() and rule[-1] in units:
        return f"{rule[:-1]}{units[rule[-1]]}"
    return rule


def outcome_name(row: AnnexRow) -> str:
    """What became of the request, in the words of the letter."""
    if row.outcome is ClockOutcome.MET:
        return "按期反馈" if row.due_at is not None else "已反馈（未设期限）"
    if row.outcome is ClockOutcome.BREACHED:
        return "超期反馈"
    if row.outcome is ClockOutcome.OVERDUE:
        return "逾期未反馈（已停止等待）"
    if row.outcome is ClockOutcome.FAILED:
        return f"请求失败：{error_name(row.error or UNRECORDED)}"
    if row.due_at is None:
        return "待反馈（未设期限）"
    return "逾期未反馈" if row.past_due else "待反馈（未到期）"


def shown(moment: datetime | None) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if moment else ""


ANNEX_COLUMNS = (
    "当事人",
    "案号",
    "事项",
    "请求编号",
    "期限",
    "发起时间",
    "应反馈时间",
    "反馈时间",
    "超期（小时）",
    "结果",
)


def annex_csv(pack: EvidencePack) -> str:
    """Every request of the pack, one row per clock, Beijing time; party masked.

    Without the byte-order mark: write it with ``encoding="utf-8-sig"`` so that Excel
    reads the Chinese right.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(ANNEX_COLUMNS)
    for row in pack.rows:
        writer.writerow(
            [
                row.party,
                row.case_number,
                operation_name(row.operation),
                row.reference,
                deadline_words(row.rule) if row.rule else "",
                shown(row.requested_at),
                shown(row.due_at),
                shown(row.answered_at),
                f"{row.late_hours:.1f}" if row.late_hours is not None else "",
                outcome_name(row),
            ]
        )
    return buffer.getvalue()
