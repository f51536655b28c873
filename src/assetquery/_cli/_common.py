"""What every ``assetquery`` command shares: consoles, common options, clean failures."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from .._errors import AssetqueryError, InvalidInput
from .._time import SHANGHAI

if TYPE_CHECKING:
    from ..store import Store

__all__ = [
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_REJECTED",
    "EXIT_USAGE",
    "ConfigOption",
    "CourtOption",
    "OperatorOption",
    "StoreOption",
    "err",
    "existing_store",
    "fail_cleanly",
    "out",
    "parse_moment",
    "parse_within",
]

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2
#: an institution refused a control action (or it could not be carried out): nothing applied
EXIT_REFUSED = 3

# Redirected output should not be wrapped at Rich's default of 80 columns.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        envvar="ASSETQUERY_CONFIG",
        help="Institutions TOML file. Without it the sandbox (simulated registries) is used.",
        dir_okay=False,
    ),
]
CourtOption = Annotated[
    str | None, typer.Option("--court", envvar="ASSETQUERY_COURT", help="The court asking.")
]
OperatorOption = Annotated[
    str | None,
    typer.Option("--operator", envvar="ASSETQUERY_OPERATOR", help="Who asks (承办人)."),
]


@contextmanager
def fail_cleanly() -> Iterator[None]:
    """Known errors become one clear line on stderr and exit code 2, not a traceback."""
    try:
        yield
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        err.print(f"[bold red]error:[/] {escape(problems)}", soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from None
    except AssetqueryError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from None


_WITHIN = re.compile(r"^\s*(\d+)\s*([dw]?)\s*$")


def parse_within(text: str, option: str = "--within") -> timedelta:
    """A window of days as clerks write it: ``30d``, ``4w``."""
    match = _WITHIN.match(text)
    if match is None:
        raise InvalidInput(option, f"{text!r} is not a number of days like 30d or 4w")
    count = int(match.group(1))
    return timedelta(weeks=count) if match.group(2) == "w" else timedelta(days=count)


StoreOption = Annotated[
    str, typer.Option("--store", envvar="ASSETQUERY_STORE", help="Database URL.")
]


def existing_store(url: str) -> Store:
    """The store at ``url`` for a command that works on what a store already holds: a
    SQLite file that is not there is a mistyped ``--store``, not a new store to create."""
    from sqlalchemy.engine import make_url

    from ..store import Store, normalize_url

    parsed = make_url(normalize_url(url))  # a string that is no URL is refused there
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database).expanduser()
        if not path.exists():
            raise InvalidInput(
                "--store",
                f"there is no store at {path}; check the path (or ASSETQUERY_STORE): a store "
                "is made by the first batch, lookup or control action written into it",
            )
    return Store(url)


def parse_moment(text: str | None, option: str) -> datetime | None:
    """An ISO date (its start in Shanghai) or an ISO datetime (Shanghai if no offset)."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(option, f"{text!r} is not a date (2026-11-01) or a time") from None
    if len(text) <= 10:
        value = datetime.combine(value.date(), time.min)
    return value if value.tzinfo else value.replace(tzinfo=SHANGHAI)
