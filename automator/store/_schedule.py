"""Tables of the scheduler (see automator/schedule): where each schedule entry stands, and the
lease that makes one ``automator serve`` process among several the one that runs schedules.

Both live in the store rather than in a process, so that a second process, a restart or the
PostgreSQL scale-out sees the same "running", "last run" and "leader" as the first."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from automator.store._models import Base


class ScheduleState(Base):
    """One schedule entry: the due time last consumed (run or skipped), its last run, and
    while it runs, since when and under which scheduler (``holder``)."""

    __tablename__ = "schedule_state"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    last_due_at: Mapped[datetime]
    last_started_at: Mapped[datetime | None]
    last_finished_at: Mapped[datetime | None]
    last_status: Mapped[str | None] = mapped_column(String(20))
    last_run_id: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    running_since: Mapped[datetime | None]
    holder: Mapped[str | None] = mapped_column(String(200))


class SchedulerLease(Base):
    """Who runs schedules, until when: renewed on every tick, taken over once expired."""

    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime]
