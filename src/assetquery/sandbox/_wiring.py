"""The embedded default: a Dispatcher wired to the simulated registries, in process.

What ``assetquery.Dispatcher.sandbox`` returns. Every sandbox institution is reached
through one ``httpx.ASGITransport`` over one app, at an address that cannot resolve, so
nothing can leave the process even if a transport were missing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

import httpx

from .._config import settings_from_mapping
from .._lookup._dispatcher import Dispatcher
from .._time import utc_now
from ._app import create_app
from ._config import SandboxConfig
from ._institutions import institutions

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from ..store import Store

__all__ = ["SANDBOX_BASE_URL", "sandbox_dispatcher"]

#: where the in-process sandbox pretends to live (``.invalid`` never resolves)
SANDBOX_BASE_URL = "http://sandbox.assetquery.invalid"


def sandbox_dispatcher(
    config: SandboxConfig | None = None,
    *,
    app: Starlette | None = None,
    store: Store | None = None,
    clock: Callable[[], datetime] = utc_now,
    deadline: float | None = None,
) -> Dispatcher:
    """A Dispatcher over the sandbox app (``app``, or one made from ``config``)."""
    if app is not None and config is not None:
        raise ValueError("give the sandbox a config or an app, not both")
    transport = httpx.ASGITransport(app=app or create_app(config))
    data: dict[str, object] = {"institutions": institutions(SANDBOX_BASE_URL)}
    if deadline is not None:
        data["lookup"] = {"deadline": deadline}
    settings = settings_from_mapping(data, "sandbox configuration")
    return Dispatcher(
        settings,
        transports={inst.id: transport for inst in settings.institutions},
        sandbox=True,
        store=store,
        clock=clock,
    )
