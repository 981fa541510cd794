"""``automator schedule list`` through click's runner, on a store a scheduler has used."""

from __future__ import annotations

import sys
import types
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner

from automator.cli._app import console
from automator.cli._schedule import schedule
from automator.jobs import RunStatus
from automator.schedule import ScheduleEntry, Scheduler
from automator.store import Store
from tests.unit.schedule.test_scheduler import Clock, Jobs

FIVE = ScheduleEntry("checks@*/5", "*/5 * * * *", "frequent checks", time_limit=600)
SLOW = ScheduleEntry("backup@*/5", "*/5 * * * *", "config backup", 600, kind="backup")
BERLIN = ScheduleEntry(
    "checks@30 2", "30 2 * * *", "nightly", time_limit=3600, timezone="Europe/Berlin"
)


def test_schedule_list_shows_what_runs_when_and_what_ran_last(tmp_path, monkeypatch):
    home = tmp_path / "home"
    store = Store.open(f"sqlite:///{home / 'automator.db'}")
    clock = Clock(datetime.now(UTC))
    jobs = Jobs(clock)
    sched = Scheduler(store, [FIVE, SLOW], jobs, "host-a:1", clock=clock, lease_seconds=3600)
    sched.tick()
    clock.now = FIVE.next_due(clock.now)
    assert sched.tick() == [FIVE.name, SLOW.name]
    jobs.started[0].finish(RunStatus.SUCCEEDED, run_id=5)  # SLOW goes on running
    store.dispose()

    checks = types.ModuleType("automator.checks")
    checks.load_checks = lambda folder: folder  # type: ignore[attr-defined]
    checks.schedule_entries = lambda catalogue: [FIVE, SLOW, BERLIN]  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "automator.checks", checks)
    monkeypatch.setattr(console, "width", 250)
    result = CliRunner().invoke(schedule, ["list", "--home", str(home)])
    assert result.exit_code == 0, result.output

    assert "4 schedule entries; run by host-a:1 (lease until" in result.output  # + backup
    rows = {line.split("│")[1].strip(): line for line in result.output.splitlines() if "@" in line}
    started = clock.now.astimezone(UTC)
    assert f"{started + timedelta(minutes=5):%Y-%m-%d %H:%M} UTC" in rows[FIVE.name]
    assert f"{started:%Y-%m-%d %H:%M} UTC" in rows[FIVE.name]
    assert "succeeded run #5" in rows[FIVE.name] and rows[FIVE.name].rstrip(" │").endswith("no")
    assert "backup" in rows[SLOW.name]
    assert f"yes, since {started:%H:%M} (host-a:1)" in rows[SLOW.name]
    assert "Europe/Berlin" in rows[BERLIN.name] and "never run" in rows[BERLIN.name]
    assert " 02:30 CE" in rows[BERLIN.name]  # next due, in the entry's own zone
