"""Models: money is exact, times are aware, bad values say what is wrong, repr hides people."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from assetquery import (
    AssetRecord,
    Case,
    InvalidInput,
    LookupReport,
    Money,
    Owner,
    Party,
    PartyKind,
    Provenance,
)

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


class TestMoney:
    def test_quantized_to_fen_half_up(self) -> None:
        assert Money("1.005").amount == Decimal("1.01")
        assert Money(3).amount == Decimal("3.00")

    def test_float_is_refused_with_a_reason(self) -> None:
        with pytest.raises(ValidationError, match="not float"):
            Money(0.1)  # type: ignore[arg-type]

    def test_arithmetic_and_fen_give_what_validation_gives(self) -> None:
        made = [
            Money("10.10") + Money("0.05"),
            Money("10.10") - Money("20.20"),
            Money.from_fen(1234567),
            Money.from_fen(-5),
            Money.from_fen(7, "usd"),
        ]
        validated = [Money.model_validate(m.model_dump()) for m in made]
        assert made == validated
        assert [repr(m) for m in made] == [repr(m) for m in validated]
        assert [m.model_fields_set for m in made] == [m.model_fields_set for m in validated]
        assert made[-1].currency == "USD"
        with pytest.raises(ValidationError, match="10\\^15 or more"):
            Money("999999999999999") + Money("1")

    def test_fen_round_trip(self) -> None:
        assert Money.from_fen(1234567).amount == Decimal("12345.67")
        assert Money("12345.67").fen == 1234567

    def test_currencies_do_not_mix(self) -> None:
        with pytest.raises(ValueError, match="CNY with USD"):
            Money("1") + Money("1", "USD")

    def test_json_carries_amount_as_string(self) -> None:
        assert Money("10.5").model_dump(mode="json") == {"amount": "10.50", "currency": "CNY"}

    @given(
        st.decimals(allow_nan=True, allow_infinity=True)
        | st.decimals(min_value=-(10**15), max_value=10**15, places=3),
        st.sampled_from(["CNY", "USD", "usd", "Cny", "CN", "C1Y", "人民币", "EURO"]),
    )
    def test_of_makes_what_the_constructor_makes_or_refuses_alike(
        self, amount: Decimal, currency: str
    ) -> None:
        def outcome(make: Any) -> Money | str:
            try:
                return make(amount, currency)  # type: ignore[no-any-return]
            except ValidationError as error:
                return str(error.errors()[0]["msg"])

        made, expected = outcome(Money.of), outcome(Money)
        if isinstance(expected, str):  # refused, for the same reason
            assert made == expected
            return
        assert isinstance(made, Money)
        assert made == expected and repr(made) == repr(expected)
        assert made.model_fields_set == expected.model_fields_set

    @given(st.integers(min_value=-(10**12), max_value=10**12))
    def test_fen_arithmetic_is_exact(self, fen: int) -> None:
        total = Money.from_fen(fen) + Money.from_fen(1)
        assert total.fen == fen + 1


class TestParty:
    def test_person_and_organization(self) -> None:
        assert Party.person(" 张 三 ", "110105199003071239").name == "张 三"
        assert Party.organization("某公司", "911100007109288314").kind is PartyKind.ORGANIZATION

    def test_parse_infers_the_kind(self) -> None:
        assert Party.parse("张三", "110105199003071239").kind is PartyKind.PERSON
        assert Party.parse("某公司", "911100007109288314").kind is PartyKind.ORGANIZATION

    def test_parse_reports_against_the_likelier_reading(self) -> None:
        with pytest.raises(InvalidInput, match="check digit"):
            Party.parse("张三", "110105199003071238")
        with pytest.raises(InvalidInput, match="check character"):
            Party.parse("某公司", "91110000710928831A")

    def test_empty_name(self) -> None:
        with pytest.raises(InvalidInput) as bad:
            Party.person("  ", "110105199003071239")
        assert bad.value.field == "name"

    def test_validation_through_pydantic_hides_the_input(self) -> None:
        with pytest.raises(ValidationError) as bad:
            Party(kind=PartyKind.PERSON, name="张三", id_number="110105199003071238")
        assert "110105199003071238" not in str(bad.value)
        assert "check digit" in str(bad.value)

    def test_repr_masks_personal_data(self) -> None:
        text = repr(Party.person("张三丰", "110105199003071239"))
        assert "110105199003071239" not in text and "三丰" not in text

    def test_json_keeps_full_data_for_the_court(self) -> None:
        data = Party.person("张三", "110105199003071239").model_dump(mode="json")
        assert data == {"kind": "person", "name": "张三", "id_number": "110105199003071239"}


class TestCase:
    def test_number_is_canonical_and_claim_is_money(self) -> None:
        case = Case(number="(2024)甘0191執1234號", operator="李", claim="1000")
        assert case.number == "（2024）甘0191执1234号"
        assert case.claim == Money("1000")
        assert case.parsed_number.sequence == 1234

    def test_non_enforcement_case_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="民初 is not an enforcement"):
            Case(number="（2024）甘0191民初12号", operator="李")

    def test_operator_is_required(self) -> None:
        with pytest.raises(ValidationError, match="every inquiry names who asks"):
            Case(number="（2024）甘0191执12号", operator=" ")


def _record(**changes: object) -> AssetRecord:
    base: dict[str, object] = {
        "kind": "real_estate",
        "institution": "registry",
        "identifier": "620102001002GB00012F00010002",
        "identifier_type": "unit_number",
        "owner": Owner(name="张三", share="1/3"),
        "share": "1/3",
        "as_of": NOW,
        "provenance": Provenance(institution="registry", adapter="realestate", received_at=NOW),
    }
    base.update(changes)
    return AssetRecord.model_validate(base)


class TestAssetRecord:
    def test_share_stays_exact(self) -> None:
        record = _record()
        assert record.share == Fraction(1, 3)
        assert record.model_dump(mode="json")["share"] == "1/3"

    @pytest.mark.parametrize(
        ("given", "expected"), [("50%", Fraction(1, 2)), ("0.25", Fraction(1, 4))]
    )
    def test_share_spellings(self, given: str, expected: Fraction) -> None:
        assert _record(share=given).share == expected

    def test_share_out_of_range(self) -> None:
        with pytest.raises(ValidationError, match="not between 0 and 1"):
            _record(share="3/2")

    def test_times_are_stored_in_utc_and_naive_times_refused(self) -> None:
        shanghai = timezone(timedelta(hours=8))
        record = _record(as_of=datetime(2026, 11, 26, 10, 0, tzinfo=shanghai))
        assert record.as_of == NOW and record.as_of.tzinfo == UTC
        with pytest.raises(ValidationError, match="timezone"):
            _record(as_of=datetime(2026, 11, 26, 10, 0))

    def test_kind_is_open_but_shaped(self) -> None:
        assert _record(kind="vehicle").kind == "vehicle"
        with pytest.raises(ValidationError):
            _record(kind="Vehicle Registry")


def test_report_schema_has_the_contract_fields() -> None:
    schema = LookupReport.model_json_schema()
    assert {"party", "case", "results", "assets", "complete"} <= set(schema["properties"])
    party = schema["$defs"]["Party"]["properties"]
    assert {"kind", "name", "id_number"} <= set(party)


def test_no_model_makes_its_own_instances() -> None:
    # Assembled models are made with object.__new__: right only while no class on the way
    # (pydantic's BaseModel included) defines a __new__ of its own.
    import assetquery._models as models

    classes = [Money] + [
        value
        for value in vars(models).values()
        if isinstance(value, type) and issubclass(value, BaseModel)
    ]
    for model in classes:
        assert all("__new__" not in vars(base) for base in model.__mro__[:-1]), model


def test_a_model_assembled_without_validation_needs_every_field_and_no_other() -> None:
    from assetquery._internals import assembled
    from assetquery._models import KindTotal

    total = assembled(KindTotal, {"count": 2, "value": Money(5), "available": None})
    assert total == KindTotal(count=2, value=Money(5))
    assert total.model_fields_set == {"count", "value", "available"}
    with pytest.raises(TypeError, match=r"missing fields \['available'\]"):
        assembled(KindTotal, {"count": 2, "value": None})
    with pytest.raises(TypeError, match=r"unknown fields \['total'\]"):
        assembled(KindTotal, {"count": 2, "value": None, "available": None, "total": 1})


def test_assembled_models_share_their_fields_set_and_copies_do_not_change_it() -> None:
    from pydantic import BaseModel

    from assetquery._internals import assembled
    from assetquery._models import KindTotal

    first = assembled(KindTotal, {"count": 1, "value": Money(1), "available": None})
    second = assembled(KindTotal, {"count": 2, "value": Money(2), "available": None})
    assert first.model_fields_set is second.model_fields_set  # one set per class
    copied = first.model_copy(update={"count": 3})
    assert copied.count == 3 and copied.model_fields_set == {"count", "value", "available"}
    assert copied.model_fields_set is not first.model_fields_set
    with pytest.raises(ValidationError):  # frozen: nothing adds to the shared set
        first.count = 4  # type: ignore[misc]
    assert first.model_fields_set == {"count", "value", "available"}
    assert (first.count, second.count) == (1, 2)

    class Open(BaseModel):  # not frozen: its models could change the shared set
        count: int

    with pytest.raises(TypeError, match="not frozen"):
        assembled(Open, {"count": 1})
