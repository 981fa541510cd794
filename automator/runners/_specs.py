"""What a Nornir runbook asks for, as plain data (no Nornir import: the CLI loads these
for every command, the task code only when it runs)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Verify:
    """After a change, ``command`` must print ``expect`` (a substring)."""

    command: str
    expect: str


@dataclass(frozen=True)
class CommandsTask:
    """Run commands; ``changes`` says whether they change the host (locks, check mode)."""

    commands: Mapping[str, Sequence[str]]
    changes: bool = False


@dataclass(frozen=True)
class ConfigTask:
    """Push configuration lines to network gear, optionally save, then verify."""

    lines: Mapping[str, Sequence[str]]
    save: bool = True
    verify: Mapping[str, Sequence[Verify]] = field(default_factory=dict)
    changes: bool = True


@dataclass(frozen=True)
class Collect:
    """What to fetch from one host: command outputs (servers, network gear) or SNMP values
    by name (facility gear: ``name -> OID``)."""

    commands: tuple[str, ...] = ()
    snmp: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CollectTask:
    """Fetch outputs without judging them: a command's exit status is data, not a failure.
    Each host gets its own list (what to fetch depends on the host's checks)."""

    per_host: Mapping[str, Collect]
    changes: bool = False
    # Applied to a host's collected data in the worker thread the moment that host is done,
    # its answer kept instead (and no transcript): a backup scrubs each configuration there,
    # while slower hosts are still answering, and the raw output goes no further.
    finish: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None


NornirTaskSpec = CommandsTask | ConfigTask | CollectTask
