"""The sandbox's knobs, its token check, and the configuration that points at it."""

from __future__ import annotations

import tomllib

import pytest
from pydantic import ValidationError

from assetquery.sandbox import (
    InstitutionProfile,
    SandboxConfig,
    create_app,
    institutions,
    institutions_toml,
)

from .wire import EAST, STRANGER_ID, bank_request, client

IDS = ["registry", "fund", "bank-east", "bank-west"]


def test_defaults_cover_every_institution() -> None:
    config = SandboxConfig()
    assert config.seed == 7
    assert config.require_token is None
    assert list(config.profiles) == IDS
    profile = config.profile("bank-west")
    assert (profile.feedback_delay, profile.poll_after_seconds, profile.hang_seconds) == (
        0.5,
        1,
        30.0,
    )
    assert profile.fault_rate == 0


def test_missing_profiles_get_defaults_and_unknown_ones_are_refused() -> None:
    config = SandboxConfig(profiles={"fund": InstitutionProfile(latency=0.1)})
    assert list(config.profiles) == IDS
    assert config.profile("fund").latency == 0.1
    with pytest.raises(ValidationError, match="no sandbox institution bank-north"):
        SandboxConfig(profiles={"bank-north": InstitutionProfile()})
    with pytest.raises(KeyError, match="bank-north"):
        config.profile("bank-north")


def test_rates_are_probabilities() -> None:
    with pytest.raises(ValidationError):
        InstitutionProfile(busy_rate=1.5)
    with pytest.raises(ValidationError, match=r"add up to 1\.2"):
        InstitutionProfile(busy_rate=0.6, error_rate=0.6)
    with pytest.raises(ValidationError):
        InstitutionProfile(latency=-1)


def test_uniform_and_with_profile() -> None:
    config = SandboxConfig.uniform(seed=3, busy_rate=0.1, require_token="t")
    assert config.seed == 3
    assert config.require_token == "t"
    assert {p.busy_rate for p in config.profiles.values()} == {0.1}
    tuned = config.with_profile("bank-west", feedback_delay=60)
    assert tuned.profile("bank-west").feedback_delay == 60
    assert tuned.profile("bank-west").busy_rate == 0.1
    assert tuned.profile("registry") == config.profile("registry")
    assert config.profile("bank-west").feedback_delay == 0.5  # the original is unchanged
    with pytest.raises(ValidationError):
        config.with_profile("fund", error_rate=2)


async def test_a_required_token_is_enforced() -> None:
    app = create_app(SandboxConfig(require_token="s3cret"))
    body = bank_request("T-1", STRANGER_ID)
    async with client(app) as http:
        assert (await http.post(EAST, json=body)).status_code == 401
        wrong = {"Authorization": "Bearer guess"}
        assert (await http.post(EAST, json=body, headers=wrong)).status_code == 401
        right = {"Authorization": "Bearer s3cret"}
        assert (await http.post(EAST, json=body, headers=right)).status_code == 200
        assert (await http.get("/health")).status_code == 200


def test_institutions_table() -> None:
    table = institutions("http://127.0.0.1:8765/")
    assert [i["id"] for i in table] == IDS
    assert [i["adapter"] for i in table] == ["realestate", "housing_fund", "bank", "bank"]
    assert [i["base_url"] for i in table] == [
        "http://127.0.0.1:8765/registry",
        "http://127.0.0.1:8765/fund",
        "http://127.0.0.1:8765/banks/east",
        "http://127.0.0.1:8765/banks/west",
    ]
    for entry in table:
        assert set(entry) == {
            "id", "name", "adapter", "base_url", "timeout", "concurrency", "poll_interval"
        }  # fmt: skip
        assert (entry["timeout"], entry["concurrency"], entry["poll_interval"]) == (10.0, 20, 1.0)
        assert "沙盒" in entry["name"]


def test_institutions_toml_parses_to_the_same_table() -> None:
    text = institutions_toml("http://127.0.0.1:40123")
    assert text.startswith("# ")
    assert "sandbox" in text.splitlines()[0]
    assert tomllib.loads(text) == {"institutions": institutions("http://127.0.0.1:40123")}
