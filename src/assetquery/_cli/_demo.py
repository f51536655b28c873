"""``assetquery demo``: the main job on the embedded default, and the clerk's file it reads.

The demo's input is drawn from the sandbox's fictional parties. The selection covers what a
real batch meets: people and companies, assets of every kind, co-owned and already-sealed
property, frozen and dormant accounts, parties with nothing, and IDs whose area codes
python-stdnum's own ``validate()`` would wrongly refuse.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from .._batch._input import RowDefaults
from .._lookup._dispatcher import Dispatcher
from .._models import LookupReport
from .._time import utc_now
from ..sandbox import SandboxConfig, SandboxParty, dataset
from ..sla import PerformanceReport, performance, render_html
from ..store import Store
from ._common import fail_cleanly, out
from ._lookup import money_text, print_batch_summary, run_batch_command

__all__ = ["DEMO_OPERATOR", "demo", "demo_parties", "write_demo_input"]

DEMO_OPERATOR = "演示承办人"

_SHOWCASE_TAGS = (
    "all_kinds",
    "co_owned",
    "joint_owned",
    "waiting_seal",
    "sealed_by_other_court",
    "partially_frozen",
    "waiting_freeze",
    "dormant",
    "closed",
    "fund_sealed",
    "fund_frozen",
    "foreign_currency",
    "both_banks",
    "legacy_area_code",
    "letter_uscc",
    "no_assets",
)


def demo_parties(size: int = 40) -> list[SandboxParty]:
    """``size`` parties: a few of each showcase kind first, then others in dataset order."""
    data = dataset()
    chosen: dict[str, SandboxParty] = {}
    for tag in _SHOWCASE_TAGS:
        for party in data.find(tag)[:2]:
            chosen.setdefault(party.id_number, party)
    for party in data.parties:
        if len(chosen) >= size:
            break
        chosen.setdefault(party.id_number, party)
    return list(chosen.values())[:size]


def write_demo_input(path: Path, size: int = 40) -> int:
    """Write the demo batch as a clerk would: Chinese headers, UTF-8 with BOM (Excel)."""
    parties = demo_parties(size)
    with path.open("w", encoding="utf-8-sig", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["姓名", "证件号码", "案号", "执行标的", "法院", "承办人"])
        for party in parties:
            writer.writerow(
                [
                    party.name,
                    party.id_number,
                    party.case_number,
                    party.claim,
                    party.court,
                    DEMO_OPERATOR,
                ]
            )
    return len(parties)


def demo(
    out_dir: Annotated[
        Path, typer.Option("--out", help="Where to write the demo's input and reports.")
    ] = Path("demo-output"),
) -> None:
    """Run a batch lookup of example parties against the in-process sandbox registries.

    The sandbox's institutions take realistic time (one bank answers within seconds, the
    other after about 20 hours); the demo runs on simulated time, so that takes a moment.
    """

    with fail_cleanly():
        out_dir.mkdir(parents=True, exist_ok=True)
        source = out_dir / "parties.csv"
        output = out_dir / "reports.jsonl"
        errors = out_dir / "rejected.csv"
        database = out_dir / "assetquery.db"
        for stale in (output, database):
            stale.unlink(missing_ok=True)
        count = write_demo_input(source)
        out.print(
            f"Demo: {count} parties from {source} looked up at the sandbox's registry, housing "
            "fund centre and two banks (simulated institutions, fictional data, simulated "
            "time: the west bank's answers take about 20 hours)."
        )
        opened = Store(f"sqlite:///{database}")
        try:
            summary = run_batch_command(
                lambda clock: Dispatcher.sandbox(
                    SandboxConfig.turnarounds(), store=opened, clock=clock, deadline=4 * 86400.0
                ),
                source,
                output,
                errors,
                False,
                RowDefaults(operator=DEMO_OPERATOR),
                count,
                simulate_from=utc_now(),
            )
            sla = performance(opened)
        finally:
            opened.close()
    print_batch_summary(summary, output, errors)
    _print_demo_highlights(output)
    _print_sla_summary(sla)
    (out_dir / "sla-report.html").write_text(render_html(sla), encoding="utf-8")
    out.print(f"Institution response times: {out_dir / 'sla-report.html'}")
    (out_dir / "summary.json").write_text(
        json.dumps(
            {
                "looked_up": summary.looked_up,
                "rejected": summary.rejected,
                "incomplete": summary.incomplete,
                "assets": dict(summary.assets),
                "statuses": {f"{i}:{s}": n for (i, s), n in sorted(summary.statuses.items())},
            },
            ensure_ascii=False,
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    raise typer.Exit(summary.exit_code)


def _print_sla_summary(report: PerformanceReport) -> None:
    table = Table(title="Inquiry response times", title_justify="left")
    for column in ("institution", "deadline", "median", "p95", "late"):
        table.add_column(column)
    for s in report.stats:
        if s.operation != "inquiry":
            continue
        late = f"{s.breaches} of {s.answered}" if s.answered else "—"
        table.add_row(
            s.institution_name, s.deadline, _duration(s.median_hours), _duration(s.p95_hours), late
        )
    out.print(table)


def _duration(hours: float | None) -> str:
    if hours is None:
        return "—"
    if hours < 1 / 60:
        return f"{hours * 3600:.0f} s"
    return f"{hours * 60:.0f} min" if hours < 1 else f"{hours:.1f} h"


def _print_demo_highlights(output: Path) -> None:
    """Totals by kind across the demo's reports, and its best- and least-covered parties."""
    totals: Counter[str] = Counter()
    values: dict[str, Decimal] = {}
    covered = 0
    reports = 0
    with output.open(encoding="utf-8") as file:
        for line in file:
            report = LookupReport.model_validate_json(line)
            reports += 1
            covered += bool(report.coverage.covered)
            for kind, total in report.totals.items():
                totals[kind] += total.count
                if total.value is not None:
                    values[kind] = values.get(kind, Decimal(0)) + total.value.amount
    table = Table(title="Assets by kind", title_justify="left")
    table.add_column("kind")
    table.add_column("count", justify="right")
    table.add_column("value (CNY)", justify="right")
    for kind, count in sorted(totals.items()):
        table.add_row(kind, str(count), money_text(values.get(kind)))
    out.print(table)
    out.print(f"{covered} of {reports} claims fully covered by available balances.")


# --- sandbox, config, schema --------------------------------------------------------------
