"""Hostile batch files: what a clerk's spreadsheet, or an attacker's, can hold.

``read_rows``, ``parse_row`` and ``count_rows`` are fed: arbitrary bytes under every
accepted suffix; CSV tables with hostile headers (any case, full-width, padded, duplicated,
unknown, thousands of columns) and hostile cells (any unicode, NUL, embedded quotes and
newlines, BOMs in the middle, 1 MB cells, almost-valid ID numbers, amounts beyond any
precision) with CRLF, LF or CR-only line endings, written as UTF-8, UTF-8 with BOM, GBK,
GB18030, mixed UTF-8/GBK and UTF-16 (not supported); JSONL with arbitrary lines (deep
nesting, huge numbers, non-objects, invalid UTF-8); workbooks built with openpyxl from
hypothesis data (numbers, dates, booleans, formulas, 32 767-character strings, empty sheets,
the header further down); and corrupted workbooks.

The property: reading gives rows, each parsed to a ``LookupRequest`` or a ``Rejection`` that
names its line, or raises ``BatchInputError``, never anything else, within a few seconds;
``count_rows`` agrees; a ``LookupRequest`` is only made from a row whose ID number passes
the check-digit validators, and it is that row's number; rejection reasons never repeat the
ID number; a UTF-16 file is refused, never read as rows.

Every input that once broke the reader is kept below as a regression test with its minimal
example.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import re
import unicodedata
import zipfile
from collections.abc import Callable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import currently_in_test_context, event, example, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from stdnum.cn import ric, uscc

from assetquery import LookupRequest, PartyKind
from assetquery._batch._input import (
    COLUMN_ALIASES,
    BatchInputError,
    RawRow,
    Rejection,
    RowDefaults,
    count_rows,
    parse_row,
    read_rows,
)
from assetquery._identifiers import compact

from ..strategies import (
    RAW_JSON_TOKENS,
    hostile_text,
    json_values,
    resident_ids,
    time_limit,
    uscc_codes,
)

DEFAULTS = RowDefaults(operator="默认承办人", court="兰州新区人民法院")
SECONDS = 5.0


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for the module: hypothesis runs many examples per test function."""
    return tmp_path_factory.mktemp("hostile-batch")


# --- the property ---------------------------------------------------------------------------------


class Violation(AssertionError):
    """The property does not hold."""


Parsed = list[tuple[RawRow, LookupRequest | Rejection]]


def read(path: Path) -> Parsed | BatchInputError:
    """Every row of ``path`` parsed, or the file's BatchInputError; anything else escapes."""
    with time_limit(SECONDS, f"reading {path.name}"):
        try:
            rows = list(read_rows(path))
        except BatchInputError as error:
            with pytest.raises(BatchInputError):
                count_rows(path)
            return error
        parsed = [(row, parse_row(row, DEFAULTS)) for row in rows]
        counted = count_rows(path)
    if counted != len(rows):
        raise Violation(f"count_rows says {counted}, read_rows gave {len(rows)}")
    return parsed


def _check_digit_ok(party_kind: PartyKind, number: str) -> bool:
    """The check digit, computed independently of assetquery (python-stdnum)."""
    if len(number) != 18:
        return False
    if party_kind is PartyKind.PERSON:
        return number[:17].isdigit() and ric.calc_check_digit(number[:17] + "0") == number[17]
    return uscc.calc_check_digit(number[:17]) == number[17]


def _invisible(text: str) -> bool:
    return any(unicodedata.category(c) in ("Cc", "Cf") for c in text)


