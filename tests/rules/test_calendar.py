"""The working-day calendar: make-up workdays, provisional years, loaded schedules, deadlines."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import chinese_calendar
import pytest
from hypothesis import given
from hypothesis import strategies as st

from assetquery import ConfigurationError, InvalidInput
from assetquery._time import SHANGHAI, end_of_local_day, local_date
from assetquery.rules._calendar import (
    Deadline,
    WorkingCalendar,
    YearSchedule,
    _statutory,
    default_calendar,
    load_schedule,
    load_schedules,
    schedule_from_mapping,
)

CALENDAR = default_calendar()

# TEST FIXTURE, NOT AN ANNOUNCEMENT. A plausible 2027 schedule, made up for these tests from
# the statutory days and the usual pattern; the State Council's real notice will differ.
FIXTURE_2027 = """\
# TEST FIXTURE: invented for the tests, not the State Council's 2027 schedule
year = 2027
source = "test fixture (invented), not a State Council notice"
holidays = [
    "2027-01-01", "2027-01-02", "2027-01-03",
    "2027-02-05", "2027-02-06", "2027-02-07", "2027-02-08", "2027-02-09",
    "2027-02-10", "2027-02-11", "2027-02-12", "2027-02-13",
    "2027-04-03", "2027-04-04", "2027-04-05",
    "2027-05-01", "2027-05-02", "2027-05-03", "2027-05-04", "2027-05-05",
    "2027-06-09",
    "2027-09-15",
    "2027-10-01", "2027-10-02", "2027-10-03", "2027-10-04",
    "2027-10-05", "2027-10-06", "2027-10-07",
]
workdays = ["2027-01-31", "2027-02-14", "2027-05-08", "2027-09-26", "2027-10-09"]
"""

#: the 13 statutory days of 2027 (since 2025: New Year 1, Spring Festival 4 with the Eve,
#: Qingming 1, Labour Day 2, Dragon Boat 1, Mid-Autumn 1, National Day 3)
STATUTORY_2027 = frozenset(
    date.fromisoformat(d)
    for d in (
        "2027-01-01",
        "2027-02-05",  # Chinese New Year's Eve (Friday)
        "2027-02-06",
        "2027-02-07",
        "2027-02-08",
        "2027-04-05",  # Qingming
        "2027-05-01",
        "2027-05-02",
        "2027-06-09",  # Dragon Boat
        "2027-09-15",  # Mid-Autumn
        "2027-10-01",
        "2027-10-02",
        "2027-10-03",
    )
)


def shanghai(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    """An aware datetime from a Shanghai wall-clock time."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def due_end_of(day: date) -> datetime:
    return datetime.combine(day, time.max, SHANGHAI).astimezone(UTC)


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


@pytest.fixture
def schedule_file(tmp_path: Path) -> Path:
    file = tmp_path / "2027.toml"
    file.write_text(FIXTURE_2027, encoding="utf-8")
    return file


@pytest.fixture
def with_2027(schedule_file: Path) -> WorkingCalendar:
    return CALENDAR.with_schedule(load_schedule(schedule_file))


# --- announced years (chinese-calendar) -------------------------------------------------------


def test_spring_festival_2026() -> None:
    for day in days(date(2026, 2, 15), date(2026, 2, 23)):
        assert not CALENDAR.is_working_day(day), day
    assert CALENDAR.is_working_day(date(2026, 2, 14))  # Saturday, make-up workday
    assert CALENDAR.is_working_day(date(2026, 2, 28))  # Saturday, make-up workday
    assert CALENDAR.is_working_day(date(2026, 2, 13))
    assert CALENDAR.is_working_day(date(2026, 2, 24))
    assert not CALENDAR.is_working_day(date(2026, 3, 1))  # an ordinary Sunday
    assert not CALENDAR.is_provisional(date(2026, 2, 14))


