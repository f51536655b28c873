"""Case closures from the court's case system: how each case ended, and what it recovered.

The store knows what was looked up, frozen and deducted online; it cannot know how a case
was closed, nor what was recovered by auction or paid directly. The court's official
indicators need both, so they are imported from a CSV (UTF-8, UTF-8 with BOM, or GBK)
with these columns (English or Chinese headers):

=====================  ===================  ==========================================
column                 also accepted        meaning
=====================  ===================  ==========================================
``case_number``        案号                 the case, in any accepted spelling
``closed_on``          结案日期             2026-11-30, 2026/11/30 or 2026年11月30日
``manner``             结案方式             see ``ClosureManner`` (Chinese or English)
``applied_amount``     申请执行标的         optional: the amount applied for; default
                                            the claim the store holds for the case
``recovered_outside``  其他到位金额         optional: recovered other than by online
                                            deduction (auction, direct payment); 0
``court``              法院                 optional
=====================  ===================  ==========================================

A bad row is refused with its line number and the reason; the good rows are imported.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path

from .._batch._input import BatchInputError, Rejection, sniff_encoding
from .._errors import InvalidInput
from .._money import Money
from ..store import Closure
from ._read import canonical_case

__all__ = ["CLOSURE_COLUMNS", "ClosureManner", "ClosureRead", "read_closures"]


class ClosureManner(StrEnum):
    """How an enforcement case is closed (结案方式), as the SPC's statistics name them."""

    COMPLETED = "completed"  # 执行完毕
    TERMINATED_THIS_ROUND = "terminated_this_round"  # 终结本次执行程序 (终本)
    TERMINATED = "terminated"  # 终结执行
    NOT_ENFORCED = "not_enforced"  # 不予执行
    WITHDRAWN = "withdrawn"  # 销案
    REJECTED = "rejected"  # 驳回申请

    @property
    def chinese(self) -> str:
        return _CHINESE[self]


_CHINESE = {
    ClosureManner.COMPLETED: "执行完毕",
    ClosureManner.TERMINATED_THIS_ROUND: "终结本次执行程序",
    ClosureManner.TERMINATED: "终结执行",
    ClosureManner.NOT_ENFORCED: "不予执行",
    ClosureManner.WITHDRAWN: "销案",
    ClosureManner.REJECTED: "驳回申请",
}
_MANNERS = {
    **{m.value: m for m in ClosureManner},
    **{chinese: m for m, chinese in _CHINESE.items()},
    "终本": ClosureManner.TERMINATED_THIS_ROUND,
}

#: canonical column → the headers accepted for it
CLOSURE_COLUMNS: dict[str, tuple[str, ...]] = {
    "case_number": ("case_number", "案号", "执行案号"),
    "closed_on": ("closed_on", "结案日期", "结案时间"),
    "manner": ("manner", "结案方式"),
    "applied_amount": ("applied_amount", "申请执行标的", "申请执行标的金额", "执行标的"),
    "recovered_outside": ("recovered_outside", "其他到位金额", "其他方式到位金额"),
    "court": ("court", "法院", "执行法院"),
}
_REQUIRED = ("case_number", "closed_on", "manner")


def _key(header: str) -> str:
    return unicodedata.normalize("NFKC", header).strip().strip("\ufeff").lower().replace(" ", "_")


_INDEX = {_key(alias): column for column, aliases in CLOSURE_COLUMNS.items() for alias in aliases}
_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")


@dataclass(frozen=True, slots=True)
class ClosureRead:
    """A row of the file: the closure it gives, or why it was refused."""

    line: int
    closure: Closure | Rejection


def _date(text: str, line: int) -> date | Rejection:
    match = _DATE.match(unicodedata.normalize("NFKC", text).strip())
    if match:
        try:
            return date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            pass
    return Rejection(line, "closed_on", f"{text!r} is not a date like 2026-11-30")


def _amount(text: str, column: str, line: int) -> Money | Rejection | None:
    cleaned = unicodedata.normalize("NFKC", text).strip().replace(",", "").removesuffix("元")
    if not cleaned:
        return None
    try:
        money = Money(cleaned)
    except ValueError:
        return Rejection(line, column, f"{text!r} is not an amount in yuan like 12345.67")
    if money.amount < 0:
        return Rejection(line, column, f"{text!r} is negative")
    return money


def _closure(line: int, cells: dict[str, str]) -> Closure | Rejection:
    for column in _REQUIRED:
        if not cells.get(column, "").strip():
            return Rejection(line, column, "is empty")
    try:
        number = canonical_case(cells["case_number"])
    except InvalidInput as error:
        return Rejection(line, "case_number", error.reason)
    closed_on = _date(cells["closed_on"], line)
    if isinstance(closed_on, Rejection):
        return closed_on
    manner = _MANNERS.get(cells["manner"].strip().lower()) or _MANNERS.get(cells["manner"].strip())
    if manner is None:
        known = "、".join(_CHINESE.values())
        return Rejection(line, "manner", f"{cells['manner']!r} is not a manner of closing: {known}")
    applied = _amount(cells.get("applied_amount", ""), "applied_amount", line)
    outside = _amount(cells.get("recovered_outside", ""), "recovered_outside", line)
    for value in (applied, outside):
        if isinstance(value, Rejection):
            return value
    assert not isinstance(applied, Rejection)
    assert not isinstance(outside, Rejection)
    return Closure(
        case_number=number,
        closed_on=closed_on,
        manner=manner.value,
        applied=applied,
        recovered_outside=outside or Money(0),
        court=cells.get("court", "").strip() or None,
    )


def read_closures(path: Path) -> Iterator[ClosureRead]:
    """Every row of a closures CSV, read or refused. A file without the required columns,
    or that is not a CSV, raises ``BatchInputError`` before any row is read."""
    if path.suffix.lower() != ".csv":
        raise BatchInputError(f"{path}: closures are imported from a .csv file")
    if not path.is_file():
        raise BatchInputError(f"{path}: no such file")
    encoding = sniff_encoding(path)
    with path.open(encoding=encoding, newline="") as file:
        reader = csv.reader(file)
        headers = next(reader, None)
        if headers is None:
            raise BatchInputError(f"{path}: the file is empty")
        columns = [_INDEX.get(_key(h)) for h in headers]
        missing = [c for c in _REQUIRED if c not in columns]
        if missing:
            accepted = "; ".join(f"{c}: {', '.join(CLOSURE_COLUMNS[c])}" for c in missing)
            raise BatchInputError(
                f"{path}: missing column(s) {', '.join(missing)}. Accepted headers — {accepted}"
            )
        seen: dict[str, int] = {}
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            line = reader.line_num
            if len(values) != len(headers):
                yield ClosureRead(
                    line,
                    Rejection(
                        line,
                        "row",
                        f"has {len(values)} cells but the header has {len(headers)}; quote a "
                        'cell that holds a comma ("150,000.00")',
                    ),
                )
                continue
            cells = {c: v for c, v in zip(columns, values, strict=True) if c is not None}
            closure = _closure(line, cells)
            if isinstance(closure, Closure):
                if closure.case_number in seen:
                    closure = Rejection(
                        line, "case_number", f"same case as line {seen[closure.case_number]}"
                    )
                else:
                    seen[closure.case_number] = line
            yield ClosureRead(line, closure)
