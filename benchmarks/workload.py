"""What the scenarios look up, and the sandbox server they look it up from.

The parties are the sandbox's fictional debtors (:func:`assetquery.sandbox.dataset`), cycled
with distinct case numbers so that any number of them can go into one batch. The same
parties are given to assetquery (as ``LookupRequest``\\ s) and to the baselines (as plain
:class:`~benchmarks.baselines.wire.Debtor`\\ s).
"""

from __future__ import annotations

import json
import os
import tomllib
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from assetquery import Case, LookupRequest, Party
from assetquery.sandbox import SandboxParty, SandboxProcess, dataset, institutions

from .baselines import wire

OPERATOR = "李承办"
#: institutions of the 3-institution runs: the ticket bank (bank-west) is left out
THREE_INSTITUTIONS = ("registry", "fund", "bank-east")
#: where the in-process sandbox pretends to live (as ``Dispatcher.sandbox`` does)
IN_PROCESS_URL = "http://sandbox.assetquery.invalid"

#: what each adapter speaks, for the baselines
_KINDS: dict[str, wire.Kind] = {"realestate": "registry", "housing_fund": "fund", "bank": "bank"}


@dataclass(frozen=True, slots=True)
class Row:
    """One party of a generated batch: a sandbox debtor under its own case number."""

    party: SandboxParty
    case_number: str


@cache
def _parties() -> tuple[SandboxParty, ...]:
    return dataset().parties


def rows(n: int) -> Iterator[Row]:
    """``n`` parties: the sandbox's debtors over and over, each time under a new case."""
    parties = _parties()
    for i in range(n):
        yield Row(parties[i % len(parties)], f"（2024）甘0191执{i + 1}号")


def lookup_requests(n: int) -> list[LookupRequest]:
    """The batch as assetquery takes it."""
    return [
        LookupRequest(
            Party.parse(row.party.name, row.party.id_number, row.party.kind),
            Case(
                number=row.case_number,
                court=row.party.court,
                operator=OPERATOR,
                claim=row.party.claim,
            ),
        )
        for row in rows(n)
    ]


def debtors(n: int) -> list[wire.Debtor]:
    """The same batch as the baselines take it."""
    return [
        wire.Debtor(
            name=row.party.name,
            id_number=row.party.id_number,
            kind=row.party.kind,
            case_number=row.case_number,
            court=row.party.court,
            operator=OPERATOR,
        )
        for row in rows(n)
    ]


def batch_line(row: Row) -> dict[str, str]:
    """One line of a JSONL batch file for ``assetquery batch``."""
    return {
        "name": row.party.name,
        "id_number": row.party.id_number,
        "kind": row.party.kind,
        "case_number": row.case_number,
        "court": row.party.court,
        "operator": OPERATOR,
        "claim_amount": str(row.party.claim),
    }


def write_batch_file(path: Path, n: int) -> Path:
    with path.open("w", encoding="utf-8") as file:
        for row in rows(n):
            file.write(json.dumps(batch_line(row), ensure_ascii=False) + "\n")
    return path


# --- institutions ---------------------------------------------------------------------------


def in_process_institutions() -> list[wire.Institution]:
    """All four sandbox institutions, under the in-process sandbox's URL."""
    return [_institution(entry) for entry in institutions(IN_PROCESS_URL)]


def institutions_from_config(path: str | os.PathLike[str]) -> list[wire.Institution]:
    """The enabled institutions of an institutions TOML, as the baselines see them."""
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    return [_institution(entry) for entry in data["institutions"] if entry.get("enabled", True)]


def _institution(entry: dict[str, Any]) -> wire.Institution:
    return wire.Institution(entry["id"], _KINDS[entry["adapter"]], entry["base_url"])


def write_settings(
    source: Path,
    target: Path,
    *,
    only: Sequence[str],
    cap: int,
    transport: str | None = None,
) -> Path:
    """Edit the server's institutions TOML: disable those not in ``only``, set the cap and,
    unless None (the library's default), the transport. Read it with ``load_settings``."""
    data = tomllib.loads(source.read_text(encoding="utf-8"))
    lines: list[str] = []
    for entry in data["institutions"]:
        edited = {**entry, "enabled": entry["id"] in only, "concurrency": cap}
        if transport is not None:
            edited["transport"] = transport
        lines.append("[[institutions]]")
        lines.extend(f"{key} = {_toml(value)}" for key, value in edited.items())
        lines.append("")
    target.write_text("\n".join(lines), encoding="utf-8")
    return target


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    return repr(value)


# --- the sandbox over HTTP ------------------------------------------------------------------


class SandboxServer(SandboxProcess):
    """The sandbox server process, and the CPU time it has used: how busy it was."""

    def cpu_seconds(self) -> float:
        """CPU time the server has used so far (user + system), from ``/proc``."""
        try:
            stat = Path(f"/proc/{self.pid}/stat").read_text()
        except OSError:
            return float("nan")  # not Linux: the figure is left out
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def postgres_database(server_url: str, prefix: str = "aq_bench") -> Iterator[str]:
    """The URL of a fresh database of its own on the server, dropped afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    server = make_url(server_url)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin_url = server.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
