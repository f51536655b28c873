"""The vehicle registry adapter: assetquery's conformance kit, plus what is specific to it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any, ClassVar

import pytest
import respx
from assetquery_vehicle import VehicleRegistryAdapter

from assetquery import AssetStatus, EncumbranceKind, Money, Party, ResultStatus
from assetquery.adapters import (
    ControlRequest,
    ControlState,
    InquiryRequest,
    Institution,
    InstitutionFailure,
    InstitutionRejected,
    InstitutionUnavailable,
    MalformedResponse,
    Operation,
    available_adapters,
    load_adapter,
)
from assetquery.testing import (
    AdapterConformance,
    ControlConformance,
    mock_institution,
    run_inquiry,
    run_submit,
    sample_case,
    sample_person,
)

BASE_URL = "https://vehicle-judicial.example.test"
PATH = "/vehicles/judicial-query"
INSTITUTION = Institution(id="gs-vehicles", name="甘肃省机动车登记查询平台")


def vehicle(**changes: Any) -> dict[str, Any]:
    """A car as the registry lists it, with ``changes`` applied."""
    record: dict[str, Any] = {
        "vin": "LSVAU218XN2183294",
        "plateNumber": "甘A12345",
        "ownerName": "张三",
        "brand": "大众",
        "model": "朗逸",
        "vehicleType": "小型轿车",
        "registeredOn": "2022-03-18",
        "estimatedValue": "68000.00",
        "status": "SEALED",
        "mortgagee": "示例汽车金融有限公司",
        "seals": [
            {
                "court": "兰州市城关区人民法院",
                "caseNo": "（2023）甘0102执567号",
                "from": "2023-08-01",
                "to": "2025-07-31",
                "queue": None,
            },
            {
                "court": "兰州市七里河区人民法院",
                "caseNo": "（2024）甘0103执89号",
                "from": "2024-01-10",
                "to": None,
                "queue": 2,
            },
        ],
    }
    record.update(changes)
    return record


def registry_answer(*vehicles: dict[str, Any], result: str = "FOUND") -> dict[str, Any]:
    return {
        "queryId": "VEH-20240506-000031",
        "result": result,
        "queriedAt": "2024-05-06T10:15:30+08:00",
        "vehicles": list(vehicles),
    }


FOUND = registry_answer(
    vehicle(),
    vehicle(
        vin="LFV3A23C7K3012345",
        plateNumber="甘AD98765",
        brand="一汽",
        model="J6P",
        vehicleType="重型半挂牵引车",
        registeredOn="2019-11-02",
        estimatedValue=None,
        status="NORMAL",
        mortgagee=None,
        seals=[],
    ),
)
NONE = registry_answer(result="NONE")


class TestVehicleConformance(AdapterConformance):
    """Everything assetquery requires of an adapter, checked by its kit."""

    adapter_class = VehicleRegistryAdapter
    institution = INSTITUTION
    base_url = BASE_URL
    # registry answers that have gone wrong in ways a JSON parser does not notice
    extra_malformed_bodies: ClassVar[Mapping[str, bytes]] = {
        "vehicle_without_vin": json.dumps(registry_answer(vehicle(vin=None))).encode(),
        "unknown_result": json.dumps(registry_answer(result="PARTIAL")).encode(),
    }

    def mock_found(self, router: respx.MockRouter, party: Party) -> None:
        router.post(PATH).respond(200, json=FOUND)

    def mock_not_found(self, router: respx.MockRouter, party: Party) -> None:
        router.post(PATH).respond(200, json=NONE)


CONTROLS = "/vehicles/judicial-controls"
VIN = "LSVAU218XN2183294"


def seal_answer(request: ControlRequest, state: str = "RECEIVED") -> dict[str, Any]:
    """The registry's answer about a seal or release sent with ``request``'s key."""
    return {
        "requestKey": request.idempotency_key,
        "state": state,
        "sealNo": "GS-SEAL-2025-0042",
        "sealedFrom": "2025-03-10" if state != "RECEIVED" else None,
        "sealedUntil": "2028-03-09" if state != "RECEIVED" else None,
        "queue": None,
        "message": None,
    }


class TestVehicleControlConformance(ControlConformance):
    """Seals and their release honour the control contract: the same kit, other half."""

    adapter_class = VehicleRegistryAdapter
    institution = INSTITUTION
    base_url = BASE_URL
    asset_identifier = VIN

    def mock_submit(self, router: respx.MockRouter, request: ControlRequest) -> None:
        router.post(CONTROLS).respond(200, json=seal_answer(request))

    def mock_status(self, router: respx.MockRouter, request: ControlRequest) -> None:
        router.get(f"{CONTROLS}/{request.idempotency_key}").respond(
            200, json=seal_answer(request, "SEALED")
        )

    def mock_status_unknown(self, router: respx.MockRouter, request: ControlRequest) -> None:
        router.get(f"{CONTROLS}/{request.idempotency_key}").respond(404)

    def mock_duplicate(self, router: respx.MockRouter, request: ControlRequest) -> None:
        router.post(CONTROLS).respond(200, json=seal_answer(request, "SEALED"))

    def mock_conflict(self, router: respx.MockRouter, request: ControlRequest) -> None:
        router.post(CONTROLS).respond(409, json={"errorCode": "KEY_REUSED"})


def test_a_seal_asks_for_the_vin_until_the_end_date() -> None:
    request = TestVehicleControlConformance().control_request(Operation.SEAL)
    with mock_institution(BASE_URL) as router:
        route = router.post(CONTROLS).respond(
            200, json=seal_answer(request, "QUEUED") | {"queue": 2}
        )
        status = run_submit(VehicleRegistryAdapter(INSTITUTION), request, router)
    sent = json.loads(route.calls.last.request.content)
    assert sent["action"] == "SEAL" and sent["vin"] == VIN
    assert sent["sealUntil"] == "2026-03-09" and sent["requestKey"] == request.idempotency_key
    assert status.state is ControlState.WAITING and status.waiting_position == 2


def inquire(answer: dict[str, Any], party: Party | None = None) -> tuple[Any, respx.Route]:
    """Ask the mocked registry, which gives ``answer``; the answer and the route."""
    adapter = VehicleRegistryAdapter(INSTITUTION)
    request = InquiryRequest(party or sample_person(), sample_case(), request_id="req-0001")
    with mock_institution(BASE_URL) as router:
        route = router.post(PATH).respond(200, json=answer)
        return run_inquiry(adapter, request, router), route


def test_found_through_the_entry_point() -> None:
    assert available_adapters()["vehicle"] == "assetquery_vehicle:VehicleRegistryAdapter"
    assert load_adapter("vehicle") is VehicleRegistryAdapter


def test_a_sealed_and_mortgaged_car() -> None:
    answer, _ = inquire(FOUND)

    assert answer.status is ResultStatus.OK
    assert answer.reference == "VEH-20240506-000031"
    car, truck = answer.assets
    assert car.kind == "vehicle"
    assert (car.identifier, car.identifier_type) == ("LSVAU218XN2183294", "vin")
    assert car.owner.name == "张三"
    assert car.value == Money("68000.00")
    assert car.status is AssetStatus.ACTIVE
    assert car.as_of == datetime(2024, 5, 6, 2, 15, 30, tzinfo=UTC)
    assert car.details == {
        "plate_number": "甘A12345",
        "brand": "大众",
        "model": "朗逸",
        "vehicle_type": "小型轿车",
        "registered_on": "2022-03-18",
        "registry_status": "SEALED",
    }
    mortgage, in_force, waiting = car.encumbrances
    assert (mortgage.kind, mortgage.authority) == (EncumbranceKind.MORTGAGE, "示例汽车金融有限公司")
    assert in_force.kind is EncumbranceKind.SEAL
    assert (in_force.case_number, in_force.waiting, in_force.position) == (
        "（2023）甘0102执567号",
        False,
        None,
    )
    assert (in_force.start, in_force.end) == (date(2023, 8, 1), date(2025, 7, 31))
    assert (waiting.waiting, waiting.position, waiting.end) == (True, 2, None)
    # a value the registry does not estimate stays unknown rather than zero
    assert truck.value is None
    assert truck.encumbrances == ()


def test_the_request_names_the_owner_and_the_case() -> None:
    _, route = inquire(NONE)

    assert json.loads(route.calls.last.request.content) == {
        "queryId": "req-0001",
        "caseNo": "（2024）甘0191执1234号",
        "court": "兰州新区人民法院",
        "officer": "执行员甲",
        "owner": {"name": "张三", "idType": "RESIDENT_ID", "idNumber": "110105199003071239"},
    }


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("NORMAL", AssetStatus.ACTIVE),
        ("MORTGAGED", AssetStatus.ACTIVE),
        ("SCRAPPED", AssetStatus.CLOSED),
        ("DEREGISTERED", AssetStatus.CLOSED),
        ("STOLEN", AssetStatus.UNKNOWN),
    ],
)
def test_registry_status(status: str, expected: AssetStatus) -> None:
    answer, _ = inquire(registry_answer(vehicle(status=status)))

    assert answer.assets[0].status is expected
    assert answer.assets[0].details["registry_status"] == status


@pytest.mark.parametrize(
    ("code", "error", "retryable"),
    [
        ("E401", InstitutionRejected, False),
        ("E403", InstitutionRejected, False),
        ("E503", InstitutionUnavailable, True),
        ("E500", InstitutionFailure, False),
    ],
)
def test_registry_error_codes(code: str, error: type[Exception], retryable: bool) -> None:
    body = {"queryId": "VEH-1", "result": "ERROR", "errorCode": code, "errorMessage": "查询失败"}

    with pytest.raises(error) as caught:
        inquire(body)

    assert type(caught.value) is error
    assert caught.value.code == f"vehicle_{code}"  # type: ignore[attr-defined]
    assert caught.value.retryable is retryable  # type: ignore[attr-defined]


def test_a_malformed_vin_names_the_field_not_the_value() -> None:
    with pytest.raises(MalformedResponse) as caught:
        inquire(registry_answer(vehicle(), vehicle(vin="LSVAU218XN21832")))

    assert "$.vehicles[1].vin" in caught.value.message
    assert "LSVAU218XN21832" not in caught.value.message


def test_a_waiting_position_below_one_is_refused() -> None:
    seals = [{"court": "兰州市城关区人民法院", "queue": 0}]

    with pytest.raises(MalformedResponse, match=r"\$\.vehicles\[0\]\.seals\[0\]\.queue"):
        inquire(registry_answer(vehicle(seals=seals)))
