"""Debian's Chromium, headless, for the pages assetquery writes (the ``chromium`` fixture)."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import zlib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CHROMIUM_FLAGS", "Chromium", "LoggedRequest", "net_log_requests", "png_rows"]

CHROMIUM_FLAGS = (
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--disable-extensions",
    "--disable-features=NetworkTimeServiceQuerying",
    "--hide-scrollbars",
)


@dataclass(frozen=True)
class Chromium:
    """``run`` opens ``url`` in a throwaway profile and returns what Chromium printed."""

    path: str

    def run(
        self, profile: Path, url: str, *options: str, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        flags = [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]
        if os.geteuid() == 0:
            flags.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
        return subprocess.run(
            [self.path, *flags, *options, url],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )


@dataclass(frozen=True)
class LoggedRequest:
    url: str
    initiator: str  # the requesting origin; "not an origin" for the browser's own requests
    isolation_key: str  # the top-level site the request was made for

    @property
    def for_a_page(self) -> bool:
        """Made for a document (its own subresource or navigation), not by the browser itself."""
        return self.initiator != "not an origin" or "file://" in self.isolation_key


def net_log_requests(path: Path) -> list[LoggedRequest]:
    """Every URL request in a Chromium net log (--log-net-log)."""
    text = path.read_text(encoding="utf-8").rstrip()
    # Chromium may exit before closing the JSON; its writer leaves "...,\n" then.
    if not text.endswith("}"):
        text = text.rstrip(",") + "]}"
    log = json.loads(text)
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [
        LoggedRequest(
            event["params"]["url"],
            event["params"].get("initiator", ""),
            event["params"].get("network_isolation_key", ""),
        )
        for event in log["events"]
        if event["type"] == start_job and "url" in event.get("params", {})
    ]


def png_rows(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the (still filtered) scanlines of an 8-bit RGB or RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, idat, header = 8, b"", b""
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        offset += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour in (2, 6)
    stride = 1 + width * (3 if colour == 2 else 4)
    raw = zlib.decompress(idat)
    assert len(raw) == stride * height
    return width, height, [raw[i : i + stride] for i in range(0, len(raw), stride)]
