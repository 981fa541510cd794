"""``automator sla status|contracts|ack|notifications|tick``: service levels from the
contracts in ``contracts/``, the tickets at risk, and the notifications sent about them."""

from __future__ import annotations

from datetime import timedelta

import click
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from automator.cli._app import console, open_inventory, open_store, pass_settings, requester
from automator.config import Settings
from automator.store import utcnow

_STATE_STYLE = {
    "breached": "bold red",
    "warned": "yellow",
    "paused": "cyan",
    "due soon": "",
    "ok": "green",
}
_NOTIFICATION_STYLE = {
    "sent": "green",
    "pending": "cyan",
    "given_up": "bold red",
    "cancelled": "dim",
}


@click.group()
def sla() -> None:
    """Service levels: SLA clocks from contracts/, tickets at risk, escalation."""


@sla.command("status")
@click.option("--tenant", help="Only this tenant's tickets")
@click.option("--all", "everything", is_flag=True, help="Every open ticket with SLA clocks")
@click.option(
    "--within",
    type=click.FloatRange(0),
    default=4.0,
    show_default=True,
    help="Also list tickets due within this many hours",
)
@click.option("-n", "--max", "limit", type=click.IntRange(1, 10000), default=50, show_default=True)
@pass_settings
def status(
    settings: Settings, tenant: str | None, everything: bool, within: float, limit: int
) -> None:
    """Tickets at risk: warned, breached or due soon, with the time left or over."""
    from automator.sla import at_risk, contracts_dir, load_contracts

    contracts = load_contracts(contracts_dir(settings))
    store = open_store(settings)
    now = utcnow()
    try:
        risks = at_risk(
            store,
            contracts,
            now,
            tenant=tenant,
            within=timedelta(hours=within),
            everything=everything,
        )
    finally:
        store.dispose()
    breached = sum(risk.state == "breached" for risk in risks)
    shown = risks[:limit]
    what = "open tickets with SLA clocks" if everything else "tickets at risk"
    title = f"{len(risks)} {what}, {breached} breached"
    if len(shown) < len(risks):
        title += f" (the {len(shown)} most pressing shown)"
    table = Table(
        "ticket", "P", "tenant", "title", "clock", "due (UTC)", "left", "used", "state", title=title
    )
    for risk in shown:
        style = _STATE_STYLE[risk.state]
        table.add_row(
            f"#{risk.ticket_id}",
            risk.priority,
            escape(risk.tenant or "-"),
            escape(risk.title[:50]),
            risk.clock,
            f"{risk.due:%Y-%m-%d %H:%M}",
            Text(_left(risk.left_s, risk.state), style=style),
            f"{round(risk.used * 100)} %",
            Text(risk.state, style=style),
        )
    console.print(table)


@sla.command("contracts")
@pass_settings
def contracts_command(settings: Settings) -> None:
    """Check the contracts (and their channels) and show what each one promises."""
    from automator.notify import load_desk
    from automator.sla import contracts_dir

    folder = contracts_dir(settings)
    contracts, channels = load_desk(folder)
    if not contracts:
        console.print(f"no contracts in {escape(str(folder))}: no SLA clocks run")
        return
    table = Table("contract", "tenants", "zone", "P1", "P2", "P3", "P4", "warn at", "chains")
    for contract in contracts.contracts.values():
        targets = [
            f"{_duration(t.response)} / {_duration(t.resolution)}\n{t.hours}"
            for t in contract.targets.values()
        ]
        chains = [c.name for c in contract.chains]
        if contract.complaints is not None:
            chains.append("complaints")
        table.add_row(
            contract.name,
            escape(", ".join(sorted(contract.tenants)) or "(everyone else)"),
            str(contract.timezone),
            *targets,
            f"{round(contract.warn_at * 100)} %",
            escape(", ".join(chains) or "(default's)"),
        )
    console.print(table)
    names = ", ".join(f"{name} ({spec.type})" for name, spec in contracts.channels.items())
    console.print(f"channels: {escape(names) or 'none'} - {len(channels)} ready")


@sla.command("ack")
@click.argument("ticket_id", type=int, metavar="ID")
@click.option("--note", help="What you are doing about it")
@pass_settings
def ack(settings: Settings, ticket_id: int, note: str | None) -> None:
    """Answer a ticket's escalation: the levels not yet notified are not."""
    from automator.notify import acknowledge_escalation

    store = open_store(settings)
    try:
        cancelled = acknowledge_escalation(store, ticket_id, requester(), note, utcnow())
    finally:
        store.dispose()
    console.print(
        f"ticket #{ticket_id}: escalation acknowledged; "
        f"{cancelled} queued notification{'s' if cancelled != 1 else ''} cancelled"
    )


@sla.command("notifications")
@click.option("--ticket", "ticket_id", type=int, help="Only this ticket's")
@click.option("--status", "statuses", multiple=True, type=click.Choice(list(_NOTIFICATION_STYLE)))
@click.option("-n", "--max", "limit", type=click.IntRange(1, 10000), default=50, show_default=True)
@pass_settings
def notifications(
    settings: Settings, ticket_id: int | None, statuses: tuple[str, ...], limit: int
) -> None:
    """Notifications, newest first: to whom, how, why, and how sending went."""
    from sqlalchemy import select

    from automator.store import Notification

    query = select(Notification).order_by(Notification.id.desc()).limit(limit)
    if ticket_id is not None:
        query = query.where(Notification.ticket_id == ticket_id)
    if statuses:
        query = query.where(Notification.status.in_(statuses))
    store = open_store(settings)
    try:
        with store.session() as session:
            rows = list(session.scalars(query))
    finally:
        store.dispose()
    table = Table("#", "ticket", "reason", "level", "channel", "to", "status", "tries", "when")
    for row in rows:
        when = row.sent_at or row.next_attempt_at or row.created_at
        status_text = Text(row.status, style=_NOTIFICATION_STYLE.get(row.status, ""))
        if row.last_error:
            status_text.append(f"\n{row.last_error[:80]}", style="dim")
        table.add_row(
            str(row.id),
            f"#{row.ticket_id}" if row.ticket_id is not None else "-",
            row.reason,
            str(row.level),
            escape(row.channel),
            escape(row.target),
            status_text,
            str(row.attempts),
            f"{when:%Y-%m-%d %H:%M:%S}",
        )
    console.print(table)


@sla.command("tick")
@pass_settings
def tick(settings: Settings) -> None:
    """Run the SLA monitor, the escalation and the notifier once (what ``automator serve``
    does continuously): for a cron job, or to see what they would do now."""
    from automator.notify import build_desk_ticks

    store = open_store(settings)
    inventory = open_inventory(settings) if settings.inventory_dir.is_dir() else None
    try:
        for part in build_desk_ticks(settings, store, inventory):
            console.print(f"{type(part).__name__}: {part.tick(utcnow())}")
    finally:
        store.dispose()


def _left(seconds: float, state: str) -> str:
    from automator.sla import span

    text = span(abs(seconds))
    if state == "paused":
        return f"{text} (paused)"
    return f"{text} over" if seconds < 0 else f"{text} left"


def _duration(value: timedelta) -> str:
    from automator.sla import span

    return span(value.total_seconds()).replace(" ", "")
