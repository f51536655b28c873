"""An assetquery adapter for a motor-vehicle registry (机动车登记) judicial query interface.

Installed, it registers itself under the entry-point group ``assetquery.adapters`` as
``vehicle``, so an institutions file only needs ``adapter = "vehicle"``.

Request, ``POST {path}`` (default ``/vehicles/judicial-query``)::

    {"queryId": request id, "caseNo": case number, "court": court, "officer": operator,
     "owner": {"name": ..., "idType": "RESIDENT_ID" | "USCC", "idNumber": ...}}

Answer, HTTP 200::

    {"queryId": ..., "result": "FOUND" | "NONE" | "ERROR", "queriedAt": ISO 8601 with offset,
     "vehicles": [
        {"vin": 17 characters, "plateNumber": "甘A12345", "ownerName": ...,
         "brand": ..., "model": ..., "vehicleType": ..., "registeredOn": "YYYY-MM-DD",
         "estimatedValue": "68000.00" or null,
         "status": "NORMAL" | "SEALED" | "MORTGAGED" | "SCRAPPED" | "DEREGISTERED" | ...,
         "mortgagee": lender or null,
         "seals": [{"court": ..., "caseNo": ..., "from": ..., "to": ...,
                    "queue": waiting-line position, or null for a seal in force}]}]}

``"result": "ERROR"`` carries ``errorCode`` (E400 bad request, E401 credentials, E403 not
permitted, E503 busy, anything else the registry's own failure) and ``errorMessage``.

Seals and their release, ``POST {controls_path}`` (default ``/vehicles/judicial-controls``)::

    {"requestKey": the action's idempotency key, "action": "SEAL" | "RELEASE",
     "caseNo": ..., "court": ..., "officer": ..., "document": enforcement document number,
     "vin": ..., "sealUntil": "YYYY-MM-DD" or null, "sealNo": the seal released, or null}

Answer, HTTP 200 (the same action sent again with its key is answered the same way)::

    {"requestKey": ..., "state": "RECEIVED" | "SEALED" | "QUEUED" | "REFUSED" | "RELEASED",
     "sealNo": ..., "sealedFrom": ..., "sealedUntil": ..., "queue": position or null,
     "message": ...}

HTTP 409 ``{"errorCode": "KEY_REUSED"}``: the key belongs to another action. Where an action
stands, ``GET {controls_path}/{requestKey}``: the same answer, or HTTP 404 when the registry
never received the key.
"""

from __future__ import annotations

import re
from typing import ClassVar

import httpx

from assetquery import (
    AssetRecord,
    AssetStatus,
    Encumbrance,
    EncumbranceKind,
    Owner,
    PartyKind,
    Provenance,
)
from assetquery.adapters import (
    Adapter,
    ControlRequest,
    ControlState,
    ControlStatus,
    InquiryAnswer,
    InquiryRequest,
    JsonFields,
    MalformedResponse,
    Operation,
    ResultCodes,
    check_same_action,
    idempotency_conflict,
    json_body,
)

__all__ = ["VehicleRegistryAdapter"]

_ID_TYPE = {PartyKind.PERSON: "RESIDENT_ID", PartyKind.ORGANIZATION: "USCC"}
_STATUS = {
    "NORMAL": AssetStatus.ACTIVE,
    "SEALED": AssetStatus.ACTIVE,  # sealed by a court: still there, the seal is an encumbrance
    "MORTGAGED": AssetStatus.ACTIVE,
    "SCRAPPED": AssetStatus.CLOSED,
    "DEREGISTERED": AssetStatus.CLOSED,
}
# The registry's error codes, and what each means to the dispatcher (retry or not).
_CODES = ResultCodes(
    prefix="vehicle",
    answered=frozenset(),
    rejected={"E400": "bad request", "E401": "credentials refused", "E403": "not permitted"},
    busy=frozenset({"E503"}),
)
# ISO 3779 alphabet: no I, O or Q. The check digit is not verified: imported vehicles keep
# their maker's VIN, and European makers do not use one.
_VIN = re.compile(r"[A-HJ-NPR-Z0-9]{17}")
_ACTIONS = {Operation.SEAL: "SEAL", Operation.RELEASE: "RELEASE"}
_CONTROL_STATES = {
    "RECEIVED": ControlState.RECEIVED,
    "SEALED": ControlState.EFFECTIVE,
    "QUEUED": ControlState.WAITING,
    "REFUSED": ControlState.REJECTED,
    "RELEASED": ControlState.RELEASED,
}


