"""Business-time arithmetic: working hours in the contract's zone, weekends, holidays, lunch
breaks and the days the clocks change."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from automator.errors import AutomatorError
from automator.sla import BusinessCalendar, WallClock

BERLIN = ZoneInfo("Europe/Berlin")
SHANGHAI = ZoneInfo("Asia/Shanghai")
OFFICE = ((time(8), time(18)),)
WEEK = {day: OFFICE for day in range(5)}
HOUR = 3600


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)  # type: ignore[misc]


def office(holidays: frozenset[date] = frozenset()) -> BusinessCalendar:
    return BusinessCalendar(BERLIN, WEEK, holidays)


def test_inside_one_working_day() -> None:
    assert office().add(berlin(2026, 3, 4, 9), 2 * HOUR) == berlin(2026, 3, 4, 11)
    assert office().seconds(berlin(2026, 3, 4, 9), berlin(2026, 3, 4, 11)) == 2 * HOUR


def test_a_ticket_opened_on_friday_evening_is_due_on_monday() -> None:
    # Friday 17:00 + 4 working hours: one hour on Friday, three on Monday morning
    due = office().add(berlin(2026, 3, 6, 17), 4 * HOUR)
    assert due == berlin(2026, 3, 9, 11)
    # opened after hours: the clock starts on Monday at 08:00
    assert office().add(berlin(2026, 3, 6, 20, 30), 30 * 60) == berlin(2026, 3, 9, 8, 30)
    assert office().seconds(berlin(2026, 3, 6, 17), berlin(2026, 3, 9, 11)) == 4 * HOUR


def test_a_holiday_is_skipped() -> None:
    calendar = office(frozenset({date(2026, 3, 9)}))  # Monday off
    assert calendar.add(berlin(2026, 3, 6, 17), 4 * HOUR) == berlin(2026, 3, 10, 11)
    assert calendar.seconds(berlin(2026, 3, 9, 0), berlin(2026, 3, 10, 0)) == 0


def test_a_lunch_break_and_a_short_saturday() -> None:
    week = {day: ((time(9), time(12)), (time(13), time(18))) for day in range(5)}
    week[5] = ((time(9), time(12)),)
    calendar = BusinessCalendar(SHANGHAI, week)
    friday = datetime(2026, 3, 6, 11, tzinfo=SHANGHAI)
    # 1 h before lunch, 5 h after, 3 h on Saturday, then Monday
    assert calendar.add(friday, 1 * HOUR) == datetime(2026, 3, 6, 12, tzinfo=SHANGHAI)
    assert calendar.add(friday, 1.5 * HOUR) == datetime(2026, 3, 6, 13, 30, tzinfo=SHANGHAI)
    assert calendar.add(friday, 9 * HOUR + 60) == datetime(2026, 3, 9, 9, 1, tzinfo=SHANGHAI)


def test_working_hours_stay_local_across_the_spring_change() -> None:
    # Berlin moves from CET (UTC+1) to CEST (UTC+2) on Sunday 29 March 2026
    friday = berlin(2026, 3, 27, 17)
    due = office().add(friday, 2 * HOUR)
    assert due == berlin(2026, 3, 30, 9)
    assert due.astimezone(UTC) == datetime(2026, 3, 30, 7, tzinfo=UTC)  # an hour less to UTC
    assert friday.astimezone(UTC) == datetime(2026, 3, 27, 16, tzinfo=UTC)


def test_a_whole_day_on_a_change_counts_what_it_lasted() -> None:
    every_day = BusinessCalendar(BERLIN, {day: ((time(0), None),) for day in range(7)})
    spring = every_day.seconds(berlin(2026, 3, 29), berlin(2026, 3, 30))
    autumn = every_day.seconds(berlin(2026, 10, 25), berlin(2026, 10, 26))
    assert (spring, autumn) == (23 * HOUR, 25 * HOUR)
    # and 24 hours from Saturday noon end at Sunday 13:00 local after the spring change
    assert every_day.add(berlin(2026, 3, 28, 12), 24 * HOUR) == berlin(2026, 3, 29, 13)


def test_wall_time_ignores_the_local_clock() -> None:
    start = berlin(2026, 10, 25, 0, 30)
    due = WallClock().add(start, 4 * HOUR)
    assert due - start == timedelta(hours=4)
    assert due.astimezone(BERLIN).hour == 3  # 4 real hours, the local clock went back one
    assert WallClock().seconds(due, start) == 0


def test_a_calendar_without_working_time_is_refused() -> None:
    with pytest.raises(AutomatorError, match="at least one day"):
        BusinessCalendar(BERLIN, {})
    every_holiday = frozenset(date(2026, 1, 1) + timedelta(days=n) for n in range(3700))
    with pytest.raises(AutomatorError, match="no working time"):
        office(every_holiday).add(berlin(2026, 1, 1), HOUR)
