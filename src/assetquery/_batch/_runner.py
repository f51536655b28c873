"""The batch runner: a file of parties in, one JSON report per line out, resumable.

Reports are appended as they complete, each line written with a single unbuffered write,
so whatever kills the process (Ctrl-C, SIGKILL, power) leaves complete lines plus at most
one partial last line. ``resume=True`` drops that partial line, skips every party the
output already holds and looks up the rest: a batch killed at any moment and resumed ends
with every party exactly once. Rejected rows go to an errors file with line and reason.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import json
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .._lookup._dispatcher import Dispatcher
from .._models import LookupReport, LookupRequest
from ._input import (
    BatchInputError,
    RawRow,
    Rejection,
    RowDefaults,
    parse_row,
    read_rows,
)

__all__ = ["BatchSummary", "ErrorsFile", "default_errors_path", "run_batch", "screened"]


@dataclass
class BatchSummary:
    """What a batch run did. Counts only: it stays small however large the batch."""

    rows: int = 0
    looked_up: int = 0
    already_done: int = 0
    rejected: int = 0
    incomplete: int = 0
    interrupted: bool = False
    statuses: Counter[tuple[str, str]] = field(default_factory=Counter)
    assets: Counter[str] = field(default_factory=Counter)

    @property
    def exit_code(self) -> int:
        """0 all done; 1 some rows rejected, the rest done; 130 stopped early (as after Ctrl-C)."""
        if self.interrupted:
            return 130
        return 1 if self.rejected else 0


def default_errors_path(output: Path) -> Path:
    return output.with_name(output.name + ".errors.csv")


def _key(id_number: str, case_number: str) -> bytes:
    # A digest, not the strings: a resume set of 100,000 parties stays a few megabytes.
    return hashlib.blake2b(f"{case_number}|{id_number}".encode(), digest_size=16).digest()


def _completed(output: Path) -> set[bytes]:
    """Keys of the reports already in ``output``; a partial last line is cut off first."""
    done: set[bytes] = set()
    with output.open("r+b") as file:
        size = file.seek(0, os.SEEK_END)
        end = size
        # Find the end of the last complete line, reading backwards in blocks.
        while end > 0:
            start = max(end - 65536, 0)
            file.seek(start)
            block = file.read(end - start)
            newline = block.rfind(b"\n")
            if newline != -1:
                end = start + newline + 1
                break
            end = start
        if end < size:
            file.truncate(end)
        file.seek(0)
        for number, line in enumerate(file, start=1):
            if not line.strip():
                continue
            try:
                report = json.loads(line)
                done.add(_key(report["party"]["id_number"], report["case"]["number"]))
            except (ValueError, KeyError, TypeError):
                raise BatchInputError(
                    f"{output}: line {number} is not a report written by assetquery; "
                    "resume only into an output file of an earlier run"
                ) from None
    return done


class ErrorsFile:
    """Rejected rows as CSV (UTF-8 with BOM, so Excel shows the Chinese correctly)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = path.open("w", encoding="utf-8-sig", newline="")
        self._writer = csv.writer(self._file)
        self._writer.writerow(["line", "field", "reason"])

    def write(self, rejection: Rejection) -> None:
        self._writer.writerow([rejection.line, rejection.field, rejection.reason])
        self._file.flush()

    def close(self) -> None:
        self._file.close()


async def run_batch(
    dispatcher: Dispatcher,
    source: Path,
    output: Path,
    *,
    errors: Path | None = None,
    resume: bool = False,
    defaults: RowDefaults | None = None,
    on_progress: Callable[[int], None] | None = None,
    stop: asyncio.Event | None = None,
    window: int | None = None,
) -> BatchSummary:
    """Look up every valid row of ``source``, appending reports to ``output``.

    ``on_progress`` is called with the number of rows handled so far. Setting ``stop``
    stops taking new rows; lookups in flight are finished and written, and the summary
    says ``interrupted``. ``window`` bounds the parties in flight (default: the
    dispatcher's). A dispatcher with a store keeps every report there: the case file reads
    them, and the worker collects the answers still pending.
    """
    if output.exists() and output.stat().st_size > 0 and not resume:
        raise BatchInputError(
            f"{output} already holds results; pass --resume to continue it, or choose another "
            "output file"
        )
    done = _completed(output) if resume and output.exists() else set()
    row_defaults = defaults or RowDefaults()
    # Reading the first row up front makes a bad file fail before anything is written.
    rows = read_rows(source)
    first = next(rows, None)
    summary = BatchSummary()
    errors_file = ErrorsFile(errors or default_errors_path(output))
    handled = 0

    def progressed() -> None:
        nonlocal handled
        handled += 1
        if on_progress is not None:
            on_progress(handled)

    def requests() -> Iterator[LookupRequest]:
        for _line, parsed in screened(_chain(first, rows), row_defaults):
            if stop is not None and stop.is_set():
                summary.interrupted = True
                return
            summary.rows += 1
            if isinstance(parsed, Rejection):
                summary.rejected += 1
                errors_file.write(parsed)
                progressed()
                continue
            if _key(parsed.party.id_number, parsed.case.number) in done:
                summary.already_done += 1
                progressed()
                continue
            yield parsed

    try:
        with output.open("ab", buffering=0) as out:
            async for report in dispatcher.lookup_many(requests(), window=window):
                out.write(report.model_dump_json().encode() + b"\n")
                _count(summary, report)
                progressed()
            os.fsync(out.fileno())
    finally:
        errors_file.close()
    return summary


def screened(
    rows: Iterable[RawRow], defaults: RowDefaults
) -> Iterator[tuple[int, LookupRequest | Rejection]]:
    """Each row's line, parsed; the same party under the same case a second time is
    rejected."""
    seen: dict[bytes, int] = {}
    for row in rows:
        parsed = parse_row(row, defaults)
        if isinstance(parsed, LookupRequest):
            key = _key(parsed.party.id_number, parsed.case.number)
            if key in seen:
                parsed = Rejection(row.line, "row", f"same party and case as line {seen[key]}")
            else:
                seen[key] = row.line
        yield row.line, parsed


def _chain(first: RawRow | None, rest: Iterator[RawRow]) -> Iterator[RawRow]:
    if first is not None:
        yield first
    yield from rest


def _count(summary: BatchSummary, report: LookupReport) -> None:
    summary.looked_up += 1
    if not report.complete:
        summary.incomplete += 1
    for result in report.results:
        summary.statuses[(result.institution, result.status.value)] += 1
    for asset in report.assets:
        summary.assets[asset.kind] += 1
