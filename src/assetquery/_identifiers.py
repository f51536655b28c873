"""Chinese identifiers: validation, parsing and masking.

Check digits come from python-stdnum, but not its ``validate()`` verdicts:

* ``stdnum.cn.ric.validate`` also insists that the area code existed in the holder's birth
  year and raises ``KeyError`` for functional-zone codes it does not know. Real debtors hold
  such IDs, so here the area code is information, never a reason to reject.
* ``stdnum.cn.uscc.validate`` requires digits in the first eight positions, while GB 32100-2015
  allows a letter as registration authority (``N``, ``Y``, ...). Here length, alphabet and the
  check character decide.

Every validator raises ``InvalidInput`` naming the field and the reason.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from stdnum.cn import ric as _ric
from stdnum.cn import uscc as _uscc

from ._errors import InvalidInput

__all__ = [
    "CaseNumber",
    "birth_date_of",
    "birth_place_of",
    "compact",
    "mask_account",
    "mask_address",
    "mask_id_number",
    "mask_name",
    "mask_text",
    "parse_case_number",
    "safe_code",
    "scrub",
    "validate_account_number",
    "validate_resident_id",
    "validate_unit_number",
    "validate_uscc",
]

_SEPARATORS = re.compile(r"[\s\-_/.]+")


def compact(value: str) -> str:
    """Fold full-width characters to ASCII, drop spaces and separators, upper-case."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", value)).upper()


# --- resident identity number (GB 11643-1999) -------------------------------------------

_RESIDENT_ID_SHAPE = re.compile(r"\d{17}[\dX]")

# GB/T 2260's province-level codes, which change far more rarely than county codes (the last
# new one, Chongqing's 50, dates from 1997); 71 is Taiwan's, and 81, 82 and 83 open the
# residence-permit numbers of Hong Kong, Macao and Taiwan residents. Only the county part
# stays information (see the module docstring).
_PROVINCE_CODES = frozenset(
    [
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
        "83",
    ]
)


def validate_resident_id(value: str, *, field: str = "id_number") -> str:
    """Return the compact 18-character resident ID or raise ``InvalidInput``.

    Checks length, alphabet, the embedded birth date and the ISO 7064 MOD 11-2 check digit.
    """
    number = compact(value)
    if not number:
        raise InvalidInput(field, "is empty; expected an 18-character resident ID number")
    if len(number) == 15 and number.isdigit():
        raise InvalidInput(
            field,
            "is a 15-digit first-generation ID; give the 18-character number on the current card",
        )
    if len(number) != 18:
        raise InvalidInput(field, f"has {len(number)} characters; a resident ID has 18")
    if not _RESIDENT_ID_SHAPE.fullmatch(number):
        raise InvalidInput(
            field, "must be 17 digits followed by a digit or X; found other characters"
        )
    if number[:2] not in _PROVINCE_CODES:
        raise InvalidInput(
            field,
            f"starts with {number[:2]}, which is no province code of GB/T 2260; the first two "
            "digits name the province (11 Beijing … 65 Xinjiang, 81–83 for residence permits)",
        )
    _birth_date(number, field)
    expected = _ric.calc_check_digit(number)
    if number[-1] != expected:
        raise InvalidInput(
            field, f"check digit is {number[-1]} but the number requires {expected}; mistyped?"
        )
    return number


def _birth_date(number: str, field: str) -> date:
    digits = number[6:14]
    try:
        born = date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise InvalidInput(field, f"embedded birth date {digits} is not a calendar date") from None
    # The Shanghai calendar day, so an ID issued for a child born today is not "in the future".
    today = (datetime.now(UTC) + timedelta(hours=8)).date()
    if born.year < 1880 or born > today:
        raise InvalidInput(field, f"embedded birth date {born.isoformat()} is not plausible")
    return born


def birth_date_of(resident_id: str) -> date:
    """The birth date embedded in a (validated) resident ID."""
    return _birth_date(compact(resident_id), "id_number")


def birth_place_of(resident_id: str) -> str | None:
    """Province and county of the ID's area code, when python-stdnum knows it; else ``None``.

    Purely informational: an unknown or since-renamed area code is normal for real IDs.
    """
    try:
        place = _ric.get_birth_place(compact(resident_id))
    except Exception:  # stdnum raises KeyError or its own errors for codes it lacks
        return None
    return "".join(str(part) for part in place.values()) or None


# --- unified social credit code (GB 32100-2015) ------------------------------------------

