"""Replay: recorded events through rules, with a fresh in-memory state and a clock that
follows the events' own times, so a recording gives the same decisions on every run.

A recording is JSON Lines, one normalised event per line::

    {"source": "alertmanager", "fingerprint": "a1", "status": "firing", "name": "LabsvcDown",
     "host": "web1", "severity": "critical", "labels": {"service": "labsvc"},
     "annotations": {}, "starts_at": "2026-11-27T10:00:00Z"}

The clock is an event's ``received_at``, else (for a resolved event) its ``ends_at``, else its
``starts_at``; it never goes back, so events are decided in file order.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from automator.errors import Problem, ProblemsError
from automator.events import Event, EventStatus, Severity
from automator.inventory import Inventory
from automator.rules._coalesce import Batch, Coalescer
from automator.rules._engine import Decision, Outcome, RuleEngine
from automator.rules._model import RuleBook
from automator.rules._state import MemoryRuleState

_FIELDS = (
    "id",
    "source",
    "fingerprint",
    "status",
    "name",
    "host",
    "severity",
    "labels",
    "annotations",
    "starts_at",
    "ends_at",
    "received_at",
)


@dataclass(frozen=True)
class Replayed:
    """One step of a replay: an event and its decisions, or (``event`` None) the
    ``once_after`` deadlines that passed; with the coalesced batches that fell due."""

    at: datetime
    event: Event | None
    decisions: tuple[Decision, ...]
    batches: tuple[Batch, ...] = ()


class _Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, to: datetime | None) -> datetime:
        if to is not None and to > self.now:
            self.now = to
        return self.now


def event_time(event: Event) -> datetime | None:
    """The time a recorded event is replayed at."""
    if event.received_at is not None:
        return event.received_at
    if event.status == EventStatus.RESOLVED and event.ends_at is not None:
        return event.ends_at
    return event.starts_at


def replay(
    rulebook: RuleBook, events: Sequence[Event], inventory: Inventory | None = None
) -> Iterator[Replayed]:
    """Decide ``events`` in order; ``once_after`` deadlines and coalesced batches are
    decided as the events' times pass them, and open batches are flushed at the end."""
    first = next((t for t in map(event_time, events) if t is not None), datetime.now(UTC))
    clock = _Clock(first)
    state = MemoryRuleState()
    engine = RuleEngine(rulebook, state, clock, inventory)
    coalescer = Coalescer(timedelta(0), clock)
    for event in events:
        at = max(event_time(event) or clock.now, clock.now)
        yield from _catch_up(engine, state, coalescer, clock, at)
        clock.advance(at)
        decisions = engine.decide(event)
        _coalesce(coalescer, decisions)
        yield Replayed(at, event, tuple(decisions), tuple(coalescer.flush_due(at)))
    leftover = coalescer.flush()
    if leftover:
        yield Replayed(leftover[-1].due_at, None, (), tuple(leftover))


def _catch_up(
    engine: RuleEngine, state: MemoryRuleState, coalescer: Coalescer, clock: _Clock, to: datetime
) -> Iterator[Replayed]:
    """Everything that falls due before ``to``, in time order: ``once_after`` deadlines
    (with the batches due with them) and coalesced batches."""
    while True:
        deadline = min((pending.due_at for pending in state.due(to)), default=None)
        batch_due = coalescer.next_due()
        if batch_due is not None and batch_due <= to and (deadline is None or batch_due < deadline):
            yield Replayed(batch_due, None, (), tuple(coalescer.flush_due(batch_due)))
        elif deadline is not None:
            clock.advance(deadline)
            decisions = engine.due(deadline)
            _coalesce(coalescer, decisions)
            batches = coalescer.flush_due(deadline)
            yield Replayed(deadline, None, tuple(decisions), tuple(batches))
        else:
            return


def _coalesce(coalescer: Coalescer, decisions: list[Decision]) -> None:
    for decision in decisions:
        if decision.outcome is Outcome.RUN:
            coalescer.add(decision)


def read_events(path: Path) -> list[Event]:
    """Read a JSON Lines recording; raise ProblemsError naming every line at fault."""
    problems: list[Problem] = []
    events: list[Event] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        problem = Problem(str(path), None, "file", reason or str(exc))
        raise ProblemsError([problem], what="recording") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        reader = _Line(str(path), number, problems)
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            reader.problem("json", f"column {exc.colno}: {exc.msg}")
            continue
        event = reader.event(data)
        if event is not None:
            events.append(event)
    if problems:
        raise ProblemsError(problems, what="recording")
    return events


class _Line:
    def __init__(self, file: str, line: int, problems: list[Problem]) -> None:
        self.file = file
        self.line = line
        self.problems = problems

    def problem(self, field: str, message: str) -> None:
        self.problems.append(Problem(self.file, self.line, field, message))

    def event(self, data: Any) -> Event | None:
        if not isinstance(data, dict):
            self.problem("event", "must be a JSON object")
            return None
        before = len(self.problems)
        for key in data:
            if key not in _FIELDS:
                self.problem(key, f"unknown field (allowed: {', '.join(_FIELDS)})")
        source = self.text(data, "source")
        fingerprint = self.text(data, "fingerprint")
        name = self.text(data, "name")
        host = self.text(data, "host", required=False)
        status = self.choice(data, "status", [s.value for s in EventStatus], None)
        severity = self.choice(data, "severity", [s.value for s in Severity], "unknown")
        labels = self.strings(data, "labels")
        annotations = self.strings(data, "annotations")
        starts_at, ends_at, received_at = (
            self.time(data, key) for key in ("starts_at", "ends_at", "received_at")
        )
        event_id = data.get("id", self.line)
        if isinstance(event_id, bool) or not isinstance(event_id, int):
            self.problem("id", "must be a whole number")
        if starts_at is None and received_at is None and len(self.problems) == before:
            self.problem("starts_at", "is required (or received_at): it drives the replay clock")
        if (
            len(self.problems) > before
            or source is None
            or fingerprint is None
            or name is None
            or status is None
            or severity is None
        ):
            return None
        return Event(
            source=source,
            fingerprint=fingerprint,
            status=EventStatus(status),
            name=name,
            host=host,
            severity=Severity(severity),
            labels=labels,
            annotations=annotations,
            starts_at=starts_at,
            ends_at=ends_at,
            received_at=received_at,
            id=event_id,
        )

    def text(self, data: Mapping[str, Any], key: str, required: bool = True) -> str | None:
        value = data.get(key)
        if value is None:
            if required:
                self.problem(key, "is required")
            return None
        if not isinstance(value, str) or not value:
            self.problem(key, "must be a non-empty string")
            return None
        return value

    def choice(
        self, data: Mapping[str, Any], key: str, choices: list[str], default: str | None
    ) -> str | None:
        value = data.get(key, default)
        if value not in choices:
            self.problem(key, f"must be one of {', '.join(choices)}")
            return None
        return str(value)

    def strings(self, data: Mapping[str, Any], key: str) -> dict[str, str]:
        value = data.get(key, {})
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            self.problem(key, "must be an object of strings")
            return {}
        return value

    def time(self, data: Mapping[str, Any], key: str) -> datetime | None:
        value = data.get(key)
        if value is None:
            return None
        try:
            parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            self.problem(key, "must be an RFC 3339 time with its zone, e.g. 2026-11-27T10:00:00Z")
            return None
        return parsed.astimezone(UTC)
