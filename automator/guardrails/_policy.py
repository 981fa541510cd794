"""What a job's guardrails say: the policy a rule (or an operator) attaches to a job."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any


class WindowAction(StrEnum):
    """What a changing job does with hosts inside a maintenance or freeze window."""

    REFUSE = "refuse"  # refuse the job unless break-glass is given (manual runs)
    SKIP = "skip"  # leave those hosts out, recorded as skipped
    WAIT = "wait"  # hold the whole job until the windows have closed
    RUN = "run"  # run anyway, recorded on the ticket


@dataclass(frozen=True)
class Budget:
    """At most ``hosts`` distinct hosts changed by one rule within ``per``."""

    hosts: int
    per: timedelta


@dataclass(frozen=True)
class Step:
    """A follow-up run: verify after a fix, or roll back a fix that did not verify."""

    runbook: str
    delay: timedelta = timedelta(0)
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GuardrailPolicy:
    window: WindowAction = WindowAction.REFUSE
    break_glass: str | None = None
    approval: bool = False
    approval_timeout: timedelta | None = None
    budget: Budget | None = None
    circuit_breaker: int | None = None
    verify: Step | None = None
    rollback: Step | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "window": self.window.value,
            "break_glass": self.break_glass,
            "approval": self.approval,
            "approval_timeout": _seconds(self.approval_timeout),
            "budget": {"hosts": self.budget.hosts, "per": self.budget.per.total_seconds()}
            if self.budget
            else None,
            "circuit_breaker": self.circuit_breaker,
            "verify": _step_json(self.verify),
            "rollback": _step_json(self.rollback),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> GuardrailPolicy:
        if not data:
            return cls()
        budget = data.get("budget")
        timeout = data.get("approval_timeout")
        return cls(
            window=WindowAction(data.get("window", "refuse")),
            break_glass=data.get("break_glass"),
            approval=bool(data.get("approval")),
            approval_timeout=timedelta(seconds=timeout) if timeout is not None else None,
            budget=Budget(budget["hosts"], timedelta(seconds=budget["per"])) if budget else None,
            circuit_breaker=data.get("circuit_breaker"),
            verify=_step_from(data.get("verify")),
            rollback=_step_from(data.get("rollback")),
        )


def _seconds(delta: timedelta | None) -> float | None:
    return delta.total_seconds() if delta is not None else None


def _step_json(step: Step | None) -> dict[str, Any] | None:
    if step is None:
        return None
    return {
        "runbook": step.runbook,
        "delay": step.delay.total_seconds(),
        "params": dict(step.params),
    }


def _step_from(data: Mapping[str, Any] | None) -> Step | None:
    if not data:
        return None
    return Step(
        data["runbook"], timedelta(seconds=data.get("delay", 0)), dict(data.get("params", {}))
    )
