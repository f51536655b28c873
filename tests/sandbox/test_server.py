"""Serving over real HTTP, and what the sandbox package may depend on."""

from __future__ import annotations

import ast
import select
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import assetquery.sandbox
from assetquery._errors import AssetqueryError
from assetquery.sandbox import SandboxProcess, dataset, serve

from .wire import bank_request

_SERVE = (
    "import sys; from pathlib import Path; from assetquery.sandbox import serve; "
    "serve(port=0, write_config=Path(sys.argv[1]))"
)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A sandbox server in a child process: its announced URL and the config it wrote."""
    written = tmp_path / "institutions.toml"
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
        assert line.startswith("assetquery sandbox listening on http://127.0.0.1:"), line
        yield line.split()[-1], written
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.loopback
def test_serve_on_a_free_port_writes_a_config_pointing_at_itself(
    server: tuple[str, Path],
) -> None:
    url, written = server
    table = tomllib.loads(written.read_text(encoding="utf-8"))["institutions"]
    east = next(i for i in table if i["id"] == "bank-east")
    assert east["base_url"] == f"{url}/banks/east"
    party = dataset().find("bank_account")[0]
    with httpx.Client(base_url=east["base_url"]) as http:
        assert http.get(f"{url}/health").status_code == 200
        answer = http.post("/api/judicial/v2/inquiries", json=bank_request("S-1", party.id_number))
    assert answer.status_code in (200, 202)


@pytest.mark.loopback
def test_a_sandbox_process_serves_until_it_is_stopped(tmp_path: Path) -> None:
    with SandboxProcess(tmp_path, "--latency", "0", "--seed", "3") as sandbox:
        assert sandbox.url.startswith("http://127.0.0.1:")
        assert repr(sandbox) == f"<SandboxProcess {sandbox.url} running>"
        table = tomllib.loads(sandbox.config.read_text(encoding="utf-8"))["institutions"]
        assert all(i["base_url"].startswith(sandbox.url) for i in table)
        assert httpx.get(f"{sandbox.url}/health").status_code == 200
    assert repr(sandbox).endswith("stopped>")
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{sandbox.url}/health")
    sandbox.stop()  # stopping again does nothing


def test_a_sandbox_process_that_cannot_start_says_so(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"did not start .*pip install 'assetquery\[sandbox\]'"):
        SandboxProcess(tmp_path, "--no-such-option")


def test_serve_without_uvicorn_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    with pytest.raises(ImportError, match=r"pip install 'assetquery\[sandbox\]'") as raised:
        serve(port=0)
    assert isinstance(raised.value, AssetqueryError)  # the CLI reports it in one line


def test_the_sandbox_does_not_import_the_adapters() -> None:
    """It simulates institutions; sharing the adapters' code would hide wire mismatches."""
    package = Path(assetquery.sandbox.__file__).parent
    for source in package.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [alias.name for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            assert not any("adapters" in name for name in names), source.name
