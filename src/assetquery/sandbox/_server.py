"""Serving the sandbox over real HTTP with uvicorn (the ``sandbox`` extra)."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .._errors import MissingUvicorn
from ._app import create_app
from ._config import SandboxConfig
from ._http import DroppedConnection
from ._institutions import institutions_toml

if TYPE_CHECKING:
    import uvicorn
    from starlette.applications import Starlette

__all__ = ["MissingUvicorn", "serve"]

#: Seconds a stopping server waits for requests still running (a hanging fault) to finish.
_GRACEFUL_SHUTDOWN = 1


def serve(
    host: str = "127.0.0.1",
    port: int = 8765,
    config: SandboxConfig | None = None,
    write_config: Path | None = None,
) -> None:
    """Serve the simulated institutions on ``host:port`` until interrupted.

    ``port=0`` picks a free port. Once the server listens, ``write_config`` (when given)
    receives the institutions TOML pointing at it, and one line
    ``assetquery sandbox listening on http://host:port`` goes to stdout; a script can wait
    for either.
    """
    sock = _bind(host, port)
    try:
        url = f"http://{_url_host(host)}:{sock.getsockname()[1]}"

        def ready() -> None:
            if write_config is not None:
                _write_whole(Path(write_config), institutions_toml(url))
            print(f"assetquery sandbox listening on {url}", flush=True)

        _server(create_app(config), on_ready=ready).run(sockets=[sock])
    finally:
        sock.close()


def _server(app: Starlette, *, on_ready: Callable[[], None]) -> uvicorn.Server:
    """A uvicorn server for ``app`` that calls ``on_ready`` once it listens."""
    try:
        import uvicorn
    except ImportError as exc:
        raise MissingUvicorn(
            "serving the sandbox over HTTP needs uvicorn; install it with "
            "pip install 'assetquery[sandbox]'",
            name="uvicorn",
        ) from exc

    class Announcing(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started:
                on_ready()

    # Warnings only: a sandbox serving a batch would otherwise log every request. Answers
    # left hanging on purpose (timeout faults) must not hold up the exit for long.
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN,
    )
    # Connections dropped on purpose (reset faults) are not errors worth a traceback.
    logging.getLogger("uvicorn.error").addFilter(_not_a_deliberate_reset)
    return Announcing(config)


def _not_a_deliberate_reset(record: logging.LogRecord) -> bool:
    """False for the log record of a connection a reset fault dropped on purpose."""
    return not (record.exc_info and isinstance(record.exc_info[1], DroppedConnection))


def _bind(host: str, port: int) -> socket.socket:
    # IPPROTO_TCP stated, not left 0: asyncio turns Nagle's algorithm off (TCP_NODELAY) only
    # on sockets that say they are TCP. With it on, an answer whose headers and body are
    # written apart waits for the client's delayed ACK: 40 ms and more, every request.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _write_whole(path: Path, text: str) -> None:
    """Write so that a reader waiting for the file never sees half of it."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
