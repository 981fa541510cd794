"""``automator tickets list|show``."""

from __future__ import annotations

import click

from automator.cli._app import console, open_inventory, open_store, pass_settings, requester
from automator.cli._render import ticket_view, tickets_table
from automator.config import Settings
from automator.tickets import Priority, TicketKind, TicketService, TicketStatus


@click.group()
def tickets() -> None:
    """The record: every run is logged on a ticket."""


@tickets.command("list")
@click.option("--status", multiple=True, type=click.Choice([s.value for s in TicketStatus]))
@click.option("--kind", multiple=True, type=click.Choice([k.value for k in TicketKind]))
@click.option("--host", help="Tickets that name this host")
@click.option("--open", "only_open", is_flag=True, help="Only tickets not resolved or closed")
@click.option("-n", "--max", "limit", type=click.IntRange(1, 10000), default=50, show_default=True)
@pass_settings
def list_tickets(
    settings: Settings,
    status: tuple[str, ...],
    kind: tuple[str, ...],
    host: str | None,
    only_open: bool,
    limit: int,
) -> None:
    """List tickets, newest first."""
    if only_open:
        status = status or tuple(s.value for s in TicketStatus if s.is_open)
    found = TicketService(open_store(settings)).list(
        status=status, kind=kind, host=host, limit=limit
    )
    console.print(tickets_table(found))


@tickets.command("open")
@click.option(
    "--kind", type=click.Choice([k.value for k in TicketKind]), default="request", show_default=True
)
@click.option("--title", required=True)
@click.option(
    "--priority", type=click.Choice([p.value for p in Priority]), default="P3", show_default=True
)
@click.option("--host", "hosts", multiple=True, help="A host the ticket is about (repeatable)")
@click.option("--owner")
@click.option("-q", "--quiet", is_flag=True, help="Print only the new ticket's id")
@pass_settings
def open_ticket(
    settings: Settings,
    kind: str,
    title: str,
    priority: str,
    hosts: tuple[str, ...],
    owner: str | None,
    quiet: bool,
) -> None:
    """Open a ticket by hand (e.g. a change to run several runbooks under)."""
    if hosts:
        inventory = open_inventory(settings)
        for host in hosts:
            inventory.get(host)
    ticket_id = TicketService(open_store(settings)).open(
        kind=TicketKind(kind),
        title=title,
        priority=Priority(priority),
        hosts=hosts,
        owner=owner,
        actor=requester(),
    )
    console.print(str(ticket_id) if quiet else f"opened ticket #{ticket_id}")


@tickets.command("show")
@click.argument("ticket_id", type=int, metavar="ID")
@pass_settings
def show(settings: Settings, ticket_id: int) -> None:
    """A ticket with its timeline, runs and per-host outcomes."""
    console.print(ticket_view(TicketService(open_store(settings)).get(ticket_id)))
