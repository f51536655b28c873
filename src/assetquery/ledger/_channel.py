"""What the ledger needs from whoever talks to the institutions: six questions, no more.

``assetquery.Dispatcher`` answers them; so can a test's fake, or anything else that can
reach institutions. The ledger never reaches past this protocol into a dispatcher's routes,
settings or clients.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from .._models import Case, Operation
from ..adapters import ControlRequest, ControlStatus
from ..rules import Deadline, SlaRule

__all__ = ["ControlChannel"]


class _Named(Protocol):
    @property
    def name(self) -> str: ...


class ControlChannel(Protocol):
    """The institutions, as the ledger sees them."""

    def refusal(self, case: Case) -> str | None:
        """Why a request under ``case`` may not go out (purpose binding), or None."""
        ...

    def institution(self, institution_id: str) -> _Named:
        """The institution (its display name is what the ledger uses); KeyError if unknown."""
        ...

    def capabilities(self, institution_id: str) -> frozenset[Operation]:
        """What the institution can be asked to do."""
        ...

    def due(
        self, institution_id: str, operation: str, started_at: datetime
    ) -> tuple[SlaRule, Deadline] | None:
        """The SLA rule and due time of a request made at ``started_at``, if one applies."""
        ...

    async def submit_control(self, institution_id: str, request: ControlRequest) -> ControlStatus:
        """Send a control action once; never retried (the ledger asks the status instead)."""
        ...

    async def control_status(self, institution_id: str, request: ControlRequest) -> ControlStatus:
        """Where the action with ``request``'s idempotency key stands at the institution."""
        ...
