"""Assembling a LookupReport: merge the institutions' assets, de-duplicate, total, cover."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

from .._internals import assembled
from .._models import (
    AssetKind,
    AssetRecord,
    Case,
    Coverage,
    InstitutionResult,
    KindTotal,
    LookupReport,
    Party,
)
from .._money import Money

__all__ = ["build_report", "merge_assets", "with_results"]

# Most liquid first: the order a clerk reads a report in, and the order controls are planned.
_KIND_ORDER: dict[str, int] = {
    AssetKind.BANK_ACCOUNT: 0,
    AssetKind.HOUSING_FUND: 1,
    AssetKind.REAL_ESTATE: 2,
}
_RATIO = Decimal("0.0001")
_ZERO = Money(0)


def merge_assets(results: Iterable[InstitutionResult]) -> tuple[AssetRecord, ...]:
    """All assets of all results, each asset once (the most recent report of it wins)."""
    newest: dict[tuple[str, str, str], AssetRecord] = {}
    for result in results:
        for asset in result.assets:
            seen = newest.get(asset.key)
            if seen is None or asset.as_of > seen.as_of:
                newest[asset.key] = asset
    return tuple(
        sorted(
            newest.values(),
            key=lambda a: (
                _KIND_ORDER.get(a.kind, len(_KIND_ORDER)),
                a.kind,
                a.institution,
                a.identifier,
            ),
        )
    )


def _sum(amounts: Iterable[Money | None]) -> Money | None:
    cny = [m for m in amounts if m is not None and m.currency == "CNY"]
    if not cny:
        return None
    return Money.from_fen(sum(m.fen for m in cny))  # every amount is whole fen: exact


def _totals(assets: Sequence[AssetRecord]) -> dict[str, KindTotal]:
    by_kind: dict[str, list[AssetRecord]] = {}
    for asset in assets:
        by_kind.setdefault(asset.kind, []).append(asset)
    return {
        kind: assembled(
            KindTotal,
            {
                "count": len(group),
                "value": _sum(a.value for a in group),
                "available": _sum(a.available for a in group),
            },
        )
        for kind, group in by_kind.items()
    }


def _coverage(assets: Sequence[AssetRecord], claim: Money | None) -> Coverage:
    available = _sum(a.available for a in assets) or _ZERO
    unvalued = sum(1 for a in assets if a.value is None)
    ratio = covered = None
    if claim is not None and claim.amount > 0:
        ratio = (available.amount / claim.amount).quantize(_RATIO)
        covered = available >= claim
    return assembled(
        Coverage,
        {
            "claim": claim,
            "available": available,
            "ratio": ratio,
            "covered": covered,
            "unvalued_assets": unvalued,
        },
    )


def build_report(
    *,
    lookup_id: str,
    party: Party,
    case: Case,
    results: Sequence[InstitutionResult],
    started_at: datetime,
    finished_at: datetime,
    reference: str | None = None,
    sandbox: bool = False,
) -> LookupReport:
    assets = merge_assets(results)
    # Every part was validated when it was made, or is made here from validated parts (the
    # totals and the coverage): the report only assembles them.
    return assembled(
        LookupReport,
        {
            "lookup_id": lookup_id,
            "reference": reference,
            "party": party,
            "case": case,
            "started_at": started_at,
            "finished_at": finished_at,
            "results": tuple(results),
            "assets": assets,
            "totals": _totals(assets),
            "coverage": _coverage(assets, case.claim),
            "complete": all(r.settled for r in results),
            "sandbox": sandbox,
        },
    )


def with_results(
    report: LookupReport, results: Sequence[InstitutionResult], finished_at: datetime
) -> LookupReport:
    """``report`` again with new ``results`` (a refresh, answers given up): the same
    lookup, party and case, its assets and totals made anew."""
    return build_report(
        lookup_id=report.lookup_id,
        party=report.party,
        case=report.case,
        results=results,
        started_at=report.started_at,
        finished_at=finished_at,
        reference=report.reference,
        sandbox=report.sandbox,
    )