def test_national_day_2026() -> None:
    for day in days(date(2026, 10, 1), date(2026, 10, 7)):
        assert not CALENDAR.is_working_day(day), day
    for day in days(date(2026, 9, 25), date(2026, 9, 27)):  # Mid-Autumn
        assert not CALENDAR.is_working_day(day), day
    assert CALENDAR.is_working_day(date(2026, 9, 20))  # Sunday, make-up workday
    assert CALENDAR.is_working_day(date(2026, 10, 10))  # Saturday, make-up workday
    assert not CALENDAR.is_working_day(date(2026, 9, 19))
    assert not CALENDAR.is_working_day(date(2026, 10, 11))


def test_agrees_with_chinese_calendar_for_2026() -> None:
    for day in days(date(2026, 1, 1), date(2026, 12, 31)):
        assert CALENDAR.is_working_day(day) is chinese_calendar.is_workday(day), day


@pytest.mark.parametrize(
    ("requested", "due"),
    [
        # Friday before Spring Festival: the next working day is the make-up Saturday
        (shanghai(2026, 2, 13, 10, 0), date(2026, 2, 14)),
        # the make-up Saturday itself: Feb 15-23 are holidays, so Tuesday Feb 24
        (shanghai(2026, 2, 14, 9, 30), date(2026, 2, 24)),
        # 01:30 on Feb 14 in Shanghai is still Feb 13 in UTC; Shanghai's date is the one
        (datetime(2026, 2, 13, 17, 30, tzinfo=UTC), date(2026, 2, 24)),
        # the hour does not matter: the request day never counts
        (shanghai(2026, 3, 2, 0, 0), date(2026, 3, 3)),
        (shanghai(2026, 3, 2, 23, 59), date(2026, 3, 3)),
    ],
)
def test_one_working_day(requested: datetime, due: date) -> None:
    deadline = CALENDAR.add_working_days(requested, 1)
    assert deadline == Deadline(due_end_of(due), provisional=False)
    assert deadline.due_at.tzinfo is UTC


def test_one_working_day_over_the_make_up_sunday() -> None:
    # Requested Friday 2026-09-18 at 17:00. The request day does not count; Saturday Sep 19
    # is a rest day; Sunday Sep 20 is worked in exchange for the National Day break, so it
    # is the first working day after the request and the deadline is its end.
    assert chinese_calendar.is_workday(date(2026, 9, 18))
    assert not chinese_calendar.is_workday(date(2026, 9, 19))
    assert chinese_calendar.is_workday(date(2026, 9, 20))
    deadline = CALENDAR.add_working_days(shanghai(2026, 9, 18, 17, 0), 1)
    assert deadline.due_at == due_end_of(date(2026, 9, 20))
    assert deadline.due_at == datetime(2026, 9, 20, 15, 59, 59, 999999, tzinfo=UTC)
    assert not deadline.provisional


def test_next_working_day() -> None:
    assert CALENDAR.next_working_day(date(2026, 2, 13)) == date(2026, 2, 14)
    assert CALENDAR.next_working_day(date(2026, 2, 14)) == date(2026, 2, 24)
    assert CALENDAR.next_working_day(date(2026, 9, 18)) == date(2026, 9, 20)


# --- provisional years --------------------------------------------------------------------------


def test_statutory_days_of_2027() -> None:
    assert _statutory(2027).holidays == STATUTORY_2027
    assert _statutory(2027).workdays == frozenset()
    off_weekdays = {
        d
        for d in days(date(2027, 1, 1), date(2027, 12, 31))
        if d.weekday() < 5 and not CALENDAR.is_working_day(d)
    }
    assert off_weekdays == {d for d in STATUTORY_2027 if d.weekday() < 5}
    assert CALENDAR.is_provisional(date(2027, 6, 1))


def test_spring_festival_2027_lunar_dates_when_provisional() -> None:
    for day in days(date(2027, 2, 5), date(2027, 2, 8)):  # Eve (Friday) to the third day
        assert not CALENDAR.is_working_day(day), day
        assert CALENDAR.is_provisional(day)
    assert CALENDAR.is_working_day(date(2027, 2, 4))
    # no guessed compensatory days for the festival days on the weekend, nor any bridge days
    assert CALENDAR.is_working_day(date(2027, 2, 9))
    assert CALENDAR.is_working_day(date(2027, 2, 10))
    assert CALENDAR.is_working_day(date(2027, 5, 3))
    assert CALENDAR.is_working_day(date(2027, 10, 4))


