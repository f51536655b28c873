"""Control actions over real HTTP: a sandbox server in another process, driven by its admin API.

The ledger talks to institutions through an httpx client pointed at a base URL; here that
URL is a real server on loopback, as in a deployment against the sandbox.
"""

from __future__ import annotations

import select
import subprocess
import sys
import tomllib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from assetquery import Case, Party
from assetquery._errors import InstitutionTimeout
from assetquery._money import Money
from assetquery.adapters import (
    Adapter,
    ControlRequest,
    ControlState,
    Institution,
    Operation,
    load_adapter,
)
from assetquery.sandbox import SandboxParty, dataset

pytestmark = pytest.mark.loopback

# bank-west applies control actions and then leaves the answer hanging for half a second.
_SERVE = (
    "import sys; from pathlib import Path; "
    "from assetquery.sandbox import SandboxConfig, serve; "
    "config = SandboxConfig().with_profile("
    "'bank-west', apply_then_timeout_rate=1.0, hang_seconds=0.5); "
    "serve(port=0, write_config=Path(sys.argv[1]), config=config)"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, Any]]]:
    """The server's URL and its institutions by id, as the configuration it wrote has them."""
    written = tmp_path_factory.mktemp("controls") / "institutions.toml"
    process = subprocess.Popen(
        [sys.executable, "-c", _SERVE, str(written)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 30)
        line = process.stdout.readline() if ready else ""
        assert "listening on http://127.0.0.1:" in line, line
        table = tomllib.loads(written.read_text(encoding="utf-8"))["institutions"]
        yield line.split()[-1], {entry["id"]: entry for entry in table}
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
async def http(server: tuple[str, dict[str, Any]]) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server[0]) as client:
        yield client


def adapter_for(entry: dict[str, Any]) -> Adapter:
    return load_adapter(entry["adapter"])(Institution(entry["id"], entry["name"]))


def request_for(
    party: SandboxParty, operation: Operation, key: str, kind: str, asset: str, **changes: Any
) -> ControlRequest:
    build = Party.person if party.kind == "person" else Party.organization
    fields: dict[str, Any] = {
        "operation": operation,
        "idempotency_key": key,
        "party": build(party.name, party.id_number),
        "case": Case(
            number=party.case_number,
            operator="测试",
            court=party.court,
            enforcement_document=f"{party.case_number}之一",
        ),
        "asset_kind": kind,
        "asset_identifier": asset,
    }
    fields.update(changes)
    return ControlRequest(**fields)


async def test_a_waiting_seal_over_http(
    server: tuple[str, dict[str, Any]], http: httpx.AsyncClient
) -> None:
    party, unit = next(
        (p, u) for p in dataset() for u in p.properties if u.seals and not u.seals[-1].waiting
    )
    entry = server[1]["registry"]
    adapter = adapter_for(entry)
    seal = request_for(party, Operation.SEAL, "H-1", "real_estate", unit.unit_number)
    async with httpx.AsyncClient(base_url=entry["base_url"]) as registry:
        waiting = await adapter.submit(registry, seal)
        assert (waiting.state, waiting.waiting_position) == (ControlState.WAITING, 2)

        admin = f"/sandbox-admin/registry/assets/{unit.unit_number}"
        released = await http.post(f"{admin}/release")
        assert released.json()["released"]["origin"] == "dataset"

        status = await adapter.control_status(registry, seal)
        assert status.state is ControlState.EFFECTIVE
        assert status.ends_on is not None
        actions = (await http.get("/sandbox-admin/registry/actions")).json()["actions"]
        assert [(a["idempotency_key"], a["state"]) for a in actions] == [("H-1", "effective")]


async def test_applied_then_timed_out_over_http(
    server: tuple[str, dict[str, Any]], http: httpx.AsyncClient
) -> None:
    party, account = next(
        (p, a)
        for p in dataset()
        for a in p.accounts_at("bank-west")
        if not a.holds and a.status == "NORMAL" and a.currency == "CNY" and a.balance > 10
    )
    entry = server[1]["bank-west"]
    adapter = adapter_for(entry)
    freeze = request_for(
        party,
        Operation.FREEZE,
        "H-2",
        "bank_account",
        account.account_number,
        amount=Money("10.00"),
    )
    async with httpx.AsyncClient(base_url=entry["base_url"], timeout=0.2) as bank:
        with pytest.raises(InstitutionTimeout):
            await adapter.submit(bank, freeze)
        status = await adapter.control_status(bank, freeze)
        assert (status.state, status.amount) == (ControlState.EFFECTIVE, Money("10.00"))
        assert status.ends_on is None  # bank-west leaves the end date out
        again = await adapter.submit(bank, freeze)  # nothing new: answered at once
        assert again == status
    actions = (await http.get("/sandbox-admin/bank-west/actions")).json()["actions"]
    assert [a["idempotency_key"] for a in actions] == ["H-2"]
