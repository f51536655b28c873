"""The control half of the conformance kit: it passes a correct adapter, fails broken ones.

A toy institution takes control actions as JSON: ``POST /controls`` with the idempotency
key in ``key`` answers ``{"key": ..., "state": ...}`` (409 ``{"error": "KEY_IN_USE"}`` when
the key belongs to another action); ``GET /controls/{key}`` tells where an action stands,
404 when the key was never received. Each broken adapter breaks one rule of the contract.
"""

from __future__ import annotations

import functools
import inspect
import itertools
from collections.abc import Callable
from typing import Any, ClassVar

import httpx
import pytest
import respx

from assetquery.adapters import (
    Adapter,
    AdapterError,
    ControlRequest,
    ControlState,
    ControlStatus,
    InquiryAnswer,
    InquiryRequest,
    InstitutionFailure,
    InstitutionRejected,
    JsonFields,
    Operation,
    RetryableAdapterError,
    check_same_action,
    idempotency_conflict,
    json_body,
)
from assetquery.testing import CONTROL_OPERATIONS, ControlConformance
from assetquery.testing._controls import _AMBIGUOUS

BASE_URL = "https://toy-controls.test"
STATES = {"RECEIVED": ControlState.RECEIVED, "EFFECTIVE": ControlState.EFFECTIVE}


class ToyControls(Adapter):
    """Freezes and releases, status by key: what the contract asks, done right."""

    name = "toy_controls"
    asset_kinds = frozenset({"toy_account"})
    capabilities = frozenset(
        {Operation.INQUIRY, Operation.FREEZE, Operation.RELEASE, Operation.STATUS}
    )

    async def inquire(self, client: httpx.AsyncClient, request: InquiryRequest) -> InquiryAnswer:
        return InquiryAnswer.not_found()

    async def submit(self, client: httpx.AsyncClient, request: ControlRequest) -> ControlStatus:
        if request.operation not in self.capabilities:
            return await super().submit(client, request)
        payload = {
            "key": request.idempotency_key,
            "op": request.operation.value,
            "asset": request.asset_identifier,
        }
        response = await self.send(client, "POST", "/controls", json=payload, readable=(409,))
        if response.status_code == 409:
            raise idempotency_conflict(self.institution.name)
        return self.read(response, request)

    async def control_status(
        self, client: httpx.AsyncClient, request: ControlRequest
    ) -> ControlStatus:
        path = f"/controls/{request.idempotency_key}"
        response = await self.send(client, "GET", path, readable=(404,))
        if response.status_code == 404:
            return ControlStatus(ControlState.UNKNOWN)
        return self.read(response, request)

    def read(self, response: httpx.Response, request: ControlRequest) -> ControlStatus:
        body = JsonFields(json_body(response, self.institution.name))
        check_same_action(body.opt_text("key"), request, self.institution.name, "$.key")
        return ControlStatus(STATES[body.text("state")], reference=body.opt_text("ref"))


class ToyControlKit(ControlConformance):
    """Not collected (no ``Test`` prefix): the tests below call its checks one by one."""

    adapter_class: ClassVar[type[Adapter]] = ToyControls
    base_url = BASE_URL

    def mock_submit(self, router: respx.MockRouter, request: ControlRequest) -> None:
        router.post("/controls").respond(
            200, json={"key": request.idempotency_key, "state": "RECEIVED", "ref": "C-1"}
        )

    def mock_status(self, router: respx.MockRouter, request: ControlRequest) -> None:
        router.get(f"/controls/{request.idempotency_key}").respond(
            200, json={"key": request.idempotency_key, "state": "EFFECTIVE", "ref": "C-1"}
        )

    def mock_status_unknown(self, router: respx.MockRouter, request: ControlRequest) -> None:
        router.get(f"/controls/{request.idempotency_key}").respond(404)

    def mock_duplicate(self, router: respx.MockRouter, request: ControlRequest) -> None:
        # the toy answers a resend with the action it already holds under the key
        router.post("/controls").respond(
            200, json={"key": request.idempotency_key, "state": "EFFECTIVE", "ref": "C-1"}
        )

    def mock_conflict(self, router: respx.MockRouter, request: ControlRequest) -> None:
        router.post("/controls").respond(409, json={"error": "KEY_IN_USE"})


def kit_for(adapter: type[Adapter]) -> ControlConformance:
    kit_class = type("Kit", (ToyControlKit,), {"adapter_class": adapter})
    kit: ControlConformance = kit_class()
    return kit


def every_check(kit: ControlConformance) -> dict[str, Callable[[], None]]:
    """Every check, by pytest id, with the cases pytest would give it."""
    declared = kit.adapter_class.capabilities
    cases: dict[str, list[Any]] = {
        "control_operation": [op.value for op in CONTROL_OPERATIONS if op in declared],
        "undeclared_operation": [op.value for op in CONTROL_OPERATIONS if op not in declared],
        "ambiguous_failure": list(_AMBIGUOUS),
    }
    checks: dict[str, Callable[[], None]] = {}
    for name, method in inspect.getmembers(kit, inspect.ismethod):
        if not name.startswith("test_"):
            continue
        parameters = list(inspect.signature(method).parameters)
        for combination in itertools.product(*(cases[p] for p in parameters)):
            check_id = f"{name}[{'-'.join(combination)}]" if combination else name
            checks[check_id] = functools.partial(method, *combination)
    return checks


def failures(kit: ControlConformance) -> dict[str, str]:
    failed = {}
    for check_id, check in every_check(kit).items():
        try:
            check()
        except AssertionError as exc:
            failed[check_id] = str(exc)
        except pytest.skip.Exception:
            continue
    return failed


