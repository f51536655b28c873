"""``assetquery config``: check an institutions file before a batch meets its mistakes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from .._config import load_settings
from .._errors import ConfigurationError
from ..adapters import load_adapter
from ._common import fail_cleanly, out

__all__ = ["config_app"]

config_app = typer.Typer(help="Check institution configuration files.", no_args_is_help=True)


@config_app.command("check")
def config_check(
    file: Annotated[Path, typer.Argument(help="Institutions TOML file.", dir_okay=False)],
) -> None:
    """Validate a configuration file: keys, adapters, secrets and TLS files it refers to."""
    with fail_cleanly():
        settings = load_settings(file)
        problems: list[str] = []
        table = Table(title=str(file), title_justify="left")
        for column in ("id", "name", "adapter", "base_url", "concurrency", "timeout", "auth"):
            table.add_column(column)
        for inst in settings.institutions:
            try:
                load_adapter(inst.adapter)
                inst.auth.token()
            except ConfigurationError as exc:
                problems.append(f"institution {inst.id}: {exc}")
            for label, path in (
                ("client_cert", inst.auth.client_cert),
                ("client_key", inst.auth.client_key),
                ("ca_bundle", inst.auth.ca_bundle),
            ):
                if path is not None and not path.is_file():
                    problems.append(f"institution {inst.id}: auth.{label} {path} does not exist")
            auth = inst.auth.token_env or (
                str(inst.auth.token_file) if inst.auth.token_file else "none"
            )
            table.add_row(
                inst.id,
                inst.name,
                inst.adapter,
                inst.base_url,
                str(inst.concurrency),
                f"{inst.timeout:g}s",
                auth,
            )
        out.print(table)
        if not settings.institutions:
            problems.append("no [[institutions]] are configured")
        if problems:
            raise ConfigurationError(f"{file}:\n  " + "\n  ".join(problems))
        out.print(f"{file}: {len(settings.institutions)} institution(s), configuration is valid.")
