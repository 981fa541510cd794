"""Coalescing, the deciding half: ``run`` decisions of one rule with the same vars, arriving
within a window, become one batch of hosts, so that a storm runs as a few ansible-runner
invocations (a limit list) instead of one per host. Each decision stays in the batch, so each
host's outcome can still be recorded on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from automator.rules._engine import Clock, Decision, Outcome

_Key = tuple[str, str, tuple[tuple[str, str], ...]]  # rule, runbook, vars


@dataclass(frozen=True)
class Batch:
    """One run of ``runbook`` with ``vars`` on ``hosts`` (first come first, each once)."""

    rule: str
    runbook: str
    vars: Mapping[str, Any]
    hosts: tuple[str, ...]
    decisions: tuple[Decision, ...]
    opened_at: datetime
    due_at: datetime


@dataclass
class _Open:
    rule: str
    runbook: str
    vars: Mapping[str, Any]
    opened_at: datetime
    due_at: datetime
    hosts: dict[str, None] = field(default_factory=dict)  # ordered set
    decisions: list[Decision] = field(default_factory=list)

    def close(self) -> Batch:
        return Batch(
            rule=self.rule,
            runbook=self.runbook,
            vars=self.vars,
            hosts=tuple(self.hosts),
            decisions=tuple(self.decisions),
            opened_at=self.opened_at,
            due_at=self.due_at,
        )


class Coalescer:
    """Groups ``run`` decisions into batches. A batch opens with its first decision and is
    due ``window`` later (the rule's ``coalesce`` when the decision carries one, else
    ``window``); with the rule's ``debounce`` it is due that long after its LAST decision
    (a burst of config changes gives one backup, after the last), yet never later than
    ``MAX_DEBOUNCES`` debounce periods after it opened, so a steady stream still runs.
    ``flush_due(now)`` hands over the batches due by ``now``."""

    MAX_DEBOUNCES = 10

    def __init__(self, window: timedelta, clock: Clock) -> None:
        self.window = window
        self.clock = clock
        self._open: dict[_Key, _Open] = {}

    def add(self, decision: Decision) -> None:
        if decision.outcome is not Outcome.RUN or decision.host is None or not decision.runbook:
            raise ValueError(f"only run decisions are coalesced, not {decision.outcome}")
        key = (
            decision.rule,
            decision.runbook,
            tuple(sorted((name, repr(value)) for name, value in decision.vars.items())),
        )
        batch = self._open.get(key)
        now = self.clock()
        if batch is None:
            window = decision.debounce or decision.coalesce
            window = self.window if window is None else window
            batch = _Open(decision.rule, decision.runbook, decision.vars, now, now + window)
            self._open[key] = batch
        elif decision.debounce is not None:
            latest = batch.opened_at + decision.debounce * self.MAX_DEBOUNCES
            batch.due_at = min(max(batch.due_at, now + decision.debounce), latest)
        batch.hosts[decision.host] = None
        batch.decisions.append(decision)

    def flush_due(self, now: datetime) -> list[Batch]:
        """The batches whose window has passed by ``now``, earliest first."""
        due = [key for key, batch in self._open.items() if batch.due_at <= now]
        return self._close(due)

    def flush(self) -> list[Batch]:
        """Every open batch, due or not (at shutdown, or the end of a replay)."""
        return self._close(list(self._open))

    def _close(self, keys: list[_Key]) -> list[Batch]:
        batches = [self._open.pop(key).close() for key in keys]
        return sorted(batches, key=lambda batch: batch.due_at)

    def next_due(self) -> datetime | None:
        """When the next batch is due, for the caller's timer; None when none is open."""
        return min((batch.due_at for batch in self._open.values()), default=None)
