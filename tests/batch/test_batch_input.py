"""Batch files as clerks make them: CSV in UTF-8 / BOM / GBK, XLSX, JSONL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assetquery import LookupRequest, Money
from assetquery._batch._input import (
    BatchInputError,
    RawRow,
    Rejection,
    RowDefaults,
    count_rows,
    parse_row,
    read_rows,
)

HEADER_CN = "姓名,证件号码,案号,执行标的,承办人\n"
GOOD = '张三,110105199003071239,（2024）甘0191执1234号,"150,000.00元",李承办\n'
ORG = "兰州示例商贸有限公司,911100007109288314,(2024)甘0191執77號,,\n"
BAD_DIGIT = "李四,110105199003071238,（2024）甘0191执1235号,100,李承办\n"


def parsed(path: Path, defaults: RowDefaults | None = None) -> list[LookupRequest | Rejection]:
    return [parse_row(row, defaults or RowDefaults()) for row in read_rows(path)]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_in_every_encoding_excel_writes(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "parties.csv"
    path.write_text(HEADER_CN + GOOD + ORG, encoding=encoding)
    rows = parsed(path, RowDefaults(operator="默认承办人", court="兰州新区人民法院"))
    first, second = rows
    assert isinstance(first, LookupRequest) and isinstance(second, LookupRequest)
    assert first.party.name == "张三" and first.case.claim == Money("150000")
    assert first.case.operator == "李承办" and first.case.court == "兰州新区人民法院"
    assert first.reference == "line 2"
    assert second.party.kind.value == "organization"
    assert second.case.number == "（2024）甘0191执77号" and second.case.operator == "默认承办人"


def test_rejections_name_line_field_and_reason(tmp_path: Path) -> None:
    path = tmp_path / "parties.csv"
    path.write_text(
        HEADER_CN
        + GOOD
        + BAD_DIGIT
        + ",,,,\n"
        + "王五,110105199003071239,民初12号,1,李\n"
        + "赵六,110105199003071239,（2024）甘0191执9号,lots,李\n"
        + ",,,,\n,,,,\n",
        encoding="gbk",
    )
    rows = parsed(path)
    assert isinstance(rows[0], LookupRequest)
    assert rows[1] == Rejection(
        3, "id_number", "check digit is 8 but the number requires 9; mistyped?"
    )
    assert rows[2] == Rejection(4, "row", "the row is blank")
    assert isinstance(rows[3], Rejection) and rows[3].field == "case.number"
    assert "is not a case number" in rows[3].reason
    assert isinstance(rows[4], Rejection) and rows[4].field == "claim_amount"
    assert len(rows) == 5  # the two trailing blank rows Excel leaves are not rows


def test_missing_operator_says_where_to_give_one(tmp_path: Path) -> None:
    path = tmp_path / "parties.csv"
    path.write_text(
        "name,id_number,case_number\n张三,110105199003071239,（2024）甘0191执1号\n",
        encoding="utf-8",
    )
    (row,) = parsed(path)
    assert isinstance(row, Rejection) and row.field == "operator"
    assert "--operator" in row.reason and "ASSETQUERY_OPERATOR" in row.reason


def test_missing_columns_fail_the_file_before_anything_runs(tmp_path: Path) -> None:
    path = tmp_path / "parties.csv"
    path.write_text("姓名,电话\n张三,123\n", encoding="utf-8")
    with pytest.raises(BatchInputError, match=r"missing column\(s\) id_number, case_number"):
        list(read_rows(path))


def test_unknown_type_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BatchInputError, match=r"use \.csv, \.xlsx or \.jsonl"):
        list(read_rows(tmp_path / "parties.doc"))
    with pytest.raises(BatchInputError, match="no such file"):
        list(read_rows(tmp_path / "parties.csv"))


def test_tab_separated(tmp_path: Path) -> None:
    path = tmp_path / "parties.tsv"
    path.write_text(
        HEADER_CN.replace(",", "\t") + GOOD.replace(",", "\t").replace('"150\t000.00元"', "1"),
        encoding="utf-8",
    )
    (row,) = parsed(path)
    assert isinstance(row, LookupRequest)


def test_xlsx_including_an_id_typed_as_a_number(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append([])
    sheet.append(["姓名", "身份证号", "案号", "标的金额", "承办人"])
    sheet.append(["张三", "110105199003071239", "（2024）甘0191执1234号", 1500.5, "李承办"])
    sheet.append(["李四", 110105199003071230, "（2024）甘0191执1235号", 10, "李承办"])
    path = tmp_path / "parties.xlsx"
    book.save(path)

    first, second = parsed(path)
    assert isinstance(first, LookupRequest) and first.case.claim == Money("1500.50")
    assert first.reference == "line 3"
    assert isinstance(second, Rejection) and second.field == "id_number"
    assert "format the column as text" in second.reason


def test_jsonl_with_broken_lines(tmp_path: Path) -> None:
    path = tmp_path / "parties.jsonl"
    lines = [
        json.dumps(
            {
                "name": "张三",
                "id_number": "110105199003071239",
                "case_number": "（2024）甘0191执1234号",
                "operator": "李",
                "claim_amount": 12,
            }
        ),
        "{not json",
        "[1, 2]",
        json.dumps(
            {
                "姓名": "兰州示例商贸有限公司",
                "统一社会信用代码": "911100007109288314",
                "案号": "（2024）甘0191执77号",
                "承办人": "李",
            },
            ensure_ascii=False,
        ),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows = parsed(path)
    assert isinstance(rows[0], LookupRequest) and rows[0].case.claim == Money(12)
    assert rows[1] == Rejection(2, "row", "line is not valid JSON")
    assert rows[2] == Rejection(3, "row", "line is not a JSON object")
    assert isinstance(rows[3], LookupRequest)
    assert count_rows(path) == 4


def test_a_file_that_changes_encoding_midway_is_named(tmp_path: Path) -> None:
    path = tmp_path / "parties.csv"
    filler = "".join(
        f"张三,110105199003071239,（2024）甘0191执{n}号,1,李\n" for n in range(1, 3000)
    )
    path.write_bytes(HEADER_CN.encode() + filler.encode() + "王五".encode("gbk") + b",x,y,1,z\n")
    with pytest.raises(BatchInputError, match="mixes encodings"):
        list(read_rows(path))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.binary(max_size=400)
    | st.text(max_size=300).map(lambda t: (HEADER_CN + t).encode("utf-8", "replace")),
    suffix=st.sampled_from([".csv", ".jsonl"]),
)
def test_any_bytes_give_rows_or_a_documented_error(
    tmp_path: Path, body: bytes, suffix: str
) -> None:
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(body)
    try:
        for row in read_rows(path):
            assert isinstance(parse_row(row, RowDefaults(operator="李")), LookupRequest | Rejection)
    except BatchInputError:
        pass


def test_a_row_with_more_cells_than_the_header_is_refused_not_cut(tmp_path: Path) -> None:
    # An unquoted 150,000.00元 splits in two: read as is, the claim would become 150.
    path = tmp_path / "parties.csv"
    path.write_text(
        HEADER_CN
        + "张三,110105199003071239,（2024）甘0191执1234号,150,000.00元,李承办\n"
        + "李四,110105199003071239,（2024）甘0191执1235号\n"
        + GOOD,
        encoding="gbk",
    )
    extra, short, good = parsed(path)
    assert isinstance(extra, Rejection) and (extra.line, extra.field) == (2, "row")
    assert "has 6 cells but the header has 5" in extra.reason
    assert '"150,000.00"' in extra.reason  # says what to do: quote the cell
    assert isinstance(short, Rejection) and short.line == 3
    assert "has 3 cells" in short.reason
    assert isinstance(good, LookupRequest) and good.case.claim == Money("150000")


def row_with_claim(written: str) -> RawRow:
    return RawRow(
        2,
        {
            "name": "张三",
            "id_number": "110105199003071239",
            "case_number": "（2024）甘0191执1234号",
            "operator": "李承办",
            "claim_amount": written,
        },
    )


@pytest.mark.parametrize(
    ("written", "amount"),
    [
        ("150000", "150000"),
        ("150,000.00", "150000"),
        ("150000元", "150000"),
        ("￥150,000.50元", "150000.50"),
        ("15万", "150000"),
        ("15.5万元", "155000"),
        ("1.2亿", "120000000"),
        ("1,234,567.89", "1234567.89"),
    ],
)
def test_claims_as_clerks_write_them(written: str, amount: str) -> None:
    request = parse_row(row_with_claim(written), RowDefaults())
    assert isinstance(request, LookupRequest) and request.case.claim == Money(amount)


@pytest.mark.parametrize("written", ["150,00", "15万万", "1,5000", "-5", "about 10", "10元5"])
def test_claims_that_could_be_misread_are_refused(written: str) -> None:
    rejection = parse_row(row_with_claim(written), RowDefaults())
    assert isinstance(rejection, Rejection) and rejection.field == "claim_amount"
    assert "15万" in rejection.reason  # shows the shapes it does read
