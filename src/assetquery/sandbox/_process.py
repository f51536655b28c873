"""The sandbox over real HTTP in a child process: for integration tests and benchmarks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Self

__all__ = ["SandboxProcess"]

_READY = "assetquery sandbox listening on "


class SandboxProcess:
    """``assetquery sandbox serve`` in a child process, on a free loopback port.

    The simulated institutions over real HTTP, on a core of their own: what an integration
    test or a benchmark of a whole client talks to. ``options`` are the command's own
    (``--latency 0.05``, ``--busy-rate 0.1``, ``--seed 7``, …; see ``assetquery sandbox
    serve --help``). The constructor returns once the server listens and ``config``,
    an institutions TOML pointing at it, is complete::

        with SandboxProcess(tmp_path, "--latency", "0.05") as sandbox:
            async with Dispatcher(load_settings(sandbox.config)) as dispatcher:
                ...

    Needs the ``sandbox`` extra (uvicorn) in the environment of ``python``, which defaults
    to the running interpreter.
    """

    def __init__(
        self, directory: str | os.PathLike[str], *options: str, python: str | None = None
    ) -> None:
        #: the institutions TOML the server wrote, pointing at it
        self.config = Path(directory) / "sandbox.toml"
        command = [python or sys.executable, "-m", "assetquery", "sandbox", "serve"]
        command += ["--port", "0", "--write-config", str(self.config), *options]
        self._process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert self._process.stdout is not None
        # The server says it listens only once the config file is complete.
        line = self._process.stdout.readline()
        if not line.startswith(_READY):
            self.stop()
            raise RuntimeError(
                f"`assetquery sandbox serve` did not start (it said {line.strip()!r}; "
                "its error is above). Serving needs uvicorn: pip install 'assetquery[sandbox]'"
            )
        #: where it listens, e.g. ``http://127.0.0.1:54321`` (the admin API is under it)
        self.url = line[len(_READY) :].strip()

    @property
    def pid(self) -> int:
        return self._process.pid

    def stop(self) -> None:
        """Stop the server (killed if it has not stopped after 10 s); stopping twice is fine."""
        process = self._process
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self._process.poll() is None else "stopped"
        return f"<SandboxProcess {self.url} {state}>"
