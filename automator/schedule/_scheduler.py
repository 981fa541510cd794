"""The scheduler: starts each entry's job at its cron times, from whichever ``automator serve``
process holds the lease.

``serve`` calls ``tick()`` and sleeps until ``next_wake()``. A tick renews (or takes) the lease,
enforces time limits, frees entries whose scheduler died, and starts what is due. All it knows
about an entry (last due time, running or not, last outcome) is read from the store each tick,
so another process that takes over the lease carries on exactly where this one stopped.
"""

from __future__ import annotations

import concurrent.futures
import functools
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from automator.errors import AutomatorError
from automator.schedule._entry import ScheduleEntry, ScheduleError
from automator.schedule._state import EntryState, Lease, ScheduleStore
from automator.store import Store, utcnow

log = logging.getLogger(__name__)

StartJob = Callable[[ScheduleEntry, threading.Event], concurrent.futures.Future[Any]]
"""Starts an entry's job (on the pipeline's executor) and returns its Future; setting the Event
cancels the job. The Future's result may carry ``status`` (a str-enum such as RunStatus),
``run_id`` and ``error``; an exception means the job failed."""


@dataclass(frozen=True)
class EntryStatus:
    """What ``automator schedule list`` shows of one entry."""

    name: str
    kind: str
    cron: str
    timezone: str
    description: str
    next_due: datetime
    last_due: datetime | None
    last_started: datetime | None
    last_finished: datetime | None
    last_status: str | None
    last_error: str | None
    last_run_id: int | None
    running: bool
    running_since: datetime | None
    holder: str | None


@dataclass
class _Running:
    """A job this process started and has not seen finish."""

    entry: ScheduleEntry
    cancel: threading.Event
    future: concurrent.futures.Future[Any]
    started_at: datetime
    deadline: datetime
    timed_out: bool = field(default=False)