def judge(outcome: Parsed | BatchInputError, name_sources: Mapping[int, object] = {}) -> None:
    """Raise Violation unless every row became a sound request or a named rejection.

    ``name_sources`` maps a line to the value the name cell was written with (JSONL, XLSX),
    to tell whether an accepted name was text to begin with.
    """
    if isinstance(outcome, BatchInputError):
        if not str(outcome).strip():
            raise Violation("a BatchInputError without a message")
        return
    for row, result in outcome:
        raw_id = row.fields.get("id_number", "")
        if isinstance(result, Rejection):
            if result.line != row.line or not result.field or not result.reason.strip():
                raise Violation(f"line {row.line}: an unhelpful rejection {result!r}")
            number = compact(raw_id)
            if len(number) >= 15 and re.search(
                rf"(?<![0-9A-Z]){re.escape(number)}(?![0-9A-Z])", result.reason
            ):
                raise Violation(f"line {row.line}: the reason repeats the ID number: {result}")
            continue
        if not isinstance(result, LookupRequest):
            raise Violation(f"line {row.line}: parse_row gave a {type(result).__name__}")
        party = result.party
        if result.reference != f"line {row.line}":
            raise Violation(f"line {row.line}: a request referring to {result.reference!r}")
        if party.id_number != compact(raw_id) or not _check_digit_ok(party.kind, party.id_number):
            raise Violation(f"line {row.line}: a request for an ID that fails its check digit")
        if not party.name.strip():
            raise Violation(f"line {row.line}: a request without a name")
        source = name_sources.get(row.line, "")
        if not isinstance(source, str):
            raise Violation(
                f"line {row.line}: a {type(source).__name__} became the name {party.name!r}"
            )
        if _invisible(party.name):
            raise Violation(f"line {row.line}: accepted the name {party.name!r}")


def check(path: Path, name_sources: Mapping[int, object] = {}) -> None:
    """The property, strictly."""
    try:
        outcome = read(path)
    except Violation:
        raise
    except Exception as error:
        raise Violation(f"{path.name}: {type(error).__name__} escaped: {error!r}"[:500]) from error
    if currently_in_test_context():
        kinds = (
            ["error"]
            if isinstance(outcome, BatchInputError)
            else [type(result).__name__ for _, result in outcome]
        )
        event(f"outcome: {'+'.join(sorted(set(kinds))) or 'no rows'}")
    judge(outcome, name_sources)


def write(folder: Path, suffix: str, content: bytes) -> Path:
    path = folder / f"batch{suffix}"
    path.write_bytes(content)
    return path


# --- cells ----------------------------------------------------------------------------------------

VALID_CASES = ["（2024）甘0191执1234号", "(2024)甘0191執77號", "（2024）甘0191执保3号"]


def almost_ids() -> st.SearchStrategy[str]:
    """ID numbers a clerk mistypes: wrong check digit, one digit short or long, separators,
    lower-case x, full-width digits, 15-digit first-generation numbers."""
    valid = resident_ids() | uscc_codes()
    return st.one_of(
        valid,
        valid.map(lambda n: n[:17] + ("0" if n[17] != "0" else "1")),
        valid.map(lambda n: n[:-1]),
        valid.map(lambda n: n + "1"),
        valid.map(lambda n: f" {n[:6]}-{n[6:14]} {n[14:]} "),
        valid.map(str.lower),
        valid.map(lambda n: n.translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})),
        st.text("0123456789", min_size=15, max_size=15),
        hostile_text(max_size=20),
    )


NAMES = st.sampled_from(["张三", "兰州示例商贸有限公司", "  张 三  ", "x" * 201]) | hostile_text(
    max_size=30
)
CLAIMS = st.sampled_from(
    ["150,000.00元", "", "0", "-5", "NaN", "-Infinity", "sNaN", "1_000", "１２３", "¥12", "1e30"]
) | hostile_text(max_size=12)
KINDS = st.sampled_from(["", "person", "organization", "个人", "单位", "PERSON", "robot"])
FREE_TEXT = st.sampled_from(["", "李承办", " "]) | hostile_text(max_size=20)
CELLS: dict[str, st.SearchStrategy[str]] = {
    "name": NAMES,
    "id_number": almost_ids(),
    "case_number": st.sampled_from(VALID_CASES) | hostile_text(max_size=20),
    "claim_amount": CLAIMS,
    "court": FREE_TEXT,
    "operator": FREE_TEXT,
    "kind": KINDS | hostile_text(max_size=6),
}
HUGE_CELLS = st.sampled_from(["x" * 200_000, "张" * (1 << 20), "\x00" * 1000, '"' * 1000])


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if 0x21 <= ord(c) <= 0x7E else c for c in text)


