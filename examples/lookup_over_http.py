"""The lookup of lookup_party.py over real HTTP, as an integration test would run it.

    python examples/lookup_over_http.py

The simulated institutions are served by `assetquery sandbox serve` in a child process
(`SandboxProcess`, on a free loopback port, 50 ms per answer); the dispatcher reads the
institutions file that server wrote. Needs the `sandbox` extra (uvicorn).
"""

from __future__ import annotations

import asyncio
import tempfile

from lookup_party import main  # the script beside this one

from assetquery.sandbox import SandboxProcess

if __name__ == "__main__":
    with (
        tempfile.TemporaryDirectory() as folder,
        SandboxProcess(folder, "--latency", "0.05") as sandbox,
    ):
        print(f"sandbox listening on {sandbox.url}")
        asyncio.run(main(str(sandbox.config)))
