"""A schedule entry and its cron arithmetic: when it is due, evaluated in its own time zone."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from automator.errors import AutomatorError


class ScheduleError(AutomatorError):
    """A schedule entry is invalid: a bad cron expression, time zone or time limit."""


UTC_ZONE = ZoneInfo("UTC")


@dataclass(frozen=True)
class ScheduleEntry:
    """Something to run at cron times: a nightly check, a weekly backup.

    ``cron`` is a 5-field expression evaluated in ``timezone`` the way Debian cron does it
    across DST changes: a time that does not exist that day (02:30 when clocks jump from 02:00
    to 03:00) runs at the first minute that does, and a time that happens twice runs once.
    """

    name: str
    cron: str
    description: str
    time_limit: float
    timezone: str = "UTC"
    kind: str = "check"

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ScheduleError(f"schedule entry {self.name!r}: name: must not be empty")
        try:
            zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ScheduleError(
                f"schedule entry {self.name!r}: timezone: {self.timezone!r} is not a known "
                "IANA time zone (e.g. UTC, Europe/Berlin)"
            ) from None
        reason = cron_problem(self.cron, zone)
        if reason:
            raise ScheduleError(
                f"schedule entry {self.name!r}: cron: {self.cron!r} is not a valid "
                f"5-field cron expression: {reason}"
            )
        if not self.time_limit > 0:
            raise ScheduleError(
                f"schedule entry {self.name!r}: time_limit: must be a positive number of "
                f"seconds, not {self.time_limit!r}"
            )

    def next_due(self, after: datetime) -> datetime:
        """The first cron time strictly after ``after``, in UTC."""
        return _next_after(self.cron, self.timezone, after.astimezone(UTC))

    def latest_due(self, now: datetime) -> datetime:
        """The last cron time at or before ``now``, in UTC."""
        # CronSim in reverse yields times strictly before its start (whole seconds): start one
        # second after ``now`` so that a cron time equal to ``now`` counts.
        start = now.astimezone(ZoneInfo(self.timezone)).replace(microsecond=0)
        found = next(CronSim(self.cron, start + timedelta(seconds=1), reverse=True))
        return found.astimezone(UTC)


@functools.lru_cache(maxsize=4096)
def _next_after(cron: str, timezone: str, after: datetime) -> datetime:
    """Cached: every tick asks each entry for its next due time after the same last one."""
    return next(CronSim(cron, after.astimezone(ZoneInfo(timezone)))).astimezone(UTC)


def cron_problem(cron: str, zone: ZoneInfo = UTC_ZONE) -> str | None:
    """Why ``cron`` is not a 5-field cron expression the scheduler can run; None when it is.
    The loaders of checks/ and backups.yaml ask it too, so a file the scheduler would refuse
    is refused where it is written."""
    fields = cron.split()
    if len(fields) != 5:
        return f"it has {len(fields)} fields (minute hour day-of-month month day-of-week)"
    try:
        next(CronSim(cron, datetime.now(zone)))
    except CronSimError as exc:
        return str(exc)
    except StopIteration:
        return "it never matches"
    return None
