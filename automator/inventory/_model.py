"""The inventory's value types: what a host is once its groups and defaults are resolved."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from automator.errors import ConfigError, HostNotFound, LimitMatchesNothing
from automator.inventory._filter import parse_limit

PLATFORMS: Mapping[str, str] = MappingProxyType(
    {
        "linux": "server",
        "cisco_ios": "network",
        "cisco_xe": "network",
        "cisco_nxos": "network",
        "cisco_asa": "network",
        "arista_eos": "network",
        "juniper_junos": "network",
        "ups_snmp": "facility",
        "pdu_snmp": "facility",
        "cooling_snmp": "facility",
    }
)


class Criticality(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


@dataclass(frozen=True)
class MaintenanceWindow:
    """A time when automation keeps its hands off a host.

    ``kind`` is ``maintenance`` (people are working on the host: its alerts are expected, and
    remediation stands off) or ``freeze`` (a change freeze). Inside either, the guardrails make
    rules skip, wait or run as each rule says, and refuse a manual change without break-glass.

    Recurring: ``days`` (0 = Monday .. 6 = Sunday) from ``start`` to ``end`` in ``timezone``;
    an ``end`` before ``start`` crosses midnight. One-off: from ``starts`` to ``ends``.
    """

    name: str
    kind: str = "maintenance"
    days: frozenset[int] = frozenset()
    start: time | None = None
    end: time | None = None
    timezone: str = "UTC"
    starts: datetime | None = None
    ends: datetime | None = None

    def contains(self, when: datetime) -> bool:
        if when.tzinfo is None:
            raise ValueError("MaintenanceWindow.contains needs a timezone-aware datetime")
        if self.starts is not None and self.ends is not None:
            return self.starts <= when < self.ends
        if self.start is None or self.end is None:
            return False
        local = when.astimezone(ZoneInfo(self.timezone))
        now = local.time()
        weekday = local.weekday()
        if self.start < self.end:
            return weekday in self.days and self.start <= now < self.end
        # Crossing midnight: the part after midnight belongs to the window opened the day before.
        yesterday = (weekday - 1) % 7
        return (weekday in self.days and now >= self.start) or (
            yesterday in self.days and now < self.end
        )

    def end_after(self, when: datetime) -> datetime:
        """When the occurrence of this window that contains ``when`` ends."""
        if self.ends is not None:
            return self.ends
        assert self.start is not None and self.end is not None
        zone = ZoneInfo(self.timezone)
        local = when.astimezone(zone)
        end = datetime.combine(local.date(), self.end, tzinfo=zone)
        if end <= local:  # crossing midnight: it ends tomorrow
            end = datetime.combine(local.date() + timedelta(days=1), self.end, tzinfo=zone)
        return end


@dataclass(frozen=True)
class Credentials:
    """Where a host's secrets are, never the secrets: they are read on each call, not kept."""

    username: str | None = None
    password_env: str | None = None
    password_file: Path | None = None
    key_file: Path | None = None
    enable_secret_env: str | None = None
    enable_secret_file: Path | None = None
    known_hosts_file: Path | None = None

    def password(self) -> str | None:
        return _read_secret("password", self.password_env, self.password_file)

    def enable_secret(self) -> str | None:
        return _read_secret("enable_secret", self.enable_secret_env, self.enable_secret_file)


def _read_secret(what: str, env: str | None, file: Path | None) -> str | None:
    if env is not None:
        value = os.environ.get(env)
        if value is None:
            raise ConfigError(f"credentials.{what}_env: environment variable {env} is not set")
        if not value:
            raise ConfigError(f"credentials.{what}_env: environment variable {env} is empty")
        return value
    if file is not None:
        where = f"credentials.{what}_file: {file}"
        try:
            raw = file.read_bytes()
        except FileNotFoundError:
            raise ConfigError(f"{where} does not exist") from None
        except OSError as exc:
            raise ConfigError(f"{where} cannot be read: {exc.strerror}") from None
        try:
            text: str | None = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        # Raised out of the handler: a chained UnicodeDecodeError would carry the file's bytes.
        if text is None:
            raise ConfigError(f"{where} cannot be read: not UTF-8 text")
        # Not read_text: universal newlines would rewrite a "\r" inside the secret.
        value = text.removesuffix("\r\n") if text.endswith("\r\n") else text.removesuffix("\n")
        if not value:
            raise ConfigError(f"{where} is empty")
        return value
    return None


@dataclass(frozen=True)
class Host:
    """A host with every field resolved through its groups and defaults.

    ``data`` holds the free-form data keys only; ``connection_options`` is Nornir's, as given.
    """

    name: str
    hostname: str
    port: int | None
    platform: str
    groups: tuple[str, ...]
    all_groups: tuple[str, ...]
    site: str | None
    tenant: str | None
    role: str | None
    owner: str | None
    criticality: Criticality
    maintenance: tuple[MaintenanceWindow, ...]
    credentials: Credentials
    # Mappings cannot be hashed; leaving them out of the hash keeps hosts usable in sets.
    ansible_vars: Mapping[str, Any] = field(hash=False)
    data: Mapping[str, Any] = field(hash=False)
    source_file: str
    source_line: int
    connection_options: Mapping[str, Any] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    freeze: tuple[MaintenanceWindow, ...] = ()
    # health-check settings (``data.checks``): {check: {enabled, thresholds, params}}
    checks: Mapping[str, Mapping[str, Any]] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )

    @property
    def kind(self) -> str:
        return PLATFORMS[self.platform]

    def maintenance_window_at(self, when: datetime) -> MaintenanceWindow | None:
        """The maintenance or freeze window ``when`` falls in, if any."""
        windows = (*self.freeze, *self.maintenance)
        return next((window for window in windows if window.contains(when)), None)


@dataclass(frozen=True)
class Group:
    """A group of groups.yaml: its fields are already resolved into its hosts."""

    name: str
    parents: tuple[str, ...]
    source_file: str
    source_line: int


class Inventory:
    """Validated hosts and groups, both ordered by name."""

    def __init__(
        self, directory: Path, hosts: Mapping[str, Host], groups: Mapping[str, Group]
    ) -> None:
        self.directory = directory
        self.hosts: Mapping[str, Host] = MappingProxyType(dict(sorted(hosts.items())))
        self.groups: Mapping[str, Group] = MappingProxyType(dict(sorted(groups.items())))

    def get(self, name: str) -> Host:
        try:
            return self.hosts[name]
        except KeyError:
            raise HostNotFound(name) from None

    def select(self, limit: str | None) -> list[Host]:
        """The hosts a ``--limit`` filter selects (see ``automator.inventory._filter``)."""
        if limit is None or not limit.strip():
            return list(self.hosts.values())
        matches = parse_limit(limit)
        selected = [host for host in self.hosts.values() if matches(host)]
        if not selected:
            raise LimitMatchesNothing(limit)
        return selected
