"""The public API is exactly what the package says it is, and nothing leaks in by accident."""

from __future__ import annotations

import importlib

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


def test_top_level_api_is_pinned() -> None:
    assert set(assetquery.__all__) == EXPECTED


@pytest.mark.parametrize(
    "module",
    [
        "assetquery",
        "assetquery.adapters",
        "assetquery.ledger",
        "assetquery.sandbox",
        "assetquery.sla",
        "assetquery.store",
        "assetquery.testing",
    ],
)
def test_all_is_sorted_and_importable(module: str) -> None:
    imported = importlib.import_module(module)
    names = list(imported.__all__)

    # isort-style, as ruff's RUF022 keeps it: CONSTANTS, then Classes, then functions
    def order(name: str) -> tuple[int, str]:
        return (0 if name.isupper() else 1 if name[:1].isupper() else 2, name)

    assert names == sorted(names, key=order), f"{module}.__all__ is not sorted"
    for name in names:
        assert hasattr(imported, name), f"{module}.{name} is listed but missing"


def test_public_objects_do_not_claim_private_homes() -> None:
    # Re-exported classes keep their private module, but must be reachable publicly.
    for name in assetquery.__all__:
        obj = getattr(assetquery, name)
        if isinstance(obj, type):
            assert obj.__module__.startswith("assetquery"), name


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