def test_a_correct_adapter_passes_every_check() -> None:
    kit = kit_for(ToyControls)
    assert failures(kit) == {}
    # per declared operation (2): submission, status, ambiguous (x4), duplicate, conflict;
    # per undeclared one (3): refused unsent; and the capability and unknown-key checks
    assert len(every_check(kit)) == 2 * (1 + 1 + len(_AMBIGUOUS) + 1 + 1) + 3 + 2


class ResendingAdapter(ToyControls):
    """Sends the action again after a timeout: a freeze applied twice."""

    async def submit(self, client: httpx.AsyncClient, request: ControlRequest) -> ControlStatus:
        try:
            return await super().submit(client, request)
        except RetryableAdapterError:
            return await super().submit(client, request)


def test_an_adapter_that_resends_after_an_ambiguous_failure_fails() -> None:
    failed = failures(kit_for(ResendingAdapter))
    ambiguous = {check for check in failed if check.startswith("test_ambiguous_failure")}
    assert ambiguous == {
        f"test_ambiguous_failure_is_not_resent[{op}-{failure}]"
        for op in ("freeze", "release")
        for failure in _AMBIGUOUS
    }
    assert all("never resent blindly" in failed[check] for check in ambiguous)


class KeylessAdapter(ToyControls):
    """Leaves the key out of the submission: the institution cannot de-duplicate."""

    async def submit(self, client: httpx.AsyncClient, request: ControlRequest) -> ControlStatus:
        payload = {"op": request.operation.value, "asset": request.asset_identifier}
        response = await self.send(client, "POST", "/controls", json=payload)
        body = JsonFields(json_body(response, self.institution.name))
        return ControlStatus(STATES[body.text("state")])


def test_an_adapter_that_does_not_send_the_key_fails() -> None:
    failed = failures(kit_for(KeylessAdapter))
    assert "do not carry the idempotency key" in failed["test_submission_carries_the_key[freeze]"]


class AmbiguityAsRefusal(ToyControls):
    """Calls a timeout a refusal: the ledger would think nothing was applied."""

    async def submit(self, client: httpx.AsyncClient, request: ControlRequest) -> ControlStatus:
        try:
            return await super().submit(client, request)
        except RetryableAdapterError as exc:
            raise InstitutionRejected(exc.message, code="refused") from None


def test_an_ambiguous_failure_reported_as_a_refusal_fails() -> None:
    failed = failures(kit_for(AmbiguityAsRefusal))
    check = "test_ambiguous_failure_is_not_resent[freeze-read_timeout]"
    assert "nothing was applied" in failed[check]


class NoStatusQuery(ToyControls):
    capabilities = frozenset({Operation.INQUIRY, Operation.FREEZE, Operation.RELEASE})


def test_controls_without_a_status_query_fail() -> None:
    failed = failures(kit_for(NoStatusQuery))
    assert "not Operation.STATUS" in failed["test_control_capabilities_match_the_adapter"]


class OverPromising(ToyControls):
    """Declares seals, then refuses them."""

    capabilities = ToyControls.capabilities | {Operation.SEAL}

    async def submit(self, client: httpx.AsyncClient, request: ControlRequest) -> ControlStatus:
        if request.operation is Operation.SEAL:
            raise InstitutionRejected("seals are not offered", code="unsupported_operation")
        return await super().submit(client, request)


def test_a_declared_operation_the_adapter_refuses_fails() -> None:
    failed = failures(kit_for(OverPromising))
    assert "InstitutionRejected" in failed["test_submission_carries_the_key[seal]"]


class UnderDeclaring(ToyControls):
    """Sends any operation, declared or not."""

    async def submit(self, client: httpx.AsyncClient, request: ControlRequest) -> ControlStatus:
        payload = {"key": request.idempotency_key, "op": request.operation.value}
        return self.read(await self.send(client, "POST", "/controls", json=payload), request)


def test_sending_an_undeclared_operation_fails() -> None:
    failed = failures(kit_for(UnderDeclaring))
    undeclared = {c for c in failed if c.startswith("test_undeclared_operation")}
    assert undeclared == {
        f"test_undeclared_operation_is_refused_unsent[{op}]" for op in ("seal", "deduct", "renew")
    }


class ConflictBlind(ToyControls):
    """Reads a key used for another action as an answer."""

    async def submit(self, client: httpx.AsyncClient, request: ControlRequest) -> ControlStatus:
        try:
            return await super().submit(client, request)
        except AdapterError:
            return ControlStatus(ControlState.RECEIVED)


def test_a_conflict_read_as_an_answer_fails() -> None:
    failed = failures(kit_for(ConflictBlind))
    assert "idempotency_conflict" in failed["test_key_used_for_another_action_is_refused[freeze]"]


class UnknownAsFailure(ToyControls):
    async def control_status(
        self, client: httpx.AsyncClient, request: ControlRequest
    ) -> ControlStatus:
        response = await self.send(client, "GET", f"/controls/{request.idempotency_key}")
        return self.read(response, request)


def test_an_unknown_key_read_as_an_error_fails() -> None:
    failed = failures(kit_for(UnknownAsFailure))
    assert "test_unknown_key_reads_unknown" in failed


def test_a_mixed_up_answer_is_refused_by_check_same_action() -> None:
    request = ToyControlKit().control_request(Operation.FREEZE)
    with pytest.raises(AdapterError, match="another control action"):
        check_same_action("someone-else", request, "toy", "$.key")
    assert isinstance(idempotency_conflict("toy"), InstitutionRejected)
    assert not isinstance(idempotency_conflict("toy"), InstitutionFailure)
