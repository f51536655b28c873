"""The case file and the court's figures: reads of the store, for judges and court presidents.

See ``docs/cases.md`` and ``docs/figures.md``. ``case_file(store, number)`` gathers one case
(its parties, lookups, assets found, controls, totals and the next dates that need action);
``court_figures(store, …)`` computes the period's figures. Both only read the store: they
never talk to an institution and never start the worker.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from .._errors import CaseNotFound
from .._time import utc_now
from ..rules._pack import RulePack, load_rule_pack
from ..store import Closure, Store
from ._closures import CLOSURE_COLUMNS, ClosureManner, ClosureRead, read_closures
from ._export import EXPORT_FORMATS, case_html, case_json, write_case_file
from ._figures import CourtFigures, GroupFigures, OfficialIndicators
from ._figures import court_figures as _compute_figures
from ._file import (
    CaseControl,
    CaseFile,
    CaseLookup,
    CaseOperation,
    CaseParty,
    CaseTotals,
    FoundAsset,
    InstitutionAnswer,
    NextDate,
    build_case_file,
)
from ._read import canonical_case, case_file, case_files

__all__ = [
    "CLOSURE_COLUMNS",
    "EXPORT_FORMATS",
    "CaseControl",
    "CaseFile",
    "CaseLookup",
    "CaseNotFound",
    "CaseOperation",
    "CaseParty",
    "CaseTotals",
    "Closure",
    "ClosureManner",
    "ClosureRead",
    "CourtFigures",
    "FoundAsset",
    "GroupFigures",
    "InstitutionAnswer",
    "NextDate",
    "OfficialIndicators",
    "build_case_file",
    "canonical_case",
    "case_file",
    "case_files",
    "case_html",
    "case_json",
    "court_figures",
    "read_closures",
    "write_case_file",
]


def court_figures(
    store: Store,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    court: str | None = None,
    operator: str | None = None,
    now: datetime | None = None,
    rules: RulePack | None = None,
) -> CourtFigures:
    """The court's figures for requests and actions of [since, until), from the store."""
    closures: Sequence[Closure] = store.closures.all()
    return _compute_figures(
        lookups=store.cases.lookups(),
        actions=store.find(),
        clocks=store.clocks.find(since=since, until=until),
        closures=closures or None,
        rules=rules or load_rule_pack(),
        now=now or utc_now(),
        since=since,
        until=until,
        court=court,
        operator=operator,
    )
