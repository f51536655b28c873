"""The fictional dataset: deterministic, valid identifiers, every messy case present."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from fractions import Fraction

import pytest
from stdnum import luhn
from stdnum.cn import ric, uscc

from assetquery._identifiers import (
    parse_case_number,
    validate_resident_id,
    validate_unit_number,
    validate_uscc,
)
from assetquery._time import SHANGHAI
from assetquery.sandbox import TAGS, Dataset, SandboxParty, dataset


@pytest.fixture(scope="module")
def data() -> Dataset:
    return dataset()


def test_enough_persons_and_organizations(data: Dataset) -> None:
    assert len(data.persons) >= 200
    assert len(data.organizations) >= 50
    assert len(data) == len(data.persons) + len(data.organizations)


def test_same_seed_same_parties_and_cached() -> None:
    assert dataset.__wrapped__(7).parties == dataset(7).parties
    assert dataset(7) is dataset(7)
    assert dataset.__wrapped__(8).parties != dataset(7).parties


def test_identity_numbers_pass_our_validators(data: Dataset) -> None:
    for party in data.persons:
        assert validate_resident_id(party.id_number) == party.id_number
    for party in data.organizations:
        assert validate_uscc(party.id_number) == party.id_number
    assert len({p.id_number for p in data}) == len(data)


def test_legacy_area_codes_are_ones_stdnum_refuses_or_crashes_on(data: Dataset) -> None:
    legacy = data.find("legacy_area_code")
    assert any(p.id_number.startswith("620171") for p in legacy)  # a functional zone
    assert any(int(p.id_number[6:10]) < 1983 for p in legacy)  # born before the code existed
    for party in legacy:
        with pytest.raises((ric.ValidationError, KeyError)):
            ric.validate(party.id_number)
    for party in data.persons:
        if party not in legacy:
            assert ric.validate(party.id_number) == party.id_number


def test_letter_credit_codes_are_ones_stdnum_refuses(data: Dataset) -> None:
    lettered = data.find("letter_uscc")
    assert {p.id_number[0] for p in lettered} == {"N", "Y"}
    for party in lettered:
        with pytest.raises(uscc.ValidationError):
            uscc.validate(party.id_number)
    for party in data.organizations:
        if party not in lettered:
            assert uscc.validate(party.id_number) == party.id_number


@pytest.mark.parametrize("seed", [7, 1, 2024])
def test_every_tag_is_on_several_parties(seed: int) -> None:
    found = dataset(seed)
    for tag in TAGS:
        assert len(found.find(tag)) >= 3, tag


def test_about_fifteen_percent_hold_nothing(data: Dataset) -> None:
    empty = data.find("no_assets")
    assert 0.10 <= len(empty) / len(data) <= 0.20
    assert all(not (p.properties or p.fund_accounts or p.bank_accounts) for p in empty)


def test_cases_and_claims(data: Dataset) -> None:
    for party in data:
        assert parse_case_number(party.case_number).is_enforcement
        assert isinstance(party.claim, Decimal)
        assert party.claim.as_tuple().exponent == -2
        party.name.encode("gbk")  # the registry sends names in GBK


def test_asset_identifiers(data: Dataset) -> None:
    for party in data:
        for unit in party.properties:
            assert validate_unit_number(unit.unit_number) == unit.unit_number
        for fund in party.fund_accounts:
            assert fund.account_number.isdigit()
        for account in party.bank_accounts:
            number = account.account_number
            if account.account_type == "借记卡":
                assert len(number) in (16, 19)
                assert number.startswith("62")
                assert luhn.is_valid(number)
            else:
                assert len(number) == 20
                assert number.isdigit()


def _parties_holding(data: Dataset, tag: str) -> tuple[SandboxParty, ...]:
    parties = data.find(tag)
    assert parties
    return parties


def test_co_owned_units_list_every_owner_with_shares(data: Dataset) -> None:
    for party in _parties_holding(data, "co_owned"):
        unit = next(u for u in party.properties if u.tenure == "按份共有")
        assert len(unit.owners) >= 2
        assert sum((o.share or Fraction(0) for o in unit.owners), Fraction(0)) == 1
        for owner in unit.owners:  # each co-owner is a party whose lookup finds the unit
            co_owner = data.get(owner.id_number)
            assert co_owner is not None
            assert unit in co_owner.properties


def test_joint_owned_units_have_no_shares(data: Dataset) -> None:
    for party in _parties_holding(data, "joint_owned"):
        unit = next(u for u in party.properties if u.tenure == "共同共有")
        assert len(unit.owners) == 2
        assert all(o.share is None for o in unit.owners)


def test_seals_are_other_courts_and_waiting_ones_queue_behind(data: Dataset) -> None:
    for party in _parties_holding(data, "sealed_by_other_court"):
        seals = [s for u in party.properties for s in u.seals]
        assert any(not s.waiting and s.authority != party.court for s in seals)
    for party in _parties_holding(data, "waiting_seal"):
        for unit in party.properties:
            waiting = [s for s in unit.seals if s.waiting]
            if waiting:
                assert any(not s.waiting for s in unit.seals)
                assert all(s.position is not None and s.position >= 2 for s in waiting)


def test_bank_cases(data: Dataset) -> None:
    for party in _parties_holding(data, "partially_frozen"):
        assert any(a.holds and Decimal(0) < a.available < a.balance for a in party.bank_accounts)
    for party in _parties_holding(data, "waiting_freeze"):
        holds = [h for a in party.bank_accounts for h in a.holds]
        assert any(h.waiting and h.position and h.position >= 2 for h in holds)
    for party in _parties_holding(data, "dormant"):
        assert any(a.status == "DORMANT" for a in party.bank_accounts)
    for party in _parties_holding(data, "closed"):
        assert any(a.status == "CLOSED" and a.balance == 0 for a in party.bank_accounts)
    for party in _parties_holding(data, "foreign_currency"):
        assert any(a.currency == "USD" for a in party.bank_accounts)
    for party in _parties_holding(data, "both_banks"):
        assert party.accounts_at("bank-east")
        assert party.accounts_at("bank-west")
    for party in _parties_holding(data, "no_available_balance_field"):
        assert any(not a.states_available for a in party.bank_accounts)


def test_fund_cases(data: Dataset) -> None:
    assert not any(p.fund_accounts for p in data.organizations)
    for party in _parties_holding(data, "fund_sealed"):
        assert any(a.status == "02" for a in party.fund_accounts)
    for party in _parties_holding(data, "fund_frozen"):
        frozen = [a for a in party.fund_accounts if a.status == "04"]
        assert frozen
        assert all(Decimal(0) < a.frozen <= a.balance for a in frozen)


def test_all_kinds_means_all_three(data: Dataset) -> None:
    for party in _parties_holding(data, "all_kinds"):
        assert party.properties
        assert party.fund_accounts
        assert party.bank_accounts


def test_controls_in_force_are_current(data: Dataset) -> None:
    today = datetime.now(SHANGHAI).date()
    for party in data:
        controls = [s for u in party.properties for s in u.seals]
        controls += [h for a in party.fund_accounts for h in a.holds]
        controls += [h for a in party.bank_accounts for h in a.holds]
        for control in controls:
            assert control.start <= today
            if control.waiting:  # its period has not begun
                assert control.end is None
            else:
                assert control.end is not None
                assert control.end >= today
            assert parse_case_number(control.case_number).year <= control.start.year


def test_find_and_get(data: Dataset) -> None:
    with pytest.raises(ValueError, match="no sandbox tag 'coowned'"):
        data.find("coowned")
    party = data.persons[0]
    assert data.get(f" {party.id_number.lower()} ") is party
    assert data.get("110105199003071239") is None
    assert party.id_number not in repr(party)
