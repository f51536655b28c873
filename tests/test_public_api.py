"""The public API is exactly what the package says it is, and nothing leaks in by accident."""

from __future__ import annotations

import importlib
import sys
from decimal import Decimal

import pytest

import assetquery

# What court IT systems are promised (DESIGN section 4) plus the errors they handle.
EXPECTED = {
    "Adapter",
    "AdapterError",
    "AssetKind",
    "AssetRecord",
    "AssetStatus",
    "AssetqueryError",
    "Case",
    "CaseNumber",
    "ConfigurationError",
    "Coverage",
    "Dispatcher",
    "Encumbrance",
    "EncumbranceKind",
    "ErrorInfo",
    "InstitutionResult",
    "InvalidInput",
    "KindTotal",
    "LookupReport",
    "LookupRequest",
    "Money",
    "Owner",
    "Party",
    "PartyKind",
    "Provenance",
    "RefusedRequest",
    "ResultStatus",
    "Settings",
    "__version__",
    "configure_logging",
    "load_settings",
    "lookup",
    "mask_personal_data",
    "parse_case_number",
}


#: Every public subpackage's promise. Adding a name is a decision: pin it here and
#: document it; removing one breaks callers.
PINNED: dict[str, set[str]] = {
    "assetquery": EXPECTED,
    "assetquery.adapters": {
        "Adapter",
        "AdapterError",
        "ControlRequest",
        "ControlState",
        "ControlStatus",
        "ENTRY_POINT_GROUP",
        "InquiryAnswer",
        "InquiryRequest",
        "Institution",
        "InstitutionFailure",
        "InstitutionRejected",
        "InstitutionTimeout",
        "InstitutionUnavailable",
        "InstitutionUnreachable",
        "JsonFields",
        "MalformedResponse",
        "Operation",
        "PermanentAdapterError",
        "ResultCodes",
        "RetryableAdapterError",
        "XmlFields",
        "available_adapters",
        "check_same_action",
        "check_status",
        "idempotency_conflict",
        "json_body",
        "load_adapter",
        "retry_after_seconds",
        "scrub",
        "xml_body",
    },
    "assetquery.cases": {
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
    },
    "assetquery.ledger": {
        "ActionKind",
        "ActionLedger",
        "ActionState",
        "ControlAction",
        "ControlChannel",
        "DueControl",
        "FreezePlan",
        "IllegalTransition",
        "OPEN_STATES",
        "OverControl",
        "PENDING_STATES",
        "PlannedControl",
        "RulePack",
        "SyncChange",
        "Transition",
        "WithdrawalCondition",
        "control_end",
        "load_rule_pack",
        "plan_controls",
        "renewal_deadline",
    },
    "assetquery.rules": {
        "DayCount",
        "Deadline",
        "Period",
        "PeriodUnit",
        "RenewalPeriodFrom",
        "RulePack",
        "SLA_OPERATIONS",
        "SlaKind",
        "SlaPolicy",
        "SlaRule",
        "WaitingPeriodFrom",
        "WorkingCalendar",
        "YearSchedule",
        "control_end",
        "default_calendar",
        "load_rule_pack",
        "load_schedule",
        "load_schedules",
        "renewal_deadline",
    },
    "assetquery.sandbox": {
        "BankAccount",
        "Control",
        "ControlView",
        "Dataset",
        "FundAccount",
        "InstitutionLoad",
        "InstitutionProfile",
        "Mortgage",
        "RealEstateUnit",
        "SandboxAdmin",
        "SandboxConfig",
        "SandboxParty",
        "SandboxProcess",
        "SimulatedLoop",
        "TAGS",
        "UnitOwner",
        "create_app",
        "dataset",
        "institutions",
        "institutions_toml",
        "run_simulated",
        "sandbox_admin",
        "sandbox_dispatcher",
        "serve",
    },
    "assetquery.sla": {
        "AnnexRow",
        "BreachItem",
        "EvidenceFiles",
        "EvidencePack",
        "FailureReasons",
        "NothingToRecommend",
        "Peer",
        "PeerRank",
        "PrintError",
        "Ranking",
        "annex_csv",
        "build_evidence_pack",
        "evidence_pack",
        "find_chromium",
        "print_pdf",
        "render_letter",
        "write_evidence_pack",
        "Clock",
        "ClockOutcome",
        "Deadline",
        "OperationStats",
        "PerformanceReport",
        "SLA_OPERATIONS",
        "SlaKind",
        "SlaPolicy",
        "SlaRule",
        "TrendPoint",
        "WorkingCalendar",
        "YearSchedule",
        "default_calendar",
        "load_schedule",
        "load_schedules",
        "overdue",
        "performance",
        "render_html",
    },
    "assetquery.store": {
        "ActionNotFound",
        "Audit",
        "AuditEntry",
        "AuditEvent",
        "Cases",
        "ChainCheck",
        "Clock",
        "ClockClose",
        "ClockOutcome",
        "Clocks",
        "Closure",
        "Closures",
        "ConcurrentUpdate",
        "DEFAULT_STORE",
        "Job",
        "JobNotFound",
        "JobProgress",
        "Jobs",
        "LookupFacts",
        "LookupOutcome",
        "LookupRecord",
        "NewAction",
        "NewClock",
        "Recommendation",
        "Recommendations",
        "Reports",
        "Store",
        "StoredLookup",
        "normalize_url",
    },
    "assetquery.testing": {
        "CONTROL_OPERATIONS",
        "AdapterConformance",
        "ControlConformance",
        "assert_normalized",
        "build_report",
        "mock_institution",
        "run_control_status",
        "run_inquiry",
        "run_poll",
        "run_submit",
        "sample_case",
        "sample_organization",
        "sample_person",
    },
}


