"""The scheduler on a real store, with an injected clock and jobs whose Futures the test ends."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text

from automator.jobs import RunStatus
from automator.schedule import ScheduleEntry, ScheduleError, Scheduler, schedule_status
from automator.store import Store

T0 = datetime(2025, 1, 6, 1, 0, tzinfo=UTC)  # a Monday, an hour before the nightly run
NIGHTLY = ScheduleEntry("checks@0 2 * * *", "0 2 * * *", "nightly checks", time_limit=3600)
EVERY_5 = ScheduleEntry("checks@*/5", "*/5 * * * *", "frequent checks", time_limit=3600)


class Clock:
    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class Result:
    status: RunStatus
    run_id: int


@dataclass
class Started:
    entry: ScheduleEntry
    cancel: threading.Event
    future: Future[Any]
    at: datetime

    def finish(self, status: RunStatus = RunStatus.SUCCEEDED, run_id: int = 1) -> None:
        self.future.set_result(Result(status, run_id))


class Jobs:
    """A StartJob whose jobs run until the test finishes them."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.started: list[Started] = []

    def __call__(self, entry: ScheduleEntry, cancel: threading.Event) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_running_or_notify_cancel()
        self.started.append(Started(entry, cancel, future, self.clock()))
        return future

    @property
    def last(self) -> Started:
        return self.started[-1]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def jobs(clock: Clock) -> Jobs:
    return Jobs(clock)


def scheduler(
    store: Store, jobs: Jobs, *entries: ScheduleEntry, holder: str = "host-a:1", **kw: Any
) -> Scheduler:
    return Scheduler(store, entries, jobs, holder, clock=jobs.clock, **kw)


def tick_every_20s(clock: Clock, until: datetime, *schedulers: Scheduler) -> list[str]:
    """What ``serve`` loops do (with a 30 s lease): tick, in turn, until ``until``."""
    started = []
    while clock.now < until:
        clock.now = min(until, clock.now + timedelta(seconds=20))
        for sched in schedulers:
            started += sched.tick()
    return started


def status_of(sched: Scheduler, name: str):
    (status,) = [s for s in sched.status() if s.name == name]
    return status


def test_an_entry_runs_at_its_cron_times_and_its_outcome_is_recorded(store, clock, jobs):
    sched = scheduler(store, jobs, NIGHTLY)
    assert sched.tick() == []  # a new entry waits for its first cron time
    assert status_of(sched, NIGHTLY.name).next_due == T0.replace(hour=2)
    assert status_of(sched, NIGHTLY.name).last_status is None
    clock.advance(minutes=59, seconds=59)
    assert sched.tick() == []
    clock.advance(seconds=1)
    assert sched.tick() == [NIGHTLY.name]
    assert jobs.last.entry == NIGHTLY
    running = status_of(sched, NIGHTLY.name)
    assert running.running and running.holder == "host-a:1"
    assert running.last_started == T0.replace(hour=2) and running.last_status == "running"

    clock.advance(minutes=3)
    jobs.last.finish(RunStatus.PARTIAL, run_id=42)
    done = status_of(sched, NIGHTLY.name)
    assert not done.running and done.holder is None
    assert (done.last_status, done.last_run_id, done.last_error) == ("partial", 42, None)
    assert done.last_finished == T0.replace(hour=2, minute=3)
    assert done.next_due == T0.replace(day=7, hour=2)
    assert sched.tick() == []
    clock.now = T0.replace(day=7, hour=2)
    assert sched.tick() == [NIGHTLY.name]
    assert len(jobs.started) == 2


def test_next_wake_is_the_next_due_time_the_time_limit_or_the_lease_renewal(store, clock, jobs):
    entry = ScheduleEntry("backup", "0 2 * * *", "backup", time_limit=600, kind="backup")
    sched = scheduler(store, jobs, entry, lease_seconds=6 * 3600)
    assert sched.next_wake() == T0  # before the first tick: tick now
    sched.tick()
    assert sched.next_wake() == T0.replace(hour=2)
    clock.now = T0.replace(hour=2)
    sched.tick()
    assert sched.next_wake() == T0.replace(hour=2, minute=10)  # the job's time limit
    jobs.last.finish()
    assert sched.next_wake() == T0.replace(hour=4)  # renew the 6-hour lease after 2 hours
    short = scheduler(store, jobs, entry, holder="host-b:2", lease_seconds=30)
    short.tick()  # host-a:1 holds the lease until 08:00
    assert not short.leader
    assert short.next_wake() == T0.replace(hour=2, second=30)  # look again in a lease's time


