"""The ``assetquery`` command: a thin shell over the library for clerks and operators.

This module only assembles the command: each command, or group of commands, has a module
of its own (``_lookup`` for lookup and batch, ``_demo``, ``_schemas``, ``_sandbox``,
``_config``, ``_actions``, ``_sla``, ``_audit``, ``_worker``, ``_jobs``, ``_reports``, ``_cases``).
Exit codes: 0 success; 1 some input rows rejected but the rest done; 2 usage or
configuration error with nothing done; 3 the answer is no (an institution refused a control
action, the audit chain is broken).
"""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from .._logging import configure_logging
from ._actions import actions_app
from ._audit import audit_app
from ._cases import case_app, stats
from ._common import EXIT_USAGE, err
from ._config import config_app
from ._demo import demo
from ._jobs import jobs_app
from ._lookup import batch, lookup
from ._reports import reports_app
from ._sandbox import sandbox_app
from ._schemas import schema
from ._sla import sla_app
from ._worker import worker

__all__ = ["app", "main"]


app = typer.Typer(
    name="assetquery",
    help="Find a debtor's assets at every registry and bank in one lookup.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# One module per command; groups of commands are Typer apps of their own.
app.command()(demo)
app.command()(lookup)
app.command()(batch)
app.command()(schema)
app.command()(worker)
app.command()(stats)
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(config_app, name="config")
app.add_typer(actions_app, name="actions")
app.add_typer(sla_app, name="sla")
app.add_typer(audit_app, name="audit")
app.add_typer(jobs_app, name="jobs")
app.add_typer(reports_app, name="reports")
app.add_typer(case_app, name="case")


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
