"""The rule pack: legal periods as configuration, and conservative control end dates."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assetquery import ConfigurationError, InvalidInput
from assetquery.rules._pack import (
    DayCount,
    Period,
    PeriodUnit,
    RenewalPeriodFrom,
    RulePack,
    WaitingPeriodFrom,
    control_end,
    legal_end,
    load_rule_pack,
    promoted_end,
    renewal_deadline,
    renewed_end,
    rule_pack_from_mapping,
)

CHINA = load_rule_pack()
EXCLUSIVE = CHINA.model_copy(update={"day_count": DayCount.EXCLUSIVE})


def pack(**changes: Any) -> RulePack:
    """The China pack with some keys replaced, validated like a file would be."""
    data = CHINA.model_dump(mode="json")
    data.update(changes)
    return rule_pack_from_mapping(data)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    return path


VALID = """
name = "test"
sources = ["Civil Procedure Law art. 85"]
renewal_lead_days = 10
day_count = "exclusive"

[max_period]
bank_account = "6m"
default = "6m"
"""


# --- the packaged China pack --------------------------------------------------------------


def test_the_china_pack_ships_inside_the_package() -> None:
    resource = resources.files("assetquery.rules").joinpath("china.toml")
    assert resource.is_file()
    assert Path(str(resource)).parent.name == "rules"


def test_the_china_pack_holds_the_current_law() -> None:
    assert CHINA.name == "china"
    assert any("art. 485" in source for source in CHINA.sources)
    periods = {kind: str(period) for kind, period in CHINA.max_period.items()}
    assert periods == {
        "bank_account": "1y",
        "housing_fund": "3y",
        "real_estate": "3y",
        "movable": "2y",
        "vehicle": "2y",
        "default": "1y",
    }
    assert CHINA.renewal_lead_days == 7


def test_the_unsettled_defaults_are_marked_as_such() -> None:
    assert CHINA.day_count is DayCount.INCLUSIVE
    assert CHINA.waiting_period_from is WaitingPeriodFrom.PROMOTION
    assert CHINA.renewal_period_from is RenewalPeriodFrom.RENEWAL
    assert CHINA.unsettled == {
        "day_count",
        "waiting_period_from",
        "renewal_period_from",
        "sla.housing_fund",
    }


def test_sla_defaults_keep_the_three_kinds_apart() -> None:
    from assetquery.rules._pack import SlaKind, SlaRule

    assert CHINA.sla["bank"]["inquiry"].kind is SlaKind.HOURS
    assert str(CHINA.sla["bank"]["inquiry"]) == "24 h"
    assert CHINA.sla["realestate"]["seal"].kind is SlaKind.WORKING_DAYS
    assert str(SlaRule.model_validate({"period": "1m"})) == "1m"
    with pytest.raises(ValueError, match="exactly one of hours, working_days or period"):
        SlaRule.model_validate({"hours": 24, "working_days": 1})


def test_an_unlisted_kind_gets_the_shortest_period() -> None:
    shortest = min(CHINA.max_period.values(), key=lambda p: p.after(date(2024, 1, 1)))
    assert CHINA.period_for("equity") == shortest == Period(1, PeriodUnit.YEAR)


def test_the_packaged_pack_is_read_once() -> None:
    assert load_rule_pack() is load_rule_pack()


def test_a_pack_survives_a_json_round_trip() -> None:
    assert RulePack.model_validate_json(CHINA.model_dump_json()) == CHINA


# --- periods ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1y", Period(1, PeriodUnit.YEAR)),
        ("18m", Period(18, PeriodUnit.MONTH)),
        ("30d", Period(30, PeriodUnit.DAY)),
        (" 2Y ", Period(2, PeriodUnit.YEAR)),
    ],
)
def test_periods_parse(text: str, expected: Period) -> None:
    assert Period.parse(text) == expected
    assert str(expected) == text.strip().lower()


@pytest.mark.parametrize("text", ["1", "y", "0y", "1.5y", "1w", "-1y", "1y6m", ""])
def test_bad_periods_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="period"):
        Period.parse(text)


@pytest.mark.parametrize(
    ("start", "period", "end"),
    [
        (date(2024, 1, 31), "1m", date(2024, 2, 29)),  # leap year: the month's last day
        (date(2023, 1, 31), "1m", date(2023, 2, 28)),
        (date(2024, 1, 30), "1m", date(2024, 2, 29)),
        (date(2024, 3, 31), "1m", date(2024, 4, 30)),
        (date(2024, 1, 31), "13m", date(2025, 2, 28)),
        (date(2024, 8, 31), "18m", date(2026, 2, 28)),
        (date(2024, 2, 29), "1y", date(2025, 2, 28)),  # no Feb 29 in 2025
        (date(2024, 2, 29), "4y", date(2028, 2, 29)),
        (date(2023, 2, 28), "1y", date(2024, 2, 28)),  # the same date, not the month's end
        (date(2024, 12, 15), "1m", date(2025, 1, 15)),
        (date(2024, 2, 28), "2d", date(2024, 3, 1)),
    ],
)
def test_art_85_period_ends(start: date, period: str, end: date) -> None:
    assert Period.parse(period).after(start) == end


def test_a_period_past_the_last_date_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="effective_on"):
        Period.parse("1y").after(date(9999, 6, 1))


# --- control end dates --------------------------------------------------------------------


def test_a_deposit_freeze_on_a_leap_day() -> None:
    # Art. 85: the start day (2024-02-29) is not counted and the year ends on the same date a
    # year on; 2025 has no Feb 29, so on the month's last day: 2025-02-28. The inclusive
    # reading counts 2024-02-29 itself as the first day, so the year's last day is the day
    # before that anniversary: 2025-02-27. Both readings are at most 2025-02-28.
    effective = date(2024, 2, 29)
    assert legal_end(CHINA, "bank_account", effective) == date(2025, 2, 28)
    assert control_end(CHINA, "bank_account", effective) == date(2025, 2, 27)
    assert control_end(EXCLUSIVE, "bank_account", effective) == date(2025, 2, 28)


def test_a_year_from_the_28th_of_february_does_not_reach_the_leap_day() -> None:
    effective = date(2023, 2, 28)
    assert control_end(EXCLUSIVE, "bank_account", effective) == date(2024, 2, 28)
    assert control_end(CHINA, "bank_account", effective) == date(2024, 2, 27)


@pytest.mark.parametrize(
    ("effective", "inclusive", "exclusive"),
    [
        (date(2024, 1, 31), date(2024, 2, 28), date(2024, 2, 29)),
        (date(2023, 1, 31), date(2023, 2, 27), date(2023, 2, 28)),
        (date(2024, 1, 29), date(2024, 2, 28), date(2024, 2, 29)),
        (date(2024, 3, 31), date(2024, 4, 29), date(2024, 4, 30)),
        (date(2024, 2, 29), date(2024, 3, 28), date(2024, 3, 29)),
    ],
)
def test_one_month_periods_at_month_ends(effective: date, inclusive: date, exclusive: date) -> None:
    monthly = pack(max_period={"default": "1m"})
    assert control_end(monthly, "bank_account", effective) == inclusive
    exclusive_monthly = monthly.model_copy(update={"day_count": DayCount.EXCLUSIVE})
    assert control_end(exclusive_monthly, "bank_account", effective) == exclusive


def test_three_year_seals_across_two_leap_days() -> None:
    # No single three-year period holds two Feb 29s, so: a seal over 2024-02-29 and its
    # renewal over 2028-02-29. Leap days inside a period are counted like any other day.
    sealed = date(2023, 3, 1)
    end = control_end(CHINA, "real_estate", sealed)
    assert end == date(2026, 2, 28)  # art. 85: 2026-03-01
    assert (end - sealed).days == 3 * 365  # 1,096 days counting both ends: one is Feb 29
    renewed = renewed_end(CHINA, "real_estate", date(2026, 2, 20), end)
    assert renewed == date(2029, 2, 19)  # art. 85: 2029-02-20; 2028-02-29 lies inside
    on_leap_day = date(2024, 2, 29)
    assert control_end(CHINA, "real_estate", on_leap_day) == date(2027, 2, 27)
    assert control_end(EXCLUSIVE, "real_estate", on_leap_day) == date(2027, 2, 28)


def test_each_kind_has_its_own_period() -> None:
    effective = date(2025, 6, 10)
    assert control_end(EXCLUSIVE, "bank_account", effective) == date(2026, 6, 10)
    assert control_end(EXCLUSIVE, "movable", effective) == date(2027, 6, 10)
    assert control_end(EXCLUSIVE, "vehicle", effective) == date(2027, 6, 10)
    assert control_end(EXCLUSIVE, "housing_fund", effective) == date(2028, 6, 10)
    assert control_end(EXCLUSIVE, "real_estate", effective) == date(2028, 6, 10)
    assert control_end(EXCLUSIVE, "equity", effective) == date(2026, 6, 10)


def test_no_rest_day_extension_is_applied() -> None:
    # 2025-10-01 is National Day. Art. 85 would move the end to the next working day; the
    # computed end stays on the holiday, the earlier and therefore safe date.
    assert control_end(EXCLUSIVE, "bank_account", date(2024, 10, 1)) == date(2025, 10, 1)


# --- renewals and waiting-line controls ---------------------------------------------------


def test_renewal_deadline_is_the_lead_before_expiry() -> None:
    assert renewal_deadline(CHINA, date(2025, 2, 27)) == date(2025, 2, 20)
    assert renewal_deadline(pack(renewal_lead_days=0), date(2025, 2, 27)) == date(2025, 2, 27)


def test_a_renewal_runs_the_full_period_from_its_effective_date() -> None:
    previous_end = date(2025, 2, 27)
    assert renewed_end(CHINA, "bank_account", date(2025, 2, 20), previous_end) == date(2026, 2, 19)
    # on the last day in force is still in time
    assert renewed_end(CHINA, "bank_account", previous_end, previous_end) == date(2026, 2, 26)


def test_a_renewal_may_follow_on_from_the_previous_end() -> None:
    following = pack(renewal_period_from="previous_end")
    previous_end = date(2025, 2, 27)
    assert renewed_end(following, "bank_account", date(2025, 2, 20), previous_end) == date(
        2026, 2, 26
    )
    exclusive = following.model_copy(update={"day_count": DayCount.EXCLUSIVE})
    assert renewed_end(exclusive, "bank_account", date(2025, 2, 20), date(2025, 2, 28)) == date(
        2026, 2, 28
    )


def test_a_lapsed_control_cannot_be_renewed() -> None:
    with pytest.raises(InvalidInput, match="lapsed") as caught:
        renewed_end(CHINA, "bank_account", date(2025, 2, 28), date(2025, 2, 27))
    assert caught.value.field == "renewal_effective_on"


def test_a_converted_waiting_control_runs_from_conversion_by_default() -> None:
    registered, promoted = date(2024, 1, 10), date(2024, 6, 1)
    end = promoted_end(CHINA, "real_estate", registered_on=registered, promoted_on=promoted)
    assert end == date(2027, 5, 31)
    from_registration = pack(waiting_period_from="registration")
    end = promoted_end(
        from_registration, "real_estate", registered_on=registered, promoted_on=promoted
    )
    assert end == date(2027, 1, 9)


def test_a_control_cannot_convert_before_it_was_registered() -> None:
    with pytest.raises(InvalidInput, match="before the control was registered"):
        promoted_end(
            CHINA, "real_estate", registered_on=date(2024, 6, 1), promoted_on=date(2024, 1, 10)
        )


# --- loading files ------------------------------------------------------------------------


def test_a_pack_file_loads(tmp_path: Path) -> None:
    loaded = load_rule_pack(write(tmp_path, VALID))
    assert loaded.name == "test" and loaded.renewal_lead_days == 10
    assert loaded.day_count is DayCount.EXCLUSIVE
    assert loaded.waiting_period_from is WaitingPeriodFrom.PROMOTION  # defaults apply
    assert control_end(loaded, "real_estate", date(2024, 8, 31)) == date(2025, 2, 28)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('default = "6m"', "", r"max_period: needs a 'default' period"),
        ('bank_account = "6m"', 'bank_account = "6 weeks"', r"max_period\.bank_account: .*1y"),
        ('bank_account = "6m"', "bank_account = 6", r"max_period\.bank_account: write the"),
        ('bank_account = "6m"', 'Bank = "6m"', r"max_period: a key is not an asset kind"),
        ('day_count = "exclusive"', 'day_count = "both"', r"day_count: .*'inclusive'"),
        ("renewal_lead_days = 10", "renewal_lead_days = -1", r"renewal_lead_days: .*0"),
        ("renewal_lead_days = 10", "", r"renewal_lead_days: Field required"),
        ('name = "test"', 'name = "test"\nperiods = 1', r"periods: Extra inputs"),
        ('name = "test"', 'name = "test"\nunsettled = ["name"]', r"unsettled names name"),
        ('["Civil Procedure Law art. 85"]', "[]", r"sources: .*at least 1"),
        ('["Civil Procedure Law art. 85"]', '[" "]', r"sources: a source is empty"),
    ],
)
def test_a_malformed_pack_names_the_file_and_the_key(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    assert old in VALID
    path = write(tmp_path, VALID.replace(old, new))
    with pytest.raises(ConfigurationError, match=message) as caught:
        load_rule_pack(path)
    assert str(path) in str(caught.value)


def test_a_file_that_is_not_toml(tmp_path: Path) -> None:
    path = write(tmp_path, "name = \n")
    with pytest.raises(ConfigurationError, match="is not valid TOML"):
        load_rule_pack(path)


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot be read"):
        load_rule_pack(tmp_path / "missing.toml")


# --- properties ---------------------------------------------------------------------------


def anniversary(start: date, period: Period) -> date:
    """Art. 85 by a different route: step month by month, then clamp the day."""
    if period.unit is PeriodUnit.DAY:
        return start + timedelta(days=period.count)
    year, month = start.year, start.month
    for _ in range(period.count * (12 if period.unit is PeriodUnit.YEAR else 1)):
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(start.day, last))


dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2200, 12, 31))
kinds = st.sampled_from([*CHINA.max_period, "equity", "ship"])
periods = st.builds(
    Period, st.integers(min_value=1, max_value=60), st.sampled_from(list(PeriodUnit))
)
packs = st.builds(
    lambda period, day_count: pack(
        max_period={"default": str(period), "real_estate": "3y", "bank_account": "1y"},
        day_count=day_count.value,
    ),
    periods,
    st.sampled_from(list(DayCount)),
)


@given(rules=packs | st.just(CHINA) | st.just(EXCLUSIVE), kind=kinds, effective=dates)
def test_control_end_is_never_later_than_the_law(
    rules: RulePack, kind: str, effective: date
) -> None:
    end = control_end(rules, kind, effective)
    legal = anniversary(effective, rules.period_for(kind))
    assert effective <= end <= legal
    if rules.day_count is DayCount.INCLUSIVE:
        assert end == legal - timedelta(days=1)
    else:
        assert end == legal


@given(rules=packs | st.just(CHINA), kind=kinds, first=dates, second=dates)
def test_control_end_is_monotone(rules: RulePack, kind: str, first: date, second: date) -> None:
    first, second = sorted((first, second))
    assert control_end(rules, kind, first) <= control_end(rules, kind, second)


@given(kind=kinds, effective=dates, days_early=st.integers(min_value=0, max_value=300))
def test_renewing_from_the_renewal_never_ends_later(
    kind: str, effective: date, days_early: int
) -> None:
    following = pack(renewal_period_from="previous_end")
    previous_end = control_end(CHINA, kind, effective)
    renewal = max(previous_end - timedelta(days=days_early), effective)
    from_renewal = renewed_end(CHINA, kind, renewal, previous_end)
    assert from_renewal <= renewed_end(following, kind, renewal, previous_end)
    assert from_renewal >= renewal
