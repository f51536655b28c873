"""Hypothesis strategies and helpers shared by the hostile-input tests (``test_hostile_*``).

Nothing here knows a wire format or a file format: only the raw material hostile input is
made of (text no clerk or institution should send, numbers at the edges, secret-looking
values, valid and almost-valid identity numbers) and a way to tell where an exception came
from.
"""

from __future__ import annotations

import functools
import signal
import string
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from types import FrameType, TracebackType
from typing import Any

from hypothesis import strategies as st
from stdnum.cn import ric, uscc

__all__ = [
    "NASTY_CHARACTERS",
    "RAW_JSON_TOKENS",
    "SECRET_KEYS",
    "hostile_text",
    "json_values",
    "raised_in",
    "raw_json_tokens",
    "resident_ids",
    "secret_values",
    "time_limit",
    "uscc_codes",
]

#: Characters that break naive text handling: NUL and other controls, byte-order marks and
#: zero-width marks, direction overrides, digits that ``str.isdigit`` accepts but ``int``
#: does not (²) or that only look like ASCII digits (full-width, Arabic-Indic), combining
#: marks, GB18030 four-byte characters, emoji and the separators Python splits lines on.
NASTY_CHARACTERS = (
    "\x00",
    "\x01",
    "\x1b",
    "\x7f",
    "\x85",
    "\ufeff",
    "\u200b",
    "\u200d",
    "\u202e",
    "\u2028",
    "\u2029",
    "\r",
    "\n",
    "\t",
    '"',
    "'",
    ",",
    "<",
    "&",
    "\\",
    "²",
    "١",
    "１",
    "Ⅻ",
    "\u0301",
    "𠀀",
    "😀",
    "X",
    "x",
    "执",
    "執",
    "号",
    "（",
    "）",
)

#: Key spellings an operator might use for an inline secret.
SECRET_KEYS = (
    "token",
    "Token",
    "TOKEN",
    "api_key",
    "apiKey",
    "API_KEY",
    "apikey",
    "password",
    "Password",
    "secret",
    "client_secret",
    "access_token",
    "key_password",
    "passwd",
)


@functools.cache  # building strategies costs more than drawing from them
def hostile_text(*, max_size: int = 40, surrogates: bool = False) -> st.SearchStrategy[str]:
    """Any text, weighted towards the characters in :data:`NASTY_CHARACTERS`."""
    characters = st.characters() if surrogates else st.characters(blacklist_categories=["Cs"])
    alphabet = characters | st.sampled_from(NASTY_CHARACTERS)
    return st.text(alphabet, max_size=max_size)


@st.composite
def resident_ids(draw: st.DrawFn) -> str:
    """An 18-character resident ID with a valid birth date and check digit."""
    area = draw(st.sampled_from(["110105", "620102", "440305", "650104", "119999"]))
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2010, 12, 31)))
    sequence = draw(st.integers(0, 999))
    body = f"{area}{born:%Y%m%d}{sequence:03d}"
    return body + ric.calc_check_digit(body + "0")


@st.composite
def uscc_codes(draw: st.DrawFn) -> str:
    """An 18-character unified social credit code with a valid check character."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    # GB 32100: authority (may be a letter), category and division code (digits), organization.
    body = (
        draw(st.text(alphabet, min_size=1, max_size=1))
        + draw(st.text("0123456789", min_size=7, max_size=7))
        + draw(st.text(alphabet, min_size=9, max_size=9))
    )
    return body + uscc.calc_check_digit(body)


@functools.cache
def secret_values() -> st.SearchStrategy[str]:
    """Values that look like credentials and occur nowhere else in a test document."""
    tail = st.text(string.ascii_letters + string.digits, min_size=16, max_size=32)
    prefix = st.sampled_from(["sk-live-", "ghp_", "Bearer ", "hunter2-", "AKIA", "密钥-"])
    return st.builds(lambda p, t: f"{p}{t}", prefix, tail)


#: JSON text no encoder writes but a hostile peer can send: NaN and infinities, numbers
#: too long to be an int (Python refuses more than 4300 digits), beyond float range or
#: beyond Decimal's 28-digit precision, negative zero, deep nesting (1000 to 100 000
#: levels), and dates that are not dates.
RAW_JSON_TOKENS = (
    "NaN",
    "Infinity",
    "-Infinity",
    "-0",
    "1e999999",
    "-1e999999",
    "1e-999999",
    "9" * 5000,
    "9" * 4000,
    "1" + "0" * 30,
    "-" + "1" + "0" * 30,
    str(2**63),
    str(-(2**63) - 1),
    "-1",
    "-100000",
    "0",
    "0.5",
    "1.0",
    "true",
    "null",
    "[]",
    "{}",
    '""',
    '" "',
    "[" * 1000 + "]" * 1000,
    '{"a":' * 1000 + "1" + "}" * 1000,
    "[" * 100_000 + "]" * 100_000,
    '"99999999"',
    '"9999-99-99"',
    '"0000-00-00"',
    '"0001-01-01"',
    '"9999-12-31"',
    '"2024-02-30"',
    '"1e30"',
    '"-5.00"',
    '"NaN"',
    '"Infinity"',
    '"１２３.４５"',
    '"0x10"',
    '"1_000"',
)


def raw_json_tokens() -> st.SearchStrategy[str]:
    return st.sampled_from(RAW_JSON_TOKENS)


@functools.cache
def json_values(*, max_leaves: int = 6) -> st.SearchStrategy[Any]:
    """Python values ``json.dumps`` can write: any type, at the edges of every range."""
    scalars = (
        st.none()
        | st.booleans()
        | st.integers()
        | st.integers(min_value=-(10**40), max_value=10**40)
        | st.floats(allow_nan=True, allow_infinity=True)
        | hostile_text(surrogates=True)
    )
    return st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(hostile_text(max_size=8), children, max_size=3)
        ),
        max_leaves=max_leaves,
    )


def raised_in(error: BaseException, *function_names: str) -> bool:
    """Whether ``error`` was raised inside a function with one of these names.

    Used to tie a tolerated crash to the exact place a known bug lives, so that the same
    exception type raised anywhere else still fails the test.
    """
    trace: TracebackType | None = error.__traceback__
    names = set()
    while trace is not None:
        code = trace.tb_frame.f_code
        names |= {code.co_name, code.co_qualname}
        trace = trace.tb_next
    return bool(names & set(function_names))


class _Overrun(BaseException):
    """Raised by the alarm; a BaseException so no ``except Exception`` under test eats it."""


@contextmanager
def time_limit(seconds: float, what: str) -> Iterator[None]:
    """Fail with AssertionError if the block runs longer than ``seconds``.

    A SIGALRM interrupts a block stuck in Python code (an endless loop, a runaway regex
    between steps), so a hang fails the test instead of freezing the run; the elapsed time
    is checked afterwards as well. Off the main thread only the elapsed time is checked.
    """

    def overrun(signum: int, frame: FrameType | None) -> None:
        raise _Overrun

    armed = threading.current_thread() is threading.main_thread()
    previous: Any = None
    if armed:
        previous = signal.signal(signal.SIGALRM, overrun)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    started = time.monotonic()
    try:
        yield
    except _Overrun:
        raise AssertionError(f"{what}: still running after {seconds:g} s") from None
    finally:
        if armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    elapsed = time.monotonic() - started
    assert elapsed < seconds, f"{what}: took {elapsed:.1f} s (limit {seconds:g} s)"
