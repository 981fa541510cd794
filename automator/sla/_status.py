"""Which open tickets are at risk, and how much time they have left (``automator sla
status``): read from the ``ticket_sla`` rows the monitor keeps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select

from automator.sla._calendar import Calendar, WallClock
from automator.sla._contract import Contracts
from automator.sla._monitor import OPEN
from automator.store import Store, Ticket, TicketSla
from automator.tickets import Priority

# more rows than a terminal table can show: the newest due first beyond that
_MOST = 10_000


@dataclass(frozen=True)
class Risk:
    """One open ticket's most pressing clock: the response until answered, then the
    resolution. ``left_s`` is wall time to the due time (negative: over); ``used`` the share
    of the target counted so far, in its calendar."""

    ticket_id: int
    title: str
    tenant: str | None
    owner: str | None
    priority: str
    status: str
    contract: str
    clock: str
    due: datetime
    left_s: float
    used: float
    state: str  # breached, warned, paused, due soon, ok


def at_risk(
    store: Store,
    contracts: Contracts,
    now: datetime,
    *,
    tenant: str | None = None,
    within: timedelta = timedelta(hours=4),
    everything: bool = False,
) -> list[Risk]:
    """Open tickets warned, breached or due within ``within`` (every open ticket with clocks
    when ``everything``), the most pressing first."""
    horizon = now + within
    query = (
        select(TicketSla, Ticket)
        .join(Ticket, Ticket.id == TicketSla.ticket_id)
        .where(Ticket.status.in_(OPEN))
    )
    if tenant is not None:
        query = query.where(Ticket.tenant == tenant)
    if not everything:
        running = TicketSla.paused_since.is_(None)
        query = query.where(
            or_(
                TicketSla.response_warned_at.is_not(None),
                TicketSla.resolution_warned_at.is_not(None),
                TicketSla.response_breached_at.is_not(None),
                TicketSla.resolution_breached_at.is_not(None),
                and_(running, TicketSla.responded_at.is_(None), TicketSla.response_due <= horizon),
                and_(running, TicketSla.resolution_due <= horizon),
            )
        )
    with store.session() as session:
        rows = session.execute(query.order_by(TicketSla.resolution_due).limit(_MOST)).all()
    risks = [_risk(row, ticket, contracts, now, horizon) for row, ticket in rows]
    return sorted(risks, key=lambda risk: risk.left_s)


def _risk(
    row: TicketSla, ticket: Ticket, contracts: Contracts, now: datetime, horizon: datetime
) -> Risk:
    answered = row.responded_at is not None
    clock = "resolution" if answered else "response"
    due = row.resolution_due if answered else row.response_due
    target = row.resolution_target_s if answered else row.response_target_s
    contract = contracts.contracts.get(row.contract)
    calendar: Calendar = (
        contract.calendar(Priority(ticket.priority)) if contract is not None else WallClock()
    )
    if row.paused_since is not None and answered:
        left = calendar.seconds(row.paused_since, due)
        used = 1 - left / target
    else:
        left = (due - now).total_seconds()
        counted = -calendar.seconds(now, due) if due > now else calendar.seconds(due, now)
        used = 1 + counted / target
    overdue = left < 0 and row.paused_since is None
    if getattr(row, f"{clock}_breached_at") is not None or overdue:
        state = "breached"
    elif row.paused_since is not None and answered:
        state = "paused"
    elif getattr(row, f"{clock}_warned_at") is not None:
        state = "warned"
    else:
        state = "due soon" if due <= horizon else "ok"
    return Risk(
        ticket_id=ticket.id,
        title=ticket.title,
        tenant=ticket.tenant,
        owner=ticket.owner,
        priority=ticket.priority,
        status=ticket.status,
        contract=row.contract,
        clock=clock,
        due=due,
        left_s=left,
        used=used,
        state=state,
    )
