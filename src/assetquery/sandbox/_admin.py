"""The sandbox's back door: what tests and demos do in place of other courts and time.

``SandboxAdmin`` is reachable from the app (``sandbox_admin``, or
``app.state.admin``) and over HTTP under ``/sandbox-admin`` (no faults, the app's token
check applies):

=========================================================  =====================================
``GET  /sandbox-admin/{institution}/actions``               every control action received
``GET  /sandbox-admin/{institution}/assets/{asset}/controls``  every control on one asset
``POST /sandbox-admin/{institution}/assets/{asset}/release``   lift a control (``{"control_id"}``
                                                            optional: else the earliest in force)
``POST /sandbox-admin/{institution}/assets/{asset}/dispose``   dispose of the asset
``GET  /sandbox-admin/{institution}/load``                  requests so far, in flight now, and
                                                            the most in flight at once
=========================================================  =====================================

Answers are JSON objects with the fields of ``ControlView`` (dates ``YYYY-MM-DD``,
amounts decimal strings); an unknown institution, asset or control gets HTTP 404
``{"error": "not_found", "message": ...}``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ._controls import ControlBook, ControlView
from ._load import InstitutionLoad

__all__ = ["ADMIN_PREFIX", "SandboxAdmin", "sandbox_admin"]

ADMIN_PREFIX = "/sandbox-admin"


class SandboxAdmin:
    """Inspect and steer the control state of a sandbox app's institutions.

    ``institution_id`` is a sandbox institution id (``registry``, ``fund``, ``bank-east``,
    ``bank-west``); ``asset`` an account number or real-estate unit number. Unknown ones
    raise ``LookupError`` (a ``KeyError`` for the institution).
    """

    def __init__(
        self, books: Mapping[str, ControlBook], loads: Mapping[str, InstitutionLoad] | None = None
    ) -> None:
        self._books = dict(books)
        self._loads = dict(loads or {})

    @property
    def institutions(self) -> tuple[str, ...]:
        return tuple(self._books)

    def actions(self, institution_id: str) -> tuple[ControlView, ...]:
        """Every control action the institution received (and remembers), oldest first:
        freezes and seals in their current state, renewals, deductions, releases, refusals.

        ``[a for a in admin.actions("bank-east") if a.operation == "freeze"]`` are the freezes
        asked for; a repeated idempotency key is one action.
        """
        return self._book(institution_id).actions()

    def controls(self, institution_id: str, asset: str) -> tuple[ControlView, ...]:
        """Every control on one asset, other courts' and ours, in order of registration."""
        return self._book(institution_id).controls(asset)

    def release(
        self, institution_id: str, asset: str, control_id: str | None = None
    ) -> ControlView:
        """Release a control on ``asset`` as its own court would, e.g. another court's freeze
        that ours waits behind; the waiting line then moves up (ours may take effect).

        Without ``control_id``, the earliest control in force on the asset.
        """
        return self._book(institution_id).release(asset, control_id)

    def dispose(self, institution_id: str, asset: str) -> tuple[ControlView, ...]:
        """The asset is disposed of (auctioned, paid out): every control in force or waiting
        on it lapses, an account's balance becomes 0, and no new control can be placed.

        Returns the controls that lapsed.
        """
        return self._book(institution_id).dispose(asset)

    def load(self, institution_id: str) -> InstitutionLoad:
        """How hard the institution has been pushed: requests so far (inquiries, polls,
        control actions), in flight now, and the most ever in flight at once."""
        self._book(institution_id)  # an unknown id is named as for the other methods
        return self._loads.setdefault(institution_id, InstitutionLoad())

    def _book(self, institution_id: str) -> ControlBook:
        try:
            return self._books[institution_id]
        except KeyError:
            raise KeyError(
                f"no sandbox institution {institution_id!r}; the institutions are "
                f"{', '.join(self._books)}"
            ) from None

    # --- over HTTP -------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        """The HTTP routes, to be mounted under ``ADMIN_PREFIX``."""
        return [
            Route("/{institution}/actions", self._http_actions, methods=["GET"]),
            Route("/{institution}/assets/{asset}/controls", self._http_controls, methods=["GET"]),
            Route("/{institution}/assets/{asset}/release", self._http_release, methods=["POST"]),
            Route("/{institution}/assets/{asset}/dispose", self._http_dispose, methods=["POST"]),
            Route("/{institution}/load", self._http_load, methods=["GET"]),
        ]

    async def _http_load(self, request: Request) -> Response:
        institution = str(request.path_params["institution"])
        return _answer(lambda: dataclasses.asdict(self.load(institution)))

    async def _http_actions(self, request: Request) -> Response:
        institution = str(request.path_params["institution"])
        return _answer(lambda: {"actions": [_encode(v) for v in self.actions(institution)]})

    async def _http_controls(self, request: Request) -> Response:
        institution, asset = _where(request)
        return _answer(
            lambda: {"controls": [_encode(v) for v in self.controls(institution, asset)]}
        )

    async def _http_release(self, request: Request) -> Response:
        institution, asset = _where(request)
        body = await request.body()
        control_id = None
        if body.strip():
            try:
                payload = json.loads(body)
            except (ValueError, RecursionError):
                payload = None
            if not isinstance(payload, dict) or not isinstance(
                payload.get("control_id"), str | None
            ):
                return JSONResponse(
                    {"error": "invalid_request", "message": 'send {"control_id": "..."} or {}'},
                    400,
                )
            control_id = payload.get("control_id")
        return _answer(lambda: {"released": _encode(self.release(institution, asset, control_id))})

    async def _http_dispose(self, request: Request) -> Response:
        institution, asset = _where(request)
        return _answer(lambda: {"lapsed": [_encode(v) for v in self.dispose(institution, asset)]})


def sandbox_admin(app: Starlette) -> SandboxAdmin:
    """The admin of an app ``create_app`` made."""
    admin = getattr(app.state, "admin", None)
    if not isinstance(admin, SandboxAdmin):
        raise TypeError("this app was not made by assetquery.sandbox.create_app")
    return admin


def _where(request: Request) -> tuple[str, str]:
    return str(request.path_params["institution"]), str(request.path_params["asset"])


def _answer(build: Callable[[], dict[str, Any]]) -> Response:
    try:
        return JSONResponse(build())
    except LookupError as exc:  # KeyError included
        message = exc.args[0] if exc.args else "not found"
        return JSONResponse({"error": "not_found", "message": str(message)}, 404)


def _encode(view: ControlView) -> dict[str, Any]:
    return {
        field.name: _json_value(getattr(view, field.name)) for field in dataclasses.fields(view)
    }


def _json_value(value: object) -> object:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return value
