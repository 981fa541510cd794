"""``automator itsm sync|status``: the mirror of tickets in an external ITSM (Redmine)."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.markup import escape
from rich.table import Table

from automator.cli._app import console, err_console, open_store, pass_settings
from automator.config import Settings
from automator.errors import ConfigError
from automator.store import utcnow

if TYPE_CHECKING:
    from automator.itsm import ItsmConfig, SyncStatus, TickResult

_CONFIG_OPTION = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The ITSM settings [default: itsm.yaml in the project folder]",
)


@click.group()
def itsm() -> None:
    """Mirror tickets into an external ITSM (Redmine) and back, as itsm.yaml says."""


@itsm.command("sync")
@click.option("--once", is_flag=True, help="One round, then exit (1 if the ITSM was not reached)")
@_CONFIG_OPTION
@pass_settings
def sync_command(settings: Settings, once: bool, config_path: Path | None) -> int:
    """Send new ticket changes to the ITSM through the outbox and pull the changes made there;
    every sync.interval until Ctrl-C, or once."""
    from automator.itsm import open_sync

    config = _load(settings, config_path)
    store = open_store(settings)
    sync = open_sync(store, config)
    try:
        if once:
            result = sync.tick()
            console.print(_tick_line(result))
            return 1 if result.error else 0
        console.print(
            f"syncing tickets with {config.system} at {escape(config.redmine.url)} "
            f"every {config.sync.interval:g} s; Ctrl-C stops"
        )
        stop = threading.Event()
        try:
            while not stop.is_set():
                result = sync.tick()
                if not result.idle:
                    console.print(f"{utcnow():%H:%M:%S} {_tick_line(result)}")
                stop.wait(config.sync.interval)
        except KeyboardInterrupt:
            console.print("stopped")
        return 0
    finally:
        sync.dispose()
        store.dispose()


@itsm.command("status")
@click.option("--links", "show_links", is_flag=True, help="List the tickets and their issues")
@click.option("-n", "--max", "limit", type=click.IntRange(1, 10000), default=50, show_default=True)
@_CONFIG_OPTION
@pass_settings
def status_command(
    settings: Settings, show_links: bool, limit: int, config_path: Path | None
) -> None:
    """The outbox (waiting, refused, sent), its last error, and the tickets mirrored. Reads
    only automator's store: it works while the ITSM is down."""
    from automator.itsm import sync_links, sync_status

    config = _load(settings, config_path)
    store = open_store(settings)
    try:
        status = sync_status(store, config.system, utcnow())
        links = sync_links(store, config.system, limit) if show_links else []
    finally:
        store.dispose()
    console.print(_where(config))
    for line in _status_lines(status):
        console.print(line, soft_wrap=True)
    if show_links:
        table = Table("ticket", "issue", "linked", "last pushed", "last pulled", "last journal")
        for link in links:
            table.add_row(
                f"#{link.ticket_id}",
                escape(link.external_id or "(not created yet)"),
                f"{link.created_at:%Y-%m-%d %H:%M}",
                _when(link.last_pushed_at),
                _when(link.last_pulled_at),
                str(link.last_journal_id or "-"),
            )
        console.print(table)


def _load(settings: Settings, config_path: Path | None) -> ItsmConfig:
    from automator.itsm import load_itsm_config

    path = config_path or settings.project_dir / "itsm.yaml"
    if not path.exists():
        raise ConfigError(f"{path} does not exist: the ITSM sync needs it (see docs/itsm.md)")
    return load_itsm_config(path)


def _tick_line(result: TickResult) -> str:
    line = (
        f"queued {result.queued}, sent {result.sent}, refused {result.rejected}, "
        f"pulled {result.pulled}"
    )
    if result.error:
        err_console.print(f"[yellow]the ITSM was not reached:[/] {escape(result.error)}")
        line += " (the outbox keeps the rest)"
    return line


def _where(config: ItsmConfig) -> str:
    redmine = config.redmine
    key = f"${redmine.api_key_env}"
    if redmine.api_key_file is not None:
        key += f" or {redmine.api_key_file}"
    return (
        f"{config.system} at {escape(redmine.url)}, project {escape(redmine.project)} "
        f"(API key from {escape(key)})"
    )


def _status_lines(status: SyncStatus) -> list[str]:
    oldest = f", oldest {_when(status.oldest_pending)}" if status.oldest_pending else ""
    lines = [
        f"outbox: {status.pending} waiting ({status.due} due now{oldest}), "
        f"{status.rejected} refused, {status.done} sent",
        f"tickets mirrored: {status.links} ({status.unlinked} still without an issue)",
        f"pushed up to timeline entry {status.push_cursor}; pulled up to "
        f"{status.system} update {status.pull_cursor or '(nothing yet)'}",
    ]
    error = status.last_error
    if error is not None:
        attempts = f"{error.attempts} attempt{'s' if error.attempts != 1 else ''}"
        lines.append(
            f"last error: ticket #{error.ticket_id} {error.operation} ({error.status}, "
            f"{attempts}): {escape(error.error)}"
        )
    return lines


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"
