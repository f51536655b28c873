"""The plug-in in a real lookup: configured by name, asked beside the built-in institutions.

Nothing in assetquery knows about vehicles. The institution below names ``adapter =
"vehicle"``, assetquery finds the class through the entry point, and the cars show up in the
report next to the sandbox's registry, fund centre and banks.
"""

from __future__ import annotations

import httpx
import pytest

from assetquery import Case, Dispatcher, Party, ResultStatus, Settings
from assetquery.sandbox import create_app, dataset, institutions

from .test_vehicle_adapter import FOUND, PATH

SANDBOX = "http://sandbox.test"


def vehicle_registry(request: httpx.Request) -> httpx.Response:
    assert request.url.path == PATH
    return httpx.Response(200, json=FOUND)


@pytest.mark.looptime  # the sandbox's ticket bank answers after a delay: virtual time
async def test_vehicles_show_up_in_a_lookup_without_changing_assetquery() -> None:
    vehicles = {
        "id": "gs-vehicles",
        "name": "甘肃省机动车登记查询平台",
        "adapter": "vehicle",
        "base_url": "https://vehicles.example",
    }
    settings = Settings(institutions=[*institutions(SANDBOX), vehicles])
    sandbox = httpx.ASGITransport(app=create_app())
    transports: dict[str, httpx.AsyncBaseTransport] = {
        i.id: sandbox for i in settings.institutions if i.id != "gs-vehicles"
    }
    transports["gs-vehicles"] = httpx.MockTransport(vehicle_registry)
    debtor = dataset().find("all_kinds")[0]

    async with Dispatcher(settings, transports=transports) as dispatcher:
        report = await dispatcher.lookup(
            Party.person(debtor.name, debtor.id_number),
            Case(number=debtor.case_number, operator="李承办"),
        )

    assert report.result_for("gs-vehicles").status is ResultStatus.OK
    kinds = {asset.kind for asset in report.assets}
    assert {"vehicle", "bank_account", "real_estate"} <= kinds
    assert report.totals["vehicle"].count == 2
    assert report.assets[-1].kind == "vehicle"  # unknown kinds come after the built-in ones
