"""What a service contract promises and whom it calls: the values of ``contracts/*.yaml``.

The file format and its checks are in ``_loader``; docs/sla.md is the reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from automator.sla._calendar import BusinessCalendar, Calendar, WallClock
from automator.tickets import Priority

DEFAULT = "default"
# the person a chain level names as ``owner``: the ticket's owner (or its hosts' owners)
OWNER = "owner"
_WALL = WallClock()


@dataclass(frozen=True)
class Target:
    """A priority's promise: first response and resolution, in business or wall time."""

    response: timedelta
    resolution: timedelta
    business_hours: bool

    @property
    def hours(self) -> str:
        return "business" if self.business_hours else "24x7"


@dataclass(frozen=True)
class Person:
    """Someone a chain notifies: an e-mail address, and the id a chat mentions (a Slack
    member id, a DingTalk or WeCom mobile number or user id)."""

    key: str
    name: str
    email: str | None = None
    chat: str | None = None


@dataclass(frozen=True)
class Level:
    """One step of an escalation chain: whom to tell, how, and how long to wait for someone to
    acknowledge before the next step (None on the last one)."""

    who: tuple[str, ...]
    channels: tuple[str, ...]
    wait: timedelta | None
    line: int = 0


@dataclass(frozen=True)
class Chain:
    """An escalation chain for some sites and priorities (empty: all)."""

    name: str
    levels: tuple[Level, ...]
    sites: frozenset[str] = frozenset()
    priorities: frozenset[Priority] = frozenset()

    def matches(self, sites: frozenset[str], priority: Priority) -> bool:
        site_ok = not self.sites or bool(self.sites & sites)
        return site_ok and (not self.priorities or priority in self.priorities)


@dataclass(frozen=True)
class ChannelSpec:
    """A notification channel as its contract file declares it; ``automator.notify`` turns it
    into a sender and checks its options (each with its line, for ``FILE:LINE`` problems)."""

    name: str
    type: str
    options: Mapping[str, Any]
    file: str
    line: int
    lines: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class Contract:
    """One ``contracts/NAME.yaml``."""

    name: str
    file: str
    tenants: frozenset[str]
    kinds: frozenset[str]
    timezone: ZoneInfo
    targets: Mapping[Priority, Target]
    warn_at: float
    business: BusinessCalendar | None
    people: Mapping[str, Person]
    chains: tuple[Chain, ...]
    complaints: Chain | None
    notes: str = ""

    def target(self, priority: Priority) -> Target:
        return self.targets[priority]

    def calendar(self, priority: Priority) -> Calendar:
        """How this priority's clocks count time."""
        if self.targets[priority].business_hours:
            assert self.business is not None  # the loader requires business_hours then
            return self.business
        return _WALL


class Contracts:
    """Every contract of a project's ``contracts/`` folder, and the channels they declare."""

    def __init__(self, contracts: Mapping[str, Contract], channels: Mapping[str, ChannelSpec]):
        self.contracts = dict(sorted(contracts.items()))
        self.channels = dict(sorted(channels.items()))
        self._by_tenant = {
            tenant: contract for contract in self.contracts.values() for tenant in contract.tenants
        }

    @property
    def default(self) -> Contract | None:
        return self.contracts.get(DEFAULT)

    def __len__(self) -> int:
        return len(self.contracts)

    def for_ticket(self, tenant: str | None, named: str | None = None) -> Contract | None:
        """The contract that applies: the one the ticket names, else its tenant's, else the
        default one (None when there is no default either)."""
        if named is not None and named in self.contracts:
            return self.contracts[named]
        if tenant is not None and tenant in self._by_tenant:
            return self._by_tenant[tenant]
        return self.default

    def person(self, contract: Contract, key: str) -> Person | None:
        """A person of the contract, else of the default contract."""
        found = contract.people.get(key)
        if found is None and self.default is not None:
            found = self.default.people.get(key)
        return found

    def chain(
        self, contract: Contract, sites: frozenset[str], priority: Priority, complaint: bool
    ) -> Chain | None:
        """The chain a ticket escalates along: a complaint's own chain (when one is declared),
        else the first chain matching its sites and priority. A contract that declares no
        chain of that sort uses the default contract's."""
        sources = [c for c in (contract, self.default) if c is not None]
        if complaint:
            chain = next((c.complaints for c in sources if c.complaints is not None), None)
            if chain is not None:
                return chain
        for source in sources:
            if source.chains:
                return next((c for c in source.chains if c.matches(sites, priority)), None)
        return None
