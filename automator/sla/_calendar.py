"""Time arithmetic for SLA targets: wall time (24x7) and business time.

A business-hours target counts only the working hours of the contract's week, in the
contract's time zone, skipping its holidays: four hours of business time from Friday 16:00 in
a 09:00-18:00 week end on Monday 11:00. Each day's hours are turned into UTC instants one day at
a time, so a day on which the clocks change counts what it really lasted (an ``00:00-24:00``
day is 23 or 25 hours long then), and nothing is ever added to a local time.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from automator.errors import AutomatorError

# how far ahead a business calendar looks for working time before it gives up (ten years)
_HORIZON_DAYS = 3660
# A day's working hours: (start, end) local times; an end of None is midnight at the day's end.
DayHours = tuple[tuple[time, time | None], ...]


class Calendar(Protocol):
    """How an SLA clock counts time between two instants."""

    def seconds(self, start: datetime, end: datetime) -> float:
        """The counted seconds from ``start`` to ``end`` (0 when end is not after start)."""
        ...

    def add(self, start: datetime, seconds: float) -> datetime:
        """The instant at which ``seconds`` of counted time have passed since ``start``."""
        ...


class WallClock:
    """24x7: every second counts."""

    def seconds(self, start: datetime, end: datetime) -> float:
        # in UTC: Python subtracts two times of one zone by their wall clocks
        return max((end.astimezone(UTC) - start.astimezone(UTC)).total_seconds(), 0.0)

    def add(self, start: datetime, seconds: float) -> datetime:
        return start.astimezone(UTC) + timedelta(seconds=max(seconds, 0.0))


@dataclass(frozen=True)
class BusinessCalendar:
    """Working hours per weekday (0 = Monday) in ``zone``, less ``holidays`` (local dates)."""

    zone: ZoneInfo
    week: Mapping[int, DayHours]
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if not any(self.week.get(day) for day in range(7)):
            raise AutomatorError("a business calendar needs working hours on at least one day")

    def seconds(self, start: datetime, end: datetime) -> float:
        total = 0.0
        for opens, closes in self.intervals(start):
            if opens >= end:
                break
            total += (min(closes, end) - opens).total_seconds()
        return total

    def add(self, start: datetime, seconds: float) -> datetime:
        if seconds <= 0:
            return start.astimezone(UTC)
        left = seconds
        for opens, closes in self.intervals(start):
            length = (closes - opens).total_seconds()
            if left <= length:
                return opens + timedelta(seconds=left)
            left -= length
        raise AssertionError("unreachable: intervals() raises at its horizon")

    def intervals(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working intervals as UTC instants, in order, from ``start`` on (the first one cut at
        ``start``)."""
        start = start.astimezone(UTC)  # arithmetic on a zoned time would follow its wall clock
        day = start.astimezone(self.zone).date()
        for _ in range(_HORIZON_DAYS):
            if day not in self.holidays:
                for begin, finish in self.week.get(day.weekday(), ()):
                    opens = self._instant(day, begin)
                    closes = self._instant(day, finish)
                    opens = max(opens, start)
                    if closes > opens:
                        yield opens, closes
            day += timedelta(days=1)
        raise AutomatorError(
            f"the business calendar has no working time within {_HORIZON_DAYS} days of {start}"
        )

    def _instant(self, day: date, at: time | None) -> datetime:
        if at is None:
            return datetime.combine(day + timedelta(days=1), time(), tzinfo=self.zone).astimezone(
                UTC
            )
        return datetime.combine(day, at, tzinfo=self.zone).astimezone(UTC)
