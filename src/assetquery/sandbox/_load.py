"""How hard each simulated institution is being pushed: requests, in flight now, and the
most ever in flight at once.

What a test of a client's caps reads: an institution that allows ten requests in flight
should never see an eleventh, however many processes share the work.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["InstitutionLoad", "LoadMeter"]

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]


@dataclass(slots=True)
class InstitutionLoad:
    requests: int = 0
    in_flight: int = 0
    peak: int = 0


class LoadMeter:
    """ASGI middleware counting each institution's requests by its URL prefix."""

    def __init__(
        self,
        app: ASGIApp,
        prefixes: Sequence[tuple[str, str]],
        loads: Mapping[str, InstitutionLoad],
    ) -> None:
        self.app = app
        #: ``(institution id, URL prefix)``, longest prefix first
        self._prefixes = sorted(prefixes, key=lambda item: -len(item[1]))
        self.loads = loads

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        load = self._load_of(scope) if scope["type"] == "http" else None
        if load is None:
            await self.app(scope, receive, send)
            return
        load.requests += 1
        load.in_flight += 1
        load.peak = max(load.peak, load.in_flight)
        try:
            await self.app(scope, receive, send)
        finally:
            load.in_flight -= 1

    def _load_of(self, scope: Scope) -> InstitutionLoad | None:
        path = scope.get("path", "")
        for institution, prefix in self._prefixes:
            if path.startswith(prefix + "/") or path == prefix:
                return self.loads[institution]
        return None
