"""What a job is, and how its run ended."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from automator.guardrails import GuardrailPolicy
from automator.runners import HostResult, Outcome, Timeouts


class JobKind(StrEnum):
    CHECK = "check"
    BACKUP = "backup"
    REMEDIATION = "remediation"
    RUNBOOK = "runbook"
    DRILL = "drill"


class RunStatus(StrEnum):
    PENDING = "pending"
    WAITING = "waiting"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"
    BLOCKED = "blocked"
    INTERRUPTED = "interrupted"

    @property
    def finished(self) -> bool:
        return self not in (RunStatus.PENDING, RunStatus.WAITING, RunStatus.RUNNING)


@dataclass(frozen=True)
class JobSpec:
    """One unit of work, from any trigger: schedule, rule, operator or drill."""

    kind: JobKind
    action: str
    requester: str
    limit: str | None = None
    params: Mapping[str, object] = field(default_factory=dict)
    check_mode: bool = False
    ticket_id: int | None = None
    idempotency_key: str | None = None
    timeouts: Timeouts | None = None
    forks: int = 10
    # guardrails: windows, break-glass, approval, budget, circuit breaker, verify, rollback
    policy: GuardrailPolicy = field(default_factory=GuardrailPolicy)
    # the remediation rule behind the job: budgets and circuit breakers count per rule
    rule: str | None = None
    # resolve the given ticket when the run succeeds (and verifies): a rule's incident
    resolve_ticket: bool = False
    # open a ticket when none is given; off for check sweeps, whose findings open their own
    open_ticket: bool = True


@dataclass
class RunSummary:
    """A finished (or refused) run as the pipeline reports it to its caller."""

    run_id: int
    job_id: int
    ticket_id: int | None
    status: RunStatus
    results: dict[str, HostResult]
    artifacts_dir: Path | None = None
    error: str | None = None
    ticket_opened: bool = False
    # what the action's finisher made of the run (a backup: the versions it stored)
    recorded: Any = None

    def counts(self) -> dict[str, int]:
        return count_outcomes(self.results.values())


def count_outcomes(results: Iterable[HostResult]) -> dict[str, int]:
    counts = {outcome.value: 0 for outcome in Outcome}
    for result in results:
        counts[result.outcome.value] += 1
    return counts


def run_status(
    results: Mapping[str, HostResult],
    timed_out: bool,
    error: str | None,
    cancelled: bool = False,
) -> RunStatus:
    """Succeeded: no host failed or unreachable. Failed: every host did. Else partial."""
    if cancelled:
        return RunStatus.CANCELLED
    if timed_out:
        return RunStatus.TIMED_OUT
    problems = sum(1 for result in results.values() if result.outcome.is_problem)
    if error is not None and problems == len(results):
        return RunStatus.FAILED
    if problems == 0:
        return RunStatus.SUCCEEDED
    return RunStatus.FAILED if problems == len(results) else RunStatus.PARTIAL
