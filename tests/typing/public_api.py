"""Type-checked only (mypy runs over it; pytest does not collect it).

It pins the public API's signatures as callers use them: if a change breaks this file, it
breaks court IT systems' code the same way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import assetquery
from assetquery import (
    AssetRecord,
    Case,
    Dispatcher,
    InstitutionResult,
    LookupReport,
    LookupRequest,
    Money,
    Party,
    ResultStatus,
)
from assetquery.adapters import Adapter, InquiryAnswer, InquiryRequest, load_adapter


async def asynchronous(config: str) -> LookupReport:
    party: Party = Party.person("张三", "110105199003071239")
    company: Party = Party.organization("某公司", "911100007109288314")
    case = Case(number="（2024）甘0191执1234号", operator="李", claim=Money("1.00"))
    async with Dispatcher.from_config(config) as dispatcher:
        report: LookupReport = await dispatcher.lookup(party, case, reference="row 1")
        stream: AsyncIterator[LookupReport] = dispatcher.lookup_many(
            [LookupRequest(company, case), (party, case)], window=8
        )
        async for _ in stream:
            pass
        report = await dispatcher.refresh(report)
    async with Dispatcher.sandbox() as sandbox:
        report = await sandbox.lookup(party, case)
    result: InstitutionResult = report.results[0]
    status: ResultStatus = result.status
    asset: AssetRecord = report.assets[0]
    amount: Decimal | None = asset.available.amount if asset.available else None
    del status, amount
    return report


def synchronous() -> LookupReport:
    party = Party.parse("张三", "110105199003071239")
    case = Case(number="（2024）甘0191执1234号", operator="李")
    return assetquery.lookup(party, case)


def adapters() -> type[Adapter]:
    cls: type[Adapter] = load_adapter("bank")
    answer: InquiryAnswer = InquiryAnswer.not_found()
    request: InquiryRequest | None = None
    del answer, request
    return cls
