"""``automator backup``: back up configurations; their history, diffs, restore and retention."""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from automator.cli._app import (
    console,
    err_console,
    open_backup_service,
    open_inventory,
    open_pipeline,
    pass_settings,
    requester,
)
from automator.cli._render import STATUS_STYLE, results_table
from automator.config import Settings
from automator.errors import AutomatorError


@click.group(invoke_without_command=True)
@click.option("--limit", metavar="FILTER", help="Devices to back up, e.g. kind=network")
@click.option("--forks", type=click.IntRange(1, 500), default=20, show_default=True)
@click.option("--ticket", "ticket_id", type=int, metavar="ID", help="Log the run on this ticket")
@click.pass_context
@pass_settings
def backup(
    settings: Settings,
    ctx: click.Context,
    limit: str | None,
    forks: int,
    ticket_id: int | None,
) -> int | None:
    """Back up configurations now (without a subcommand), or read what is stored.

    Network devices: their running configuration; servers: the files and command outputs of
    backups.yaml. Secrets and volatile lines are filtered out before anything is stored.
    """
    if ctx.invoked_subcommand is not None:
        return None
    service = _service(settings)
    summary = service.pipeline.run(service.spec(limit, requester(), forks, ticket_id))
    record = summary.recorded
    style = STATUS_STYLE.get(summary.status.value, "")
    console.print(f"[bold]backup run #{summary.run_id}[/]: [{style}]{summary.status.value}[/]")
    problems = [r for r in summary.results.values() if r.outcome.is_problem]
    if problems:
        console.print(results_table(problems))
    if record is None:
        err_console.print(f"[red]{escape(summary.error or 'nothing was recorded')}[/]")
        return 1
    commit = f"commit {record.commit[:12]}" if record.commit else "no commit: nothing changed"
    console.print(
        f"{len(record.changed)} changed, {len(record.unchanged)} unchanged, "
        f"{len(record.failed)} not backed up; {commit}"
    )
    for drift in record.drift:
        what = "logged on change" if drift.authorised else "[bold red]unauthorised change[/]:"
        console.print(f"  {drift.host} version {drift.version}: {what} ticket #{drift.ticket_id}")
    console.print(f"ticket #{summary.ticket_id} · automator tickets show {summary.ticket_id}")
    return 0 if not problems else 1


@backup.command()
@click.argument("host")
@click.option("-n", "--max", "limit", type=click.IntRange(1), default=50, show_default=True)
@pass_settings
def history(settings: Settings, host: str, limit: int) -> None:
    """Every stored version of HOST, newest first."""
    store = _store(settings)
    table = Table("version", "at (UTC)", "lines", "size", "run", "ticket", "commit")
    for version in store.history(host, limit):
        table.add_row(
            str(version.version),
            f"{version.at:%Y-%m-%d %H:%M:%S}",
            str(version.lines),
            str(version.size),
            f"#{version.run_id}" if version.run_id else "",
            f"#{version.ticket_id}" if version.ticket_id else "",
            version.commit[:12],
        )
    if not table.row_count:
        raise AutomatorError(f"no backup of {host}")
    console.print(table)


@backup.command()
@click.argument("host")
@click.argument("v1", type=int, required=False)
@click.argument("v2", type=int, required=False)
@pass_settings
def diff(settings: Settings, host: str, v1: int | None, v2: int | None) -> None:
    """What changed in HOST's configuration: between V1 and V2, V1 and the latest, or the
    latest two versions."""
    text = _store(settings).diff(host, v1, v2)
    if text:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        console.print("no difference")


@backup.command()
@click.argument("host")
@click.argument("version", type=int, required=False)
@pass_settings
def show(settings: Settings, host: str, version: int | None) -> None:
    """HOST's stored configuration (the latest, or VERSION), as stored: scrubbed."""
    store = _store(settings)
    sys.stdout.write(store.content(store.get(host, version)))


@backup.command()
@click.option(
    "--platform",
    required=True,
    help="cisco_ios, cisco_nxos, cisco_asa, arista_eos, juniper_junos, linux",
)
@click.argument("file", type=click.File("r"))
def scrub(platform: str, file: Any) -> None:
    """Print FILE through the platform's secret and volatile filters (to check them)."""
    from automator.backups import PLATFORMS
    from automator.backups import scrub as run_filters

    if platform not in PLATFORMS:
        raise click.BadParameter(
            f"{platform!r} (known: {', '.join(PLATFORMS)})", param_hint="--platform"
        )
    result = run_filters(file.read(), platform)
    sys.stdout.write(result.text)
    err_console.print(f"{result.secrets} secrets masked, {result.volatile} volatile lines dropped")


@backup.command()
@click.argument("host")
@click.option(
    "--version",
    "version",
    type=int,
    help="The version to restore [default: the one before the latest]",
)
@pass_settings
def restore(settings: Settings, host: str, version: int | None) -> int:
    """Push a stored configuration back to HOST as a change (its own ticket; approval when
    the host's criticality is high or critical), then back it up again and verify."""
    service = _service(settings)
    summary = service.pipeline.run(service.restore_spec(host, version, requester()))
    style = STATUS_STYLE.get(summary.status.value, "")
    console.print(f"[bold]restore run #{summary.run_id}[/]: [{style}]{summary.status.value}[/]")
    if summary.results:
        console.print(results_table(summary.results.values()))
    if summary.error:
        console.print(escape(summary.error))
    ticket = service.tickets.get(summary.ticket_id) if summary.ticket_id else None
    if ticket is not None:
        console.print(f"ticket #{ticket.id} ({ticket.status}) · automator tickets show {ticket.id}")
        if ticket.status == "escalated":
            return 1
    return 0 if summary.status.value in ("succeeded", "waiting") else 1


@backup.command()
@click.option(
    "--keep-last", type=click.IntRange(1), help="Keep the newest N versions of each device"
)
@click.option("--keep-days", type=click.IntRange(1), help="Keep every version of the last N days")
@click.option(
    "--keep-daily-for-days", type=click.IntRange(1), help="Keep one version a day for N days"
)
@pass_settings
def prune(
    settings: Settings,
    keep_last: int | None,
    keep_days: int | None,
    keep_daily_for_days: int | None,
) -> None:
    """Apply a retention policy (the options, else backups.yaml's `retention`); every
    version is kept by default. The latest version of a device is always kept."""
    from automator.backups import RetentionPolicy, load_plan
    from automator.store import utcnow

    configured = load_plan(settings.project_dir).retention
    policy = RetentionPolicy(
        keep_last=keep_last or configured.keep_last,
        keep_days=keep_days or configured.keep_days,
        keep_daily_for_days=keep_daily_for_days or configured.keep_daily_for_days,
    )
    if policy == RetentionPolicy():
        raise AutomatorError(
            "no retention policy: give --keep-last, --keep-days or --keep-daily-for-days "
            "(or set retention in backups.yaml)"
        )
    store = _store(settings)
    result = store.prune(policy, utcnow())
    store.gc()
    console.print(escape(str(result)))


def _service(settings: Settings) -> Any:
    inventory = open_inventory(settings)
    return open_backup_service(open_pipeline(settings, inventory))


def _store(settings: Settings) -> Any:
    from automator.backups import BackupStore
    from automator.cli._app import open_store

    return BackupStore(open_store(settings), settings.home / "backups")
