"""``assetquery audit …``: check the audit trail's chain, and export it for oversight."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import typer

from .._errors import InvalidInput
from ..store import DEFAULT_STORE, AuditEntry, Store
from ._common import StoreOption, err, fail_cleanly, out, parse_moment

__all__ = ["EXIT_BROKEN", "audit_app"]

audit_app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)

#: exit code when the chain is broken: the trail was edited, cut or reordered
EXIT_BROKEN = 3


@audit_app.command("verify")
def verify(store: StoreOption = DEFAULT_STORE) -> None:
    """Check every entry's hash and link; name the first broken one (exit 3) if any."""
    with fail_cleanly():
        opened = Store(store)
        try:
            check = opened.audit.verify()
        finally:
            opened.close()
    if not check.ok:
        err.print(
            f"[bold red]broken:[/] {check.reason}. The {check.entries} entries before it are "
            "intact; everything from it on cannot be trusted."
        )
        raise typer.Exit(EXIT_BROKEN)
    out.print(f"{check.entries} entries, chain intact. Head hash: {check.head_hash}")
    out.print(
        "Keep the head hash elsewhere (a register, a signed mail): it shows later whether "
        "entries were cut from the end."
    )


_COLUMNS = (
    "seq",
    "at",
    "actor",
    "event",
    "case_number",
    "party",
    "institution",
    "subject",
    "detail",
    "prev_hash",
    "hash",
)


def _row(entry: AuditEntry) -> dict[str, object]:
    return {
        "seq": entry.seq,
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "event": entry.event,
        "case_number": entry.case_number,
        "party": entry.party,
        "institution": entry.institution,
        "subject": entry.subject,
        "detail": entry.detail,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


@audit_app.command("export")
def export(
    since: Annotated[str | None, typer.Option("--since", help="From (date or time).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Until, exclusive.")] = None,
    export_format: Annotated[str, typer.Option("--format", help="jsonl or csv.")] = "jsonl",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="File to write.")] = None,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Write the entries of a period, in chain order, with their hashes (for oversight)."""
    with fail_cleanly():
        if export_format not in ("jsonl", "csv"):
            raise InvalidInput("--format", f"{export_format!r}: use jsonl or csv")
        opened = Store(store)
        try:
            entries = opened.audit.entries(
                since=parse_moment(since, "--since"), until=parse_moment(until, "--until")
            )
            text = _csv(entries) if export_format == "csv" else _jsonl(entries)
        finally:
            opened.close()
    if output is None:
        out.file.write(text)
    else:
        output.write_text(text, encoding="utf-8-sig" if export_format == "csv" else "utf-8")
        err.print(f"Wrote {output}")


def _jsonl(entries: Iterable[AuditEntry]) -> str:
    return "".join(json.dumps(_row(e), ensure_ascii=False) + "\n" for e in entries)


def _csv(entries: Iterable[AuditEntry]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=_COLUMNS)
    writer.writeheader()
    for entry in entries:
        writer.writerow(_row(entry))
    return buffer.getvalue()