def test_only_statutory_days_never_substituted_days() -> None:
    # holidays knows the 2003 notice and lists its 调休 days off; they are not statutory
    assert CALENDAR.is_provisional(date(2003, 2, 6))
    assert not CALENDAR.is_working_day(date(2003, 2, 3))  # third day of Spring Festival
    assert CALENDAR.is_working_day(date(2003, 2, 6))  # a 调休 day off in the notice
    assert date(2026, 1, 2) not in _statutory(2026).holidays  # ditto for 2026


@pytest.mark.parametrize("year", range(2027, 2101))
def test_statutory_days_every_future_year(year: int) -> None:
    # Guards against a holidays release renaming or adding days: the law's 13 days, 12 in
    # years where Mid-Autumn falls within National Day.
    off = _statutory(year).holidays
    fixed = {date(year, 1, 1), date(year, 5, 1), date(year, 5, 2)}
    national = {date(year, 10, 1), date(year, 10, 2), date(year, 10, 3)}
    assert fixed | national <= off
    lunar = sorted(off - fixed - national)
    spring = [d for d in lunar if d.month <= 2]
    assert len(spring) == 4
    assert spring[-1] - spring[0] == timedelta(days=3)
    qingming = [d for d in lunar if d.month == 4]
    assert len(qingming) == 1
    # left: Dragon Boat (late May or June) and Mid-Autumn (Sep 7 to Oct 8), unless Mid-Autumn
    # falls on Oct 1-3, inside National Day, and the year has 12 days off instead of 13
    others = [d for d in lunar if d not in spring and d not in qingming]
    assert [d.month in (5, 6) for d in others] == [True, False][: len(others)]
    assert len(off) == 13 if len(others) == 2 else len(off) == 12


def test_deadline_into_an_unannounced_year_is_provisional(with_2027: WorkingCalendar) -> None:
    requested = shanghai(2026, 12, 30, 10, 0)
    # Dec 31 (1), Jan 1 is New Year's Day, Jan 2-3 the weekend, Jan 4 (2), Jan 5 (3)
    assert CALENDAR.add_working_days(requested, 3) == Deadline(
        due_end_of(date(2027, 1, 5)), provisional=True
    )
    assert with_2027.add_working_days(requested, 3) == Deadline(
        due_end_of(date(2027, 1, 5)), provisional=False
    )
    # one day is enough to reach into 2027
    assert CALENDAR.add_working_days(requested, 1).provisional is False
    assert CALENDAR.add_working_days(shanghai(2026, 12, 31, 9, 0), 1).provisional is True


def test_loaded_schedule_moves_a_provisional_deadline(with_2027: WorkingCalendar) -> None:
    requested = shanghai(2027, 2, 12, 10, 0)  # a Friday
    # provisional: only the statutory days, so Monday Feb 15
    assert CALENDAR.add_working_days(requested, 1) == Deadline(
        due_end_of(date(2027, 2, 15)), provisional=True
    )
    # the fixture's make-up Sunday Feb 14 comes first
    assert with_2027.add_working_days(requested, 1) == Deadline(
        due_end_of(date(2027, 2, 14)), provisional=False
    )
    assert with_2027.is_working_day(date(2027, 1, 31))
    assert not with_2027.is_working_day(date(2027, 2, 12))
    assert not with_2027.is_provisional(date(2027, 7, 1))


# --- loaded schedules -----------------------------------------------------------------------------


def test_load_schedule(schedule_file: Path) -> None:
    schedule = load_schedule(schedule_file)
    assert schedule.year == 2027
    assert len(schedule.holidays) == 29
    assert date(2027, 10, 9) in schedule.workdays
    assert schedule.source is not None
    assert schedule.holidays >= STATUTORY_2027


def test_toml_dates_are_accepted(tmp_path: Path) -> None:
    file = tmp_path / "s.toml"
    file.write_text("year = 2027\nholidays = [2027-01-01]\nworkdays = [2027-01-31]\n")
    schedule = load_schedule(file)
    assert schedule.holidays == {date(2027, 1, 1)}
    assert schedule.workdays == {date(2027, 1, 31)}
    assert schedule.source is None


