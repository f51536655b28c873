"""A PostgreSQL server of a test's own, on loopback, that the test may stop and start.

The durability test takes the database away from running workers for a few seconds; it
cannot do that to the server the rest of the suite shares, so it starts its own from the
same Debian binaries ``.ci/postgres.sh`` installs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def _binaries() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: p.parent.name)
    return found[-1] if found else None


def available() -> bool:
    return _binaries() is not None


class PostgresServer:
    """``initdb`` in a fresh directory of its own under /tmp (the server's user must reach
    it, which a test's root-only ``tmp_path`` does not allow), started on a free port;
    ``stop`` and ``start`` at will, ``close`` removes it."""

    def __init__(self) -> None:
        binaries = _binaries()
        if binaries is None:
            raise RuntimeError("no PostgreSQL binaries: run .ci/postgres.sh once to install them")
        self._bin = binaries
        self._as_postgres: list[str] = []
        if os.geteuid() == 0:  # initdb refuses root: run as the package's postgres user
            self._as_postgres = ["runuser", "-u", "postgres", "--"]
        self.directory = directory = Path(tempfile.mkdtemp(prefix="assetquery-pg."))
        if os.geteuid() == 0:
            shutil.chown(directory, "postgres")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._run("initdb", "-D", str(directory / "data"), "-U", "assetquery", "-A", "trust",
                  "--no-sync")  # fmt: skip
        self.start()

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://assetquery@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self._as_postgres, str(self._bin / tool), *args],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.directory} -c fsync=off"
        options += " -c max_connections=300"
        self._run("pg_ctl", "-D", str(self.directory / "data"), "-l",
                  str(self.directory / "server.log"), "-w", "-o", options, "start")  # fmt: skip

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.directory / "data"), "-m", "fast", "-w", "stop")

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)
