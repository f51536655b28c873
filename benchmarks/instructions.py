"""Client instructions per lookup, counted by cachegrind: a yardstick that does not drift.

A 2-core machine's speed drifts by a third within minutes, so a change worth a few per
cent cannot be confirmed by timing it. Counted instructions hardly move between runs
(±0.3 % here). This runs scenario d's fan-out (a sandbox server with 20 ms per answer,
50 requests in flight per institution) at two sizes under ``valgrind --tool=cachegrind``,
once with assetquery and once with the raw aiohttp baseline, and reports the difference
per lookup, which leaves start-up, imports and the making of the parties out (as d's
timing does)::

    .venv/bin/python -m benchmarks.instructions              # 200 and 1,000 parties
    .venv/bin/python -m benchmarks.instructions --sizes 100 500
    .venv/bin/python -m benchmarks.instructions --without report results all

``--without`` also counts assetquery with parts of its lookup replaced by stand-ins
(:mod:`benchmarks.standins`): what each part costs beyond the script's work.

Instructions are not time: the garbage collector's walks over memory cost more time than
their instruction count says, so the ratio here is lower than scenario d's CPU ratio. Use
it to compare two versions of the code, and time the result with ``make bench``. Needs
valgrind (Debian: ``apt-get install valgrind``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from tempfile import TemporaryDirectory

from . import standins
from .workload import (
    THREE_INSTITUTIONS,
    SandboxServer,
    debtors,
    institutions_from_config,
    lookup_requests,
    write_settings,
)

SIDES = ("assetquery", "aiohttp baseline")
CAP = 50
LATENCY = 0.02
WARM_UP = 50
_TOTAL = re.compile(r"I\s+refs:\s+([\d,]+)")


def run_side(side: str, size: int, inputs: int, config: Path, without: Sequence[str] = ()) -> int:
    """One side's batch of ``size`` parties after a warm-up; the number of assets found.

    The parties are made before either batch, ``inputs`` of them whatever ``size`` is, so
    that making them (for assetquery, validating every ID and case number) falls out of
    the difference between two sizes: scenario d times the lookups, not its input.
    ``without`` names parts of assetquery's lookup to replace by stand-ins
    (:mod:`benchmarks.standins`).
    """
    if side == "assetquery":
        standins.apply(without)
        from assetquery import Dispatcher, LookupRequest, load_settings

        requests = lookup_requests(WARM_UP + inputs)

        async def batch(chosen: list[LookupRequest]) -> int:
            async with Dispatcher(load_settings(config)) as dispatcher:
                return sum([len(r.assets) async for r in dispatcher.lookup_many(chosen)])

        asyncio.run(batch(requests[:WARM_UP]))
        gc.collect()
        return asyncio.run(batch(requests[WARM_UP : WARM_UP + size]))

    from .baselines import aiohttp_client, wire

    institutions = institutions_from_config(config)
    parties = debtors(WARM_UP + inputs)

    async def lookup_all(chosen: list[wire.Debtor]) -> int:
        async with aiohttp_client.session_for(institutions, CAP) as session:
            found = await aiohttp_client.lookup_all(session, institutions, chosen, cap=CAP)
        return wire.total_assets(found)

    asyncio.run(lookup_all(parties[:WARM_UP]))
    gc.collect()
    return asyncio.run(lookup_all(parties[WARM_UP : WARM_UP + size]))


def count(side: str, size: int, inputs: int, config: Path, without: Sequence[str] = ()) -> int:
    """Instructions of a whole child process running :func:`run_side` under cachegrind."""
    command = [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=no",
        "--cachegrind-out-file=/dev/null",
        sys.executable,
        "-m",
        "benchmarks.instructions",
        "--child",
        side,
        str(size),
        str(inputs),
        str(config),
        ",".join(without) or "-",
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    found = _TOTAL.search(done.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count in valgrind's output:\n{done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.instructions", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--sizes",
        type=int,
        nargs=2,
        default=(200, 1000),
        metavar=("N1", "N2"),
        help="the two batch sizes whose difference is counted [default: 200 1000]",
    )
    parser.add_argument(
        "--without",
        nargs="+",
        default=[],
        metavar="PARTS",
        help="also count assetquery with these parts replaced by stand-ins, each argument one "
        f"count (comma-joined parts together): {', '.join(standins.PARTS)}",
    )
    parser.add_argument(
        "--child",
        nargs=5,
        metavar=("SIDE", "SIZE", "INPUTS", "CONFIG", "WITHOUT"),
        help=argparse.SUPPRESS,
    )
    arguments = parser.parse_args(argv)
    if arguments.child:
        side, size, inputs, config, without = arguments.child
        parts = [] if without == "-" else without.split(",")
        print(run_side(side, int(size), int(inputs), Path(config), parts))
        return
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (Debian: apt-get install valgrind)")
    small, large = sorted(arguments.sizes)
    if small == large:
        sys.exit("--sizes needs two different sizes")
    without = [_parts(argument, parser) for argument in arguments.without]
    with TemporaryDirectory(prefix="assetquery-instructions-") as folder:
        options = ["--latency", str(LATENCY), "--feedback-delay", "0", "--poll-after", "0"]
        with SandboxServer(Path(folder), *options) as server:
            config = write_settings(
                server.config, Path(folder) / "institutions.toml", only=THREE_INSTITUTIONS, cap=CAP
            )

            def per_lookup(side: str, parts: Sequence[str] = ()) -> float:
                larger = count(side, large, large, config, parts)
                return (larger - count(side, small, large, config, parts)) / (large - small)

            counted = {side: per_lookup(side) for side in SIDES}
            stood_in = {",".join(parts): per_lookup("assetquery", parts) for parts in without}
    for side, instructions in counted.items():
        print(f"{side:17} {instructions / 1e6:6.2f} M instructions per lookup")
    baseline = counted["aiohttp baseline"]
    print(f"assetquery / aiohttp baseline: {counted['assetquery'] / baseline:.2f}")
    for parts, instructions in stood_in.items():
        saved = counted["assetquery"] - instructions
        print(
            f"without {parts}: {instructions / 1e6:.2f} M ({saved / 1e6:.2f} M less), "
            f"{instructions / baseline:.2f} x the baseline"
        )


def _parts(argument: str, parser: argparse.ArgumentParser) -> list[str]:
    """The parts one ``--without`` argument names (``all``: every part)."""
    parts = list(standins.PARTS) if argument == "all" else argument.split(",")
    unknown = [part for part in parts if part not in standins.PARTS]
    if unknown:
        parser.error(
            f"--without: no part {', '.join(unknown)}; the parts are "
            f"{', '.join(standins.PARTS)} (or all)"
        )
    return parts


if __name__ == "__main__":
    main()
