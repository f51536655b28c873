"""The demo's input: a clerk's batch file drawn from the sandbox's fictional parties.

The selection covers what a real batch meets: people and companies, assets of every kind,
co-owned and already-sealed property, frozen and dormant accounts, parties with nothing,
and IDs whose area codes python-stdnum's own ``validate()`` would wrongly refuse.
"""

from __future__ import annotations

import csv
from pathlib import Path

from ..sandbox import SandboxParty, dataset

__all__ = ["DEMO_OPERATOR", "demo_parties", "write_demo_input"]

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
