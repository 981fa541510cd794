"""The ``automator`` command group, its global options and the objects commands share."""

from __future__ import annotations

import functools
import gc
import getpass
import importlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.console import Console
from rich.logging import RichHandler

from automator import __version__
from automator.config import Settings
from automator.inventory import Inventory, load_inventory

if TYPE_CHECKING:
    from automator.jobs import Pipeline
    from automator.runbooks import Action, Catalogue
    from automator.store import Store

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

# Per-host failures are results shown in tables; these libraries would also log them with
# tracebacks, so they only speak at -vv.
_CHATTY = ("nornir", "paramiko", "netmiko", "ansible_runner")


_SETTING_OPTIONS = (
    click.option(
        "--inventory",
        "inventory_dir",
        type=click.Path(path_type=Path),
        help="Inventory folder [env AUTOMATOR_INVENTORY; default ./inventory]",
    ),
    click.option(
        "--home",
        type=click.Path(path_type=Path),
        help="State folder: database, artifacts [env AUTOMATOR_HOME; default ./.automator]",
    ),
    click.option(
        "--project",
        "project_dir",
        type=click.Path(path_type=Path),
        help="Folder with playbooks/ and runbooks/ [env AUTOMATOR_PROJECT; default .]",
    ),
    click.option(
        "--db",
        "database_url",
        metavar="URL",
        help="Database URL [env AUTOMATOR_DB; default SQLite in the home folder]",
    ),
    click.option(
        "--netns",
        metavar="NAME",
        help="Network namespace to run in, e.g. the lab's [env AUTOMATOR_NETNS]",
    ),
)
_SETTING_NAMES = ("inventory_dir", "home", "project_dir", "database_url", "netns")
F = TypeVar("F", bound=Callable[..., Any])


def setting_options(f: F) -> F:
    for option in reversed(_SETTING_OPTIONS):
        f = option(f)
    return f


