"""The sandbox ASGI app: the four simulated institutions under their URL prefixes, and the
admin routes under ``/sandbox-admin``."""

from __future__ import annotations

import hmac
from typing import Protocol

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ._admin import ADMIN_PREFIX, SandboxAdmin
from ._banks import Bank, TicketBank
from ._config import SandboxConfig
from ._controls import ControlBook
from ._faults import Delay, FaultPlan
from ._fund import FundCentre
from ._generate import dataset
from ._institutions import INSTITUTIONS
from ._load import InstitutionLoad, LoadMeter
from ._registry import Registry

__all__ = ["create_app"]

_HEALTH = "/health"


class _Service(Protocol):
    @property
    def book(self) -> ControlBook: ...

    def routes(self) -> list[BaseRoute]: ...


def create_app(config: SandboxConfig | None = None) -> Starlette:
    """The simulated institutions as one Starlette app, each under its prefix.

    Serve it in process with ``httpx.ASGITransport(app)`` or over HTTP with uvicorn (see
    ``serve``); ``institutions`` gives the matching configuration. ``GET /health``
    answers without a token. ``app.state.admin`` (or ``sandbox_admin``) is the
    ``SandboxAdmin`` of the app's control state, also served under ``/sandbox-admin``.
    """
    config = config or SandboxConfig()
    data = dataset(config.seed)

    def faults(institution_id: str) -> FaultPlan:
        return FaultPlan(config.seed, institution_id, config.profile(institution_id))

    def delay(institution_id: str, median: float | None = None) -> Delay:
        profile = config.profile(institution_id)
        return Delay(
            profile.control_feedback_delay if median is None else median,
            profile.turnaround_spread,
            f"{config.seed}:{institution_id}",
        )

    west = config.profile("bank-west")
    services: dict[str, _Service] = {
        "registry": Registry(data, faults("registry"), control_feedback_delay=delay("registry")),
        "fund": FundCentre(data, faults("fund"), control_feedback_delay=delay("fund")),
        "bank-east": Bank(
            "bank-east",
            data,
            faults("bank-east"),
            control_prefix="BE",
            control_feedback_delay=delay("bank-east"),
        ),
        "bank-west": TicketBank(
            "bank-west",
            data,
            faults("bank-west"),
            feedback_delay=delay("bank-west", west.feedback_delay),
            poll_after_seconds=west.poll_after_seconds,
            states_local_currency=False,
            reports_end_dates=False,  # the court must work out when its freezes end
            control_prefix="BW",
            control_feedback_delay=delay("bank-west"),
        ),
    }
    loads = {i.id: InstitutionLoad() for i in INSTITUTIONS}
    admin = SandboxAdmin({i.id: services[i.id].book for i in INSTITUTIONS}, loads)
    routes: list[BaseRoute] = [Route(_HEALTH, _health, methods=["GET"])]
    routes += [Mount(i.prefix, routes=services[i.id].routes()) for i in INSTITUTIONS]
    routes.append(Mount(ADMIN_PREFIX, routes=admin.routes()))
    prefixes = [(i.id, i.prefix) for i in INSTITUTIONS]
    middleware = [Middleware(LoadMeter, prefixes=prefixes, loads=loads)]
    if config.require_token:
        middleware.append(Middleware(_RequireToken, token=config.require_token))
    app = Starlette(routes=routes, middleware=middleware)
    app.state.sandbox_config = config
    app.state.admin = admin
    return app


async def _health(request: Request) -> Response:
    return JSONResponse({"status": "ok", "institutions": [i.id for i in INSTITUTIONS]})


class _RequireToken:
    """Refuses requests without ``Authorization: Bearer <token>``, as institutions do (401)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self._app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] != _HEALTH and not self._authorized(scope):
            refusal = JSONResponse(
                {"error": "unauthorized", "message": "a valid bearer token is required"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="assetquery-sandbox"'},
            )
            await refusal(scope, receive, send)
            return
        await self._app(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        for name, value in scope["headers"]:
            if name == b"authorization":
                return hmac.compare_digest(value, self._expected)
        return False
