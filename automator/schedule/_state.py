"""The scheduler's state in the store: one row per entry and the leader lease.

Every write is a single conditional UPDATE (compare-and-set on who runs the entry and since
when), so a finishing job, a tick and another process can never overwrite each other's
outcome, on SQLite and PostgreSQL alike, without holding a transaction open across a read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from automator.store import Store

# importing the tables' module also registers them in Base.metadata
from automator.store._schedule import SchedulerLease, ScheduleState

LEASE_NAME = "scheduler"


@dataclass(frozen=True)
class Lease:
    """Who runs the schedules, until when (unless renewed)."""

    holder: str
    expires_at: datetime


@dataclass(frozen=True)
class EntryState:
    """A schedule entry's row, read at one moment."""

    name: str
    last_due_at: datetime
    last_started_at: datetime | None
    last_finished_at: datetime | None
    last_status: str | None
    last_run_id: int | None
    last_error: str | None
    running_since: datetime | None
    holder: str | None


class ScheduleStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    def load(self) -> dict[str, EntryState]:
        with self.store.session() as session:
            return {row.name: _snapshot(row) for row in session.scalars(select(ScheduleState))}

    def create(self, name: str, due_at: datetime) -> None:
        """Start tracking a new entry as if it had been due at ``due_at``."""
        try:
            with self.store.session() as session:
                session.add(ScheduleState(name=name, last_due_at=due_at))
        except IntegrityError:
            pass  # a previous leader created it a moment ago: its row stands

    # ---- the leader lease

    def take_lease(self, holder: str, now: datetime, seconds: float) -> Lease:
        """Renew the lease if ``holder`` has it, take it if it expired or nobody has it; return
        the lease as it stands afterwards."""
        expires_at = now + timedelta(seconds=seconds)
        lease = SchedulerLease
        renewed = self._update(
            lease,
            lease.name == LEASE_NAME,
            or_(lease.holder == holder, lease.expires_at <= now),
            holder=holder,
            expires_at=expires_at,
        )
        if renewed:
            return Lease(holder, expires_at)
        try:
            with self.store.session() as session:
                session.add(SchedulerLease(name=LEASE_NAME, holder=holder, expires_at=expires_at))
            return Lease(holder, expires_at)
        except IntegrityError:
            pass  # another process holds it
        return self.leader() or Lease("", now)

    def release_lease(self, holder: str) -> None:
        with self.store.session() as session:
            session.execute(
                delete(SchedulerLease).where(
                    SchedulerLease.name == LEASE_NAME, SchedulerLease.holder == holder
                )
            )

    def leader(self) -> Lease | None:
        with self.store.session() as session:
            row = session.get(SchedulerLease, LEASE_NAME)
            return None if row is None else Lease(row.holder, row.expires_at)

    # ---- an entry's runs

    def claim(self, name: str, holder: str, due_at: datetime, now: datetime) -> bool:
        """Mark the entry running under ``holder`` for the due time ``due_at``, unless it runs."""
        return self._update(
            ScheduleState,
            ScheduleState.name == name,
            ScheduleState.running_since.is_(None),
            last_due_at=due_at,
            last_started_at=now,
            last_status="running",
            last_error=None,
            last_run_id=None,
            running_since=now,
            holder=holder,
        )

    def skip(self, name: str, due_at: datetime, since: datetime) -> bool:
        """Consume ``due_at`` without running: the run started at ``since`` has not finished."""
        return self._update(
            ScheduleState,
            ScheduleState.name == name,
            ScheduleState.running_since == since,
            last_due_at=due_at,
            last_status="skipped",
            last_error=f"skipped: still running since {since:%Y-%m-%d %H:%M:%S} UTC",
        )

    def time_out(self, name: str, holder: str, since: datetime, error: str) -> bool:
        return self._update(
            ScheduleState,
            *_running_under(name, holder, since),
            last_status="timed_out",
            last_error=error,
        )

    def finish(
        self,
        name: str,
        holder: str,
        since: datetime,
        now: datetime,
        outcome: tuple[str, int | None, str | None],
    ) -> bool:
        status, run_id, error = outcome
        return self._update(
            ScheduleState,
            *_running_under(name, holder, since),
            last_finished_at=now,
            last_status=status,
            last_run_id=run_id,
            last_error=error,
            running_since=None,
            holder=None,
        )

    def interrupt(self, state: EntryState, now: datetime) -> bool:
        """End a run whose scheduler is gone: it is ``interrupted`` and the entry free again."""
        assert state.running_since is not None
        return self._update(
            ScheduleState,
            *_running_under(state.name, state.holder, state.running_since),
            last_finished_at=now,
            last_status="interrupted",
            last_error=f"interrupted: scheduler {state.holder} stopped or lost the lease "
            "while this ran",
            running_since=None,
            holder=None,
        )

    def _update(self, table: Any, *where: ColumnElement[bool], **values: Any) -> bool:
        with self.store.session() as session:
            result = session.execute(update(table).where(*where).values(**values))
            return cast(CursorResult[Any], result).rowcount == 1


def _running_under(
    name: str, holder: str | None, since: datetime
) -> tuple[ColumnElement[bool], ...]:
    return (
        ScheduleState.name == name,
        ScheduleState.holder == holder,
        ScheduleState.running_since == since,
    )


def _snapshot(row: ScheduleState) -> EntryState:
    return EntryState(
        name=row.name,
        last_due_at=row.last_due_at,
        last_started_at=row.last_started_at,
        last_finished_at=row.last_finished_at,
        last_status=row.last_status,
        last_run_id=row.last_run_id,
        last_error=row.last_error,
        running_since=row.running_since,
        holder=row.holder,
    )
