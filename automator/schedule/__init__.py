"""Schedules: jobs started at cron times by ``automator serve`` (see docs/schedule.md).

Each entry runs at its cron times in its own time zone, never overlaps itself, runs once after
downtime however many times it missed, and is cancelled past its time limit. When several
``serve`` processes share a database, the one holding the lease in the store runs them all.
"""

from automator.schedule._entry import ScheduleEntry, ScheduleError, cron_problem
from automator.schedule._scheduler import (
    EntryStatus,
    Scheduler,
    StartJob,
    schedule_leader,
    schedule_status,
)
from automator.schedule._state import Lease

__all__ = [
    "EntryStatus",
    "Lease",
    "ScheduleEntry",
    "ScheduleError",
    "Scheduler",
    "StartJob",
    "cron_problem",
    "schedule_leader",
    "schedule_status",
]
