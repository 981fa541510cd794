"""Outcomes, per-host results and the interface every runner implements."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from automator.inventory import Host


class Outcome(StrEnum):
    """What happened on one host. Kept apart end to end: unreachable is not failed."""

    OK = "ok"
    CHANGED = "changed"
    FAILED = "failed"
    UNREACHABLE = "unreachable"
    SKIPPED = "skipped"

    @property
    def is_problem(self) -> bool:
        return self in (Outcome.FAILED, Outcome.UNREACHABLE)


@dataclass
class HostResult:
    """One host's result of one run.

    ``data`` holds structured results (command outputs by command, Ansible's per-host stats
    including ``ignored`` and ``rescued`` counts); ``output`` is the human-readable transcript;
    ``error`` says in one line why a failed or unreachable host is so; ``duration`` is the
    time spent working on this host (for a playbook, the sum of its task times).
    """

    host: str
    outcome: Outcome
    output: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    duration: float = 0.0
    started_at: datetime | None = None
    # for the run's caller only, never stored with the run: bulky detail the caller files
    # where it belongs (a check sweep's raw outputs go to each check's own result)
    transient: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def notes(self) -> list[str]:
        """Facts a reader must see beside the outcome, e.g. ``1 ignored``, ``1 rescued``."""
        stats = self.data.get("stats", {})
        return [f"{stats[key]} {key}" for key in ("ignored", "rescued") if stats.get(key)]


@dataclass
class RunReport:
    """What a runner hands back: one HostResult per target host, always."""

    results: dict[str, HostResult]
    artifacts_dir: Path | None = None
    timed_out: bool = False
    error: str | None = None

    def counts(self) -> Counter[Outcome]:
        return Counter(result.outcome for result in self.results.values())


@dataclass(frozen=True)
class ProgressEvent:
    """A step of a run, for progress displays: ``done`` marks a host as finished; ``task``
    names the playbook task a host just answered (playbooks run task by task)."""

    host: str
    message: str
    done: bool = False
    outcome: Outcome | None = None
    task: str | None = None


ProgressCallback = Callable[[ProgressEvent], None]


@dataclass(frozen=True)
class Timeouts:
    """Per-host connect and command timeouts and the whole-job time limit, in seconds."""

    connect: float = 10.0
    command: float = 60.0
    job: float = 1800.0


@dataclass
class RunContext:
    """Everything a runner needs besides the hosts and the action."""

    ident: str
    artifacts_dir: Path
    check_mode: bool = False
    params: Mapping[str, Any] = field(default_factory=dict)
    timeouts: Timeouts = field(default_factory=Timeouts)
    forks: int = 10
    on_progress: ProgressCallback | None = None
    cancel: threading.Event = field(default_factory=threading.Event)

    def progress(self, event: ProgressEvent) -> None:
        if self.on_progress is not None:
            self.on_progress(event)


class Runner(Protocol):
    """Runs one action on hosts and returns one HostResult per host, never raising for a
    host's failure."""

    def run(self, hosts: Sequence[Host], context: RunContext) -> RunReport: ...


class HeldRun(Protocol):
    """A run started before the pipeline admitted it, held before it touches its first host.

    It does its start-up (ansible-playbook's imports, inventory and playbook parsing) while the
    pipeline records the job and asks the gate; then ``proceed`` lets it work on exactly
    ``hosts``, or ``abandon`` stops it with nothing done. Its files are in ``folder`` until it
    has finished, then in the folder of the context it proceeded with.
    """

    hosts: tuple[str, ...]
    folder: Path

    def proceed(self, context: RunContext) -> RunReport:
        """Run on; ``context`` must describe the run it was started for (parameters, check
        mode, forks, time limits): its folder, progress callback and cancel event are used."""
        ...

    def abandon(self) -> None:
        """Stop it before its first host and remove its folder; nothing once it has
        proceeded."""
        ...


@runtime_checkable
class HoldingRunner(Runner, Protocol):
    """A runner whose start-up is worth overlapping with the pipeline's own (see HeldRun)."""

    def start(self, hosts: Sequence[Host], context: RunContext) -> HeldRun: ...
