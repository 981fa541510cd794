"""``automator inventory list|show|validate|export-ansible`` and ``automator runbooks``."""

from __future__ import annotations

from pathlib import Path

import click
import yaml
from rich.markup import escape
from rich.table import Table

from automator.cli._app import console, open_inventory, pass_settings
from automator.config import Settings
from automator.inventory import export_ansible
from automator.runbooks import Catalogue

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@click.group()
def inventory() -> None:
    """Hosts and groups: list, show, validate, export to Ansible."""


@inventory.command("list")
@click.option("--limit", metavar="FILTER", help="e.g. site=dc1,role=web,!name=web3")
@pass_settings
def list_hosts(settings: Settings, limit: str | None) -> None:
    """List hosts with their site, tenant, role, owner and criticality."""
    hosts = open_inventory(settings).select(limit)
    table = Table(
        "host",
        "platform",
        "address",
        "site",
        "tenant",
        "role",
        "owner",
        "criticality",
        "groups",
        title=f"{len(hosts)} host" + ("" if len(hosts) == 1 else "s"),
    )
    for host in hosts:
        address = f"{host.hostname}:{host.port}" if host.port else host.hostname
        table.add_row(
            host.name,
            host.platform,
            address,
            host.site or "",
            host.tenant or "",
            host.role or "",
            host.owner or "",
            host.criticality.value,
            ", ".join(host.groups),
        )
    console.print(table)


@inventory.command("show")
@click.argument("name")
@pass_settings
def show_host(settings: Settings, name: str) -> None:
    """Everything the inventory says about one host (secrets shown by source, never value)."""
    host = open_inventory(settings).get(name)
    table = Table.grid(padding=(0, 2))
    creds = host.credentials
    rows = [
        ("host", host.name),
        ("kind", host.kind),
        ("platform", host.platform),
        ("address", f"{host.hostname}:{host.port}" if host.port else host.hostname),
        ("groups", ", ".join(host.all_groups)),
        ("site", host.site),
        ("tenant", host.tenant),
        ("role", host.role),
        ("owner", host.owner),
        ("criticality", host.criticality.value),
        ("username", creds.username),
        ("password", _source(creds.password_env, creds.password_file)),
        ("enable secret", _source(creds.enable_secret_env, creds.enable_secret_file)),
        ("ssh key", str(creds.key_file) if creds.key_file else None),
        ("known hosts", str(creds.known_hosts_file) if creds.known_hosts_file else None),
        ("defined at", f"{host.source_file}:{host.source_line}"),
    ]
    for label, value in rows:
        if value:
            table.add_row(f"[bold]{label}[/]", escape(str(value)))
    for window in host.maintenance:
        if window.starts is not None:
            when = f"{window.starts:%Y-%m-%d %H:%M} → {window.ends:%Y-%m-%d %H:%M %Z}"
        else:
            days = ",".join(
                ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][d] for d in sorted(window.days)
            )
            when = f"{days} {window.start:%H:%M}-{window.end:%H:%M} {window.timezone}"
        table.add_row("[bold]maintenance[/]", f"{window.name}: {when}")
    for key, value in sorted(host.data.items()):
        table.add_row(f"[bold]data.{key}[/]", escape(str(value)))
    console.print(table)


@inventory.command("validate")
@pass_settings
def validate(settings: Settings) -> None:
    """Load and check every file; print each problem as FILE:LINE: field: message."""
    loaded = open_inventory(settings)
    console.print(
        f"{settings.inventory_dir}: {len(loaded.hosts)} hosts, "
        f"{len(loaded.groups)} groups, no problems"
    )


@inventory.command("export-ansible")
@click.option("--output", "-o", type=click.Path(path_type=Path), help="File (default stdout)")
@pass_settings
def export(settings: Settings, output: Path | None) -> None:
    """Print the Ansible inventory generated from this one."""
    text = yaml.safe_dump(export_ansible(open_inventory(settings)), sort_keys=False)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text)
        console.print(f"wrote {output}")


@click.group()
def runbooks() -> None:
    """What ``automator run`` can run."""


@runbooks.command("list")
@pass_settings
def list_runbooks(settings: Settings) -> None:
    """List runbooks (runbooks/*.yaml) and playbooks (playbooks/*.yml)."""
    catalogue = Catalogue(settings.runbooks_dir, settings.playbooks_dir)
    table = Table("name", "kind", "changes hosts", "params", "description")
    for action in catalogue.list():
        table.add_row(
            action.name,
            action.kind,
            "yes" if action.changes else "no",
            ", ".join(action.params),
            escape(action.description),
        )
    console.print(table)


def _source(env: str | None, file: Path | None) -> str | None:
    if env:
        return f"from environment variable {env}"
    if file:
        return f"from file {file}"
    return None