class Scheduler:
    def __init__(
        self,
        store: Store,
        entries: Sequence[ScheduleEntry],
        start: StartJob,
        holder: str,
        clock: Callable[[], datetime] = utcnow,
        lease_seconds: float = 30,
    ) -> None:
        _check_unique(entries)
        if not lease_seconds > 0:
            raise ScheduleError(f"lease_seconds must be positive, not {lease_seconds!r}")
        self.holder = holder
        self._store = store
        self._states = ScheduleStore(store)
        self._entries = tuple(entries)
        self._start_job = start
        self._clock = clock
        self._lease_seconds = lease_seconds
        # _running is shared with the threads that complete jobs' futures
        self._lock = threading.Lock()
        self._running: dict[str, _Running] = {}
        self._lease: Lease | None = None
        self._leader = False
        self._next_dues: dict[str, datetime] = {}
        self._stopped = False

    @property
    def leader(self) -> bool:
        """Whether this scheduler held the lease at its last tick."""
        return self._leader

    def tick(self) -> list[str]:
        """Do what is due now; return the names of the entries started.

        Raises StoreError when the database cannot be reached: the caller logs it and ticks
        again later (the lease then lapses, and another process may take over)."""
        if self._stopped:
            return []
        now = self._clock()
        self._enforce_time_limits(now)
        if not self._hold_lease(now):
            return []
        states = self._states.load()
        self._recover(states, now)
        return [entry.name for entry in self._entries if self._run_if_due(entry, states, now)]

    def next_wake(self) -> datetime:
        """When ``tick`` next has something to do: a due time, a time limit, renewing the lease
        or, for a process that does not lead, the moment the leader's lease would lapse."""
        now = self._clock()
        lease = self._lease
        if lease is None:
            return now
        if lease.holder != self.holder:
            return max(now, min(lease.expires_at, now + timedelta(seconds=self._lease_seconds)))
        # renew once a third of the lease has gone: two more chances before it lapses
        wakes = [lease.expires_at - timedelta(seconds=self._lease_seconds * 2 / 3)]
        wakes.extend(self._next_dues.values())
        with self._lock:
            wakes.extend(r.deadline for r in self._running.values() if not r.timed_out)
        return max(now, min(wakes))

    def status(self) -> list[EntryStatus]:
        return schedule_status(self._store, self._entries, self._clock)

    def stop(self, wait: float = 10.0) -> None:
        """Cancel the jobs this process runs, give them up to ``wait`` seconds to end (their
        outcome is recorded as they do), and release the lease so another process can lead
        at once. A job still running after that is marked ``interrupted`` by the next leader."""
        self._stopped = True
        with self._lock:
            running = list(self._running.values())
        for job in running:
            job.cancel.set()
        if running and wait > 0:
            concurrent.futures.wait([job.future for job in running], timeout=wait)
        self._states.release_lease(self.holder)
        self._leader = False

    # ---- the lease

    def _hold_lease(self, now: datetime) -> bool:
        self._lease = self._states.take_lease(self.holder, now, self._lease_seconds)
        leader = self._lease.holder == self.holder
        if leader and not self._leader:
            log.info("scheduler %s holds the lease: it runs the schedules", self.holder)
        elif self._leader and not leader:
            log.warning(
                "scheduler %s lost the lease to %s: cancelling its running jobs",
                self.holder,
                self._lease.holder or "nobody",
            )
            self._cancel_all()
        self._leader = leader
        return leader

    def _cancel_all(self) -> None:
        """The new leader marks these runs interrupted and may start them again: stop ours so
        that an entry never runs twice at once."""
        with self._lock:
            for job in self._running.values():
                job.cancel.set()

    # ---- entries

    def _recover(self, states: dict[str, EntryState], now: datetime) -> None:
        """Free every entry marked running by a scheduler that is not running it: another
        process that lost the lease or died, or this holder before a restart."""
        with self._lock:
            ours = set(self._running)
        for name, state in states.items():
            if state.running_since is None:
                continue
            if state.holder == self.holder and name in ours:
                continue
            if self._states.interrupt(state, now):
                log.warning(
                    "schedule %s: the run started at %s by %s was interrupted",
                    name,
                    state.running_since,
                    state.holder,
                )
                states[name] = _freed(state)

    def _run_if_due(
        self, entry: ScheduleEntry, states: dict[str, EntryState], now: datetime
    ) -> bool:
        state = states.get(entry.name)
        if state is None:
            # a new entry waits for its first cron time: nothing was missed
            self._states.create(entry.name, now)
            self._next_dues[entry.name] = entry.next_due(now)
            return False
        first = entry.next_due(state.last_due_at)
        if first > now:
            self._next_dues[entry.name] = first
            return False
        # however many due times passed (downtime), they make one run: the latest of them
        due = max(first, entry.latest_due(now))
        self._next_dues[entry.name] = entry.next_due(due)
        if state.running_since is not None and self._states.skip(
            entry.name, due, state.running_since
        ):
            log.warning("schedule %s: skipped, its previous run is still running", entry.name)
            return False
        # not running, or its run ended since the states were read: start this one
        return self._start(entry, due, now)

    def _start(self, entry: ScheduleEntry, due: datetime, now: datetime) -> bool:
        if not self._states.claim(entry.name, self.holder, due, now):
            return False
        cancel = threading.Event()
        try:
            future = self._start_job(entry, cancel)
        except Exception as exc:
            log.exception("schedule %s: the job could not be started", entry.name)
            self._states.finish(
                entry.name, self.holder, now, now, ("failed", None, f"could not start: {exc}")
            )
            return False
        job = _Running(entry, cancel, future, now, now + timedelta(seconds=entry.time_limit))
        with self._lock:
            self._running[entry.name] = job
        future.add_done_callback(functools.partial(self._finished, job))
        log.info("schedule %s: started (due %s)", entry.name, due)
        return True

    def _enforce_time_limits(self, now: datetime) -> None:
        with self._lock:
            overdue = [j for j in self._running.values() if not j.timed_out and now >= j.deadline]
            for job in overdue:
                job.timed_out = True
        for job in overdue:
            job.cancel.set()
            log.warning("schedule %s: %s; cancelling", job.entry.name, _limit_text(job.entry))
            self._states.time_out(
                job.entry.name, self.holder, job.started_at, _limit_text(job.entry)
            )

    def _finished(self, job: _Running, future: concurrent.futures.Future[Any]) -> None:
        """Called in the thread that completed the job's future."""
        status, run_id, error = _outcome(future)
        with self._lock:
            timed_out = job.timed_out
        if timed_out:
            status = "timed_out"
            error = _limit_text(job.entry) + (f"; {error}" if error else "")
        try:
            self._states.finish(
                job.entry.name, self.holder, job.started_at, self._clock(), (status, run_id, error)
            )
            log.info("schedule %s: finished %s", job.entry.name, status)
        except (AutomatorError, SQLAlchemyError):
            # the row stays "running" under this holder: the next leader marks it interrupted
            log.exception("schedule %s: cannot record how the job ended", job.entry.name)
        finally:
            with self._lock:
                if self._running.get(job.entry.name) is job:
                    del self._running[job.entry.name]


