"""Who may ask: the purpose-binding rules every inquiry and control action passes first.

Nothing leaves the process without a well-formed case number and an operator; when the
configuration lists them, only allowed operators and courts may ask. The fan-out engine and
the ledger both ask ``refusal`` before any request goes out, and record a refusal in the
audit trail.
"""

from __future__ import annotations

from ._config import AccessSettings
from ._identifiers import parse_case_number
from ._models import Case

__all__ = ["refusal"]


def refusal(case: Case, access: AccessSettings) -> str | None:
    """Why a request under ``case`` may not go out, or None if it may."""
    if not (case.operator or "").strip():
        return "the case names no operator; every request names who asks"
    try:
        parse_case_number(case.number)
    except ValueError as exc:
        return str(exc)
    if access.operators is not None and case.operator not in access.operators:
        return f"operator {case.operator!r} is not on the configured allow-list"
    if access.courts is not None and case.court not in access.courts:
        court = repr(case.court) if case.court else "(none given)"
        return f"court {court} is not on the configured allow-list"
    return None
