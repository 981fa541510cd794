"""The ``automator`` command group, its global options and the objects commands share."""

from __future__ import annotations

import getpass
import logging
import os
from pathlib import Path

import click
from rich.console import Console
from rich.logging import RichHandler

from automator import __version__
from automator.config import Settings
from automator.inventory import Inventory, load_inventory
from automator.jobs import Pipeline
from automator.runbooks import Catalogue
from automator.store import Store

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

# Per-host failures are results shown in tables; these libraries would also log them with
# tracebacks, so they only speak at -vv.
_CHATTY = ("nornir", "paramiko", "netmiko", "ansible_runner")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--inventory",
    "inventory_dir",
    type=click.Path(path_type=Path),
    help="Inventory folder [env AUTOMATOR_INVENTORY; default ./inventory]",
)
@click.option(
    "--home",
    type=click.Path(path_type=Path),
    help="State folder: database, artifacts [env AUTOMATOR_HOME; default ./.automator]",
)
@click.option(
    "--project",
    "project_dir",
    type=click.Path(path_type=Path),
    help="Folder with playbooks/ and runbooks/ [env AUTOMATOR_PROJECT; default .]",
)
@click.option(
    "--db",
    "database_url",
    metavar="URL",
    help="Database URL [env AUTOMATOR_DB; default SQLite in the home folder]",
)
@click.option(
    "--netns",
    metavar="NAME",
    help="Network namespace to run in, e.g. the lab's [env AUTOMATOR_NETNS]",
)
@click.option("-v", "--verbose", count=True, help="More logging (-vv for library logs).")
@click.version_option(__version__, prog_name="automator")
@click.pass_context
def cli(
    ctx: click.Context,
    inventory_dir: Path | None,
    home: Path | None,
    project_dir: Path | None,
    database_url: str | None,
    netns: str | None,
    verbose: int,
) -> None:
    """automator: checks, backups, remediation and runbooks for servers and network gear."""
    _configure_logging(verbose)
    settings = Settings.from_env(
        inventory_dir=inventory_dir,
        home=home,
        project_dir=project_dir,
        database_url=database_url,
        netns=netns,
    )
    if settings.netns and ctx.invoked_subcommand != "lab":
        # setns() moves only the calling thread: it must run before any thread starts.
        from automator.lab import enter_netns

        enter_netns(settings.netns)
    ctx.obj = settings


def open_inventory(settings: Settings) -> Inventory:
    return load_inventory(settings.inventory_dir)


def open_store(settings: Settings) -> Store:
    return Store.open(settings.database_url)


def open_pipeline(settings: Settings, inventory: Inventory | None = None) -> Pipeline:
    pipeline = Pipeline(
        store=open_store(settings),
        inventory=inventory or open_inventory(settings),
        catalogue=Catalogue(settings.runbooks_dir, settings.playbooks_dir),
        artifacts_dir=settings.artifacts_dir,
    )
    for run_id in pipeline.recover():
        err_console.print(f"[yellow]run #{run_id} was interrupted by a crash; marked so[/]")
    return pipeline


def requester() -> str:
    """Who is asking: the operator behind sudo, else the login user."""
    return os.environ.get("SUDO_USER") or getpass.getuser()


def _configure_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(
        level=level,
        format="%(message)s",
        datefmt="[%X]",
        handlers=[RichHandler(console=err_console, show_path=False)],
        force=True,
    )
    for name in _CHATTY:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose >= 2 else logging.CRITICAL)