def schedule_status(
    store: Store, entries: Sequence[ScheduleEntry], clock: Callable[[], datetime] = utcnow
) -> list[EntryStatus]:
    """Each entry's next due time and last run, read from the store (no lease needed)."""
    now = clock()
    states = ScheduleStore(store).load()
    return [_entry_status(entry, states.get(entry.name), now) for entry in entries]


def schedule_leader(store: Store) -> Lease | None:
    """The scheduler that holds (or last held) the lease, and until when."""
    return ScheduleStore(store).leader()


def _entry_status(entry: ScheduleEntry, state: EntryState | None, now: datetime) -> EntryStatus:
    common = {
        "name": entry.name,
        "kind": entry.kind,
        "cron": entry.cron,
        "timezone": entry.timezone,
        "description": entry.description,
    }
    if state is None:
        return EntryStatus(
            **common,
            next_due=entry.next_due(now),
            last_due=None,
            last_started=None,
            last_finished=None,
            last_status=None,
            last_error=None,
            last_run_id=None,
            running=False,
            running_since=None,
            holder=None,
        )
    return EntryStatus(
        **common,
        next_due=entry.next_due(state.last_due_at),
        last_due=state.last_due_at,
        last_started=state.last_started_at,
        last_finished=state.last_finished_at,
        last_status=state.last_status,
        last_error=state.last_error,
        last_run_id=state.last_run_id,
        running=state.running_since is not None,
        running_since=state.running_since,
        holder=state.holder,
    )


def _outcome(future: concurrent.futures.Future[Any]) -> tuple[str, int | None, str | None]:
    """(status, run id, error) of a finished job's Future."""
    if future.cancelled():
        return "cancelled", None, "the job was cancelled before it started"
    exc = future.exception()
    if exc is not None:
        return "failed", None, str(exc) or type(exc).__name__
    result = future.result()
    status = getattr(result, "status", None)
    run_id = getattr(result, "run_id", None)
    error = getattr(result, "error", None)
    return (
        "succeeded" if status is None else str(getattr(status, "value", status)),
        run_id if isinstance(run_id, int) else None,
        error if isinstance(error, str) else None,
    )


def _freed(state: EntryState) -> EntryState:
    return replace(state, running_since=None, holder=None, last_status="interrupted")


def _limit_text(entry: ScheduleEntry) -> str:
    return f"time limit of {entry.time_limit:g}s exceeded"


def _check_unique(entries: Sequence[ScheduleEntry]) -> None:
    seen: set[str] = set()
    for entry in entries:
        if entry.name in seen:
            raise ScheduleError(f"schedule entry {entry.name!r}: name: used by two entries")
        seen.add(entry.name)