# Digits and capital letters except I, O, S, V and Z.
_USCC_SHAPE = re.compile(r"[0-9A-HJ-NP-RTUWXY]{18}")


def validate_uscc(value: str, *, field: str = "id_number") -> str:
    """Return the compact unified social credit code or raise ``InvalidInput``."""
    code = compact(value)
    if not code:
        raise InvalidInput(field, "is empty; expected an 18-character unified social credit code")
    if len(code) != 18:
        raise InvalidInput(
            field, f"has {len(code)} characters; a unified social credit code has 18"
        )
    if not _USCC_SHAPE.fullmatch(code):
        bad = sorted({c for c in code if not _USCC_SHAPE.fullmatch(c * 18)})
        raise InvalidInput(
            field,
            f"contains {''.join(bad)!r}; a unified social credit code uses digits and capital "
            "letters other than I, O, S, V, Z",
        )
    # GB 32100: position 1 is the registration authority (a letter is allowed), position 2 the
    # organization category and 3-8 the administrative division code, both digits only.
    if not code[1:8].isdigit():
        raise InvalidInput(
            field,
            f"has {code[1:8]!r} in positions 2-8; the organization category (position 2) and "
            "the administrative division code (positions 3-8) are digits",
        )
    expected = _uscc.calc_check_digit(code[:17])
    if code[-1] != expected:
        raise InvalidInput(
            field, f"check character is {code[-1]} but the code requires {expected}; mistyped?"
        )
    return code


# --- case numbers -------------------------------------------------------------------------

# Traditional forms that appear in case numbers, folded to the simplified forms courts file,
# and full-width digits (typed with a Chinese input method) to the ASCII ones.
_TO_SIMPLIFIED = str.maketrans(
    {"執": "执", "號": "号", "異": "异", "監": "监", "復": "复", "協": "协", "財": "财"}
    | {chr(0xFF10 + digit): str(digit) for digit in range(10)}
)
_WHITESPACE = re.compile(r"\s+")
_OPEN_BRACKETS = "(（〔[［【"
_CLOSE_BRACKETS = ")）〕]］】"
_CASE_NUMBER = re.compile(
    r"[" + re.escape(_OPEN_BRACKETS) + r"](?P<year>[0-9]{4})[" + re.escape(_CLOSE_BRACKETS) + r"]"
    r"(?P<court>最高法|[\u4e00-\u9fff][0-9]{0,4})"
    r"(?P<type>[\u4e00-\u9fff]{1,4}?)"
    r"(?P<seq>[0-9]{1,7})号"
)


@dataclass(frozen=True, slots=True)
class CaseNumber:
    """A parsed case number such as ``（2024）甘0191执1234号``."""

    year: int
    court_code: str
    case_type: str
    sequence: int

    def __str__(self) -> str:
        return f"（{self.year}）{self.court_code}{self.case_type}{self.sequence}号"

    @property
    def is_enforcement(self) -> bool:
        """执, 执恢, 执保, 执异, ...: an enforcement case (or one of its side proceedings)."""
        return self.case_type.startswith("执")

    @property
    def is_preservation(self) -> bool:
        """财保 (preservation before suit) and 执保 (preservation in enforcement)."""
        return self.case_type in {"财保", "执保"}


def parse_case_number(value: str, *, field: str = "case_number") -> CaseNumber:
    """Parse a case number; brackets may be full- or half-width, 执 may be traditional."""
    text = _WHITESPACE.sub("", value).translate(_TO_SIMPLIFIED)
    if not text:
        raise InvalidInput(field, "is empty; expected a case number like （2024）甘0191执1234号")
    match = _CASE_NUMBER.fullmatch(text)
    if match is None:
        raise InvalidInput(
            field,
            f"{value!r} is not a case number; expected （year）court-code type sequence 号, "
            "e.g. （2024）甘0191执1234号",
        )
    year = int(match["year"])
    if not 1990 <= year <= datetime.now(UTC).year + 1:
        raise InvalidInput(field, f"year {year} in {value!r} is not plausible")
    sequence = int(match["seq"])
    if sequence == 0:
        raise InvalidInput(field, f"sequence number in {value!r} is 0")
    return CaseNumber(year, match["court"], match["type"], sequence)


# --- real-estate unit numbers (GB/T 37346-2019) -------------------------------------------

