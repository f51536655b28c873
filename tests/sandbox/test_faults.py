"""Fault injection: reproducible per request id, rates honoured, delays on the loop clock."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import httpx
import pytest

from assetquery.sandbox import SandboxConfig, create_app
from assetquery.sandbox._faults import Fault, FaultPlan

from .wire import EAST, FUND, REGISTRY, STRANGER_ID, bank_request, client, registry_request

FLAKY = SandboxConfig.uniform(busy_rate=0.2, throttle_rate=0.1, error_rate=0.1, malformed_rate=0.1)


def _outcome(response: httpx.Response) -> str:
    if response.status_code != 200:
        return str(response.status_code)
    try:
        response.json()
    except ValueError:
        return "malformed"
    return "ok"


async def _outcomes(config: SandboxConfig, ids: list[str]) -> dict[str, str]:
    async with client(create_app(config)) as http:
        return {i: _outcome(await http.post(EAST, json=bank_request(i, STRANGER_ID))) for i in ids}


async def test_same_seed_same_faults_in_any_order() -> None:
    ids = [f"R-{i}" for i in range(200)]
    forwards = await _outcomes(FLAKY, ids)
    backwards = await _outcomes(FLAKY, ids[::-1])
    assert forwards == backwards
    other_seed = await _outcomes(FLAKY.model_copy(update={"seed": 8}), ids)
    assert other_seed != forwards


async def test_rates_are_roughly_honoured() -> None:
    counts = Counter((await _outcomes(FLAKY, [f"R-{i}" for i in range(500)])).values())
    # 500 draws: two standard deviations are under 20 requests for these rates.
    assert 75 <= counts["503"] <= 125
    assert 30 <= counts["429"] <= 70
    assert 30 <= counts["500"] <= 70
    assert 30 <= counts["malformed"] <= 70
    assert 200 <= counts["ok"] <= 300


async def test_busy_and_throttled_answers_say_when_to_retry() -> None:
    config = SandboxConfig.uniform(busy_rate=0.5, throttle_rate=0.5)
    async with client(create_app(config)) as http:
        responses = [
            await http.post(EAST, json=bank_request(f"R-{i}", STRANGER_ID)) for i in range(20)
        ]
    retry_after = {r.status_code: r.headers["retry-after"] for r in responses}
    assert retry_after == {503: "1", 429: "2"}


async def test_a_retry_gets_a_fresh_draw() -> None:
    config = SandboxConfig.uniform(busy_rate=0.5)
    async with client(create_app(config)) as http:
        statuses = {
            (await http.post(EAST, json=bank_request("R-same", STRANGER_ID))).status_code
            for _ in range(20)
        }
    assert statuses == {200, 503}


async def test_malformed_answers_do_not_parse() -> None:
    config = SandboxConfig.uniform(malformed_rate=1.0)
    async with client(create_app(config)) as http:
        for i in range(10):
            response = await http.post(EAST, json=bank_request(f"R-{i}", STRANGER_ID))
            assert response.status_code == 200
            assert response.headers["content-type"] == "application/json"
            with pytest.raises(ValueError):
                json.loads(response.content)
            registry = await http.post(REGISTRY, content=registry_request(f"R-{i}", STRANGER_ID))
            assert registry.status_code == 200
            assert registry.headers["content-type"] == "application/xml; charset=GBK"
            assert not registry.content.rstrip().endswith(b"</CxResponse>")


async def test_registry_and_fund_can_say_busy_in_their_own_envelope() -> None:
    config = SandboxConfig.uniform(busy_rate=1.0, busy_code_share=1.0)
    async with client(create_app(config)) as http:
        registry = await http.post(REGISTRY, content=registry_request("R-1", STRANGER_ID))
        fund = await http.post(FUND, json={"ywlsh": "R-1", "ah": "x", "xm": "x", "zjhm": "x"})
        bank = await http.post(EAST, json=bank_request("R-1", STRANGER_ID))
    assert registry.status_code == fund.status_code == 200
    assert b"<Jgdm>9001</Jgdm>" in registry.content
    assert fund.json()["code"] == "9001"
    assert bank.status_code == 503  # banks have no busy code of their own


@pytest.mark.looptime
async def test_a_timeout_hangs_then_answers() -> None:
    config = SandboxConfig.uniform(timeout_rate=1.0, hang_seconds=30)
    loop = asyncio.get_running_loop()
    async with client(create_app(config)) as http:
        started = loop.time()
        response = await http.post(EAST, json=bank_request("R-1", STRANGER_ID))
    assert loop.time() - started == pytest.approx(30)
    assert response.json()["state"] == "COMPLETED"


@pytest.mark.looptime
async def test_latency_and_jitter() -> None:
    config = SandboxConfig().with_profile("bank-east", latency=0.2, jitter=0.1)
    loop = asyncio.get_running_loop()
    async with client(create_app(config)) as http:
        waits = []
        for i in range(20):
            started = loop.time()
            await http.post(EAST, json=bank_request(f"R-{i}", STRANGER_ID))
            waits.append(loop.time() - started)
        started = loop.time()
        await http.post(REGISTRY, content=registry_request("R-1", STRANGER_ID))
        assert loop.time() == started  # other institutions keep their default: no delay
    assert all(0.2 <= w <= 0.3 + 1e-9 for w in waits)
    assert len(set(waits)) > 1


def test_the_id_counter_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from assetquery.sandbox import _faults

    monkeypatch.setattr(_faults, "REMEMBERED_IDS", 10)
    plan = FaultPlan(7, "bank-east", SandboxConfig.uniform(error_rate=0.5).profile("bank-east"))
    decisions = [plan.decide(f"R-{i}") for i in range(100)]
    assert len(plan._seen) == 10  # noqa: SLF001 - the plan's memory is what is bounded
    assert {d.fault for d in decisions} == {Fault.ERROR, None}


def test_a_quiet_profile_draws_nothing() -> None:
    plan = FaultPlan(7, "bank-east", SandboxConfig().profile("bank-east"))
    assert plan.decide("R-1").fault is None
    assert plan.decide("R-1").delay == 0
    assert not plan._seen  # noqa: SLF001 - nothing remembered