def test_an_entry_never_overlaps_itself(store, clock, jobs):
    sched = scheduler(store, jobs, EVERY_5)
    sched.tick()
    clock.advance(minutes=5)
    assert sched.tick() == [EVERY_5.name]
    first = jobs.last
    clock.advance(minutes=5)
    assert sched.tick() == []  # still running: skipped, not started
    assert len(jobs.started) == 1
    skipped = status_of(sched, EVERY_5.name)
    assert skipped.running and skipped.last_status == "skipped"
    assert skipped.last_error == "skipped: still running since 2025-01-06 01:05:00 UTC"
    clock.advance(minutes=2)
    assert sched.tick() == []  # the skipped due time is consumed: no late start
    first.finish()
    assert status_of(sched, EVERY_5.name).last_status == "succeeded"
    assert sched.tick() == []
    clock.advance(minutes=3)
    assert sched.tick() == [EVERY_5.name]
    assert len(jobs.started) == 2


def test_missed_runs_are_caught_up_once_not_in_a_burst(store, clock, jobs):
    sched = scheduler(store, jobs, NIGHTLY)
    sched.tick()
    clock.now = T0.replace(hour=2)
    assert sched.tick() == [NIGHTLY.name]
    jobs.last.finish()
    sched.stop()

    # down for three nights; a new process starts on the fourth morning
    clock.now = T0.replace(day=9, hour=7, minute=30)
    restarted = scheduler(store, jobs, NIGHTLY, holder="host-a:2")
    assert restarted.tick() == [NIGHTLY.name]
    assert len(jobs.started) == 2
    assert status_of(restarted, NIGHTLY.name).last_due == T0.replace(day=9, hour=2)
    jobs.last.finish()
    for _ in range(3):
        clock.advance(minutes=10)
        assert restarted.tick() == []
    assert status_of(restarted, NIGHTLY.name).next_due == T0.replace(day=10, hour=2)
    clock.now = T0.replace(day=10, hour=2)
    assert restarted.tick() == [NIGHTLY.name]
    assert len(jobs.started) == 3


def test_a_job_past_its_time_limit_is_cancelled_and_recorded_timed_out(store, clock, jobs):
    entry = ScheduleEntry("checks@*/5 limited", "*/5 * * * *", "checks", time_limit=60)
    sched = scheduler(store, jobs, entry)
    sched.tick()
    clock.advance(minutes=5)
    sched.tick()
    job = jobs.last
    clock.advance(seconds=59)
    sched.tick()
    assert not job.cancel.is_set()
    clock.advance(seconds=1)
    sched.tick()
    assert job.cancel.is_set()
    winding_down = status_of(sched, entry.name)
    assert winding_down.last_status == "timed_out" and winding_down.running
    assert winding_down.last_error == "time limit of 60s exceeded"
    clock.advance(seconds=5)
    job.finish(RunStatus.CANCELLED, run_id=9)  # the job honoured the cancel
    ended = status_of(sched, entry.name)
    assert (ended.last_status, ended.last_run_id, ended.running) == ("timed_out", 9, False)
    assert ended.last_finished == clock.now


def test_two_schedulers_on_one_database_one_leads_the_other_takes_over(tmp_path, clock):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    store_a, store_b = Store.open(url), Store.open(url)
    jobs_a, jobs_b = Jobs(clock), Jobs(clock)
    a = scheduler(store_a, jobs_a, EVERY_5, holder="host-a:1")
    b = scheduler(store_b, jobs_b, EVERY_5, holder="host-b:1")
    try:
        a.tick()
        b.tick()
        assert a.leader and not b.leader
        assert tick_every_20s(clock, T0.replace(minute=5), a, b) == [EVERY_5.name]
        assert len(jobs_a.started) == 1 and jobs_b.started == []
        assert b.next_wake() == clock.now + timedelta(seconds=30)  # when a's lease would lapse

        # a stops ticking (hung, or its host died) with its job still running
        clock.advance(seconds=29)
        assert b.tick() == []
        clock.advance(seconds=1)
        assert b.tick() == []  # b leads now; nothing is due yet
        assert b.leader
        taken = status_of(b, EVERY_5.name)
        assert not taken.running and taken.last_status == "interrupted"
        assert "host-a:1" in (taken.last_error or "")

        assert a.tick() == [] and not a.leader
        assert jobs_a.last.cancel.is_set()  # a cancels the job b now considers interrupted
        jobs_a.last.finish(RunStatus.CANCELLED)
        assert status_of(b, EVERY_5.name).last_status == "interrupted"  # b's record stands

        clock.now = T0.replace(minute=10)
        assert b.tick() == [EVERY_5.name]
        assert a.tick() == []
        assert [s.entry.name for s in jobs_b.started] == [EVERY_5.name]
    finally:
        store_a.dispose()
        store_b.dispose()


