"""Service levels: contracts (``contracts/*.yaml``), SLA clocks and the monitor that keeps
them (see docs/sla.md).

A contract says, per tenant, what each priority's response and resolution targets are, whether
they count business hours (with a time zone and holidays) or 24x7, when to warn, and whom to
call in which order. The clocks are pure functions of a ticket's history (``sla_clocks``);
``SlaMonitor`` keeps the ``ticket_sla`` rows of open tickets, records each warning and breach
once on the ticket, and hands them to the escalation (``automator.notify``).

May import store and tickets; ``automator.notify`` builds on it, never the reverse.
"""

from pathlib import Path

from automator.config import Settings
from automator.sla._calendar import BusinessCalendar, Calendar, WallClock
from automator.sla._clock import Clock, SlaClocks, StatusChange, TicketFacts, sla_clocks
from automator.sla._contract import (
    DEFAULT,
    OWNER,
    Chain,
    ChannelSpec,
    Contract,
    Contracts,
    Level,
    Person,
    Target,
)
from automator.sla._entries import NOTIFY_ACTOR, SLA_ACTOR, add_entry, local_time, span
from automator.sla._loader import ContractError, load_contracts
from automator.sla._monitor import OPEN, Escalation, SlaMonitor, SlaTick
from automator.sla._status import Risk, at_risk


def contracts_dir(settings: Settings) -> Path:
    """Where a project keeps its contracts: ``contracts/`` at its top."""
    return settings.project_dir / "contracts"


__all__ = [
    "DEFAULT",
    "NOTIFY_ACTOR",
    "OPEN",
    "OWNER",
    "SLA_ACTOR",
    "BusinessCalendar",
    "Calendar",
    "Chain",
    "ChannelSpec",
    "Clock",
    "Contract",
    "ContractError",
    "Contracts",
    "Escalation",
    "Level",
    "Person",
    "Risk",
    "SlaClocks",
    "SlaMonitor",
    "SlaTick",
    "StatusChange",
    "Target",
    "TicketFacts",
    "WallClock",
    "add_entry",
    "at_risk",
    "contracts_dir",
    "load_contracts",
    "local_time",
    "sla_clocks",
    "span",
]
