"""Notices: the warnings and overdue events a court wants to hear of, and where they go.

Every notice goes to the structured log. With ``[notify]`` configured it also goes to a
webhook (POSTed as JSON, a bearer token from the environment if one is named) and to a
callable registered under the ``assetquery.notifiers`` entry-point group. A notice carries
the case, the institution and the action, never the debtor's name or number: the party, if
at all, only masked as the logs show it.

Notices are sent from a step of their own, after the work that raised them has been
checkpointed, so a crash can send one twice but never lose it: each carries a ``key`` that
is the same every time it is sent, for the receiver to drop repeats by.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from importlib.metadata import entry_points
from typing import Any

import httpx

from .._config import NotifySettings
from .._errors import ConfigurationError
from .._logging import get_logger
from ._context import current, step

__all__ = ["ENTRY_POINT_GROUP", "Notice", "deliver", "notifier_from_entry_point", "notify"]

log = get_logger("assetquery.worker")

ENTRY_POINT_GROUP = "assetquery.notifiers"

#: how long the webhook gets to take a notice
WEBHOOK_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class Notice:
    """One thing to tell the court. ``key`` is stable across repeats of the same notice."""

    event: str  # renewal_due, renewal_submitted, renewal_failed, lapsed, overdue,
    # answer_overdue, reply_overdue
    key: str
    message: str
    case_number: str | None = None
    institution: str | None = None
    action_id: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def notifier_from_entry_point(name: str) -> Callable[[Notice], Any]:
    """The callable registered as ``name`` under ``assetquery.notifiers``."""
    found = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    if name not in found:
        known = ", ".join(sorted(found)) or "none is installed"
        raise ConfigurationError(
            f"notify.entry_point {name!r} is not registered under {ENTRY_POINT_GROUP!r} "
            f"({known}); install the package that provides it, or remove the key"
        )
    notifier = found[name].load()
    if not callable(notifier):
        raise ConfigurationError(f"notify.entry_point {name!r} is not a callable")
    return notifier  # type: ignore[no-any-return]


async def deliver(notices: Sequence[Notice], settings: NotifySettings | None) -> int:
    """Log every notice and hand it to the configured hooks; how many hooks failed.

    A hook that fails is logged and does not stop the others: the log has the notice.
    """
    for notice in notices:
        level = log.warning if notice.event != "renewal_submitted" else log.info
        level(
            notice.message,
            notice=notice.event,
            key=notice.key,
            case=notice.case_number,
            institution=notice.institution,
            action_id=notice.action_id,
            **notice.detail,
        )
    if not notices or settings is None:
        return 0
    failures = 0
    if settings.entry_point:
        notifier = notifier_from_entry_point(settings.entry_point)
        for notice in notices:
            try:
                outcome = notifier(notice)
                if inspect.isawaitable(outcome):
                    await outcome
            except Exception as exc:  # a hook's failure is logged, not fatal
                failures += 1
                log.error("notifier failed", key=notice.key, error=type(exc).__name__)
    if settings.webhook:
        failures += await _post(settings, notices)
    return failures


async def _post(settings: NotifySettings, notices: Sequence[Notice]) -> int:
    assert settings.webhook is not None
    headers = {"User-Agent": "assetquery-worker"}
    if settings.webhook_token_env:
        token = os.environ.get(settings.webhook_token_env)
        if not token:
            raise ConfigurationError(
                f"notify.webhook_token_env names {settings.webhook_token_env}, which is not set"
            )
        headers["Authorization"] = f"Bearer {token}"
    failures = 0
    async with httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT, headers=headers) as client:
        for notice in notices:
            try:
                response = await client.post(settings.webhook, json=notice.as_json())
                response.raise_for_status()
            except httpx.HTTPError as exc:
                failures += 1
                # The URL may carry a token of its own: it is never logged.
                log.error("webhook failed", key=notice.key, error=type(exc).__name__)
    return failures


@step("assetquery.notify")
async def notify(notices: list[Notice]) -> int:
    """``deliver`` as a step of its own, with the worker's ``[notify]`` settings."""
    settings = current().settings
    return await deliver(notices, settings.notify if settings is not None else None)