_UNIT_NUMBER = re.compile(
    r"(?P<division>\d{6})(?P<zone>\d{6})(?P<parcel>[GJZ][A-Z]\d{5})(?P<fixture>[FLQW]\d{8})"
)


def validate_unit_number(value: str, *, field: str = "unit_number") -> str:
    """Return the compact 28-character 不动产单元号 or raise ``InvalidInput``.

    Structure: 6-digit division code, 6-digit cadastral zone and subzone, 7-character parcel
    code (ownership G/J/Z, a type letter, 5 digits), 9-character fixture code (F/L/Q/W and 8
    digits).
    """
    unit = compact(value)
    if len(unit) != 28:
        raise InvalidInput(field, f"has {len(unit)} characters; a real-estate unit number has 28")
    if _UNIT_NUMBER.fullmatch(unit) is None:
        raise InvalidInput(
            field,
            f"{unit!r} does not have the GB/T 37346 structure: 12 digits, parcel code "
            "(G/J/Z + letter + 5 digits), fixture code (F/L/Q/W + 8 digits)",
        )
    return unit


# --- bank accounts ------------------------------------------------------------------------


def validate_account_number(value: str, *, field: str = "account_number") -> str:
    """Return the digits of a bank account or card number, or raise ``InvalidInput``.

    Only the shape is checked: lengths differ by bank and deposit accounts carry no
    standard check digit (card numbers do: see ``stdnum.luhn``).
    """
    digits = compact(value)
    if not digits.isdigit():
        raise InvalidInput(field, "must contain only digits (spaces and dashes are ignored)")
    if not 8 <= len(digits) <= 32:
        raise InvalidInput(field, f"has {len(digits)} digits; bank accounts have 8 to 32")
    return digits


# --- masking for logs and error messages --------------------------------------------------


def mask_id_number(value: str) -> str:
    """``110105199003071239`` → ``1101************39``."""
    if len(value) <= 6:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 6) + value[-2:]


def mask_account(value: str) -> str:
    """Keep the last four digits, the part people use to tell accounts apart."""
    if len(value) <= 4:
        return "*" * len(value)
    return "*" * (len(value) - 4) + value[-4:]


def mask_name(value: str) -> str:
    """``张三丰`` → ``张**``; organization names keep their first and last two characters."""
    if len(value) <= 1:
        return "*" * len(value)
    if len(value) <= 4:
        return value[0] + "*" * (len(value) - 1)
    return value[:2] + "*" * (len(value) - 4) + value[-2:]


def mask_address(value: str) -> str:
    """Keep the first six characters (province and city), hide the rest."""
    return value[:6] + "*" * max(len(value) - 6, 0)


_NOT_ALNUM_BEFORE = r"(?<![0-9A-Za-z])"
_NOT_ALNUM_AFTER = r"(?![0-9A-Za-z])"
_SECRET_LOOKING = re.compile(
    _NOT_ALNUM_BEFORE
    + r"(?:\d{17}[\dXx]|[0-9A-HJ-NP-RTUWXY]{2}\d{6}[0-9A-HJ-NP-RTUWXY]{10}|\d{12,32})"
    + _NOT_ALNUM_AFTER
)


def mask_text(text: str) -> str:
    """Mask every ID number, credit code or account-like digit run inside free text."""
    return _SECRET_LOOKING.sub(lambda m: _mask_token(m.group()), text)


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]")
_SAFE_CODE = re.compile(r"[A-Za-z0-9_.-]{1,32}")
_LONG_DIGITS = re.compile(r"[0-9]{12}")  # an ID number or account inside a "code"


def scrub(text: str, *, hide: Iterable[str] = (), limit: int = 160) -> str:
    """Text from outside (an institution's message) made fit for errors and logs.

    Control characters go, ID-, credit-code- and account-shaped numbers are masked, every
    string in ``hide`` (the party's name) is masked, and the whole is capped at ``limit``.
    """
    cleaned = mask_text(_CONTROL_CHARACTERS.sub(" ", text))
    for secret in hide:
        if secret and len(secret) > 1:
            cleaned = cleaned.replace(secret, mask_name(secret))
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def safe_code(code: str, default: str = "unknown") -> str:
    """An institution's error code, if it looks like one (and not like an ID number or an
    account); else ``default``."""
    if _SAFE_CODE.fullmatch(code) and not _LONG_DIGITS.search(code):
        return code
    return default


def _mask_token(token: str) -> str:
    if len(token) == 18:
        return mask_id_number(token)
    return mask_account(token)
