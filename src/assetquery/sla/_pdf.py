"""Printing a self-contained page to PDF with headless Chromium.

The letter of a judicial recommendation is signed and sealed on paper, so its pack carries
a PDF printed from the same HTML page by the browser courts already have (Debian's
``chromium`` package). Chromium is found through ``ASSETQUERY_CHROMIUM``, then ``PATH``,
then ``/usr/bin/chromium``; every failure says what failed and what to install.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from .._errors import AssetqueryError

__all__ = ["CHROMIUM_ENV", "PrintError", "find_chromium", "print_pdf"]

#: The environment variable naming the Chromium binary to print with.
CHROMIUM_ENV = "ASSETQUERY_CHROMIUM"
_DEFAULT_BINARY = "/usr/bin/chromium"
_INSTALL = (
    "install Debian's `chromium` package and a Chinese font, `fonts-wqy-microhei` "
    "(apt-get install chromium fonts-wqy-microhei), or set ASSETQUERY_CHROMIUM to a "
    "Chromium binary"
)
_FLAGS = (
    "--headless",
    # The page is our own, holds no script and may fetch nothing (its CSP); containers and
    # CI seldom give Chromium the namespaces its sandbox needs, and as root it refuses it.
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-features=NetworkTimeServiceQuerying",
    "--no-pdf-header-footer",
)
_STDERR_LINES = 3


class PrintError(AssetqueryError):
    """The page could not be printed to PDF; the message says what failed and what to do."""


def find_chromium() -> str | None:
    """The Chromium to print with: ``ASSETQUERY_CHROMIUM``, ``chromium`` on ``PATH``, or
    ``/usr/bin/chromium``; None if it is not an executable file."""
    path = os.environ.get(CHROMIUM_ENV) or shutil.which("chromium") or _DEFAULT_BINARY
    return path if os.path.isfile(path) and os.access(path, os.X_OK) else None


def _missing_chromium() -> PrintError:
    named = os.environ.get(CHROMIUM_ENV)
    if named:
        return PrintError(f"{CHROMIUM_ENV}={named} is not an executable file; {_INSTALL}")
    return PrintError(f"no Chromium to print the PDF with; {_INSTALL}")


def _check_chinese_font() -> None:
    """Without a Chinese font Chromium prints a box for every character: refuse instead."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:  # no fontconfig to ask: let Chromium find what it finds
        return
    try:
        found = subprocess.run(
            [fc_list, ":lang=zh", "family"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            stdin=subprocess.DEVNULL,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return
    if not found.strip():
        raise PrintError(
            "no Chinese font is installed: the PDF would print a box for every character; "
            "install `fonts-wqy-microhei` (apt-get install fonts-wqy-microhei)"
        )


def print_pdf(
    page: Path, pdf: Path, *, chromium: str | None = None, timeout: float = 120.0
) -> Path:
    """Print the HTML file ``page`` to ``pdf`` (A4, as its CSS lays it out); return ``pdf``.

    A fresh throwaway browser profile each time; ``timeout`` seconds at most. A half-written
    PDF never takes the name ``pdf``. Raises ``PrintError``.
    """
    binary = chromium or find_chromium()
    if binary is None:
        raise _missing_chromium()
    _check_chinese_font()
    partial = pdf.with_name(f".{pdf.name}.part")
    with tempfile.TemporaryDirectory(prefix="assetquery-chromium-") as profile:
        command = [
            binary,
            *_FLAGS,
            f"--user-data-dir={profile}",
            f"--print-to-pdf={partial}",
            page.resolve().as_uri(),
        ]
        try:
            returncode, stderr = _run(command, timeout)
        except subprocess.TimeoutExpired:
            partial.unlink(missing_ok=True)
            raise PrintError(
                f"Chromium ({binary}) did not finish printing {page.name} within {timeout:g} s"
            ) from None
        except OSError as exc:
            raise PrintError(
                f"Chromium ({binary}) could not be started ({exc.strerror or exc}); {_INSTALL}"
            ) from None
    printed = partial.is_file() and partial.read_bytes()[:5] == b"%PDF-"
    if returncode != 0 or not printed:
        partial.unlink(missing_ok=True)
        said = [line.strip() for line in stderr.splitlines() if line.strip()][-_STDERR_LINES:]
        detail = f": {' / '.join(said)}" if said else ""
        what = f"exit code {returncode}" if returncode != 0 else "no PDF was written"
        raise PrintError(f"Chromium ({binary}) failed to print {page.name} ({what}){detail}")
    partial.replace(pdf)
    return pdf


def _run(command: list[str], timeout: float) -> tuple[int, str]:
    """Run Chromium in a session of its own, so that a timeout ends its helpers too."""
    with subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        start_new_session=True,
    ) as process:
        try:
            _, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            if hasattr(os, "killpg"):
                os.killpg(process.pid, signal.SIGKILL)
            else:  # pragma: no cover - not POSIX
                process.kill()
            process.communicate()
            raise
        return process.returncode, stderr
