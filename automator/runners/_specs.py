"""What a Nornir runbook asks for, as plain data (no Nornir import: the CLI loads these
for every command, the task code only when it runs)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


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


NornirTaskSpec = CommandsTask | ConfigTask