@pytest.mark.parametrize("module", sorted(PINNED))
def test_public_api_is_pinned(module: str) -> None:
    assert set(importlib.import_module(module).__all__) == PINNED[module]


@pytest.mark.parametrize("module", sorted(PINNED))
def test_all_is_sorted_and_importable(module: str) -> None:
    imported = importlib.import_module(module)
    names = list(imported.__all__)

    # isort-style, as ruff's RUF022 keeps it: CONSTANTS, then Classes, then functions
    def order(name: str) -> tuple[int, str]:
        return (0 if name.isupper() else 1 if name[:1].isupper() else 2, name)

    assert names == sorted(names, key=order), f"{module}.__all__ is not sorted"
    for name in names:
        assert hasattr(imported, name), f"{module}.{name} is listed but missing"


def home_problem(public: str, name: str, obj: object) -> str | None:
    """What is wrong with where ``obj`` (``public.name``) says it lives, or None.

    A public class or function must name a real home inside assetquery that defines it
    under its own name: the public module itself, or a private module behind it. Not a
    third-party object passed off as ours, not a module that does not hold it.
    """
    home = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if home is None or qualname is None:
        return None  # constants and instances have no home of their own
    if home != "assetquery" and not home.startswith("assetquery."):
        return f"{public}.{name} is {home}.{qualname}, not assetquery's own"
    module = sys.modules.get(home) or importlib.import_module(home)
    found: object = module
    for part in qualname.split("."):
        found = getattr(found, part, None)
    if found is not obj:
        return f"{public}.{name} claims {home}.{qualname}, which does not hold it"
    if home != public and not any(part.startswith("_") for part in home.split(".")[1:]):
        return f"{public}.{name} lives in another public module, {home}"
    return None


@pytest.mark.parametrize("module", sorted(PINNED))
def test_public_objects_name_their_real_home(module: str) -> None:
    imported = importlib.import_module(module)
    problems = [
        problem
        for name in imported.__all__
        if (problem := home_problem(module, name, getattr(imported, name))) is not None
    ]
    assert problems == []


def test_a_false_home_is_caught() -> None:
    class Stray:
        pass

    Stray.__module__ = "assetquery.sla"  # sla does not define it
    assert "does not hold it" in (home_problem("assetquery", "Stray", Stray) or "")
    assert "not assetquery's own" in (home_problem("assetquery", "Decimal", Decimal) or "")
    assert home_problem("assetquery", "Money", assetquery.Money) is None


def test_importing_the_library_leaves_the_database_layers_unloaded() -> None:
    # Every full garbage collection walks every object a process holds: SQLAlchemy and
    # Alembic are loaded by the code that opens a store, not by looking parties up.
    import subprocess
    import sys

    probe = (
        "import sys, assetquery, assetquery.store; "
        "from assetquery.store import AuditEvent, ClockOutcome, NewClock; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'sqlalchemy', 'alembic'}))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"

    from assetquery.store import Store  # a lazy name resolves on first use

    assert Store.__module__ == "assetquery.store._store"
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        importlib.import_module("assetquery.store").Nope  # noqa: B018
