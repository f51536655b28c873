"""The suite-wide log scan itself: it must catch a leak, and pass clean lines."""

from __future__ import annotations

import logging

from assetquery._logging import get_logger

from .conftest import _LEAK, SCANNER, _LogScanner


def test_the_scanner_catches_a_full_id_or_account() -> None:
    scanner = _LogScanner()
    # A logger outside assetquery's tree: this deliberate leak must not fail the session.
    logger = logging.getLogger("scan-test")
    logger.propagate = False
    logger.addHandler(scanner)
    try:
        logger.warning("looked up 110105199003071239 at 6222021234567890128")  # raw stdlib
        logger.warning("case （2024）甘0191执1234号, 3 attempts, HTTP 503")
    finally:
        logger.removeHandler(scanner)
    assert len(scanner.leaks()) == 1


def test_assetquery_loggers_mask_before_the_scanner_sees_them() -> None:
    before = len(SCANNER.lines)
    get_logger("assetquery.scan-test").info(
        "oops", id_number="110105199003071239", note="account 6222021234567890128"
    )
    new = SCANNER.lines[before:]
    assert new
    assert not [line for line in new if _LEAK.search(line)]
    assert "1101************39" in new[-1]