def test_with_schedule_is_immutable(with_2027: WorkingCalendar) -> None:
    assert CALENDAR.is_provisional(date(2027, 1, 4))
    assert CALENDAR.schedules == ()
    assert [s.year for s in with_2027.schedules] == [2027]
    replacement = YearSchedule(year=2027, holidays=frozenset({date(2027, 1, 1)}))
    replaced = with_2027.with_schedule(replacement)
    assert replaced.schedules == (replacement,)
    assert with_2027.is_working_day(date(2027, 2, 9)) is False
    assert replaced.is_working_day(date(2027, 2, 9)) is True
    with pytest.raises(dataclasses.FrozenInstanceError):
        with_2027.schedules = ()  # type: ignore[misc]
    with pytest.raises(ValueError, match="two schedules for 2027"):
        WorkingCalendar([replacement, replacement])


def test_loaded_schedule_wins_over_chinese_calendar() -> None:
    # an operator correction: 2026 as announced, plus a (hypothetical) extra day off
    announced = chinese_calendar.get_holidays(date(2026, 1, 1), date(2026, 12, 31), False)
    worked = [
        d
        for d in chinese_calendar.get_workdays(date(2026, 1, 1), date(2026, 12, 31))
        if d.weekday() >= 5
    ]
    corrected = YearSchedule(
        year=2026,
        holidays=frozenset([*announced, date(2026, 3, 2)]),
        workdays=frozenset(worked),
        source="test: operator correction",
    )
    calendar = CALENDAR.with_schedule(corrected)
    assert CALENDAR.is_working_day(date(2026, 3, 2))
    assert not calendar.is_working_day(date(2026, 3, 2))
    assert calendar.is_working_day(date(2026, 2, 14))
    assert calendar.add_working_days(shanghai(2026, 2, 27, 12, 0), 1).due_at == due_end_of(
        date(2026, 2, 28)
    )


def test_from_paths_loads_folders_and_files(tmp_path: Path) -> None:
    folder = tmp_path / "calendar"
    folder.mkdir()
    (folder / "2027.toml").write_text(FIXTURE_2027, encoding="utf-8")
    (folder / "README.txt").write_text("not a schedule")
    single = tmp_path / "2028.toml"
    single.write_text('year = 2028\nholidays = ["2028-01-01"]\n')
    calendar = WorkingCalendar.from_paths([folder, single])
    assert [s.year for s in calendar.schedules] == [2027, 2028]
    assert not calendar.is_provisional(date(2028, 3, 1))
    assert [s.year for s in load_schedules(folder)] == [2027]
    assert load_schedules(tmp_path / "calendar" / "2027.toml")[0].year == 2027
    empty = tmp_path / "empty"
    empty.mkdir()
    assert WorkingCalendar.from_paths([empty]).schedules == ()


