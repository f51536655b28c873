"""g's measured account: what keeping a party in the store costs on one interpreter.

    python -m benchmarks.g_store_cost FILE STORE_URL      # prints one line of JSON

The rows of FILE are looked up as g's reference side looks them up (``lookup_many`` on the
embedded sandbox, simulated time, no store), timing the CPU that takes; then the records
the batch would keep for each party (its SLA clocks, audit events and report) are built
from those reports, and written into a fresh store at STORE_URL in commits of 40 (what the
batch's group commit averages on simulated time), each phase timed on its own. On
simulated time nothing waits, so the three add up: g's ceiling is the lookups' time over
the lookups' time plus the store's.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from assetquery import Dispatcher, LookupReport
from assetquery._lookup._records import inquiry_clocks, inquiry_events
from assetquery._time import utc_now
from assetquery.sandbox import run_simulated
from assetquery.store import LookupRecord, Store

from .g_lookup_many import requests

COMMIT = 40


async def _reports(source: Path, clock: Callable[[], datetime]) -> list[LookupReport]:
    async with Dispatcher.sandbox(clock=clock) as dispatcher:
        return [report async for report in dispatcher.lookup_many(requests(source))]


def main() -> None:
    source, url = Path(sys.argv[1]), sys.argv[2]
    started = time.process_time()
    reports = run_simulated(lambda clock: _reports(source, clock), start=utc_now())
    lookups = time.process_time() - started

    rules = Dispatcher.sandbox()  # its institutions and deadlines, as the batch's
    started = time.process_time()
    records = [
        LookupRecord(
            inquiry_clocks(report, rules.institution, rules.sla.due),
            inquiry_events(report),
            report.finished_at,
            report,
            collect=False,
        )
        for report in reports
    ]
    building = time.process_time() - started

    store = Store(url)  # created here, before the clock starts, as the batch's is at start-up
    try:
        started = time.perf_counter()
        for first in range(0, len(records), COMMIT):
            store.record_lookups(records[first : first + COMMIT])
        writing = time.perf_counter() - started
    finally:
        store.close()
    parties = len(reports)
    print(
        json.dumps(
            {
                "parties": parties,
                "lookup_ms": 1000 * lookups / parties,
                "build_ms": 1000 * building / parties,
                "write_ms": 1000 * writing / parties,
            }
        )
    )


if __name__ == "__main__":
    main()