@st.composite
def header_cell(draw: st.DrawFn, column: str) -> str:
    """An accepted header for ``column`` as clerks type it: any case, width, padding."""
    alias = draw(st.sampled_from(COLUMN_ALIASES[column]))
    alias = draw(st.sampled_from([alias, alias.upper(), alias.title(), alias.replace("_", " ")]))
    if draw(st.booleans()):
        alias = _full_width(alias)
    pad = st.sampled_from(["", " ", "\u3000", "\t", "\ufeff"])
    return draw(pad) + alias + draw(pad)


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    """A header and rows: required columns usually present, extra and unknown columns."""
    columns = [c for c in COLUMN_ALIASES if draw(st.integers(0, 9)) > (0 if c in
               ("name", "id_number", "case_number") else 4)]  # fmt: skip
    columns += draw(st.lists(st.sampled_from(["备注", "", "name"]), max_size=2))
    columns = draw(st.permutations(columns))
    header = [draw(header_cell(c)) if c in COLUMN_ALIASES else c for c in columns]
    rows = []
    for _ in range(draw(st.integers(0, 5))):
        row = [draw(CELLS[c]) if c in CELLS else draw(hostile_text()) for c in columns]
        if draw(st.integers(0, 30)) == 0:
            row[draw(st.integers(0, len(row) - 1)) if row else 0 :] = [draw(HUGE_CELLS)]
        if draw(st.integers(0, 20)) == 0:
            row += [""] * draw(st.sampled_from([1000, 5000]))  # thousands of columns
        rows.append(row[: len(row)] if draw(st.integers(0, 5)) else row[:-1])
    return header, rows


CSV_ENCODINGS = ["utf-8", "utf-8-sig", "gbk", "gb18030", "mixed"]


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    header, rows = draw(tables())
    buffer = io.StringIO(newline="")
    delimiter = draw(st.sampled_from([",", ",", "\t"]))
    ending = draw(st.sampled_from(["\r\n", "\n", "\r"]))
    if draw(st.integers(0, 4)):
        writer = csv.writer(
            buffer,
            delimiter=delimiter,
            lineterminator=ending,
            quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])),
        )
        writer.writerows([header, *rows])
    else:  # no quoting at all: embedded delimiters, quotes and newlines break the structure
        buffer.write(ending.join(delimiter.join(line) for line in [header, *rows]))
    text = buffer.getvalue()
    encoding = draw(st.sampled_from(CSV_ENCODINGS))
    if encoding == "mixed":  # one file, two encodings: UTF-8 head, GBK tail
        cut = draw(st.integers(0, len(text)))
        return text[:cut].encode("utf-8", "surrogatepass") + text[cut:].encode("gbk", "replace")
    errors = "surrogatepass" if encoding.startswith("utf") else "replace"
    return text.encode(encoding, errors)


# --- CSV and arbitrary bytes ----------------------------------------------------------------------

SUFFIXES = [".csv", ".tsv", ".txt", ".jsonl", ".ndjson", ".xlsx", ".CSV", ".xls", ""]
RUN = settings(deadline=None, max_examples=100)


@RUN
@given(
    suffix=st.sampled_from(SUFFIXES),
    content=st.binary(max_size=3000)
    | st.binary(max_size=500).map(lambda b: b"PK\x03\x04" + b)
    | st.binary(max_size=500).map(lambda b: "姓名,证件号码,案号\n".encode() + b),
)
def test_arbitrary_bytes_under_every_suffix(folder: Path, suffix: str, content: bytes) -> None:
    """Any bytes, under every accepted suffix and some refused ones: rows or BatchInputError."""
    check(write(folder, suffix, content))


@settings(RUN, max_examples=150)
@given(content=csv_files(), suffix=st.sampled_from([".csv", ".tsv", ".txt"]))
def test_hostile_csv(folder: Path, content: bytes, suffix: str) -> None:
    """Realistic CSV tables with hostile headers and cells, every line ending, every
    supported encoding and a UTF-8/GBK mix: only requests with valid IDs, or rejections."""
    check(write(folder, suffix, content))


