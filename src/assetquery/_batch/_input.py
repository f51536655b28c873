"""Reading a clerk's batch file: CSV (UTF-8, UTF-8 with BOM, GBK), XLSX or JSONL.

Rows are read lazily, one at a time, so a file of any size costs the same memory. Each row
becomes a ``LookupRequest`` or a ``Rejection`` naming its line and the reason; a
rejected row never stops the batch. A file that cannot be read at all (unknown format,
missing columns) raises ``BatchInputError`` before anything is looked up.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .._errors import BatchInputError, InvalidInput
from .._models import Case, LookupRequest, Party

__all__ = [
    "COLUMN_ALIASES",
    "BatchInputError",
    "RawRow",
    "Rejection",
    "RowDefaults",
    "count_rows",
    "parse_row",
    "read_rows",
    "sniff_encoding",
]


#: Canonical column → the headers accepted for it (English and the ones clerks use).
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name", "姓名", "名称", "被执行人", "被执行人姓名", "被执行人名称", "当事人"),
    "id_number": (
        "id_number",
        "证件号码",
        "证件号",
        "身份证号",
        "身份证号码",
        "统一社会信用代码",
        "证照号码",
    ),
    "case_number": ("case_number", "案号", "执行案号"),
    "claim_amount": ("claim_amount", "执行标的", "标的金额", "执行标的金额", "申请执行标的"),
    "court": ("court", "法院", "执行法院"),
    "operator": ("operator", "承办人", "经办人", "承办法官"),
    "kind": ("kind", "类型", "当事人类型"),
}
_REQUIRED = ("name", "id_number", "case_number")
_KIND_WORDS = {
    "person": "person",
    "个人": "person",
    "自然人": "person",
    "organization": "organization",
    "单位": "organization",
    "企业": "organization",
    "法人": "organization",
    "组织": "organization",
}


def _header_key(header: str) -> str:
    return unicodedata.normalize("NFKC", header).strip().strip("\ufeff").lower().replace(" ", "_")


_ALIAS_INDEX = {
    _header_key(a): column for column, aliases in COLUMN_ALIASES.items() for a in aliases
}


@dataclass(frozen=True, slots=True)
class RawRow:
    """One row as read: its line in the file and its cells by canonical column."""

    line: int
    fields: Mapping[str, str]

    @property
    def blank(self) -> bool:
        return not any(value.strip() for value in self.fields.values())


@dataclass(frozen=True, slots=True)
class Rejection:
    line: int
    field: str
    reason: str


@dataclass(frozen=True, slots=True)
class RowDefaults:
    """Values for rows that leave them out (from the command line, environment or config)."""

    court: str | None = None
    operator: str | None = None


def _columns(headers: list[str], source: Path) -> list[str | None]:
    mapped = [_ALIAS_INDEX.get(_header_key(h)) for h in headers]
    missing = [c for c in _REQUIRED if c not in mapped]
    if missing:
        accepted = "; ".join(f"{c}: {', '.join(COLUMN_ALIASES[c])}" for c in missing)
        raise BatchInputError(
            f"{source}: missing column(s) {', '.join(missing)}. Accepted headers — {accepted}"
        )
    return mapped


def _cells(columns: list[str | None], values: list[Any]) -> dict[str, str]:
    cells: dict[str, str] = {}
    for column, value in zip(columns, values, strict=False):
        if column is not None and value is not None:
            cells[column] = value if isinstance(value, str) else _cell_text(column, value)
    return cells


_NUMBERS_ALLOWED = frozenset({"claim_amount"})


def _cell_text(column: str, value: Any) -> str:
    """A cell that is not text: a number where a number is fine, else a marked refusal.

    An ID typed as a number has lost digits in Excel; a date, a list or a true/false in a
    name column is a mistake, never something to turn into a name.
    """
    if column == "id_number" and isinstance(value, int | float) and not isinstance(value, bool):
        return f"\0number:{value}"
    if (
        column in _NUMBERS_ALLOWED
        and isinstance(value, int | float | Decimal)
        and not (isinstance(value, bool))
    ):
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)
    return f"\0type:{type(value).__name__}"


# --- CSV ----------------------------------------------------------------------------------


def sniff_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) when the start of the file decodes as such, else GBK."""
    with path.open("rb") as file:
        head = file.read(65536)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "gb18030"  # Excel's "CSV" on Chinese Windows is GBK; GB18030 is its superset
    return "utf-8"


