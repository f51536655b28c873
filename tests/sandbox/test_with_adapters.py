"""The library's own adapters read every sandbox answer, and find what the dataset holds.

The sandbox is written from the adapters' documented wire formats, not their code; this is
where the two meet.
"""

from __future__ import annotations

from decimal import Decimal

import httpx

from assetquery import Case, Party
from assetquery._models import EncumbranceKind, ResultStatus
from assetquery.adapters import Adapter, InquiryAnswer, InquiryRequest, Institution, load_adapter
from assetquery.sandbox import SandboxConfig, SandboxParty, create_app, dataset, institutions


def _party(party: SandboxParty) -> Party:
    build = Party.person if party.kind == "person" else Party.organization
    return build(party.name, party.id_number)


async def _ask(adapter: Adapter, http: httpx.AsyncClient, request: InquiryRequest) -> InquiryAnswer:
    answer = await adapter.inquire(http, request)
    if answer.status is ResultStatus.PENDING:
        assert answer.ticket is not None
        answer = await adapter.poll(http, answer.ticket, request)
    return answer


async def test_every_party_at_every_institution() -> None:
    app = create_app(SandboxConfig().with_profile("bank-west", feedback_delay=0))
    transport = httpx.ASGITransport(app=app)
    routes = [
        (
            entry["id"],
            load_adapter(entry["adapter"])(Institution(entry["id"], entry["name"])),
            httpx.AsyncClient(transport=transport, base_url=entry["base_url"]),
        )
        for entry in institutions("http://sandbox.test")
    ]
    for party in dataset():
        subject = _party(party)
        case = Case(number=party.case_number, operator="测试", court=party.court)
        for institution, adapter, http in routes:
            if not adapter.serves(subject):
                continue
            request = InquiryRequest(subject, case, f"{institution}-{party.id_number}")
            answer = await _ask(adapter, http, request)
            assert answer.status is not ResultStatus.PENDING
            if institution == "registry":
                assert [a.identifier for a in answer.assets] == [
                    u.unit_number for u in party.properties
                ]
                for record, unit in zip(answer.assets, party.properties, strict=True):
                    assert record.owner.id_number == party.id_number
                    assert len(record.co_owners) == len(unit.owners) - 1
                    seals = [e for e in record.encumbrances if e.kind is EncumbranceKind.SEAL]
                    assert len(seals) == len(unit.seals)
            elif institution == "fund":
                assert [a.identifier for a in answer.assets] == [
                    f.account_number for f in party.fund_accounts
                ]
                for record, fund in zip(answer.assets, party.fund_accounts, strict=True):
                    assert record.value is not None
                    assert record.value.amount == fund.balance
                    assert record.available is not None
                    assert record.available.amount == fund.balance - fund.frozen
            else:
                accounts = party.accounts_at(institution)
                assert [a.identifier for a in answer.assets] == [a.account_number for a in accounts]
                for record, account in zip(answer.assets, accounts, strict=True):
                    assert record.value is not None
                    assert record.available is not None
                    assert record.value.currency == account.currency
                    assert record.value.amount == account.balance
                    assert record.available.amount == account.available
                    assert record.available.amount >= Decimal(0)
    for _, _, http in routes:
        await http.aclose()
