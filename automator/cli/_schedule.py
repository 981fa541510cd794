"""``automator schedule list``: what ``automator serve`` runs when, and what ran last."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import click
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from automator.cli._app import console, open_store, pass_settings
from automator.cli._render import STATUS_STYLE
from automator.config import Settings
from automator.schedule import EntryStatus, Lease, schedule_leader, schedule_status
from automator.store import utcnow

_STYLE = {**STATUS_STYLE, "skipped": "yellow"}


@click.group()
def schedule() -> None:
    """Scheduled jobs (checks, backups) that ``automator serve`` runs at cron times."""


@schedule.command("list")
@pass_settings
def list_schedule(settings: Settings) -> None:
    """List every schedule entry: its cron and time zone, when it is next due, and how its
    last run went. Times are shown in each entry's own time zone."""
    from automator.backups import load_plan, schedule_entry
    from automator.checks import load_checks, schedule_entries

    entries = [
        *schedule_entries(load_checks(settings.checks_dir)),
        schedule_entry(load_plan(settings.project_dir)),
    ]
    store = open_store(settings)
    try:
        statuses = schedule_status(store, entries)
        leader = schedule_leader(store)
    finally:
        store.dispose()
    table = Table(
        "name",
        "kind",
        "cron",
        "tz",
        "next due",
        "last started",
        "last status",
        "running",
        title=_title(len(statuses), leader),
    )
    for status in statuses:
        table.add_row(
            escape(status.name),
            escape(status.kind),
            escape(status.cron),
            escape(status.timezone),
            _when(status.next_due, status.timezone),
            _when(status.last_started, status.timezone),
            _last_status(status),
            _running(status),
        )
    console.print(table)


def _title(count: int, leader: Lease | None) -> str:
    entries = f"{count} schedule entr{'y' if count == 1 else 'ies'}"
    if leader is None or leader.expires_at <= utcnow():
        return f"{entries}; no automator serve is running them"
    return (
        f"{entries}; run by {escape(leader.holder)} (lease until {leader.expires_at:%H:%M:%S} UTC)"
    )


def _when(moment: datetime | None, timezone: str) -> str:
    if moment is None:
        return "-"
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M %Z")


def _last_status(status: EntryStatus) -> Text:
    if status.last_status is None:
        return Text("never run", style="dim")
    text = Text(status.last_status, style=_STYLE.get(status.last_status, ""))
    if status.last_run_id is not None:
        text.append(f" run #{status.last_run_id}")
    if status.last_error:
        text.append(f"\n{status.last_error}", style="dim")
    return text


def _running(status: EntryStatus) -> str:
    if not status.running or status.running_since is None:
        return "no"
    since = status.running_since.astimezone(ZoneInfo(status.timezone))
    return f"yes, since {since:%H:%M} ({escape(status.holder or '?')})"