def _read_csv(path: Path) -> Iterator[RawRow]:
    encoding = sniff_encoding(path)
    with path.open(encoding=encoding, newline="") as file:
        reader = csv.reader(file)
        try:
            first_line = file.readline()
            file.seek(0)
            # Excel's "Unicode text" export is tab-separated; plain CSV uses commas.
            delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
            reader = csv.reader(file, delimiter=delimiter)
            headers = next(reader, None)
            if headers is None:
                raise BatchInputError(f"{path}: the file is empty")
            columns = _columns(headers, path)
            for values in reader:
                if len(values) != len(headers) and any(v.strip() for v in values):
                    yield RawRow(reader.line_num, {"\0error": _cell_count(values, headers)})
                else:
                    yield RawRow(reader.line_num, _cells(columns, values))
        except UnicodeDecodeError:
            raise BatchInputError(
                f"{path}: near line {reader.line_num + 1} the text is not valid {encoding} "
                "(the file mixes encodings, or is not text); save it as UTF-8 or GBK CSV and "
                "rerun with --resume"
            ) from None
        except csv.Error as exc:
            raise BatchInputError(f"{path}: line {reader.line_num}: {exc}") from None


def _cell_count(values: list[str], headers: list[str]) -> str:
    """Why a row with the wrong number of cells is refused rather than read.

    An unquoted comma inside a cell (``150,000.00``) splits it in two and shifts or drops
    what follows: reading such a row would misread the claim, the ceiling every control obeys.
    """
    return (
        f"has {len(values)} cells but the header has {len(headers)}; a cell that contains a "
        'comma (such as an amount written 150,000.00) must be quoted ("150,000.00"), or save '
        "the sheet again from Excel as CSV"
    )


# --- XLSX ---------------------------------------------------------------------------------


def _read_xlsx(path: Path) -> Iterator[RawRow]:
    try:
        from openpyxl import load_workbook
    except ImportError:
        raise BatchInputError(
            "reading .xlsx needs the xlsx extra: pip install 'assetquery[xlsx]'"
        ) from None
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise BatchInputError(f"{path}: not a readable .xlsx workbook ({exc})") from None
    try:
        yield from _sheet_rows(workbook, path)
    except BatchInputError:
        raise
    except Exception as exc:  # openpyxl reads sheets lazily: damage shows up while iterating
        raise BatchInputError(
            f"{path}: the workbook is damaged ({type(exc).__name__}); save it again from Excel"
        ) from None
    finally:
        workbook.close()


def _sheet_rows(workbook: Any, path: Path) -> Iterator[RawRow]:
    if not workbook.worksheets:
        raise BatchInputError(f"{path}: the workbook has no sheet")
    rows = workbook.worksheets[0].iter_rows(values_only=True)
    columns: list[str | None] | None = None
    for number, values in enumerate(rows, start=1):
        if columns is None:
            if any(v is not None and str(v).strip() for v in values):
                columns = _columns([str(v or "") for v in values], path)
            continue
        yield RawRow(number, _cells(columns, list(values)))
    if columns is None:
        raise BatchInputError(f"{path}: the first sheet is empty")


# --- JSONL --------------------------------------------------------------------------------


def _read_jsonl(path: Path) -> Iterator[RawRow]:
    with path.open("rb") as file:
        for number, raw in enumerate(file, start=1):
            try:
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError:
                yield RawRow(number, {"\0error": "line is not UTF-8 text"})
                continue
            if not text.strip():
                yield RawRow(number, {})
                continue
            try:
                record = json.loads(text)
            except (ValueError, RecursionError):
                yield RawRow(number, {"\0error": "line is not valid JSON"})
                continue
            if not isinstance(record, dict):
                yield RawRow(number, {"\0error": "line is not a JSON object"})
                continue
            cells: dict[str, str] = {}
            for key, value in record.items():
                column = _ALIAS_INDEX.get(_header_key(str(key)))
                if column is not None and value is not None:
                    cells[column] = value if isinstance(value, str) else _cell_text(column, value)
            yield RawRow(number, cells)


