"""Reports for tests: a LookupReport made exactly as a lookup makes one, without a lookup.

A test of the freeze planner, of a custom adapter's records in a report, or of code that
reads reports needs a ``LookupReport`` whose merged assets, totals and
coverage of the claim are what the dispatcher would compute. ``build_report`` makes one
from institutions' results, or from assets alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from .._lookup._report import build_report as _assemble
from .._models import AssetRecord, Case, InstitutionResult, LookupReport, Party, ResultStatus
from .._time import utc_now

__all__ = ["build_report"]


def build_report(
    party: Party,
    case: Case,
    results: Sequence[InstitutionResult] = (),
    *,
    assets: Iterable[AssetRecord] = (),
    lookup_id: str = "test-lookup",
    at: datetime | None = None,
    reference: str | None = None,
) -> LookupReport:
    """The report a lookup of ``party`` under ``case`` makes from ``results``.

    With ``assets`` instead of (or besides) ``results``, they are the answer of one
    institution, ``"test"``, that found them. ``at`` (default now, timezone-aware) is when
    the lookup started and finished. Assets are merged and de-duplicated, totalled per kind
    and held against the claim exactly as ``assetquery.Dispatcher.lookup`` does.
    """
    if not isinstance(party, Party) or not isinstance(case, Case):
        raise TypeError("build_report needs a Party and a Case")
    when = at or utc_now()
    if when.utcoffset() is None:
        raise ValueError("at must be timezone-aware")
    answers = [InstitutionResult.model_validate(result) for result in results]
    found = tuple(assets)
    if found or not answers:
        answers.append(
            InstitutionResult(
                institution="test",
                name="test institution",
                adapter="test",
                status=ResultStatus.OK if found else ResultStatus.NOT_FOUND,
                assets=found,
                started_at=when,
                finished_at=when,
            )
        )
    return _assemble(
        lookup_id=lookup_id,
        party=party,
        case=case,
        results=answers,
        started_at=when,
        finished_at=when,
        reference=reference,
    )
