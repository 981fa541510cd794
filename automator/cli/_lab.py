"""``automator lab up|down|status``: the local lab of Linux hosts and simulated gear."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from automator.cli._app import pass_settings
from automator.config import Settings
from automator.errors import LabError
from automator.lab import FACILITY_KINDS, Lab, LabSpec, LabStatus

_F = TypeVar("_F", bound=Callable[..., Any])


def _where(command: _F) -> _F:
    """The options that say which lab: its state folder and its namespace prefix."""
    command = click.option(
        "--prefix",
        help="Namespace prefix: <prefix>ctl, <prefix>h1, ... (labs with different ones "
        "coexist).  [default: the one the state folder's lab was brought up with, else lab]",
    )(command)
    return click.option(
        "--state",
        type=click.Path(file_okay=False, path_type=Path),
        help="State folder (keys, secrets, logs).  [default: <home>/lab]",
    )(command)


def _state_dir(settings: Settings, state: Path | None) -> Path:
    return state or settings.home / "lab"


_PREFIX_FILE = "prefix"  # in the state folder: the prefix the lab was brought up with


def _which(spec: LabSpec, prefix: str | None) -> LabSpec:
    """``spec`` with ``prefix`` when given, else with the one its state folder's ``lab up``
    wrote, else as it is (LabSpec's default prefix)."""
    remembered = spec.state_dir / _PREFIX_FILE
    if prefix is None and remembered.exists():
        prefix = remembered.read_text().strip()
    return replace(spec, prefix=prefix) if prefix else spec


@click.group("lab")
def lab() -> None:
    """Stand up, inspect and tear down the lab on this machine (needs root).

    Hosts are network namespaces running their own sshd; switches and sims are simulated Cisco
    IOS devices; UPSes, PDUs and coolers are net-snmp agents. All are reached from the
    controller namespace: export AUTOMATOR_NETNS.
    """


@lab.command()
@click.option("--hosts", default=3, show_default=True, help="Number of Linux hosts (0-200).")
@click.option("--switches", default=2, show_default=True, help="Number of switches (0-500).")
@click.option(
    "--sims",
    default=0,
    show_default=True,
    help="Number of recorded-output Cisco IOS devices (0-500).",
)
@click.option("--ups", default=0, show_default=True, help="Number of UPSes (SNMP).")
@click.option("--pdus", default=0, show_default=True, help="Number of PDUs (SNMP).")
@click.option("--coolers", default=0, show_default=True, help="Number of cooling units (SNMP).")
@_where
@pass_settings
def up(
    settings: Settings,
    hosts: int,
    switches: int,
    sims: int,
    ups: int,
    pdus: int,
    coolers: int,
    state: Path | None,
    prefix: str | None,
) -> None:
    """Bring the lab up (replacing a previous one) and write its inventory.

    UPSes, PDUs and coolers together: at most 50.
    """
    spec = _which(
        LabSpec(
            _state_dir(settings, state),
            hosts=hosts,
            switches=switches,
            sims=sims,
            ups=ups,
            pdus=pdus,
            coolers=coolers,
        ),
        prefix,
    )
    _refuse_foreign_inventory(settings.inventory_dir)
    the_lab = Lab(spec)
    status = the_lab.up()
    (spec.state_dir / _PREFIX_FILE).write_text(spec.prefix + "\n")
    the_lab.write_inventory(settings.inventory_dir)
    console = Console()
    console.print(_table(status))
    seconds = status.seconds_to_start or 0.0
    console.print(
        f"Up in {seconds:.1f} s. Inventory written to {settings.inventory_dir}.",
        markup=False,
        highlight=False,
    )
    console.print("Reach it from the controller namespace:", highlight=False)
    console.print(f"  export AUTOMATOR_NETNS={status.controller_netns}", markup=False)


@lab.command()
@_where
@pass_settings
def down(settings: Settings, state: Path | None, prefix: str | None) -> None:
    """Stop every host and device of the lab and delete its namespaces."""
    started = time.monotonic()
    spec = _which(LabSpec(_state_dir(settings, state)), prefix)
    Lab(spec).down()
    Console().print(
        f"Lab {spec.prefix!r} is down ({time.monotonic() - started:.1f} s).", markup=False
    )


@lab.command()
@_where
@pass_settings
def status(settings: Settings, state: Path | None, prefix: str | None) -> None:
    """Show which hosts and devices of the lab answer."""
    spec = _which(LabSpec(_state_dir(settings, state)), prefix)
    lab_status = Lab(spec).status()
    console = Console()
    if lab_status.seconds_to_start is None:
        console.print(f"Lab {spec.prefix!r} is not up: run `automator lab up`.", markup=False)
        return
    console.print(_table(lab_status))


def _table(status: LabStatus) -> Table:
    table = Table(title=f"lab in {status.controller_netns} ({status.state_dir})")
    table.add_column("name")
    table.add_column("kind")
    table.add_column("address")
    table.add_column("state")
    for host in status.hosts:
        table.add_row(host.name, "linux", f"{host.address}:22", _state(host.up))
    for switch in status.switches:
        table.add_row(switch.name, "cisco_ios", f"127.0.0.1:{switch.port}", _state(switch.up))
    for sim in status.sims:
        table.add_row(sim.name, "cisco_ios (sim)", f"127.0.0.1:{sim.port}", _state(sim.up))
    for device in status.facility:
        platform = FACILITY_KINDS[device.kind].platform
        table.add_row(device.name, platform, f"127.0.0.1:{device.port}/udp", _state(device.up))
    return table


def _state(up: bool) -> str:
    return "[green]up[/green]" if up else "[red]down[/red]"


def _refuse_foreign_inventory(directory: Path) -> None:
    """``lab up`` rewrites the inventory folder: never one that a person keeps (the default
    ``./inventory`` of a project), only one a lab wrote before."""
    hosts = directory / "hosts.yaml"
    try:
        first = hosts.read_text(encoding="utf-8").split("\n", 1)[0]
    except (FileNotFoundError, NotADirectoryError):
        return
    except (OSError, UnicodeDecodeError) as exc:
        raise LabError(f"{hosts}: cannot read it to check who wrote it: {exc}") from None
    if not first.startswith("# Lab "):
        raise LabError(
            f"{directory} holds an inventory that `automator lab up` did not write; it would "
            "be overwritten. Give the lab its own folder: --inventory DIR (or "
            "AUTOMATOR_INVENTORY)"
        )
