"""Timeline entries written by the service desk's clocks (``sla``) and messengers
(``notification``), in the caller's transaction: a warning recorded on the SLA row and its
entry on the ticket commit together or not at all."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from automator.store import Ticket, TimelineEntry

SLA_ACTOR = "sla"
NOTIFY_ACTOR = "notify"
# entries these parts write themselves: they never make a ticket's clocks change
OWN_KINDS = frozenset({"sla", "notification"})


def add_entry(
    session: Session,
    ticket: Ticket,
    at: datetime,
    kind: str,
    actor: str,
    message: str,
    data: dict[str, Any] | None = None,
) -> None:
    """A timeline entry on ``ticket`` at ``at``; the ticket counts as updated then."""
    ticket.updated_at = at
    session.add(
        TimelineEntry(
            ticket_id=ticket.id, at=at, kind=kind, actor=actor, message=message, data=data or {}
        )
    )


def local_time(when: datetime, zone: Any, now: datetime) -> str:
    """``14:05 CET`` on the day of ``now`` (in ``zone``), else ``2026-03-02 14:05 CET``."""
    local = when.astimezone(zone)
    if local.date() == now.astimezone(zone).date():
        return f"{local:%H:%M %Z}"
    return f"{local:%Y-%m-%d %H:%M %Z}"


def span(seconds: float) -> str:
    """A duration for people: ``25 min``, ``3 h 10 min``, ``2 d 4 h``."""
    minutes = max(round(seconds / 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"
