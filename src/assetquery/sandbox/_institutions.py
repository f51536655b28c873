"""The four simulated institutions, and the configuration that points a dispatcher at them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = ["INSTITUTIONS", "SandboxInstitution", "institutions", "institutions_toml"]


@dataclass(frozen=True, slots=True)
class SandboxInstitution:
    """One simulated institution: its id, display name, adapter and URL prefix on the app."""

    id: str
    name: str
    adapter: str
    prefix: str


INSTITUTIONS: tuple[SandboxInstitution, ...] = (
    SandboxInstitution("registry", "不动产登记中心（沙盒）", "realestate", "/registry"),
    SandboxInstitution("fund", "住房公积金管理中心（沙盒）", "housing_fund", "/fund"),
    SandboxInstitution("bank-east", "东方商业银行（沙盒）", "bank", "/banks/east"),
    SandboxInstitution("bank-west", "西部农村商业银行（沙盒）", "bank", "/banks/west"),
)

_TIMEOUT = 10.0
_CONCURRENCY = 20
_POLL_INTERVAL = 1.0


def institutions(base_url: str) -> list[dict[str, Any]]:
    """The sandbox institutions as ``[[institutions]]`` entries of the library's configuration.

    ``base_url`` is where the sandbox app is served, e.g. ``http://127.0.0.1:8765``.
    """
    root = base_url.rstrip("/")
    return [
        {
            "id": institution.id,
            "name": institution.name,
            "adapter": institution.adapter,
            "base_url": root + institution.prefix,
            "timeout": _TIMEOUT,
            "concurrency": _CONCURRENCY,
            "poll_interval": _POLL_INTERVAL,
        }
        for institution in INSTITUTIONS
    ]


def institutions_toml(base_url: str) -> str:
    """``institutions`` as TOML text: a configuration file for a running sandbox server."""
    lines = [
        f"# Institutions of the assetquery sandbox server at {_one_line(base_url)}.",
        "# Simulated registries with fictional data: use with --config to query them over HTTP.",
    ]
    for entry in institutions(base_url):
        lines.append("")
        lines.append("[[institutions]]")
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in entry.items())
    return "\n".join(lines) + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _toml_value(value: object) -> str:
    if isinstance(value, str):
        # A JSON string is a valid TOML basic string: the same quotes and escapes.
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    raise TypeError(f"no TOML form for {type(value).__name__}")
