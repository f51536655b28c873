"""The ``assetquery`` command: a thin shell over the library for clerks and operators.

This module only assembles the command: each command, or group of commands, has a module
of its own (``_lookup`` for lookup and batch, ``_demo``, ``_schemas``, ``_sandbox``,
``_config``, ``_actions``, ``_sla``, ``_audit``, ``_worker``, ``_jobs``, ``_reports``,
``_cases``), imported only when its command runs.
Exit codes: 0 success; 1 some input rows rejected but the rest done; 2 usage or
configuration error with nothing done; 3 the answer is no (an institution refused a control
action, the audit chain is broken).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from .._logging import configure_logging
from ._common import EXIT_USAGE, err

__all__ = ["COMMANDS", "app", "main"]

#: every command, in the order ``--help`` lists them: its module and the function (a single
#: command) or Typer app (a group of commands) it holds
COMMANDS: Mapping[str, tuple[str, str]] = {
    "demo": ("._demo", "demo"),
    "lookup": ("._lookup", "lookup"),
    "batch": ("._lookup", "batch"),
    "schema": ("._schemas", "schema"),
    "worker": ("._worker", "worker"),
    "stats": ("._cases", "stats"),
    "sandbox": ("._sandbox", "sandbox_app"),
    "config": ("._config", "config_app"),
    "actions": ("._actions", "actions_app"),
    "sla": ("._sla", "sla_app"),
    "audit": ("._audit", "audit_app"),
    "jobs": ("._jobs", "jobs_app"),
    "reports": ("._reports", "reports_app"),
    "case": ("._cases", "case_app"),
}


# Typer's click commands are typed here as Any: Typer keeps its own copy of click, private.


def _load(name: str) -> Any:
    """The click command of ``name``, made as registering it on the root app would."""
    module, attribute = COMMANDS[name]
    target = getattr(importlib.import_module(module, __package__), attribute)
    holder = typer.Typer(add_completion=False)
    if isinstance(target, typer.Typer):
        holder.add_typer(target, name=name)
        group: Any = typer.main.get_command(holder)
        return group.commands[name]
    holder.command(name=name)(target)
    return typer.main.get_command(holder)


class _OnDemand(MutableMapping[str, Any]):
    """The root group's commands, each module imported the first time its command is
    wanted: a command loads what it needs, not what every other command needs (about 70 ms
    of each start). Listing the names imports nothing; ``--help`` imports them all."""

    def __init__(self, loaded: Mapping[str, Any]) -> None:
        self._loaded = dict(loaded)

    def __getitem__(self, name: str) -> Any:
        if name not in self._loaded:
            if name not in COMMANDS:
                raise KeyError(name)
            self._loaded[name] = _load(name)
        return self._loaded[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        del self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        yield from COMMANDS
        yield from (name for name in self._loaded if name not in COMMANDS)

    def __len__(self) -> int:
        return len(COMMANDS.keys() | self._loaded.keys())

    def __contains__(self, name: object) -> bool:
        return name in COMMANDS or name in self._loaded


class _Commands(TyperGroup):
    def __init__(self, **attributes: Any) -> None:
        super().__init__(**attributes)
        self.commands = _OnDemand(self.commands)

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)


app = typer.Typer(
    name="assetquery",
    help="Find a debtor's assets at every registry and bank in one lookup.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=_Commands,
)


@app.callback()
def _main(
    log_level: Annotated[
        str,
        typer.Option(
            "--log-level", envvar="ASSETQUERY_LOG_LEVEL", help="warning, info or debug (stderr)."
        ),
    ] = "warning",
) -> None:
    level = logging.getLevelName(log_level.upper())
    if not isinstance(level, int):
        err.print(f"error: --log-level {log_level!r} is not one of warning, info, debug")
        raise typer.Exit(EXIT_USAGE)
    configure_logging(level)


def main() -> None:
    """Console-script entry point."""
    app()