def test_a_stopped_scheduler_cancels_its_jobs_and_hands_over_the_lease(store, clock, jobs):
    a = scheduler(store, jobs, EVERY_5, holder="host-a:1")
    a.tick()
    clock.advance(minutes=5)
    a.tick()
    job = jobs.last
    a.stop(wait=0)
    assert job.cancel.is_set()
    assert a.tick() == []
    job.finish(RunStatus.CANCELLED)
    assert status_of(a, EVERY_5.name).last_status == "cancelled"
    b = scheduler(store, jobs, EVERY_5, holder="host-b:1")
    b.tick()
    assert b.leader  # at once, not after the lease's 30 s


def test_a_run_left_by_a_dead_process_is_marked_interrupted_on_start(store, clock, jobs):
    sched = scheduler(store, jobs, NIGHTLY, holder="host-a")
    sched.tick()
    clock.now = T0.replace(hour=2)
    sched.tick()
    del sched  # killed mid-run: no stop(), the row still says running

    clock.advance(minutes=1)
    restarted = scheduler(store, jobs, NIGHTLY, holder="host-a")  # same holder, new process
    assert restarted.tick() == []
    recovered = status_of(restarted, NIGHTLY.name)
    assert not recovered.running and recovered.last_status == "interrupted"
    assert recovered.last_finished == clock.now
    clock.now = T0.replace(day=7, hour=2)
    assert restarted.tick() == [NIGHTLY.name]  # runnable again at its next due time


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        # spring forward: 02:30 does not exist on 30 March; it runs once, at 03:00 CEST
        (
            datetime(2025, 3, 28, 12, tzinfo=UTC),
            ["03-29 02:30 CET", "03-30 03:00 CEST", "03-31 02:30 CEST", "04-01 02:30 CEST"],
        ),
        # fall back: 02:30 happens twice on 26 October; it runs once
        (
            datetime(2025, 10, 24, 12, tzinfo=UTC),
            ["10-25 02:30 CEST", "10-26 02:30 CEST", "10-27 02:30 CET", "10-28 02:30 CET"],
        ),
    ],
)
def test_a_local_time_runs_once_a_day_across_dst_changes(store, start, expected):
    clock = Clock(start)
    jobs = Jobs(clock)
    entry = ScheduleEntry(
        "berlin", "30 2 * * *", "local checks", time_limit=600, timezone="Europe/Berlin"
    )
    sched = scheduler(store, jobs, entry, lease_seconds=timedelta(days=30).total_seconds())
    end = start + timedelta(days=4)
    while clock.now < end:  # every 10 minutes, and every moment next_wake names
        sched.tick()
        if jobs.started and not jobs.last.future.done():
            jobs.last.finish()
        clock.now = min(sched.next_wake(), clock.now + timedelta(minutes=10))
    berlin = ZoneInfo("Europe/Berlin")
    assert [f"{s.at.astimezone(berlin):%m-%d %H:%M %Z}" for s in jobs.started] == expected


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"cron": "61 2 * * *"},
            r"schedule entry 'e': cron: '61 2 \* \* \*' is not a valid 5-field cron "
            r"expression: Bad minute",
        ),
        ({"cron": "0 2 * *"}, r"'0 2 \* \*' is not a valid 5-field .*: it has 4 fields"),
        ({"cron": "0 0 2 * * *"}, r"it has 6 fields"),
        ({"cron": "0 0 31 2 *"}, r"cron: '0 0 31 2 \*' .*Bad day-of-month"),
        ({"timezone": "Mars/Olympus"}, r"schedule entry 'e': timezone: 'Mars/Olympus' is not"),
        ({"time_limit": 0}, r"schedule entry 'e': time_limit: must be a positive number"),
        ({"name": " "}, r"name: must not be empty"),
    ],
)
def test_bad_entries_are_schedule_errors_naming_the_entry_and_field(fields, message):
    given = {"name": "e", "cron": "0 2 * * *", "description": "d", "time_limit": 60.0, **fields}
    with pytest.raises(ScheduleError, match=message):
        ScheduleEntry(**given)