@settings(RUN, max_examples=40)
@given(
    table=tables(),
    encoding=st.sampled_from(["utf-16", "utf-16-le", "utf-16-be", "utf-32"]),
    ascii_headers=st.booleans(),
)
def test_utf16_is_refused_not_misread(
    folder: Path, table: tuple[list[str], list[list[str]]], encoding: str, ascii_headers: bool
) -> None:
    """UTF-16 (Excel's "Unicode text") is not supported: the file is refused with a
    BatchInputError, never read as rows, whatever it holds."""
    header, rows = table
    if ascii_headers:
        header = [h.strip() for h in ("name", "id_number", "case_number")]
    text = "\r\n".join(",".join(line) for line in [header, *rows])
    path = write(folder, ".csv", text.encode(encoding, "surrogatepass"))
    outcome = read(path)
    assert isinstance(outcome, BatchInputError), f"{encoding} read as {len(outcome)} rows"


# --- JSONL ----------------------------------------------------------------------------------------

JSON_KEYS = st.sampled_from([a for aliases in COLUMN_ALIASES.values() for a in aliases]) | (
    hostile_text(max_size=8)
)


@st.composite
def jsonl_files(draw: st.DrawFn) -> tuple[bytes, dict[int, object]]:
    """Lines of JSON objects with hostile values, and lines that are not objects at all.
    Also returns, per line, what the record's name was (to tell text from other values)."""
    lines: list[bytes] = []
    names: dict[int, object] = {}
    for number in range(1, draw(st.integers(1, 5)) + 1):
        kind = draw(st.sampled_from(["record", "record", "record", "raw", "bytes", "blank"]))
        if kind == "record":
            record: dict[str, Any] = {
                column: draw(CELLS[column] | json_values(max_leaves=3))
                for column in ("name", "id_number", "case_number", "claim_amount", "operator")
                if draw(st.integers(0, 9))
            }
            record |= draw(st.dictionaries(JSON_KEYS, json_values(max_leaves=3), max_size=2))
            names[number] = record.get("name", "")
            text = json.dumps(record, ensure_ascii=draw(st.booleans()), allow_nan=True)
            lines.append(text.encode("utf-8", "surrogatepass"))
        elif kind == "raw":
            lines.append(draw(st.sampled_from(RAW_JSON_TOKENS)).encode())
        elif kind == "bytes":
            lines.append(draw(st.binary(max_size=60)).replace(b"\n", b""))
        else:
            lines.append(draw(st.sampled_from([b"", b"  ", b"\r", b"\xef\xbb\xbf"])))
    ending = draw(st.sampled_from([b"\n", b"\r\n"]))
    bom = draw(st.sampled_from([b"", b"\xef\xbb\xbf"]))
    return bom + ending.join(lines), names


@settings(RUN, max_examples=120)
@given(generated=jsonl_files(), suffix=st.sampled_from([".jsonl", ".ndjson"]))
def test_hostile_jsonl(
    folder: Path, generated: tuple[bytes, dict[int, object]], suffix: str
) -> None:
    """JSONL with objects of any values, 100 000-deep nesting, 5000-digit numbers, NaN,
    non-objects, invalid UTF-8 and BOMs: a rejection per bad line, requests only for good ones."""
    content, names = generated
    check(write(folder, suffix, content), names)


# --- XLSX -----------------------------------------------------------------------------------------

# openpyxl refuses control characters in cells; lone surrogates cannot be written
CELL_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30)
CELL_VALUES = st.one_of(
    st.none(),
    CELL_TEXT,
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False),
    st.decimals(allow_nan=False, allow_infinity=False, places=2, max_value=10**12, min_value=-1),
    st.booleans(),
    st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(9999, 1, 1)),
    st.dates(min_value=date(1900, 3, 1)),
    st.times(),
    st.sampled_from(["=1+1", "=A1", "=SUM(A1:A9)", "x" * 32767, "", " "]),
)