# Each command's module is imported when that command runs, so that `automator run` does not
# pay for the hooks' web stack or the rules engine at start-up.
COMMANDS = {
    "approve": "automator.cli._run:approve",
    "backup": "automator.cli._backup:backup",
    "check": "automator.cli._check:check",
    "deny": "automator.cli._run:deny",
    "events": "automator.cli._events:events",
    "inventory": "automator.cli._inventory:inventory",
    "itsm": "automator.cli._itsm:itsm",
    "lab": "automator.cli._lab:lab",
    "report": "automator.cli._report:report",
    "reviews": "automator.cli._reviews:reviews",
    "rules": "automator.cli._rules:rules",
    "run": "automator.cli._run:run",
    "runbooks": "automator.cli._inventory:runbooks",
    "schedule": "automator.cli._schedule:schedule",
    "serve": "automator.cli._serve:serve",
    "sla": "automator.cli._sla:sla",
    "tickets": "automator.cli._tickets:tickets",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, name = target.partition(":")
        command = getattr(importlib.import_module(module), name)
        assert isinstance(command, click.Command)
        return command


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@setting_options
@click.option("-v", "--verbose", count=True, help="More logging (-vv for library logs).")
@click.version_option(__version__, prog_name="automator")
@click.pass_context
def cli(ctx: click.Context, /, verbose: int, **settings: Any) -> None:
    """automator: checks, backups, remediation and runbooks for servers and network gear.

    The setting options (--inventory, --home, --project, --db, --netns) may be given before
    the command or after it.
    """
    _configure_logging(verbose)
    ctx.obj = {name: value for name, value in settings.items() if value is not None}


def pass_settings(f: Callable[..., Any]) -> Callable[..., Any]:
    """Give a command its Settings, built from the setting options given before or after the
    command name (after wins), the environment and the defaults.

    Outside ``automator lab``, the process then enters the configured network namespace: this
    runs before the command starts any thread, as ``setns()`` requires.
    """

    @setting_options
    @click.pass_context
    @functools.wraps(f)
    def command(ctx: click.Context, *args: Any, **kwargs: Any) -> Any:
        given = dict(ctx.obj or {})
        for name in _SETTING_NAMES:
            value = kwargs.pop(name)
            if value is not None:
                given[name] = value
        settings = Settings.from_env(**given)
        if not gc.isenabled():
            # the executable's start-up is over (``console``): what it loaded lives as long
            # as the process, out of the collector's way from now on
            gc.freeze()
            gc.enable()
        if settings.netns and ctx.command_path.split()[1:2] != ["lab"]:
            from automator.lab import enter_netns

            enter_netns(settings.netns)
        return f(settings, *args, **kwargs)

    return command


def open_inventory(settings: Settings) -> Inventory:
    return load_inventory(settings.inventory_dir)


def open_store(settings: Settings) -> Store:
    # the store and the pipeline load SQLAlchemy: only commands that use them pay for it
    from automator.store import Store

    return Store.open(settings.database_url)


def open_catalogue(settings: Settings) -> Catalogue:
    """The project's runbooks and playbooks, and automator's built-in actions: the check
    sweep and the backup jobs."""
    from automator.runbooks import Catalogue

    loaded: list[Action] = []

    def checks() -> Action:
        """The check sweep, its catalogue read once: every job asks for the action twice
        (prepare, then run) and serve asks at every sweep."""
        from automator.checks import check_action, load_checks

        if not loaded:
            loaded.append(check_action(load_checks(settings.checks_dir)))
        return loaded[0]

    def backup_action(name: str) -> Callable[[], Action]:
        def make() -> Action:
            from automator.backups import backup_actions, load_plan

            action: Action = backup_actions(load_plan(settings.project_dir), settings.project_dir)[
                name
            ]()
            return action

        return make

    return Catalogue(
        settings.runbooks_dir,
        settings.playbooks_dir,
        builtins={"checks": checks, **{name: backup_action(name) for name in BACKUP_ACTIONS}},
    )


def open_pipeline(
    settings: Settings, inventory: Inventory | None = None, catalogue: Catalogue | None = None
) -> Pipeline:
    from automator.jobs import Pipeline

    pipeline = Pipeline(
        store=open_store(settings),
        inventory=inventory or open_inventory(settings),
        catalogue=catalogue or open_catalogue(settings),
        artifacts_dir=settings.artifacts_dir,
    )
    # a backup run records its configurations wherever it came from (the command, a
    # schedule, a rule, an approval)
    finisher = _BackupFinisher(settings, pipeline)
    for name in ("backup", "backup-verify"):
        pipeline.finishers[name] = finisher
    for run_id in pipeline.recover():
        err_console.print(f"[yellow]run #{run_id} was interrupted by a crash; marked so[/]")
    for run_id in pipeline.expire_approvals():
        err_console.print(f"[yellow]run #{run_id}: approval timed out; ticket escalated[/]")
    return pipeline


BACKUP_ACTIONS = ("backup", "backup-verify", "backup-restore")


class _BackupFinisher:
    """Records a finished backup run with the pipeline's one backup service, made when
    first needed (most commands never run a backup)."""

    def __init__(self, settings: Settings, pipeline: Pipeline) -> None:
        self.settings = settings
        self.pipeline = pipeline
        self.service: Any = None

    def __call__(self, summary: Any) -> Any:
        return self.open().record(summary)

    def open(self) -> Any:
        if self.service is None:
            from automator.backups import BackupService, BackupStore, load_plan

            self.service = BackupService(
                self.pipeline.store,
                self.pipeline,
                BackupStore(self.pipeline.store, self.settings.home / "backups"),
                self.pipeline.inventory,
                load_plan(self.settings.project_dir),
            )
        return self.service


def open_backup_service(pipeline: Pipeline) -> Any:
    """The pipeline's backup service: the one its backup runs are recorded with
    (``open_pipeline`` installs it)."""
    finisher = pipeline.finishers["backup"]
    assert isinstance(finisher, _BackupFinisher)
    return finisher.open()


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
