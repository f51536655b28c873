"""End to end on the embedded default: real adapters, the sandbox in process, one report.

The parties come from the sandbox's data set by tag, so each messy case is checked against
a party that really has it.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from assetquery import (
    AssetKind,
    Case,
    Dispatcher,
    LookupReport,
    LookupRequest,
    Party,
    ResultStatus,
    lookup,
)
from assetquery.sandbox import SandboxParty, dataset

# The ticket bank answers after a delay measured on the event loop's clock: virtual time.
pytestmark = pytest.mark.looptime


def party_of(sandbox_party: SandboxParty) -> Party:
    return Party.parse(sandbox_party.name, sandbox_party.id_number, sandbox_party.kind)


def case_of(sandbox_party: SandboxParty) -> Case:
    return Case(
        number=sandbox_party.case_number,
        court=sandbox_party.court,
        operator="测试承办人",
        claim=sandbox_party.claim,
    )


async def look_up(tag: str, index: int = 0) -> tuple[SandboxParty, LookupReport]:
    sandbox_party = dataset().find(tag)[index]
    async with Dispatcher.sandbox() as dispatcher:
        report = await dispatcher.lookup(party_of(sandbox_party), case_of(sandbox_party))
    return sandbox_party, report


async def test_a_party_with_assets_of_every_kind() -> None:
    _, report = await look_up("all_kinds")
    assert report.sandbox and report.complete
    assert {a.kind for a in report.assets} >= {"bank_account", "housing_fund", "real_estate"}
    assert set(report.totals) >= {"bank_account", "housing_fund", "real_estate"}
    assert [r.institution for r in report.results] == ["registry", "fund", "bank-east", "bank-west"]
    kinds = [a.kind for a in report.assets]
    assert kinds == sorted(kinds, key=["bank_account", "housing_fund", "real_estate"].index)


async def test_the_ticket_bank_is_polled_to_an_answer() -> None:
    sandbox_party, report = await look_up("both_banks")
    west = report.result_for("bank-west")
    assert west.status is ResultStatus.OK
    assert west.attempts >= 2  # the inquiry, then at least one poll
    assert {a.identifier for a in west.assets} == {
        a.account_number for a in sandbox_party.accounts_at("bank-west")
    }


async def test_co_owned_property_carries_the_share_and_the_other_owners() -> None:
    _, report = await look_up("co_owned")
    shared = [a for a in report.assets if a.kind == "real_estate" and a.co_owners]
    assert shared
    assert any(a.share is not None and a.share < 1 for a in shared)
    for asset in shared:
        assert asset.share is None or isinstance(asset.share, Fraction)


async def test_a_waiting_line_seal_shows_its_position() -> None:
    _, report = await look_up("waiting_seal")
    waiting = [e for a in report.assets for e in a.encumbrances if e.waiting]
    assert waiting
    assert all(e.position is not None and e.position >= 2 for e in waiting)


async def test_a_partially_frozen_account_has_less_available_than_its_balance() -> None:
    _, report = await look_up("partially_frozen")
    frozen = [
        a
        for a in report.assets
        if a.kind == AssetKind.BANK_ACCOUNT and any(not e.waiting for e in a.encumbrances)
    ]
    assert frozen
    for account in frozen:
        assert account.value is not None and account.available is not None
        assert account.available.amount < account.value.amount


async def test_foreign_currency_is_counted_but_not_summed_into_cny() -> None:
    _, report = await look_up("foreign_currency")
    usd = [a for a in report.assets if a.value is not None and a.value.currency != "CNY"]
    assert usd
    cny_available = sum(
        (
            a.available.amount
            for a in report.assets
            if a.available is not None and a.available.currency == "CNY"
        ),
        Decimal(0),
    )
    assert report.coverage.available.amount == cny_available


@pytest.mark.parametrize("tag", ["dormant", "closed"])
async def test_dormant_and_closed_accounts_are_reported_with_their_status(tag: str) -> None:
    _, report = await look_up(tag)
    assert tag in {a.status.value for a in report.assets}


async def test_an_organization_is_not_asked_at_the_fund_centre() -> None:
    _, report = await look_up("letter_uscc")
    assert report.party.kind.value == "organization"
    fund = report.result_for("fund")
    assert fund.status is ResultStatus.SKIPPED
    assert fund.error is not None and fund.error.code == "not_applicable"


async def test_a_party_with_nothing_anywhere() -> None:
    _, report = await look_up("no_assets")
    assert report.complete and not report.assets
    assert {r.status for r in report.results} <= {ResultStatus.NOT_FOUND, ResultStatus.SKIPPED}
    assert report.coverage.available.amount == 0


async def test_ids_stdnum_refuses_are_looked_up() -> None:
    for sandbox_party in dataset().find("legacy_area_code")[:4]:
        async with Dispatcher.sandbox() as dispatcher:
            report = await dispatcher.lookup(party_of(sandbox_party), case_of(sandbox_party))
        assert report.complete


async def test_lookup_many_streams_every_party_once() -> None:
    parties = dataset().parties[:60]
    requests = (LookupRequest(party_of(p), case_of(p), reference=p.id_number) for p in parties)
    async with Dispatcher.sandbox() as dispatcher:
        references = [r.reference async for r in dispatcher.lookup_many(requests, window=8)]
    assert sorted(references) == sorted(p.id_number for p in parties)


@pytest.mark.looptime(False)
def test_the_synchronous_facade() -> None:
    sandbox_party = dataset().find("all_kinds")[1]
    report = lookup(party_of(sandbox_party), case_of(sandbox_party))
    assert report.sandbox and report.assets


async def test_the_synchronous_facade_refuses_to_run_inside_a_loop() -> None:
    sandbox_party = dataset().find("all_kinds")[1]
    with pytest.raises(RuntimeError, match="use `async with Dispatcher"):
        lookup(party_of(sandbox_party), case_of(sandbox_party))


async def test_report_json_round_trips() -> None:
    _, report = await look_up("all_kinds", 2)
    again = LookupReport.model_validate_json(report.model_dump_json())
    assert again == report