def test_two_files_for_one_year_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(FIXTURE_2027, encoding="utf-8")
    (tmp_path / "b.toml").write_text('year = 2027\nholidays = ["2027-01-01"]\n')
    with pytest.raises(ConfigurationError) as error:
        WorkingCalendar.from_paths([tmp_path])
    message = str(error.value)
    assert "a.toml" in message
    assert "b.toml" in message
    assert "2027" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'year = 2027\nholidays = ["2026-12-31", "2027-01-01"]\n',
            "holidays: 2026-12-31 (Thursday) is not in 2027",
        ),
        (
            'year = 2027\nholidays = ["2027-01-01"]\nworkdays = ["2028-01-01"]\n',
            "workdays: 2028-01-01 (Saturday) is not in 2027",
        ),
        (
            'year = 2027\nholidays = ["2027-02-06"]\nworkdays = ["2027-02-06"]\n',
            "workdays: 2027-02-06 (Saturday) is also listed under holidays",
        ),
        (
            'year = 2027\nholidays = ["2027-02-05"]\nworkdays = ["2027-02-08"]\n',
            "workdays: 2027-02-08 (Monday): a make-up workday is a Saturday or Sunday",
        ),
        ('year = 2027\nholidays = ["2027-02-30"]\n', "holidays[0]: 2027-02-30 is not a calendar"),
        ("year = 2027\nholidays = [20270101]\n", 'holidays[0]: write a date as "2027-01-01"'),
        ('year = 2027\nholidays = ["2027-01-01T00:00"]\n', "holidays[0]: write a date as"),
        ('holidays = ["2027-01-01"]\n', "year: Field required"),
        ('year = "2027"\nholidays = ["2027-01-01"]\n', "year: Input should be a valid integer"),
        ("year = 2027\nholidays = []\n", "holidays: lists no days off"),
        ('year = 2027\nholidays = ["2027-01-01"]\nworkday = []\n', "workday: Extra inputs"),
        ('year = 2027\nholidays = ["2027-01-01"\n', "is not valid TOML"),
    ],
)
def test_loading_errors_name_the_file_and_the_problem(
    tmp_path: Path, text: str, expected: str
) -> None:
    file = tmp_path / "2027.toml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigurationError) as error:
        load_schedule(file)
    assert str(file) in str(error.value)
    assert expected in str(error.value)


def test_unreadable_schedule(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"
    with pytest.raises(ConfigurationError, match=r"nowhere\.toml: cannot be read"):
        load_schedule(missing)
    with pytest.raises(ConfigurationError, match=r"nowhere\.toml: cannot be read"):
        WorkingCalendar.from_paths([missing])
    binary = tmp_path / "2027.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigurationError, match="is not UTF-8"):
        load_schedule(binary)


def test_schedule_from_mapping_names_the_source() -> None:
    with pytest.raises(ConfigurationError, match=r"^operator input is not a valid holiday"):
        schedule_from_mapping({"year": 2027, "holidays": []}, "operator input")


# --- arguments ------------------------------------------------------------------------------------


def test_refuses_a_naive_start_and_no_days() -> None:
    with pytest.raises(InvalidInput, match=r"start: .* no time zone"):
        CALENDAR.add_working_days(datetime(2026, 3, 2, 10, 0), 1)
    with pytest.raises(InvalidInput, match="days: 0"):
        CALENDAR.add_working_days(shanghai(2026, 3, 2, 10, 0), 0)


def test_no_working_day_after_the_last_date() -> None:
    with pytest.raises(InvalidInput, match="last representable date"):
        CALENDAR.next_working_day(date.max)


# --- properties -----------------------------------------------------------------------------------

STARTS = st.datetimes(
    min_value=datetime(2004, 1, 1), max_value=datetime(2040, 12, 31), timezones=st.just(UTC)
)
COUNTS = st.integers(min_value=1, max_value=40)


@given(start=STARTS, n=COUNTS)
def test_deadline_is_later_than_the_request(start: datetime, n: int) -> None:
    deadline = CALENDAR.add_working_days(start, n)
    assert deadline.due_at > start
    assert local_date(deadline.due_at) > local_date(start)


@given(start=STARTS, n=COUNTS, more=st.integers(min_value=1, max_value=10))
def test_deadline_is_monotone_in_days(start: datetime, n: int, more: int) -> None:
    shorter = CALENDAR.add_working_days(start, n)
    longer = CALENDAR.add_working_days(start, n + more)
    assert shorter.due_at < longer.due_at
    assert longer.provisional or not shorter.provisional


@given(start=STARTS, n=COUNTS)
def test_deadline_is_the_end_of_a_working_day(start: datetime, n: int) -> None:
    deadline = CALENDAR.add_working_days(start, n)
    due = local_date(deadline.due_at)
    assert CALENDAR.is_working_day(due)
    assert deadline.due_at == end_of_local_day(due)
    assert deadline.due_at.astimezone(SHANGHAI).time() == time.max
    # exactly n working days after the request day, none of them the request day
    counted = [
        d for d in days(local_date(start) + timedelta(days=1), due) if CALENDAR.is_working_day(d)
    ]
    assert len(counted) == n
    assert deadline.provisional is (due.year > 2026)