@st.composite
def workbooks(draw: st.DrawFn) -> tuple[bytes, dict[int, object]]:
    """A workbook from hypothesis data: blank rows before the header (or no header, or an
    empty sheet), then rows of any cell type. Returns, per row, the name cell's value."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    names: dict[int, object] = {}
    if draw(st.integers(0, 9)):
        for _ in range(draw(st.integers(0, 3))):
            sheet.append(draw(st.sampled_from([[], [None, None], ["", " "]])))
        columns = draw(
            st.permutations(["name", "id_number", "case_number", "claim_amount", "operator"])
        )
        sheet.append([draw(st.sampled_from(COLUMN_ALIASES[c])) for c in columns])
        for _ in range(draw(st.integers(0, 4))):
            values = [
                draw(st.sampled_from(VALID_CASES) | CELL_VALUES)
                if column == "case_number"
                else draw((resident_ids() | uscc_codes()) | CELL_VALUES)
                if column == "id_number"
                else draw(st.just("张三") | CELL_VALUES)
                for column in columns
            ]
            sheet.append(values)
            names[sheet.max_row] = values[columns.index("name")]
    if draw(st.integers(0, 4)) == 0:
        book.create_sheet("second").append(["姓名", "证件号码", "案号"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue(), names


@settings(RUN, max_examples=50)
@given(generated=workbooks())
def test_hostile_xlsx_contents(folder: Path, generated: tuple[bytes, dict[int, object]]) -> None:
    """Workbooks with numbers, dates, times, booleans, formulas, 32 767-character strings and
    blanks in every column, the header further down, or no header: requests only for
    text IDs that pass their check digit (an ID typed as a number is rejected)."""
    content, names = generated
    check(write(folder, ".xlsx", content), names)


@functools.cache
def valid_workbook() -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["姓名", "证件号码", "案号", "执行标的", "承办人"])
    sheet.append(["张三", "110105199003071239", VALID_CASES[0], 1500.5, "李承办"])
    sheet.append(["李四", 110105199003071230, VALID_CASES[1], "lots", "李承办"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def rebuild(workbook: bytes, edit: Callable[[str, bytes], bytes | None]) -> bytes:
    """``workbook`` with every part passed through ``edit`` (None drops the part)."""
    source = zipfile.ZipFile(io.BytesIO(workbook))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for name in source.namelist():
            data = edit(name, source.read(name))
            if data is not None:
                target.writestr(name, data)
    return buffer.getvalue()


ENTITY_BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
)


@st.composite
def corrupt_workbooks(draw: st.DrawFn) -> bytes:
    """The valid workbook with one part damaged, dropped or replaced, or the whole file cut."""
    workbook = valid_workbook()
    if draw(st.integers(0, 4)) == 0:
        at = draw(st.integers(0, len(workbook)))
        return workbook[:at] + draw(st.binary(max_size=20)) + workbook[at + 1 :]
    names = zipfile.ZipFile(io.BytesIO(workbook)).namelist()
    target = draw(st.sampled_from(names))
    damage = draw(st.sampled_from(["truncate", "drop", "garbage", "bomb", "flip"]))
    cut = draw(st.floats(0, 1))
    junk = draw(st.binary(max_size=50))

    def edit(name: str, data: bytes) -> bytes | None:
        if name != target:
            return data
        if damage == "truncate":
            return data[: int(len(data) * cut)]
        if damage == "drop":
            return None
        if damage == "garbage":
            return junk
        if damage == "bomb":
            return ENTITY_BOMB + data.split(b"?>", 1)[-1].replace(b"<v>", b"<v>&c;", 1)
        at = int((len(data) - 1) * cut)
        return data[:at] + bytes([data[at] ^ 0x20]) + data[at + 1 :] if data else data

    return rebuild(workbook, edit)


@settings(RUN, max_examples=60)
@given(content=corrupt_workbooks())
def test_corrupt_xlsx(folder: Path, content: bytes) -> None:
    """A workbook with a part truncated, dropped, replaced by garbage or an entity bomb, or
    a byte flipped: a BatchInputError ("not a readable .xlsx workbook"), never a crash."""
    check(write(folder, ".xlsx", content))


# --- regressions: the minimal inputs that once broke the reader ---------------------------------

HEADER = "姓名,证件号码,案号,执行标的,承办人\r\n"
ROW = "张三,110105199003071239,（2024）甘0191执1234号,{claim},李承办\r\n"
REGRESSION = settings(database=None)


def check_file(folder: Path, suffix: str, content: bytes, names: Mapping[int, object] = {}) -> None:
    check(write(folder, suffix, content), names)


def _jsonl(**record: Any) -> bytes:
    base = {"name": "张三", "id_number": "110105199003071239", "case_number": VALID_CASES[0]}
    return json.dumps(base | record, ensure_ascii=False).encode()


def _workbook(name: object = "张三", claim: object = None) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["姓名", "证件号码", "案号", "执行标的"])
    sheet.append([name, "110105199003071239", VALID_CASES[0], claim])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _sheet_edit(edit: Callable[[bytes], bytes | None]) -> bytes:
    return rebuild(
        valid_workbook(), lambda name, data: edit(data) if name.endswith("sheet1.xml") else data
    )


@REGRESSION
@example(suffix=".csv", content=(HEADER + ROW.format(claim="1e30")).encode())
@example(suffix=".csv", content=(HEADER + ROW.format(claim="9" * 27)).encode())
@example(suffix=".jsonl", content=_jsonl(claim_amount=1e300, operator="李"))
@example(suffix=".xlsx", content=_workbook(claim=1e30))
@given(suffix=st.just(".csv"), content=st.just((HEADER + ROW.format(claim="1e30")).encode()))
def test_b1_claim_beyond_decimal_precision(folder: Path, suffix: str, content: bytes) -> None:
    """A claim past what Money holds ("1e30", 27 nines, 1e300) is a rejection of that row's
    claim_amount, not decimal.InvalidOperation stopping the whole batch."""
    check_file(folder, suffix, content)


@REGRESSION
@example(content=_sheet_edit(lambda data: data[: len(data) // 2]))  # ParseError
@example(content=_sheet_edit(lambda data: None))  # IndexError: no worksheet
@example(content=_sheet_edit(lambda data: data.replace(b'r="A1"', b'r="ZZZZ1"')))  # ValueError
@given(content=st.just(_sheet_edit(lambda data: data[: len(data) // 2])))
def test_b2_damaged_worksheet_escapes(folder: Path, content: bytes) -> None:
    """A worksheet part that is truncated, missing or names a cell past column XFD is a
    BatchInputError, although openpyxl only parses it while the rows are read."""
    check_file(folder, ".xlsx", content)


@REGRESSION
@example(suffix=".jsonl", content=_jsonl(name=["张三"], operator="李"), names={1: ["张三"]})
@example(suffix=".jsonl", content=_jsonl(name=True, operator="李"), names={1: True})
@example(suffix=".jsonl", content=_jsonl(name={"a": 1}, operator="李"), names={1: {"a": 1}})
@example(
    suffix=".xlsx",
    content=_workbook(name=datetime(2024, 1, 1)),
    names={2: datetime(2024, 1, 1)},
)
@given(
    suffix=st.just(".jsonl"),
    content=st.just(_jsonl(name=["张三"], operator="李")),
    names=st.just({1: ["张三"]}),
)
def test_b3_name_that_is_not_text(
    folder: Path, suffix: str, content: bytes, names: dict[int, object]
) -> None:
    """A name that is not text (a JSON list, bool or object, a spreadsheet date) is a
    rejection, not a lookup for "['张三']" or "True"."""
    check_file(folder, suffix, content, names)


@REGRESSION
@example(content=(HEADER + ROW.format(claim="1").replace("张三", "\ufeff张三")).encode())
@example(content=(HEADER + ROW.format(claim="1").replace("张三", "张\u200b三")).encode())
@example(content=(HEADER + ROW.format(claim="1").replace("张三", "张\x00三")).encode())
@given(content=st.just((HEADER + ROW.format(claim="1").replace("张三", "\ufeff张三")).encode()))
def test_b4_invisible_characters_in_names(folder: Path, content: bytes) -> None:
    """A BOM or zero-width space inside a name is dropped and a NUL refused: institutions
    match names exactly."""
    check_file(folder, ".csv", content)