def test_duplicate_entry_names_are_refused(store, jobs):
    with pytest.raises(ScheduleError, match="'checks@0 2 \\* \\* \\*': name: used by two"):
        scheduler(store, jobs, NIGHTLY, NIGHTLY)


def test_a_job_that_fails_or_cannot_start_is_recorded_failed(store, clock, jobs):
    def refuse(entry: ScheduleEntry, cancel: threading.Event) -> Future[Any]:
        raise RuntimeError("no runbook named check")

    sched = Scheduler(store, [EVERY_5], refuse, "host-a:1", clock=clock)
    sched.tick()
    clock.advance(minutes=5)
    assert sched.tick() == []
    status = status_of(sched, EVERY_5.name)
    assert status.last_status == "failed" and not status.running
    assert status.last_error == "could not start: no runbook named check"

    sched.stop()
    working = scheduler(store, jobs, EVERY_5)
    clock.advance(minutes=5)
    assert working.tick() == [EVERY_5.name]
    jobs.last.future.set_exception(ValueError("inventory vanished"))
    status = status_of(working, EVERY_5.name)
    assert (status.last_status, status.last_error) == ("failed", "inventory vanished")


def test_schedule_status_reads_the_store_without_the_lease(store, clock, jobs):
    sched = scheduler(store, jobs, NIGHTLY, EVERY_5)
    sched.tick()
    clock.advance(minutes=5)
    sched.tick()
    unseen = ScheduleEntry("weekly", "0 3 * * 0", "weekly backup", 3600, kind="backup")
    statuses = schedule_status(store, [NIGHTLY, EVERY_5, unseen], clock)
    assert [(s.name, s.running) for s in statuses] == [
        (NIGHTLY.name, False),
        (EVERY_5.name, True),
        ("weekly", False),
    ]
    assert statuses[2].next_due == datetime(2025, 1, 12, 3, tzinfo=UTC)
    assert statuses[2].last_status is None and statuses[2].kind == "backup"


@pytest.mark.postgres
def test_leader_lease_and_runs_on_postgresql(clock):
    """The scale-out store: two processes' schedulers on one PostgreSQL database."""
    name = f"automator_schedule_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        "postgresql+psycopg://postgres@/postgres?host=/var/run/postgresql",
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"postgresql://postgres@/{name}?host=/var/run/postgresql"
    store_a, store_b = Store.open(url), Store.open(url)
    try:
        jobs_a, jobs_b = Jobs(clock), Jobs(clock)
        a = scheduler(store_a, jobs_a, EVERY_5, holder="host-a:1")
        b = scheduler(store_b, jobs_b, EVERY_5, holder="host-b:1")
        a.tick()
        assert tick_every_20s(clock, T0.replace(minute=5), a, b) == [EVERY_5.name]
        assert jobs_b.started == []
        clock.advance(seconds=31)
        assert b.tick() == [] and b.leader
        assert status_of(b, EVERY_5.name).last_status == "interrupted"
        clock.now = T0.replace(minute=10)
        assert b.tick() == [EVERY_5.name]
        jobs_b.last.finish(RunStatus.SUCCEEDED, run_id=3)
        status = status_of(a, EVERY_5.name)
        assert (status.last_status, status.last_run_id) == ("succeeded", 3)
        assert status.last_finished is not None and status.last_finished.tzinfo is not None
        b.stop()
    finally:
        store_a.dispose()
        store_b.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def test_the_migration_creates_the_tables(tmp_path: Path):
    store = Store.open(f"sqlite:///{tmp_path / 'fresh.db'}")
    with store.engine.connect() as connection:
        tables = {
            row[0]
            for row in connection.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))
        }
    store.dispose()
    assert {"schedule_state", "scheduler_lease"} <= tables
