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
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any, get_args

from assetquery import Dispatcher, LookupRequest, load_settings
from assetquery._config import InstitutionSettings  # to learn the transports it accepts

from .baselines import aiohttp_client, httpx_client, naive, wire
from .harness import Measurement, Side, Stopwatch
from .workload import (
    THREE_INSTITUTIONS,
    SandboxServer,
    debtors,
    institutions_from_config,
    lookup_requests,
    write_settings,
)

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
        async def work(size: int) -> Measurement:
            async with httpx_client.client_for(self.institutions, self.cap) as client:
                with Stopwatch(self.server.cpu_seconds) as watch:
                    found = await httpx_client.lookup_all(
                        client, self.institutions, self.debtors[:size], cap=self.cap
                    )
            return self._measured(watch, size, assets=wire.total_assets(found))

        return self._side("httpx baseline", work)

    def aiohttp_baseline(self) -> Side:
        async def work(size: int) -> Measurement:
            async with aiohttp_client.session_for(self.institutions, self.cap) as session:
                with Stopwatch(self.server.cpu_seconds) as watch:
                    found = await aiohttp_client.lookup_all(
                        session, self.institutions, self.debtors[:size], cap=self.cap
                    )
            return self._measured(watch, size, assets=wire.total_assets(found))

        return self._side("aiohttp baseline", work)

    def naive_sequential(self) -> Side:
        async def work(size: int) -> Measurement:
            async with httpx_client.client_for(self.institutions, self.cap) as client:
                with Stopwatch(self.server.cpu_seconds) as watch:
                    found = await naive.lookup_all(
                        client, self.institutions, self.debtors[:size], cap=self.cap
                    )
            return self._measured(watch, size, assets=wire.total_assets(found))

        return self._side("naive sequential", work)

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
