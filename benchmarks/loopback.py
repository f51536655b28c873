"""Sides that look parties up over loopback, at ``assetquery sandbox serve`` in a child process.

Scenarios b, c and d use the three institutions that answer at once (the registry, the fund
centre and ``bank-east``; ``bank-west`` is disabled) with the same cap on each. Every side
builds its clients afresh per repetition, outside the timed part, and starts cold: no
connection is opened before the clock starts, as when a court's batch begins. The warm-up
round (modules, the server's first requests) looks up the first few parties only.

* ``assetquery`` — ``Dispatcher(load_settings(file))`` on the server's own institutions file,
  edited for the cap (and, for the extra sides ``assetquery (…)``, a transport other than
  the library's default), and ``lookup_many`` with its default window;
* ``httpx baseline`` — :mod:`.baselines.httpx_client`, httpx's default transport;
* ``aiohttp baseline`` — :mod:`.baselines.aiohttp_client`, a raw ``aiohttp.ClientSession``;
* ``naive sequential`` — :mod:`.baselines.naive`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, contextmanager
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any, TypeVar, get_args

from assetquery import Dispatcher, LookupRequest, load_settings
from assetquery._config import InstitutionSettings  # to learn the transports it accepts

from .baselines import aiohttp_client, fanout, httpx_client, naive, wire
from .harness import (
    Comparison,
    Log,
    Measurement,
    ScenarioResult,
    Series,
    Side,
    Stopwatch,
    interleave,
    side_notes,
)
from .workload import (
    THREE_INSTITUTIONS,
    SandboxServer,
    debtors,
    institutions_from_config,
    lookup_requests,
    write_settings,
)

#: a baseline's client: an httpx ``AsyncClient`` or an aiohttp ``ClientSession``
C = TypeVar("C")

#: the warm-up round asks about this many parties: enough to load every code path
WARMUP_PARTIES = 50

#: what a side reports: the makespan in seconds, or lookups per second
Figure = Callable[[Stopwatch, int], float]


def makespan(watch: Stopwatch, n: int) -> float:
    return watch.elapsed


def throughput(watch: Stopwatch, n: int) -> float:
    return n / watch.elapsed


#: what each transport needs installed, beyond httpx
_NEEDS = {"aiohttp": "httpx_aiohttp", "http2": "h2"}


def default_transport() -> str:
    """The transport an institution gets when its configuration names none."""
    return str(InstitutionSettings.model_fields["transport"].default)


def transports() -> list[str | None]:
    """The sides' transports: ``None`` (the library's default, whatever it is), then every
    other transport the configuration accepts whose extra is installed here."""
    choices = get_args(InstitutionSettings.model_fields["transport"].annotation)
    extras = [
        str(choice)
        for choice in choices
        if choice != default_transport()
        and (choice not in _NEEDS or find_spec(_NEEDS[choice]) is not None)
    ]
    return [None, *extras]


def assetquery_side_name(transport: str | None) -> str:
    return "assetquery" if transport is None else f"assetquery ({transport})"


@dataclass
class Loopback:
    """One sandbox server and the batch every side looks up from it."""

    server: SandboxServer
    directory: Path
    n: int
    cap: int
    figure: Figure
    unit: str

    def __post_init__(self) -> None:
        self.requests: list[LookupRequest] = lookup_requests(self.n)
        self.debtors = debtors(self.n)
        self.settings = {
            transport: write_settings(
                self.server.config,
                self.directory / f"institutions-{transport or 'default'}.toml",
                only=THREE_INSTITUTIONS,
                cap=self.cap,
                transport=transport,
            )
            for transport in transports()
        }
        self.institutions = institutions_from_config(self.settings[None])

    def assetquery(self, transport: str | None = None) -> Side:
        """``transport`` None leaves it to the library's default."""
        settings_file = self.settings[transport]

        async def work(size: int) -> Measurement:
            async with Dispatcher(load_settings(settings_file)) as dispatcher:
                assets = incomplete = 0
                with Stopwatch(self.server.cpu_seconds) as watch:
                    async for report in dispatcher.lookup_many(self.requests[:size]):
                        assets += len(report.assets)
                        incomplete += not report.complete
            return self._measured(watch, size, assets=assets, incomplete=incomplete)

        return self._side(assetquery_side_name(transport), work)

    def httpx_baseline(self) -> Side:
        return self._baseline("httpx baseline", httpx_client.client_for, httpx_client.lookup_all)

    def aiohttp_baseline(self) -> Side:
        return self._baseline(
            "aiohttp baseline", aiohttp_client.session_for, aiohttp_client.lookup_all
        )

    def naive_sequential(self) -> Side:
        return self._baseline("naive sequential", httpx_client.client_for, naive.lookup_all)

    def _baseline(
        self,
        name: str,
        open_client: Callable[[Sequence[wire.Institution], int], AbstractAsyncContextManager[C]],
        lookup_all: Callable[..., Awaitable[fanout.Batch]],
    ) -> Side:
        """A hand-written baseline: its client opened outside the clock, the batch timed."""

        async def work(size: int) -> Measurement:
            async with open_client(self.institutions, self.cap) as client:
                with Stopwatch(self.server.cpu_seconds) as watch:
                    found = await lookup_all(
                        client, self.institutions, self.debtors[:size], cap=self.cap
                    )
            return self._measured(watch, size, assets=wire.total_assets(found))

        return self._side(name, work)

    def _side(self, name: str, work: Callable[[int], Coroutine[Any, Any, Measurement]]) -> Side:
        """The whole batch per repetition; the first few parties only to warm up."""
        few = min(self.n, WARMUP_PARTIES)
        return Side(
            name,
            self.n,
            self.unit,
            measure=lambda: asyncio.run(work(self.n)),
            warmup=lambda: asyncio.run(work(few)),
        )

    def _measured(self, watch: Stopwatch, size: int, **extra: float) -> Measurement:
        return Measurement(self.figure(watch, size), watch.detail(size, **extra))


@contextmanager
def loopback(n: int, cap: int, latency: float, *, figure: Figure, unit: str) -> Iterator[Loopback]:
    """A sandbox server with ``latency`` per answer, tickets ready at once, for one scenario."""
    with TemporaryDirectory(prefix="assetquery-bench-") as folder:
        options = ["--latency", str(latency), "--feedback-delay", "0", "--poll-after", "0"]
        with SandboxServer(Path(folder), *options) as server:
            yield Loopback(server, Path(folder), n, cap, figure, unit)


def every_transport(setup: Loopback, repeat: int, *, warmup: bool, log: Log | None) -> list[Series]:
    """assetquery on each transport, and the httpx and aiohttp baselines, interleaved."""
    sides = [setup.assetquery(t) for t in transports()]
    sides += [setup.httpx_baseline(), setup.aiohttp_baseline()]
    return interleave(sides, repeat, warmup=warmup, log=log)


def transport_result(
    scenario: str,
    title: str,
    series: list[Series],
    comparisons: list[Comparison],
    *,
    n: int,
    repeat: int,
    cap: int,
    latency: float,
) -> ScenarioResult:
    """A scenario run by :func:`every_transport`, with its parameters and notes."""
    result = ScenarioResult(
        scenario,
        title,
        params={
            "n": n,
            "repeat": repeat,
            "institutions": 3,
            "cap": cap,
            "latency": latency,
            "default_transport": default_transport(),
        },
        series=series,
        comparisons=comparisons,
    )
    result.notes.append(f"assetquery: the library's default transport, {default_transport()}")
    result.notes.extend(side_notes(result))
    return result
