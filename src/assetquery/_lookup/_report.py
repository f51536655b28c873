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
_NOTHING = Decimal(0)


def merge_assets(results: Iterable[InstitutionResult]) -> tuple[AssetRecord, ...]:
    """All assets of all results, each asset once (the most recent report of it wins)."""
    newest: dict[tuple[str, str, str], AssetRecord] = {}
    for result in results:
        for asset in result.assets:
            key = asset.key
            seen = newest.get(key)
            if seen is None or asset.as_of > seen.as_of:
                newest[key] = asset
    if len(newest) < 2:
        return tuple(newest.values())
    return tuple(sorted(newest.values(), key=_reading_order))


def _reading_order(asset: AssetRecord) -> tuple[int, str, str, str]:
    return (
        _KIND_ORDER.get(asset.kind, len(_KIND_ORDER)),
        asset.kind,
        asset.institution,
        asset.identifier,
    )


def _plus(total: Money | None, amount: Money | None) -> Money | None:
    """``total`` with ``amount`` added, if it is a CNY amount. Every amount is whole fen, so
    the sum is exact; a single amount is its own total (most kinds hold one asset)."""
    if amount is None or amount.currency != "CNY":
        return total
    return amount if total is None else total + amount


def _totals(assets: Sequence[AssetRecord]) -> dict[str, KindTotal]:
    # One pass, sums kept as they go: a report is built for every party of a batch.
    sums: dict[str, tuple[int, Money | None, Money | None]] = {}
    for asset in assets:
        count, value, available = sums.get(asset.kind, (0, None, None))
        sums[asset.kind] = (
            count + 1,
            _plus(value, asset.value),
            _plus(available, asset.available),
        )
    totals: dict[str, KindTotal] = {}
    for kind, (count, value, available) in sums.items():
        totals[kind] = assembled(
            KindTotal, {"count": count, "value": value, "available": available}
        )
    return totals


def _coverage(
    assets: Sequence[AssetRecord], totals: dict[str, KindTotal], claim: Money | None
) -> Coverage:
    # The kinds' totals hold only CNY amounts: their sum is one Money made, not one per kind.
    found = [total.available for total in totals.values() if total.available is not None]
    if not found:
        available = _ZERO
    elif len(found) == 1:
        available = found[0]
    else:
        available = Money.of(sum((money.amount for money in found), _NOTHING))
    unvalued = 0
    for asset in assets:
        if asset.value is None:
            unvalued += 1
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
    totals = _totals(assets)
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
            "totals": totals,
            "coverage": _coverage(assets, totals, case.claim),
            "complete": _settled(results),
            "sandbox": sandbox,
        },
    )


def _settled(results: Sequence[InstitutionResult]) -> bool:
    # A loop: a generator would cost every report one more object.
    for result in results:  # noqa: SIM110
        if not result.settled:
            return False
    return True


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
