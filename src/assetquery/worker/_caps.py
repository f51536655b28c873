"""Institution caps shared by every worker of a court.

An institution says how hard it may be pushed: ``concurrency`` requests in flight and
``rate_limit`` requests a second, for the court as a whole. Every unit of durable work that
talks to institutions (a chunk of a job, a batch of late answers, an action's follow-up)
runs from one engine queue whose *global* concurrency is ``worker.slots``: however many
workers share the database, at most that many units run at once. Each unit's dispatcher
gets ``1/slots`` of every cap, so the units together never exceed it.
"""

from __future__ import annotations

from .._config import Settings
from .._errors import ConfigurationError

__all__ = ["share_caps"]


def share_caps(settings: Settings, slots: int) -> Settings:
    """``settings`` with every institution's caps divided among ``slots`` units of work.

    Refuses an institution whose concurrency is smaller than ``slots``: no share of it
    would be a whole request.
    """
    institutions = []
    for institution in settings.institutions:
        share = institution.concurrency // slots
        if share < 1:
            raise ConfigurationError(
                f"institution {institution.id!r} allows {institution.concurrency} request(s) "
                f"in flight, fewer than worker.slots ({slots}) units of work share: raise its "
                f"concurrency or lower worker.slots to {institution.concurrency} or less"
            )
        rate = institution.rate_limit / slots if institution.rate_limit is not None else None
        institutions.append(
            institution.model_copy(update={"concurrency": share, "rate_limit": rate})
        )
    return settings.model_copy(update={"institutions": tuple(institutions)})
