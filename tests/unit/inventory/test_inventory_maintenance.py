from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from automator.inventory import Inventory, MaintenanceWindow

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# 2026-01-04 is a Sunday, 2026-01-05 a Monday.
SUNDAY_NIGHT = MaintenanceWindow("weekly", days=frozenset({6}), start=time(2), end=time(4))


@pytest.mark.parametrize(
    ("when", "inside"),
    [
        (utc(2026, 1, 4, 2, 0), True),  # start is inside
        (utc(2026, 1, 4, 3, 59), True),
        (utc(2026, 1, 4, 4, 0), False),  # end is not
        (utc(2026, 1, 4, 1, 59), False),
        (utc(2026, 1, 5, 3, 0), False),  # Monday
    ],
)
def test_recurring_window(when: datetime, inside: bool) -> None:
    assert SUNDAY_NIGHT.contains(when) is inside


CROSSING = MaintenanceWindow("late", days=frozenset({6}), start=time(23), end=time(1))


@pytest.mark.parametrize(
    ("when", "inside"),
    [
        (utc(2026, 1, 4, 23, 30), True),  # Sunday night
        (utc(2026, 1, 5, 0, 30), True),  # Monday morning: still Sunday's window
        (utc(2026, 1, 5, 1, 0), False),
        (utc(2026, 1, 4, 0, 30), False),  # Sunday morning would be Saturday's window
        (utc(2026, 1, 5, 23, 30), False),  # Monday night
    ],
)
def test_window_crossing_midnight(when: datetime, inside: bool) -> None:
    assert CROSSING.contains(when) is inside


def test_recurring_window_is_in_its_timezone() -> None:
    berlin = MaintenanceWindow(
        "weekly", days=frozenset({6}), start=time(2), end=time(4), timezone="Europe/Berlin"
    )
    assert berlin.contains(utc(2026, 1, 4, 1, 30))  # 02:30 CET
    assert not berlin.contains(utc(2026, 1, 4, 3, 30))  # 04:30 CET
    assert berlin.contains(utc(2026, 7, 5, 0, 30))  # 02:30 CEST
    assert not berlin.contains(utc(2026, 7, 5, 2, 30))  # 04:30 CEST
    assert berlin.contains(datetime(2026, 1, 3, 20, 30, tzinfo=NEW_YORK))  # Sun 02:30 CET


def test_weekday_is_taken_in_the_window_timezone() -> None:
    monday = MaintenanceWindow(
        "monday", days=frozenset({0}), start=time(0), end=time(1), timezone="Europe/Berlin"
    )
    assert monday.contains(utc(2026, 1, 4, 23, 30))  # Sunday in UTC, Monday 00:30 in Berlin


def test_one_off_window() -> None:
    move = MaintenanceWindow("dc-move", starts=utc(2026, 12, 5, 20), ends=utc(2026, 12, 6, 6))
    assert move.contains(utc(2026, 12, 5, 20))
    assert move.contains(datetime(2026, 12, 6, 6, 30, tzinfo=BERLIN))  # 05:30 UTC
    assert not move.contains(utc(2026, 12, 6, 6))
    assert not move.contains(utc(2026, 12, 12, 21))


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        SUNDAY_NIGHT.contains(datetime(2026, 1, 4, 3))


def test_windows_from_the_inventory(load: Callable[[str], Inventory]) -> None:
    web1 = load("windows").get("web1")
    late, move = web1.maintenance
    # Unquoted 22:00 is an integer to YAML 1.1; the inventory still reads it as a time.
    # Day names are case-insensitive ([Fri, fri]).
    assert late == MaintenanceWindow(
        "late", days=frozenset({4}), start=time(22), end=time(1, 30), timezone="Europe/Berlin"
    )
    # A one-off time without an offset is in the window's timezone.
    assert move.starts == datetime(2026, 12, 5, 20, tzinfo=NEW_YORK)
    assert move.ends == utc(2026, 12, 6, 6)


def test_maintenance_window_at(load: Callable[[str], Inventory]) -> None:
    web1 = load("windows").get("web1")
    late_friday = datetime(2026, 12, 5, 0, 15, tzinfo=BERLIN)  # Saturday 00:15, Friday's window
    window = web1.maintenance_window_at(late_friday)
    assert window is not None
    assert window.name == "late"
    window = web1.maintenance_window_at(utc(2026, 12, 6, 3))
    assert window is not None
    assert window.name == "move"
    assert web1.maintenance_window_at(utc(2026, 12, 5, 21)) is None  # Saturday 22:00 Berlin
