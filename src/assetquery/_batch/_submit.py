"""Submitting a batch as a job: every row checked first, then the job stored whole.

The worker looks the parties up later, chunk by chunk (``assetquery worker``). Rows are
validated exactly as ``batch`` validates them and rejected rows go to the errors file; the
accepted ones are written in one transaction, so a job is in the store whole or not at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .._errors import BatchInputError, InvalidInput
from .._models import LookupRequest
from ..store import Job, Store
from ._input import Rejection, RowDefaults, read_rows
from ._runner import ErrorsFile, screened

__all__ = ["Submission", "new_job_id", "submit_job"]


@dataclass(frozen=True, slots=True)
class Submission:
    job: Job
    rejected: int
    errors: Path

    @property
    def exit_code(self) -> int:
        """0 every row accepted; 1 some rejected (the rest submitted), as ``batch``."""
        return 1 if self.rejected else 0


def new_job_id(at: datetime) -> str:
    """``job-20261206-3fa9c2d1``: sortable by day, unique by chance."""
    return f"job-{at:%Y%m%d}-{uuid.uuid4().hex[:8]}"


def submit_job(
    store: Store,
    source: Path,
    *,
    errors: Path,
    defaults: RowDefaults,
    chunk_size: int,
    at: datetime,
    submitted_by: str | None = None,
) -> Submission:
    """Check every row of ``source``, store the accepted ones as a new job.

    The file is read once, as the job is written: memory stays flat whatever its size.
    """
    rejected = 0
    errors_file = ErrorsFile(errors)

    def accepted() -> Iterator[tuple[int, LookupRequest]]:
        nonlocal rejected
        for line, parsed in screened(read_rows(source), defaults):
            if isinstance(parsed, Rejection):
                rejected += 1
                errors_file.write(parsed)
            else:
                yield line, parsed

    try:
        job = store.jobs.create(
            new_job_id(at),
            source=str(source),
            requests=accepted(),
            chunk_size=chunk_size,
            submitted_by=submitted_by or defaults.operator,
            at=at,
            rejected=lambda: rejected,
        )
    except InvalidInput:
        raise BatchInputError(
            f"{source}: no row can be looked up ({rejected} rejected, see {errors}); "
            "nothing was submitted"
        ) from None
    finally:
        errors_file.close()
    return Submission(job, rejected, errors)
