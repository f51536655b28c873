"""Shared fixtures: valid identities, a case, and dispatchers over mocked institutions."""

from __future__ import annotations

import logging
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from stdnum.cn import ric, uscc

from assetquery import Case, Party
from assetquery.sandbox import SandboxProcess

from .browser import Chromium

# The same examples on every run (a failure is reproducible); HYPOTHESIS_PROFILE=explore
# draws fresh ones and remembers failures in .hypothesis/.
settings.register_profile("repeatable", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


@pytest.fixture(autouse=True)
def _store_in_tmp(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Commands that record to the default store write to a temporary one, never ./."""
    folder = tmp_path_factory.mktemp("default-store")
    monkeypatch.setenv("ASSETQUERY_STORE", f"sqlite:///{folder / 'assetquery.db'}")


def resident_id(body17: str) -> str:
    """A resident ID with the right check digit for a 17-digit body."""
    return body17 + ric.calc_check_digit(body17 + "0")


def credit_code(body17: str) -> str:
    """A unified social credit code with the right check character."""
    return body17 + uscc.calc_check_digit(body17)


@pytest.fixture
def person() -> Party:
    return Party.person("张三", "110105199003071239")


@pytest.fixture
def organization() -> Party:
    return Party.organization("兰州示例商贸有限公司", "911100007109288314")


@pytest.fixture
def case() -> Case:
    return Case(
        number="（2024）甘0191执1234号",
        court="兰州新区人民法院",
        operator="李承办",
        claim="150000.00",
    )


@pytest.fixture(scope="session")
def sandbox_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    with SandboxProcess(tmp_path_factory.mktemp("sandbox")) as server:
        yield server


# --- the store, on both databases ------------------------------------------------------------

POSTGRES_URL = os.environ.get("ASSETQUERY_TEST_POSTGRES_URL")


def _postgres_database() -> Iterator[str]:
    """A fresh, empty database on the test server; dropped afterwards."""
    if not POSTGRES_URL:
        if os.environ.get("ASSETQUERY_REQUIRE_POSTGRES"):
            pytest.fail(
                "ASSETQUERY_REQUIRE_POSTGRES is set but ASSETQUERY_TEST_POSTGRES_URL "
                "is not: the PostgreSQL tests must run here"
            )
        pytest.skip("no PostgreSQL server: set ASSETQUERY_TEST_POSTGRES_URL (.ci/run does)")
    import psycopg
    from sqlalchemy.engine import make_url

    server = make_url(POSTGRES_URL)
    name = f"aq_test_{uuid.uuid4().hex[:12]}"
    admin_url = server.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty store: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'assetquery.db'}"
    else:
        yield from _postgres_database()


@pytest.fixture
def second_store_url(store_url: str, tmp_path: Path) -> Iterator[str]:
    """Another empty store, on the same kind of database as ``store_url``."""
    if store_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'second.db'}"
    else:
        yield from _postgres_database()


# --- every log line the suite produces is scanned for personal data ---------------------------

_LEAK = re.compile(
    r"(?<![0-9A-Za-z*])(?:\d{17}[\dXx]|[0-9A-HJ-NP-RTUWXY]{2}\d{6}[0-9A-HJ-NP-RTUWXY]{10}"
    r"|\d{12,32})(?![0-9A-Za-z*])"
)


class _LogScanner(logging.Handler):
    """Keeps every line assetquery logs during the test session, to scan at the end."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    def leaks(self) -> list[str]:
        return [line for line in self.lines if _LEAK.search(line)]


SCANNER = _LogScanner()


def pytest_sessionstart(session: pytest.Session) -> None:
    logging.getLogger("assetquery").addHandler(SCANNER)


@pytest.fixture(autouse=True)
def _log_everything() -> None:
    """Debug level for every test, so the scan sees every line that could ever be logged."""
    logger = logging.getLogger("assetquery")
    logger.setLevel(logging.DEBUG)
    if SCANNER not in logger.handlers:  # the CLI's configure_logging() keeps it, but be sure
        logger.addHandler(SCANNER)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    leaks = SCANNER.leaks()
    if leaks:
        print(f"\n{len(leaks)} log line(s) carry an ID or account number in clear, e.g.:")
        for line in leaks[:5]:
            print("   ", _LEAK.sub(lambda m: f"<<{m.group()}>>", line)[:300])
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# --- a real browser, for the pages assetquery writes ------------------------------------------


@pytest.fixture(scope="session")
def chromium() -> Chromium:
    """Skipped without Chromium, unless ASSETQUERY_REQUIRE_BROWSER says it must be there."""
    path = os.environ.get("ASSETQUERY_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.access(path, os.X_OK):
        if os.environ.get("ASSETQUERY_REQUIRE_BROWSER"):
            pytest.fail("ASSETQUERY_REQUIRE_BROWSER is set but Chromium is not installed")
        pytest.skip("no Chromium: install Debian's chromium package (.ci/chromium.sh does)")
    return Chromium(path)
