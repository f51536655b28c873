"""Identifiers: what real documents carry must pass; what is wrong must say why."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import ric

from assetquery import InvalidInput
from assetquery._identifiers import (
    birth_place_of,
    mask_account,
    mask_id_number,
    mask_name,
    mask_text,
    parse_case_number,
    validate_account_number,
    validate_resident_id,
    validate_unit_number,
    validate_uscc,
)

from .conftest import credit_code, resident_id


class TestResidentId:
    def test_valid_number_is_returned_compact(self) -> None:
        assert validate_resident_id(" 110105 19900307 1239 ") == "110105199003071239"

    def test_full_width_digits_and_lower_x_are_folded(self) -> None:
        number = resident_id("11010519900101007")
        assert number.endswith("X")
        full_width = number.translate(str.maketrans("0123456789X", "０１２３４５６７８９ｘ"))
        assert validate_resident_id(full_width) == number

    @pytest.mark.parametrize(
        ("body", "why"),
        [
            # Lanzhou Chengguan (620102) for someone born in 1980: stdnum says the code
            # did not exist yet, yet such IDs were issued and are in use.
            ("62010219800101123", "InvalidComponent"),
            # A functional zone (ends in 71): stdnum's table lacks it and raises KeyError.
            ("62017119900101123", "KeyError"),
        ],
    )
    def test_real_ids_that_stdnum_validate_refuses_are_accepted(self, body: str, why: str) -> None:
        number = resident_id(body)
        with pytest.raises(Exception) as refused:
            ric.validate(number)
        assert why in type(refused.value).__name__
        assert validate_resident_id(number) == number

    def test_birth_place_is_information_only(self) -> None:
        assert birth_place_of("110105199003071239") == "北京市朝阳区"
        assert birth_place_of(resident_id("62017119900101123")) is None

    @pytest.mark.parametrize(
        ("value", "reason"),
        [
            ("", "is empty"),
            ("11010519900307123", "has 17 characters"),
            ("110105900307123", "15-digit first-generation"),
            ("11010519900307123A", "17 digits followed by a digit or X"),
            ("110105199002301230", "not a calendar date"),
            ("110105209901011230", "not plausible"),
            ("110105199003071238", "check digit is 8 but the number requires 9"),
        ],
    )
    def test_bad_numbers_name_field_and_reason(self, value: str, reason: str) -> None:
        with pytest.raises(InvalidInput) as bad:
            validate_resident_id(value, field="id_number")
        assert bad.value.field == "id_number"
        assert reason in bad.value.reason
        assert str(bad.value).startswith("id_number: ")

    @given(
        st.from_regex(
            r"(1[1-5]|2[1-3]|3[1-7]|4[1-6]|5[0-4]|6[1-5])[0-9]{4}(19[5-9][0-9]|200[0-9])(0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])[0-9]{3}",
            fullmatch=True,
        )
    )
    def test_every_correct_check_digit_passes_and_every_other_fails(self, body: str) -> None:
        good = resident_id(body)
        assert validate_resident_id(good) == good
        for digit in "0123456789X":
            if digit != good[-1]:
                with pytest.raises(InvalidInput):
                    validate_resident_id(body + digit)


class TestCreditCode:
    def test_valid_code(self) -> None:
        assert validate_uscc("91110000710928831 4") == "911100007109288314"

    @pytest.mark.parametrize("authority", ["N", "Y", "A"])
    def test_letter_registration_authority_is_accepted(self, authority: str) -> None:
        # GB 32100-2015 allows letters in position 1; stdnum's validate() does not.
        code = credit_code(f"{authority}2620102MA0123456")
        assert validate_uscc(code) == code

    def test_forbidden_letters_are_named(self) -> None:
        with pytest.raises(InvalidInput, match="'IO'"):
            validate_uscc("91110000I1O928831A")

    def test_wrong_check_character(self) -> None:
        code = credit_code("91110000710928831")
        wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
        with pytest.raises(InvalidInput, match="check character"):
            validate_uscc(wrong)

    @given(
        st.text(alphabet=string.digits + "ABCDEFGHJKLMNPQRTUWXY", min_size=1, max_size=1),
        st.text(alphabet=string.digits, min_size=7, max_size=7),
        st.text(alphabet=string.digits + "ABCDEFGHJKLMNPQRTUWXY", min_size=9, max_size=9),
    )
    def test_computed_check_character_always_validates(
        self, authority: str, category_and_division: str, organization: str
    ) -> None:
        code = credit_code(authority + category_and_division + organization)
        assert validate_uscc(code) == code


class TestCaseNumber:
    @pytest.mark.parametrize(
        "text",
        [
            "（2024）甘0191执1234号",
            "(2024)甘0191执1234号",
            "（2024）甘0191執1234號",
            " (2024) 甘0191 执 1234 号 ",
            "〔2024〕甘0191执1234号",
            "（２０２４）甘０１９１执１２３４号",  # digits typed full-width
        ],
    )
    def test_brackets_and_traditional_forms_parse_to_one_canonical_number(self, text: str) -> None:
        parsed = parse_case_number(text)
        assert (parsed.year, parsed.court_code, parsed.case_type, parsed.sequence) == (
            2024,
            "甘0191",
            "执",
            1234,
        )
        assert str(parsed) == "（2024）甘0191执1234号"
        assert parsed.is_enforcement

    @pytest.mark.parametrize(
        ("text", "court", "kind"),
        [
            ("（2023）京01执恢12号", "京01", "执恢"),
            ("（2022）最高法执监88号", "最高法", "执监"),
            ("（2024）甘执异7号", "甘", "执异"),
            ("（2024）沪0115财保301号", "沪0115", "财保"),
        ],
    )
    def test_court_levels_and_case_types(self, text: str, court: str, kind: str) -> None:
        parsed = parse_case_number(text)
        assert (parsed.court_code, parsed.case_type) == (court, kind)

    @pytest.mark.parametrize(
        ("text", "reason"),
        [
            ("", "is empty"),
            ("2024甘0191执1234号", "is not a case number"),
            ("（2024）甘0191执1234", "is not a case number"),
            ("（1970）甘0191执1234号", "not plausible"),
            ("（2024）甘0191执0号", "is 0"),
            ("（2024）甘0191执١٢号", "is not a case number"),  # digits of another script
        ],
    )
    def test_malformed(self, text: str, reason: str) -> None:
        with pytest.raises(InvalidInput, match=reason):
            parse_case_number(text)


class TestUnitNumberAndAccounts:
    def test_unit_number_structure(self) -> None:
        assert validate_unit_number("620102 001002 GB00012 F00010002") == (
            "620102001002GB00012F00010002"
        )

    @pytest.mark.parametrize(
        ("value", "reason"),
        [
            ("620102001002GB00012F0001000", "has 27 characters"),
            ("620102001002XB00012F00010002", "GB/T 37346"),
            ("620102001002GB00012K00010002", "GB/T 37346"),
        ],
    )
    def test_unit_number_errors(self, value: str, reason: str) -> None:
        with pytest.raises(InvalidInput, match=reason):
            validate_unit_number(value)

    def test_account_shapes(self) -> None:
        assert validate_account_number("6222 0212 3456 7890 128") == "6222021234567890128"
        with pytest.raises(InvalidInput, match="only digits"):
            validate_account_number("6222-0212-ABCD")
        with pytest.raises(InvalidInput, match="8 to 32"):
            validate_account_number("1234567")


class TestMasking:
    def test_maskers(self) -> None:
        assert mask_id_number("110105199003071239") == "1101************39"
        assert mask_account("6222021234567890128") == "***************0128"
        assert mask_name("张三") == "张*"
        assert mask_name("兰州示例商贸有限公司") == "兰州******公司"

    def test_mask_text_finds_numbers_inside_sentences(self) -> None:
        text = "查询 110105199003071239 账户6222021234567890128，代码911100007109288314。"
        masked = mask_text(text)
        assert "110105199003071239" not in masked
        assert "6222021234567890128" not in masked
        assert "911100007109288314" not in masked
        assert "0128" in masked

    def test_short_numbers_and_dates_are_left_alone(self) -> None:
        assert mask_text("HTTP 503 after 3 attempts on 2026-11-26") == (
            "HTTP 503 after 3 attempts on 2026-11-26"
        )


def test_uscc_category_and_division_code_must_be_digits() -> None:
    # Check character right, but positions 3-8 (the division code) are letters.
    with pytest.raises(InvalidInput, match="positions 2-8"):
        validate_uscc("91ABCDEF600037341K")
    with pytest.raises(InvalidInput, match="positions 2-8"):
        validate_uscc(credit_code("9A1100007109288" + "31"))
    # A letter as registration authority (position 1) stays allowed.
    letter_first = credit_code("N2110000MA0000010")
    assert validate_uscc(letter_first) == letter_first


def test_resident_id_with_no_such_province_is_refused() -> None:
    with pytest.raises(InvalidInput, match="no province code"):
        validate_resident_id(resident_id("99010519491231002"))
    # An unknown county inside a real province is information, not a reason to refuse.
    assert validate_resident_id(resident_id("11999919491231002")).startswith("119999")
