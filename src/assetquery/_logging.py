"""Structured logs without personal data.

assetquery never hands personal data to a logger in the first place (parties are logged as
``party.masked``). ``mask_personal_data`` is the safety net behind that rule: a
structlog processor that masks values under personal-data keys, and ID-like or
account-like numbers anywhere in a string. It is in the chain of every assetquery logger.

The loggers render each event as one JSON object and hand it to the standard library logger
of the same name (``assetquery.dispatcher``, ...). A library should not print on its own:
nothing below WARNING appears until the application (or the CLI, via
``configure_logging``) attaches a handler. Applications with their own structlog chain
can add ``mask_personal_data`` to it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

from ._identifiers import mask_account, mask_address, mask_id_number, mask_name, mask_text

__all__ = ["configure_logging", "get_logger", "mask_personal_data"]

_MASKERS = {
    "name": mask_name,
    "party_name": mask_name,
    "owner": mask_name,
    "id_number": mask_id_number,
    "resident_id": mask_id_number,
    "uscc": mask_id_number,
    "account": mask_account,
    "account_number": mask_account,
    "address": mask_address,
    "location": mask_address,
}


def _mask(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: _mask_field(k, v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask(v) for v in value]
    return value


def _mask_field(key: str, value: Any) -> Any:
    masker = _MASKERS.get(key)
    if masker is not None and isinstance(value, str):
        return masker(value)
    return _mask(value)


def mask_personal_data(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: mask names, ID and account numbers, addresses in every field."""
    for key, value in event_dict.items():
        event_dict[key] = _mask_field(key, value)
    return event_dict


_PROCESSORS: list[structlog.typing.Processor] = [
    structlog.stdlib.filter_by_level,  # first, so disabled levels cost almost nothing
    structlog.contextvars.merge_contextvars,
    structlog.processors.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.processors.format_exc_info,
    mask_personal_data,
    structlog.processors.JSONRenderer(ensure_ascii=False),
]


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """An assetquery logger: masked, JSON-rendered, delivered to ``logging.getLogger(name)``.

    Bound at once rather than left a lazy proxy: its processors and the logger it delivers
    to are fixed here, and a proxy assembles a new bound logger on every attribute read
    (every ``isEnabledFor``, every event).
    """
    logger: structlog.stdlib.BoundLogger = structlog.wrap_logger(
        logging.getLogger(name),
        processors=_PROCESSORS,
        wrapper_class=structlog.stdlib.BoundLogger,
    ).bind()
    return logger


class _OwnHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler ``configure_logging`` installs, so a second call replaces it."""


def configure_logging(level: int | str = logging.WARNING, stream: TextIO | None = None) -> None:
    """Print assetquery's log lines (JSON) to ``stream`` (stderr) from ``level`` up."""
    root = logging.getLogger("assetquery")
    root.setLevel(level if isinstance(level, int) else level.upper())
    for handler in list(root.handlers):
        if isinstance(handler, _OwnHandler):
            root.removeHandler(handler)
    own = _OwnHandler(stream or sys.stderr)
    own.setFormatter(logging.Formatter("%(message)s"))
    root.addHandler(own)
    root.propagate = False
