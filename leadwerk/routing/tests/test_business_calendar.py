"""Business-time arithmetic: weekends, German federal-state holidays, company holidays,
lunch breaks and daylight-saving changes."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadwerk.routing.business_calendar import (
    OFFICE_HOURS,
    BusinessClock,
    CalendarError,
    CalendarSpec,
    region_problem,
)

BERLIN = ZoneInfo("Europe/Berlin")


def at(y, m, d, hh=0, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=BERLIN)


def clock(subdivision="", hours=None, company=(), country="DE") -> BusinessClock:
    return BusinessClock(
        CalendarSpec(
            hours=OFFICE_HOURS if hours is None else hours,
            country=country,
            subdivision=subdivision,
            company_holidays=frozenset(company),
        )
    )


ALWAYS = {d: ((time(0), time(0)),) for d in range(7)}


def test_friday_afternoon_plus_one_business_day_is_monday_afternoon():
    assert clock("BY").add_days(at(2026, 3, 13, 15), 1) == at(2026, 3, 16, 15)


def test_a_lead_on_the_weekend_is_due_at_the_end_of_monday():
    assert clock("BE").add_days(at(2026, 3, 14, 11), 1) == at(2026, 3, 16, 17)
    assert clock("BE").add_days(at(2026, 3, 15, 23, 30), 2) == at(2026, 3, 17, 17)


def test_before_opening_counts_from_the_opening():
    assert clock().due(at(2026, 3, 16, 6), 1, "hours") == at(2026, 3, 16, 9)


def test_landing_on_closing_time_gives_closing_time_not_next_morning():
    assert clock().add_minutes(at(2026, 3, 13, 16), 60) == at(2026, 3, 13, 17)
    assert clock().add_minutes(at(2026, 3, 13, 16), 61) == at(2026, 3, 16, 8, 1)


def test_epiphany_is_a_holiday_in_bavaria_but_not_in_berlin():
    monday = at(2026, 1, 5, 10)  # 6 January 2026 is a Tuesday
    assert clock("BE").add_days(monday, 1) == at(2026, 1, 6, 10)
    assert clock("BY").add_days(monday, 1) == at(2026, 1, 7, 10)
    assert clock("BY").holiday_name(date(2026, 1, 6)) is not None
    assert clock("BE").holiday_name(date(2026, 1, 6)) is None


def test_corpus_christi_delays_bavaria_only():
    wednesday = at(2026, 6, 3, 14)  # Corpus Christi: Thursday 4 June 2026
    assert clock("BY").add_days(wednesday, 1) == at(2026, 6, 5, 14)
    assert clock("BE").add_days(wednesday, 1) == at(2026, 6, 4, 14)


def test_womens_day_is_a_holiday_in_berlin_only():
    friday = at(2027, 3, 5, 9)  # 8 March 2027 is a Monday
    assert clock("BE").add_days(friday, 1) == at(2027, 3, 9, 9)
    assert clock("BY").add_days(friday, 1) == at(2027, 3, 8, 9)


def test_easter_skips_good_friday_the_weekend_and_easter_monday():
    thursday = at(2026, 4, 2, 16)
    assert clock("NW").add_days(thursday, 1) == at(2026, 4, 7, 16)
    assert clock("NW").minutes_between(thursday, at(2026, 4, 7, 16)) == 9 * 60


def test_company_holidays_count_as_days_off():
    c = clock("BY", company={date(2026, 12, 24), date(2026, 12, 31)})
    assert c.add_days(at(2026, 12, 23, 12), 1) == at(2026, 12, 28, 12)
    assert c.holiday_name(date(2026, 12, 24)) == "company holiday"


def test_lunch_breaks_are_not_business_time():
    hours = {d: ((time(8), time(12)), (time(13), time(17))) for d in range(5)}
    c = clock(hours=hours)
    assert c.add_minutes(at(2026, 3, 13, 11, 30), 60) == at(2026, 3, 13, 13, 30)
    assert not c.is_open(at(2026, 3, 13, 12, 30))
    assert c.next_open(at(2026, 3, 13, 12, 30)) == at(2026, 3, 13, 13)
    # One business day from 15:00 keeps the position in the working day (6 h in).
    assert c.add_days(at(2026, 3, 13, 15), 1) == at(2026, 3, 16, 15)


def test_spring_forward_keeps_the_wall_clock_deadline():
    # Clocks go forward on Sunday 29 March 2026: Friday 16:00 CET + 1 business day is
    # Monday 16:00 CEST, which is 14:00 UTC (not 15:00).
    due = clock("BY").add_days(at(2026, 3, 27, 16), 1)
    assert due == at(2026, 3, 30, 16)
    assert due.astimezone(UTC).hour == 14
    assert clock("BY").due(at(2026, 3, 27, 16, 30), 2, "hours") == at(2026, 3, 30, 9, 30)


def test_fall_back_day_has_twenty_five_business_hours_on_a_round_the_clock_calendar():
    c = clock(hours=ALWAYS, country="")
    sunday = date(2026, 10, 25)
    start = datetime.combine(sunday, time(0), tzinfo=BERLIN)
    end = datetime.combine(sunday + timedelta(days=1), time(0), tzinfo=BERLIN)
    assert c.minutes_between(start, end) == 25 * 60
    # Saturday 22:00 CEST + 24 business hours = Sunday 21:00 CET (the day was longer).
    assert c.add_minutes(at(2026, 10, 24, 22), 24 * 60) == at(2026, 10, 25, 21)


def test_spring_forward_day_has_twenty_three_hours_on_a_round_the_clock_calendar():
    c = clock(hours=ALWAYS, country="")
    start = at(2026, 3, 29)
    assert c.minutes_between(start, at(2026, 3, 30)) == 23 * 60


def test_unknown_region_and_zone_are_refused():
    assert "unknown region 'XX'" in region_problem("DE", "XX")
    assert "BY" in region_problem("DE", "XX")
    assert region_problem("QQ", "") == "no public holidays known for country 'QQ'"
    with pytest.raises(CalendarError):
        clock("XX")
    with pytest.raises(CalendarError):
        BusinessClock(CalendarSpec(time_zone="Mars/Olympus", hours=OFFICE_HOURS))


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        clock().is_open(datetime(2026, 3, 13, 10))  # noqa: DTZ001 - the point of the test


def test_a_calendar_without_working_time_says_so():
    with pytest.raises(CalendarError, match="no working time"):
        clock(hours={}).next_open(at(2026, 3, 13, 10))


instants = st.datetimes(
    min_value=datetime(2025, 1, 1),  # noqa: DTZ001 - hypothesis adds the zone
    max_value=datetime(2028, 12, 31),  # noqa: DTZ001
    timezones=st.just(BERLIN),
)


@settings(max_examples=150, deadline=None)
@given(start=instants, minutes=st.integers(min_value=0, max_value=5 * 9 * 60))
def test_adding_business_minutes_and_measuring_them_agree(start, minutes):
    c = clock("BY")
    end = c.add_minutes(start, minutes)
    assert end >= start
    assert c.minutes_between(c.next_open(start), end) == pytest.approx(minutes)


@settings(max_examples=100, deadline=None)
@given(start=instants, a=st.integers(0, 3000), b=st.integers(0, 3000))
def test_more_business_minutes_never_end_earlier(start, a, b):
    c = clock("BE")
    lo, hi = sorted((a, b))
    assert c.add_minutes(start, lo) <= c.add_minutes(start, hi)


@settings(max_examples=100, deadline=None)
@given(start=instants, days=st.integers(1, 5))
def test_business_days_end_on_a_business_day_within_working_hours(start, days):
    c = clock("BY")
    due = c.add_days(start, days)
    local = due.astimezone(BERLIN)
    assert c.is_business_day(local.date())
    assert time(8) < local.time() <= time(17)
    # Never more business time than `days` full working days.
    assert c.minutes_between(c.next_open(start), due) <= days * 9 * 60 + 1e-6
