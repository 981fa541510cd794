"""``automator tickets list|show|open|ack|comment|assign|status|resolve|close|rate|analyse``.

Every change is a timeline entry in the operator's name (the login user, or the one behind
sudo). A ticket id that does not exist is an error (exit 2), and so is a move the service
desk would not make (closed → acknowledged).
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table

from automator.cli._app import console, open_inventory, open_store, pass_settings, requester
from automator.cli._render import ticket_view, tickets_table
from automator.config import Settings
from automator.store import Ticket
from automator.tickets import MAX_LIST, Priority, TicketKind, TicketService, TicketStatus

STATUSES = [s.value for s in TicketStatus]
ID = click.argument("ticket_id", type=int, metavar="ID")


@click.group()
def tickets() -> None:
    """The record: every run, check, rule and drift is logged on a ticket, and the service
    desk works it from new to closed."""


@tickets.command("list")
@click.option("--status", multiple=True, type=click.Choice(STATUSES), help="(repeatable)")
@click.option(
    "--kind", multiple=True, type=click.Choice([k.value for k in TicketKind]), help="(repeatable)"
)
@click.option(
    "--priority",
    multiple=True,
    type=click.Choice([p.value for p in Priority]),
    help="(repeatable)",
)
@click.option("--host", help="Tickets that name this host")
@click.option("--tenant", help="Tickets of this tenant")
@click.option("--owner", help="Tickets assigned to this owner")
@click.option("--text", help="Part of the title (any case)")
@click.option("--open", "only_open", is_flag=True, help="Only tickets not resolved or closed")
@click.option("--before", "before_id", type=click.IntRange(1), metavar="ID", help="Next page")
@click.option(
    "-n", "--max", "limit", type=click.IntRange(1, MAX_LIST), default=50, show_default=True
)
@pass_settings
def list_tickets(
    settings: Settings,
    status: tuple[str, ...],
    kind: tuple[str, ...],
    priority: tuple[str, ...],
    host: str | None,
    tenant: str | None,
    owner: str | None,
    text: str | None,
    only_open: bool,
    before_id: int | None,
    limit: int,
) -> None:
    """List tickets, newest first; every filter given applies."""
    if only_open:
        status = status or tuple(s.value for s in TicketStatus if s.is_open)
    found = TicketService(open_store(settings)).list(
        status=status,
        kind=kind,
        priority=priority,
        host=host,
        tenant=tenant,
        owner=owner,
        text=text,
        before_id=before_id,
        limit=limit,
    )
    console.print(tickets_table(found))
    if len(found) == limit:
        console.print(f"[dim]more: the same command with --before {found[-1].id}[/]")


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
@click.option("--tenant", help="The customer, e.g. of a complaint")
@click.option("-q", "--quiet", is_flag=True, help="Print only the new ticket's id")
@pass_settings
def open_ticket(
    settings: Settings,
    kind: str,
    title: str,
    priority: str,
    hosts: tuple[str, ...],
    owner: str | None,
    tenant: str | None,
    quiet: bool,
) -> None:
    """Open a ticket by hand (a change to run several runbooks under, a complaint)."""
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
        tenant=tenant,
        actor=requester(),
    )
    console.print(str(ticket_id) if quiet else f"opened ticket #{ticket_id}")


@tickets.command("show")
@ID
@pass_settings
def show(settings: Settings, ticket_id: int) -> None:
    """A ticket with its timeline, runs and per-host outcomes."""
    ticket = TicketService(open_store(settings)).get(ticket_id)
    console.print(Group(ticket_view(ticket), *_desk_view(ticket)))


@tickets.command("ack")
@ID
@click.option("--note", help="What the first response says")
@pass_settings
def ack(settings: Settings, ticket_id: int, note: str | None) -> None:
    """Acknowledge: the first response (new or escalated → acknowledged)."""
    service = TicketService(open_store(settings))
    service.acknowledge(ticket_id, requester(), note)
    _say_status(service, ticket_id)


@tickets.command("comment")
@ID
@click.argument("text")
@pass_settings
def comment(settings: Settings, ticket_id: int, text: str) -> None:
    """Add a comment to the timeline."""
    entry = TicketService(open_store(settings)).comment(ticket_id, requester(), text)
    console.print(f"comment added to ticket #{ticket_id} (entry {entry})")


@tickets.command("assign")
@ID
@click.argument("owner", required=False)
@click.option("--unassign", is_flag=True, help="Give the ticket to nobody")
@click.option("--why", help="Why it changes hands")
@pass_settings
def assign(
    settings: Settings, ticket_id: int, owner: str | None, unassign: bool, why: str | None
) -> None:
    """Hand the ticket to OWNER (or to nobody with --unassign)."""
    if bool(owner) == unassign:
        raise click.UsageError("give an OWNER, or --unassign")
    service = TicketService(open_store(settings))
    service.assign(ticket_id, None if unassign else owner, requester(), why)
    now = service.get(ticket_id).owner
    console.print(
        f"ticket #{ticket_id} is " + (f"assigned to {escape(now)}" if now else "unassigned")
    )


@tickets.command("status")
@ID
@click.argument("status", type=click.Choice(STATUSES))
@click.option("--why", required=True, help="Why the ticket moves (on the timeline)")
@pass_settings
def status(settings: Settings, ticket_id: int, status: str, why: str) -> None:
    """Move the ticket to STATUS, e.g. waiting_on_customer or in_progress."""
    service = TicketService(open_store(settings))
    service.set_status(ticket_id, status, requester(), why)
    _say_status(service, ticket_id)


@tickets.command("resolve")
@ID
@click.option("--why", required=True, help="What fixed it")
@pass_settings
def resolve(settings: Settings, ticket_id: int, why: str) -> None:
    """Resolve the ticket (it may be reopened: status ID in_progress)."""
    service = TicketService(open_store(settings))
    service.resolve(ticket_id, requester(), why)
    _say_status(service, ticket_id)


@tickets.command("close")
@ID
@click.option("--why", required=True, help="Why it is done with")
@pass_settings
def close(settings: Settings, ticket_id: int, why: str) -> None:
    """Close the ticket: done with (a run or an escalation would reopen it)."""
    service = TicketService(open_store(settings))
    service.close(ticket_id, requester(), why)
    _say_status(service, ticket_id)


@tickets.command("rate")
@ID
@click.argument("score", type=click.IntRange(1, 5))
@click.option("--note", help="What the customer said")
@pass_settings
def rate(settings: Settings, ticket_id: int, score: int, note: str | None) -> None:
    """Record the customer's satisfaction with a resolved or closed ticket: SCORE 1 (poor)
    to 5 (excellent)."""
    TicketService(open_store(settings)).rate(ticket_id, score, requester(), note)
    console.print(f"ticket #{ticket_id} rated {score}/5")


@tickets.command("analyse")
@ID
@click.option("--text", help="The analysis")
@click.option(
    "--file",
    "path",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Read the analysis from a file",
)
@pass_settings
def analyse(settings: Settings, ticket_id: int, text: str | None, path: Path | None) -> None:
    """Record the analysis of a complaint (or of a problem: its root cause)."""
    if (text is None) == (path is None):
        raise click.UsageError("give --text or --file")
    if path is not None:
        text = _read(path)
    TicketService(open_store(settings)).analyse(ticket_id, requester(), text or "")
    console.print(f"analysis recorded on ticket #{ticket_id}")


def _say_status(service: TicketService, ticket_id: int) -> None:
    console.print(f"ticket #{ticket_id} is {service.get(ticket_id).status}")


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"cannot read {path}: {exc}", param_hint="--file") from None


def _desk_view(ticket: Ticket) -> list[RenderableType]:
    """The service desk's side of a ticket: response and resolution times, rating,
    analysis; nothing when none is set."""
    rows = [
        ("acknowledged", ticket.acknowledged_at),
        ("resolved", ticket.resolved_at),
        ("closed", ticket.closed_at),
    ]
    grid = Table.grid(padding=(0, 2))
    for label, moment in rows:
        if moment is not None:
            grid.add_row(f"[bold]{label}[/]", f"{moment:%Y-%m-%d %H:%M:%S} UTC")
    if ticket.contract:
        grid.add_row("[bold]contract[/]", escape(ticket.contract))
    if ticket.satisfaction is not None:
        note = f": {ticket.satisfaction_note}" if ticket.satisfaction_note else ""
        grid.add_row("[bold]satisfaction[/]", escape(f"{ticket.satisfaction}/5{note}"))
    if ticket.analysis:
        grid.add_row("[bold]analysis[/]", escape(ticket.analysis))
    return [grid] if grid.rows else []
