"""The freeze planner: liquid assets first, never more than the remainder of the claim."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assetquery import (
    AssetKind,
    AssetRecord,
    AssetStatus,
    Case,
    Encumbrance,
    EncumbranceKind,
    InvalidInput,
    LookupReport,
    Money,
    Owner,
    Party,
    Provenance,
)
from assetquery.adapters import Operation
from assetquery.ledger._planner import FreezePlan, PlannedControl, plan_controls
from assetquery.testing import build_report

NOW = datetime(2026, 11, 26, 2, 30, tzinfo=UTC)
PARTY = Party.person("张三", "110105199003071239")
CASE_NUMBER = "（2024）甘0191执1234号"
OTHER_COURT = "兰州市七里河区人民法院"


def case(claim: str | None = "150000.00") -> Case:
    return Case(number=CASE_NUMBER, operator="李承办", claim=claim)


def provenance(institution: str) -> Provenance:
    return Provenance(institution=institution, adapter="test", received_at=NOW)


def account(
    identifier: str,
    available: str,
    *,
    institution: str = "bank-east",
    currency: str = "CNY",
    status: AssetStatus = AssetStatus.ACTIVE,
    frozen: str | None = None,
) -> AssetRecord:
    holds = (
        (Encumbrance(kind=EncumbranceKind.FREEZE, authority=OTHER_COURT, amount=Money(frozen)),)
        if frozen
        else ()
    )
    return AssetRecord(
        kind=AssetKind.BANK_ACCOUNT,
        institution=institution,
        identifier=identifier,
        identifier_type="account_number",
        owner=Owner(name=PARTY.name, id_number=PARTY.id_number),
        value=Money(Decimal(available) + Decimal(frozen or 0), currency),
        available=Money(available, currency),
        encumbrances=holds,
        status=status,
        as_of=NOW,
        provenance=provenance(institution),
    )


def fund(balance: str, frozen: str = "0") -> AssetRecord:
    available = max(Decimal(balance) - Decimal(frozen), Decimal(0))
    holds = (
        (Encumbrance(kind=EncumbranceKind.FREEZE, authority=OTHER_COURT, amount=Money(frozen)),)
        if Decimal(frozen)
        else ()
    )
    return AssetRecord(
        kind=AssetKind.HOUSING_FUND,
        institution="fund",
        identifier="620100012345",
        identifier_type="fund_account",
        owner=Owner(name=PARTY.name, id_number=PARTY.id_number),
        value=Money(balance),
        available=Money(available),
        encumbrances=holds,
        as_of=NOW,
        provenance=provenance("fund"),
    )


def house(
    unit: str,
    *,
    share: Fraction | None = Fraction(1),
    encumbrances: Sequence[Encumbrance] = (),
    owner_id: str | None = PARTY.id_number,
    location: str | None = None,
) -> AssetRecord:
    details = {"location": location} if location else {}
    return AssetRecord(
        kind=AssetKind.REAL_ESTATE,
        institution="registry",
        identifier=f"620102001002GB0001{unit}F00010002",
        identifier_type="unit_number",
        owner=Owner(name=PARTY.name, id_number=owner_id),
        share=share,
        encumbrances=tuple(encumbrances),
        as_of=NOW,
        details=details,
        provenance=provenance("registry"),
    )


def seal(case_number: str = "（2023）甘0103执55号", *, waiting: bool = False) -> Encumbrance:
    return Encumbrance(
        kind=EncumbranceKind.SEAL,
        authority=OTHER_COURT,
        case_number=case_number,
        start=date(2023, 6, 1),
        end=date(2026, 5, 31),
        waiting=waiting,
        position=1 if waiting else None,
    )


MORTGAGE = Encumbrance(kind=EncumbranceKind.MORTGAGE, authority="示例银行", amount=Money(300000))


def report(*assets: AssetRecord, claim: str | None = "150000.00") -> LookupReport:
    # The public builder: what a court's own planner tests would use.
    return build_report(PARTY, case(claim), assets=assets, lookup_id="L1", at=NOW)


def amounts(plan: FreezePlan) -> list[tuple[str, str | None]]:
    return [(c.asset_identifier, str(c.amount.amount) if c.amount else None) for c in plan.controls]


def assert_sentences(plan: FreezePlan) -> None:
    for text in [*(c.reason for c in plan.controls), *plan.notes]:
        assert text[0].isupper(), text
        assert text.endswith("."), text


# --- liquid assets ------------------------------------------------------------------------


def test_exact_allocation_across_several_accounts() -> None:
    plan = plan_controls(
        report(
            account("6222000000000030", "30000.00"),
            account("6222000000000080", "80000.00", institution="bank-west"),
            account("6222000000000010", "10000.00"),
            account("6222000000000050", "50000.00"),
        )
    )
    # largest first; the third account is frozen only for what is left; the fourth untouched
    assert amounts(plan) == [
        ("6222000000000080", "80000.00"),
        ("6222000000000050", "50000.00"),
        ("6222000000000030", "20000.00"),
    ]
    assert all(c.operation is Operation.FREEZE and not c.exceeds_remainder for c in plan.controls)
    assert plan.planned_amount == Money("150000.00") == plan.claim
    assert plan.shortfall == Money(0) and plan.covered
    assert plan.controls[0].institution == "bank-west"
    assert "limited to the part of the claim still uncovered" in plan.controls[2].reason
    assert "ending 0080 at bank-west" in plan.controls[0].reason
    assert "6222000000000080" not in plan.controls[0].reason
    assert_sentences(plan)


def test_partial_coverage_leaves_a_shortfall() -> None:
    plan = plan_controls(
        report(account("6222000000000020", "20000.00"), account("6222000000000005", "5000.00"))
    )
    assert amounts(plan) == [("6222000000000020", "20000.00"), ("6222000000000005", "5000.00")]
    assert plan.shortfall == Money("125000.00") and not plan.covered
    assert "125,000.00 CNY of the claim remains uncovered" in plan.controls[1].reason
    assert any("stays uncovered" in note for note in plan.notes)
    assert_sentences(plan)


def test_the_fund_is_used_after_the_deposits_and_only_what_is_free() -> None:
    plan = plan_controls(
        report(fund("54321.00", frozen="10000.00"), account("6222000000000100", "100000.00"))
    )
    assert amounts(plan) == [("6222000000000100", "100000.00"), ("620100012345", "44321.00")]
    assert plan.controls[1].asset_kind == AssetKind.HOUSING_FUND
    assert "after earlier freezes" in plan.controls[1].reason
    assert "Housing Provident Fund Regulations art. 24" in plan.controls[1].reason
    assert plan.shortfall == Money("5679.00")


def test_a_fund_is_frozen_only_for_the_rest() -> None:
    plan = plan_controls(report(fund("54321.00"), account("6222000000000100", "100000.00")))
    assert amounts(plan) == [("6222000000000100", "100000.00"), ("620100012345", "50000.00")]
    assert plan.covered


def test_closed_empty_and_unknown_accounts_are_not_planned() -> None:
    plan = plan_controls(
        report(
            account("6222000000000001", "90000.00", status=AssetStatus.CLOSED),
            account("6222000000000002", "0.00"),
            account("6222000000000003", "7000.00", status=AssetStatus.UNKNOWN),
            account("6222000000000004", "3000.00", status=AssetStatus.DORMANT),
        )
    )
    assert amounts(plan) == [("6222000000000004", "3000.00")]
    assert "dormant" in plan.controls[0].reason
    assert any("ending 0003" in n and "status is not known" in n for n in plan.notes)
    assert not any("0001" in n or "0002" in n for n in plan.notes)
    assert_sentences(plan)


def test_a_foreign_currency_account_is_noted_not_planned() -> None:
    plan = plan_controls(
        report(
            account("6222000000000840", "9000.00", currency="USD"),
            account("6222000000000156", "1000.00"),
        )
    )
    assert amounts(plan) == [("6222000000000156", "1000.00")]
    (note, *_) = plan.notes
    assert "ending 0840" in note and "9,000.00 USD" in note
    assert "rate the court sets" in note


def test_what_is_already_controlled_reduces_the_remainder() -> None:
    plan = plan_controls(
        report(account("6222000000000080", "80000.00")), already_controlled=Money("100000.00")
    )
    assert amounts(plan) == [("6222000000000080", "50000.00")]
    assert plan.remainder == Money("50000.00") and plan.covered


@pytest.mark.parametrize("already", ["150000.00", "200000.00"])
def test_nothing_is_planned_when_the_claim_is_already_covered(already: str) -> None:
    plan = plan_controls(
        report(account("6222000000000080", "80000.00"), house("1")),
        already_controlled=Money(already),
    )
    assert plan.controls == () and plan.planned_amount == Money(0)
    assert plan.covered and plan.remainder == Money(0)
    (note,) = plan.notes
    assert "nothing more may be frozen or sealed" in note


def test_an_explicit_claim_overrides_the_case() -> None:
    plan = plan_controls(report(account("6222000000000080", "80000.00")), Money("1000.00"))
    assert amounts(plan) == [("6222000000000080", "1000.00")]


def test_a_plan_needs_the_claim() -> None:
    with pytest.raises(InvalidInput, match="needs the claim") as caught:
        plan_controls(report(account("6222000000000080", "80000.00"), claim=None))
    assert caught.value.field == "claim"


@pytest.mark.parametrize(
    ("claim", "already", "field"),
    [
        (Money("0.00"), Money(0), "claim"),
        (Money("100.00", "USD"), Money(0), "claim"),
        (Money("100.00"), Money("-1.00"), "already_controlled"),
        (Money("100.00"), Money("1.00", "USD"), "already_controlled"),
    ],
)
def test_amounts_must_be_cny(claim: Money, already: Money, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        plan_controls(report(), claim, already_controlled=already)
    assert caught.value.field == field


# --- real estate --------------------------------------------------------------------------


def test_real_estate_is_not_planned_when_deposits_suffice() -> None:
    plan = plan_controls(report(account("6222000000000200", "200000.00"), house("1")))
    assert [c.operation for c in plan.controls] == [Operation.FREEZE]
    assert plan.notes == ()


def test_one_house_is_sealed_when_short() -> None:
    plan = plan_controls(
        report(
            account("6222000000000020", "20000.00"),
            house("3", share=Fraction(1, 2)),
            house("1", location="甘肃省兰州市城关区示例路1号"),
            house("2", encumbrances=[seal()]),
        )
    )
    freeze, planned_seal = plan.controls
    assert freeze.operation is Operation.FREEZE and planned_seal.operation is Operation.SEAL
    assert planned_seal.asset_identifier == "620102001002GB00011F00010002"
    assert planned_seal.amount is None and planned_seal.exceeds_remainder
    assert not planned_seal.waiting_line
    assert "the property at 甘肃省兰州市城关区示例路1号" in planned_seal.reason
    assert "leave 130,000.00 CNY of the claim uncovered" in planned_seal.reason
    assert "cannot be divided" in planned_seal.reason
    assert "reports no value" in planned_seal.reason and "valued" in planned_seal.reason
    # the seal has no known value: the shortfall stands
    assert plan.planned_amount == Money("20000.00") and plan.shortfall == Money("130000.00")
    assert any("The other 2 properties found were not planned" in note for note in plan.notes)
    assert_sentences(plan)


def test_sole_ownership_comes_before_a_clean_share() -> None:
    plan = plan_controls(
        report(house("1", share=Fraction(2, 3)), house("2", encumbrances=[MORTGAGE]))
    )
    (chosen,) = plan.controls
    assert chosen.asset_identifier.startswith("620102001002GB00012")
    assert "mortgaged" in chosen.reason


def test_an_unburdened_property_comes_before_a_mortgaged_or_sealed_one() -> None:
    plan = plan_controls(
        report(house("1", encumbrances=[seal()]), house("2", encumbrances=[MORTGAGE]), house("3"))
    )
    assert plan.controls[0].asset_identifier.startswith("620102001002GB00013")


def test_a_share_is_sealed_as_a_share() -> None:
    plan = plan_controls(report(house("1", share=Fraction(1, 2))))
    (chosen,) = plan.controls
    assert "holds a 1/2 share; the seal reaches that share only" in chosen.reason


def test_a_property_sealed_by_another_court_gets_a_waiting_line_seal() -> None:
    plan = plan_controls(report(house("1", encumbrances=[seal(waiting=True), seal()])))
    (chosen,) = plan.controls
    assert chosen.waiting_line and chosen.exceeds_remainder
    assert "waiting-line seal" in chosen.reason
    assert f"already sealed by {OTHER_COURT} in case （2023）甘0103执55号" in chosen.reason
    assert_sentences(plan)


def test_no_second_property_while_one_is_sealed_in_this_case() -> None:
    own = seal("(2024)甘0191执1234号")  # half-width brackets: the same case
    plan = plan_controls(report(house("1", encumbrances=[own]), house("2")))
    assert plan.controls == ()
    assert any("already sealed in this case" in n and "valued" in n for n in plan.notes)
    assert_sentences(plan)


def test_a_property_of_other_owners_is_noted_not_sealed() -> None:
    plan = plan_controls(report(house("1", share=None, owner_id="110105199001010045")))
    assert plan.controls == ()
    assert any("confirm the debtor's title" in note for note in plan.notes)
    assert any("stays uncovered" in note for note in plan.notes)


def test_a_joint_owner_is_sealable_but_last() -> None:
    plan = plan_controls(report(house("1", share=None), house("2", share=Fraction(1, 4))))
    (chosen,) = plan.controls
    assert chosen.asset_identifier.startswith("620102001002GB00012")
    joint = plan_controls(report(house("1", share=None))).controls[0]
    assert "no defined share" in joint.reason


def test_other_kinds_are_noted_when_short() -> None:
    vehicle = AssetRecord(
        kind="vehicle",
        institution="dmv",
        identifier="甘A12345",
        identifier_type="plate",
        owner=Owner(name=PARTY.name),
        as_of=NOW,
        provenance=provenance("dmv"),
    )
    plan = plan_controls(report(vehicle))
    assert any("(vehicle)" in note for note in plan.notes)


# --- the proportionality property ---------------------------------------------------------

cents = st.integers(min_value=0, max_value=50_000_000).map(lambda n: Decimal(n).scaleb(-2))
liquid_assets = st.builds(
    lambda n, kind, available, currency, status: AssetRecord(
        kind=kind,
        institution=f"i{n % 3}",
        identifier=f"62220000{n:08d}",
        identifier_type="account_number",
        owner=Owner(name=PARTY.name),
        value=Money(available, currency),
        available=Money(available, currency),
        status=status,
        as_of=NOW,
        provenance=provenance(f"i{n % 3}"),
    ),
    st.integers(min_value=0, max_value=10_000),
    st.sampled_from([AssetKind.BANK_ACCOUNT, AssetKind.HOUSING_FUND]),
    cents,
    st.sampled_from(["CNY", "CNY", "CNY", "USD"]),
    st.sampled_from(list(AssetStatus)),
)


@given(
    assets=st.lists(liquid_assets | st.builds(house, st.sampled_from("123")), max_size=8),
    claim=cents.filter(lambda d: d > 0),
    already=cents,
)
def test_never_more_than_the_remainder(
    assets: list[AssetRecord], claim: Decimal, already: Decimal
) -> None:
    lookup = report(*assets, claim=str(claim))
    plan = plan_controls(lookup, already_controlled=Money(already))
    remainder = max(claim - already, Decimal(0))
    eligible = sum(
        (
            a.available.amount
            for a in lookup.assets
            if a.kind in (AssetKind.BANK_ACCOUNT, AssetKind.HOUSING_FUND)
            and a.available is not None
            and a.available.currency == "CNY"
            and a.status in (AssetStatus.ACTIVE, AssetStatus.DORMANT)
        ),
        Decimal(0),
    )
    frozen = [c for c in plan.controls if c.operation is Operation.FREEZE]
    total = sum((c.amount.amount for c in frozen if c.amount), Decimal(0))
    assert total == plan.planned_amount.amount <= remainder
    assert total == min(remainder, eligible)
    assert plan.shortfall.amount == remainder - total
    assert all(c.amount is not None and c.amount.amount > 0 for c in frozen)
    seals = [c for c in plan.controls if c.operation is Operation.SEAL]
    assert len(seals) <= 1
    assert not seals or plan.shortfall.amount > 0
    assert all(isinstance(c, PlannedControl) for c in plan.controls)
    assert_sentences(plan)