class VehicleRegistryAdapter(Adapter):
    """Vehicles registered to a party, with the seals other courts already hold on them."""

    name: ClassVar[str] = "vehicle"
    capabilities = frozenset(
        {Operation.INQUIRY, Operation.SEAL, Operation.RELEASE, Operation.STATUS}
    )
    asset_kinds = frozenset({"vehicle"})

    @property
    def _controls_path(self) -> str:
        return str(self.institution.options.get("controls_path", "/vehicles/judicial-controls"))

    async def submit(self, client: httpx.AsyncClient, request: ControlRequest) -> ControlStatus:
        action = _ACTIONS.get(request.operation)
        if action is None:
            return await super().submit(client, request)  # refuses, sending nothing
        payload = {
            "requestKey": request.idempotency_key,
            "action": action,
            "caseNo": request.case.number,
            "court": request.case.court or "",
            "officer": request.case.operator,
            "document": request.case.enforcement_document or "",
            "vin": request.asset_identifier,
            "sealUntil": request.ends_on.isoformat() if request.ends_on else None,
            "sealNo": request.target,
        }
        # Sent once: after a timeout the ledger asks control_status(), it never resends.
        response = await self.send(
            client, "POST", self._controls_path, json=payload, readable=(409,)
        )
        if response.status_code == 409:
            raise idempotency_conflict(self.institution.name)
        return self._control(response, request)

    async def control_status(
        self, client: httpx.AsyncClient, request: ControlRequest
    ) -> ControlStatus:
        path = f"{self._controls_path}/{request.idempotency_key}"
        response = await self.send(client, "GET", path, readable=(404,))
        if response.status_code == 404:
            return ControlStatus(ControlState.UNKNOWN)
        return self._control(response, request)

    def _control(self, response: httpx.Response, request: ControlRequest) -> ControlStatus:
        name = self.institution.name
        body = JsonFields(json_body(response, name))
        check_same_action(body.opt_text("requestKey"), request, name, "$.requestKey")
        state = _CONTROL_STATES.get(body.text("state"))
        if state is None:
            raise MalformedResponse("field $.state is not a known state", code="unexpected_shape")
        return ControlStatus(
            state=state,
            reference=body.opt_text("sealNo"),
            effective_on=body.opt_day("sealedFrom"),
            ends_on=body.opt_day("sealedUntil"),
            waiting_position=body.opt_position("queue"),
            message=body.opt_text("message"),
        )

    async def inquire(self, client: httpx.AsyncClient, request: InquiryRequest) -> InquiryAnswer:
        path = str(self.institution.options.get("path", "/vehicles/judicial-query"))
        payload = {
            "queryId": request.request_id,
            "caseNo": request.case.number,
            "court": request.case.court or "",
            "officer": request.case.operator,
            "owner": {
                "name": request.party.name,
                "idType": _ID_TYPE[request.party.kind],
                "idNumber": request.party.id_number,
            },
        }
        # send() turns timeouts, connection failures and HTTP errors into typed errors.
        response = await self.send(client, "POST", path, json=payload)
        body = JsonFields(json_body(response, self.institution.name))
        result = body.text("result")
        reference = body.opt_text("queryId")
        if result == "ERROR":
            code = body.opt_text("errorCode") or "unknown"
            _CODES.check(code, body.opt_text("errorMessage"), self.institution.name)
        if result == "NONE":
            return InquiryAnswer.not_found(reference=reference)
        if result != "FOUND":
            raise MalformedResponse(
                "field $.result is not FOUND, NONE or ERROR", code="unexpected_shape"
            )
        provenance = Provenance(
            institution=self.institution.id,
            adapter=self.name,
            reference=reference,
            received_at=body.timestamp("queriedAt"),
        )
        vehicles = tuple(self._vehicle(v, provenance) for v in body.items("vehicles"))
        return InquiryAnswer.found(vehicles, reference=reference)

    def _vehicle(self, vehicle: JsonFields, provenance: Provenance) -> AssetRecord:
        vin = vehicle.text("vin").upper()
        if not _VIN.fullmatch(vin):
            # name the field, never the value: a VIN identifies a person's car
            raise MalformedResponse(
                f"field {vehicle.path}.vin is not a 17-character VIN", code="unexpected_shape"
            )
        raw_status = vehicle.text("status")
        registered = vehicle.opt_day("registeredOn")
        seals = tuple(_seal(seal) for seal in vehicle.items("seals", optional=True))
        details = {
            "plate_number": vehicle.opt_text("plateNumber"),
            "brand": vehicle.opt_text("brand"),
            "model": vehicle.opt_text("model"),
            "vehicle_type": vehicle.opt_text("vehicleType"),
            "registered_on": registered.isoformat() if registered else None,
            "registry_status": raw_status,
        }
        return AssetRecord(
            kind="vehicle",
            institution=self.institution.id,
            identifier=vin,
            identifier_type="vin",
            owner=Owner(name=vehicle.text("ownerName")),
            value=vehicle.opt_money("estimatedValue"),
            encumbrances=(*_mortgage(vehicle), *seals),
            status=_STATUS.get(raw_status, AssetStatus.UNKNOWN),
            as_of=provenance.received_at,
            details={k: v for k, v in details.items() if v},
            provenance=provenance,
        )


def _mortgage(vehicle: JsonFields) -> tuple[Encumbrance, ...]:
    lender = vehicle.opt_text("mortgagee")
    return (Encumbrance(kind=EncumbranceKind.MORTGAGE, authority=lender),) if lender else ()


def _seal(seal: JsonFields) -> Encumbrance:
    position = seal.opt_integer("queue")
    if position is not None and position < 1:
        raise MalformedResponse(
            f"field {seal.path}.queue is not a position of 1 or more", code="unexpected_shape"
        )
    return Encumbrance(
        kind=EncumbranceKind.SEAL,
        authority=seal.opt_text("court"),
        case_number=seal.opt_text("caseNo"),
        start=seal.opt_day("from"),
        end=seal.opt_day("to"),
        waiting=position is not None,
        position=position,
    )
