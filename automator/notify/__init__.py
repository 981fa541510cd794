"""Escalation and notification (see docs/notifications.md).

An SLA warning or breach, a failed remediation or a complaint escalates a ticket along its
contract's chain (``Escalator``): every level's notifications are rows in ``notifications``
before anything is sent, and ``Notifier`` sends them through pluggable channels (``email`` over
SMTP, ``webhook`` for Slack, DingTalk, WeCom or a generic receiver), with retries and backoff,
recording every outcome on the ticket.

``build_desk_ticks`` gives ``automator serve`` the three periodic parts, in the order to tick
them: the SLA monitor, the escalator and the notifier.

May import store, tickets, inventory and sla.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from automator.notify._channels import (
    Channel,
    ChannelError,
    ChannelOptions,
    Message,
    RetryPolicy,
    Secret,
    build_channels,
    register_channel_type,
)
from automator.notify._email import EmailChannel
from automator.notify._escalation import (
    REASONS,
    SYSTEM_ACTORS,
    Escalator,
    HostDirectory,
    HostFacts,
    acknowledge_escalation,
    acknowledged,
    no_hosts,
)
from automator.notify._notifier import Notifier, NotifierTick
from automator.notify._webhook import WebhookChannel
from automator.sla import Contracts, SlaMonitor, contracts_dir, load_contracts
from automator.store import Store, utcnow

if TYPE_CHECKING:
    from pathlib import Path

    from automator.config import Settings
    from automator.inventory import Inventory

register_channel_type("email", EmailChannel.from_options)
register_channel_type("webhook", WebhookChannel.from_options)


class Ticker(Protocol):
    """A periodic part of ``automator serve``: a bounded amount of work per call, and no
    exception for a remote failure (a store error may still be raised)."""

    def tick(self, now: datetime | None = None) -> object: ...


def load_desk(directory: Path) -> tuple[Contracts, dict[str, Channel]]:
    """The contracts of ``directory`` and the channels they declare, every problem of both
    reported at once as a ContractError."""
    contracts = load_contracts(directory)
    return contracts, build_channels(contracts)


def inventory_hosts(inventory: Inventory) -> HostDirectory:
    """The sites and owners of a ticket's hosts, from the inventory (unknown hosts: none)."""

    def facts(hosts: Sequence[str]) -> HostFacts:
        found = [inventory.hosts[name] for name in hosts if name in inventory.hosts]
        return HostFacts(
            sites=frozenset(host.site for host in found if host.site),
            owners=tuple(dict.fromkeys(host.owner for host in found if host.owner)),
        )

    return facts


def build_desk_ticks(
    settings: Settings,
    store: Store,
    inventory: Inventory | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> list[Ticker]:
    """The SLA monitor, the escalator and the notifier of the project's contracts, to be
    ticked in this order (no contract: all three do nothing)."""
    contracts, channels = load_desk(contracts_dir(settings))
    hosts = inventory_hosts(inventory) if inventory is not None else no_hosts
    escalator = Escalator(store, contracts, channels, hosts, clock)
    return [
        SlaMonitor(store, contracts, clock, escalator),
        escalator,
        Notifier(store, channels, clock),
    ]


__all__ = [
    "REASONS",
    "SYSTEM_ACTORS",
    "Channel",
    "ChannelError",
    "ChannelOptions",
    "EmailChannel",
    "Escalator",
    "HostDirectory",
    "HostFacts",
    "Message",
    "Notifier",
    "NotifierTick",
    "RetryPolicy",
    "Secret",
    "Ticker",
    "WebhookChannel",
    "acknowledge_escalation",
    "acknowledged",
    "build_channels",
    "build_desk_ticks",
    "inventory_hosts",
    "load_desk",
    "no_hosts",
    "register_channel_type",
]
