"""Over real HTTP: ``assetquery sandbox serve`` in another process, on loopback.

The same parties looked up in process and over the network must give the same assets: the
network path (httpx's transport, pools, real sockets) changes nothing in what is found.
"""

from __future__ import annotations

import asyncio

import pytest

from assetquery import Dispatcher, LookupReport, LookupRequest
from assetquery.sandbox import SandboxProcess, dataset

from .test_sandbox_lookup import case_of, party_of

pytestmark = pytest.mark.loopback

TAGS = [
    "all_kinds",
    "co_owned",
    "waiting_seal",
    "partially_frozen",
    "letter_uscc",
    "no_assets",
    "foreign_currency",
    "legacy_area_code",
]


def comparable(report: LookupReport) -> list[dict[str, object]]:
    """The assets without what differs between two lookups: answer times and request ids."""
    volatile = {"as_of": True, "provenance": {"received_at", "reference"}}
    return [asset.model_dump(mode="json", exclude=volatile) for asset in report.assets]


async def reports(dispatcher: Dispatcher, requests: list[LookupRequest]) -> dict[str, LookupReport]:
    async with dispatcher:
        return {r.reference or "": r async for r in dispatcher.lookup_many(requests)}


async def test_the_same_assets_in_process_and_over_the_network(
    sandbox_server: SandboxProcess,
) -> None:
    chosen = [dataset().find(tag)[0] for tag in TAGS]
    requests = [LookupRequest(party_of(p), case_of(p), reference=p.id_number) for p in chosen]

    in_process, over_http = await asyncio.gather(
        reports(Dispatcher.sandbox(), requests),
        reports(Dispatcher.from_config(sandbox_server.config), requests),
    )

    assert set(over_http) == set(in_process) == {p.id_number for p in chosen}
    for key, local in in_process.items():
        remote = over_http[key]
        assert not remote.sandbox  # configured institutions, as in a deployment
        assert [r.status for r in remote.results] == [r.status for r in local.results]
        assert comparable(remote) == comparable(local)
        assert remote.totals == local.totals
    assert any(r.assets for r in over_http.values())
