"""g's reference side: the rows of a batch file read as ``batch`` reads them, looked up by
``lookup_many`` against the embedded sandbox on simulated time, with no store and no output.

    python -m benchmarks.g_lookup_many FILE      # prints how many parties were looked up
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from assetquery import Dispatcher, LookupRequest
from assetquery._batch._input import RowDefaults, read_rows
from assetquery._batch._runner import screened
from assetquery._time import utc_now
from assetquery.sandbox import run_simulated


def requests(source: Path) -> Iterator[LookupRequest]:
    for _line, parsed in screened(read_rows(source), RowDefaults()):
        if isinstance(parsed, LookupRequest):
            yield parsed


async def look_up(source: Path, clock: Callable[[], datetime]) -> int:
    count = 0
    async with Dispatcher.sandbox(clock=clock) as dispatcher:
        async for _report in dispatcher.lookup_many(requests(source)):
            count += 1
    return count


def main() -> None:
    source = Path(sys.argv[1])
    count = run_simulated(lambda clock: look_up(source, clock), start=utc_now())
    print(count, "parties")


if __name__ == "__main__":
    main()