_READERS = {
    ".csv": _read_csv,
    ".txt": _read_csv,
    ".tsv": _read_csv,
    ".xlsx": _read_xlsx,
    ".jsonl": _read_jsonl,
    ".ndjson": _read_jsonl,
}


def read_rows(path: Path) -> Iterator[RawRow]:
    """The rows of a batch file, lazily. Trailing blank rows (Excel leaves them) are dropped."""
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise BatchInputError(
            f"{path}: unknown file type {path.suffix or '(none)'}; use .csv, .xlsx or .jsonl"
        )
    if not path.is_file():
        raise BatchInputError(f"{path}: no such file")
    blanks: list[RawRow] = []
    for row in reader(path):
        if row.blank:
            blanks.append(row)
            continue
        yield from blanks
        blanks.clear()
        yield row


def count_rows(path: Path) -> int:
    """How many rows ``read_rows`` will yield (one cheap pass, for progress bars)."""
    return sum(1 for _ in read_rows(path))


# --- one row → one request ----------------------------------------------------------------


# How clerks write amounts: 150000, 150,000.00, ¥150,000.00, 150000元, 15万, 15万元, 1.5亿.
_CLAIM_SHAPE = re.compile(
    r"(?:¥|CNY|RMB)?(?P<number>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?P<unit>万|亿)?(?:元|CNY|RMB)?"
)
_CLAIM_UNITS = {None: Decimal(1), "万": Decimal(10_000), "亿": Decimal(100_000_000)}


def _claim(text: str) -> Decimal | None:
    cleaned = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).upper()
    if not cleaned:
        return None
    shape = _CLAIM_SHAPE.fullmatch(cleaned)
    if shape is None:
        raise InvalidInput(
            "claim_amount",
            f"{text!r} is not an amount of money; write it as 150000, 150,000.00, 150000元 or 15万",
        )
    try:
        amount = Decimal(shape["number"].replace(",", "")) * _CLAIM_UNITS[shape["unit"]]
    except InvalidOperation:
        raise InvalidInput("claim_amount", f"{text!r} is not an amount of money") from None
    if not amount.is_finite() or amount < 0:
        raise InvalidInput("claim_amount", f"{text!r} is not a non-negative amount")
    return amount


def parse_row(row: RawRow, defaults: RowDefaults) -> LookupRequest | Rejection:
    """Validate one row into a lookup request, or say exactly what is wrong with it."""
    if row.blank:
        return Rejection(row.line, "row", "the row is blank")
    if "\0error" in row.fields:
        return Rejection(row.line, "row", row.fields["\0error"])
    fields = row.fields
    for column, value in fields.items():
        if value.startswith("\0type:"):
            kind = value.removeprefix("\0type:")
            return Rejection(row.line, column, f"is a {kind}, not text; enter it as text")
    raw_id = fields.get("id_number", "")
    if raw_id.startswith("\0number:"):
        return Rejection(
            row.line,
            "id_number",
            "is stored as a number, and Excel keeps only 15 significant digits; format the "
            "column as text and type the number again",
        )
    operator = fields.get("operator", "").strip() or defaults.operator
    if not operator:
        return Rejection(
            row.line,
            "operator",
            "is missing: fill the operator (承办人) column, or pass --operator or set "
            "ASSETQUERY_OPERATOR",
        )
    try:
        kind = fields.get("kind", "").strip()
        party = Party.parse(
            fields.get("name", ""), raw_id, _KIND_WORDS.get(kind.lower(), kind) or None
        )
        case = Case(
            number=fields.get("case_number", ""),
            court=fields.get("court", "").strip() or defaults.court,
            operator=operator,
            claim=_claim(fields.get("claim_amount", "")),
        )
    except InvalidInput as exc:
        return Rejection(row.line, exc.field, exc.reason)
    except ValidationError as exc:
        return Rejection(row.line, *_first_problem(exc))
    return LookupRequest(party, case, reference=f"line {row.line}")


def _first_problem(exc: ValidationError) -> tuple[str, str]:
    first = exc.errors()[0]
    message = str(first["msg"]).removeprefix("Value error, ")
    # Our validators say "field: reason"; pydantic's own messages do not name the field.
    field, separator, reason = message.partition(": ")
    if separator and re.fullmatch(r"[a-z_.]+", field):
        return field, reason
    return ".".join(str(part) for part in first["loc"]) or "row", message
