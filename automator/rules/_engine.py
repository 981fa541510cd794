"""Deciding: for each event, what each matching rule does about it, and why.

For a firing event, every rule whose ``when`` holds decides, in this order::

    repeat of an alert already firing  -> duplicate     (acts on the change to firing, once)
    no host, or not in the inventory   -> no-host       (the lead opens a ticket saying so)
    vars the runbook refuses           -> invalid
    correlate: host already firing in
               the incident            -> correlated    (one remediation per host per incident)
    throttle:  once_within, too soon   -> throttled
               once_after              -> waiting       (``due(now)`` decides at the deadline)
               accumulate, too few     -> accumulating
    shadow                             -> suppressed-shadow
    otherwise                          -> run

A resolved event never runs anything: each rule that decided about its firing alert reports
``resolved``, with the incident (resolved once none of its alerts fire) and any ``once_after``
wait it cancelled. The engine only decides; the pipeline turns ``run`` decisions into jobs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from automator._durations import format_duration
from automator.errors import ConfigError
from automator.events import Event, EventStatus
from automator.inventory import Inventory
from automator.rules._model import (
    Accumulate,
    OnceAfter,
    OnceWithin,
    Rule,
    RuleBook,
    group_key,
)
from automator.rules._state import Incident, Pending, RuleState, TrackedAlert

Clock = Callable[[], datetime]
_new = object.__new__


class Outcome(StrEnum):
    RUN = "run"
    SHADOW = "suppressed-shadow"
    THROTTLED = "throttled"
    WAITING = "waiting"
    ACCUMULATING = "accumulating"
    CORRELATED = "correlated"
    DUPLICATE = "duplicate"
    NO_HOST = "no-host"
    INVALID = "invalid"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Decision:
    """What one rule decided about one event (or, for ``once_after``, about a deadline)."""

    rule: str
    outcome: Outcome
    reason: str
    at: datetime
    fingerprint: str
    event_id: int | None
    host: str | None
    runbook: str | None  # None only when a resolved alert's rule is no longer in the book
    vars: Mapping[str, Any] = field(default_factory=dict)
    incident: Incident | None = None
    incident_opened: bool = False  # this event opened the incident
    coalesce: timedelta | None = None
    debounce: timedelta | None = None

    @property
    def correlation_id(self) -> int | None:
        return self.incident.id if self.incident else None

    def to_json(self) -> dict[str, Any]:
        """Plain data, e.g. for the event's stored decision."""
        incident = self.incident
        return {
            "rule": self.rule,
            "outcome": self.outcome.value,
            "reason": self.reason,
            "at": _isoformat(self.at),
            "fingerprint": self.fingerprint,
            "event_id": self.event_id,
            "host": self.host,
            "runbook": self.runbook,
            "vars": dict(self.vars),
            "incident": None
            if incident is None
            else {
                "id": incident.id,
                "key": incident.key,
                "opened": self.incident_opened,
                "hosts": list(incident.hosts),
                "firing": incident.firing,
                "resolved": incident.resolved,
            },
            "coalesce": self.coalesce.total_seconds() if self.coalesce else None,
            "debounce": self.debounce.total_seconds() if self.debounce else None,
        }


class RuleEngine:
    """Decides with ``rulebook`` over ``state``; ``clock`` gives the time of each decision
    and ``inventory`` (when given) the hosts a rule may act on."""

    def __init__(
        self,
        rulebook: RuleBook,
        state: RuleState,
        clock: Clock,
        inventory: Inventory | None = None,
    ) -> None:
        self.rulebook = rulebook
        self.state = state
        self.clock = clock
        self.inventory = inventory

    def decide(self, event: Event) -> list[Decision]:
        with self.state.batch():
            return self._decide(event, self.clock())

    def decide_many(self, events: Iterable[Event]) -> list[Decision]:
        """Every event in turn, the state changed in one unit (one transaction), all decided
        at one time (the batch's: its events are decided together)."""
        decisions: list[Decision] = []
        events = list(events)
        if not events:
            return decisions
        now, decide = self.clock(), self._decide
        with self.state.batch():
            for event in events:
                decisions += decide(event, now)
        return decisions

    def _decide(self, event: Event, now: datetime) -> list[Decision]:
        if event.status == EventStatus.RESOLVED:
            return self._resolved(event, now)
        return [self._firing(rule, event, now) for rule in self.rulebook if rule.when.test(event)]

    def due(self, now: datetime) -> list[Decision]:
        """The ``once_after`` waits whose deadline ``now`` has passed: their alerts are
        still firing, so their rules act."""
        decisions: list[Decision] = []
        if not self.state.due(now):  # the common case, without a transaction
            return decisions
        with self.state.batch():
            for pending in self.state.due(now):
                self.state.drop_pending(pending.rule, pending.key)
                if pending.rule not in self.rulebook:
                    continue
                rule = self.rulebook.get(pending.rule)
                incident = (
                    self.state.incident(pending.incident_id)
                    if pending.incident_id is not None
                    else None
                )
                waited = format_duration(pending.due_at - pending.first_seen)
                decisions.append(
                    self._act(
                        rule,
                        _Context(
                            event_id=pending.event_id,
                            fingerprint=pending.fingerprint,
                            host=pending.host,
                            vars=pending.vars,
                            key=pending.key,
                            incident=incident,
                        ),
                        now,
                        f"still firing {waited} after it was first seen",
                    )
                )
        return decisions

    # -- firing -------------------------------------------------------------------------------

    def _firing(self, rule: Rule, event: Event, now: datetime) -> Decision:
        throttle = rule.throttle
        key = group_key(throttle.group_by, event) if throttle else ""
        context = _Context(event.id, event.fingerprint, event.host, {}, key, None)
        alert = TrackedAlert(rule.name, event.fingerprint, event.host, key, now)
        if not self.state.track(alert):
            return self._decision(
                rule,
                context,
                Outcome.DUPLICATE,
                now,
                "this alert is already firing; the rule acts again only after it resolves",
            )
        host = event.host
        if host is None:
            return self._decision(rule, context, Outcome.NO_HOST, now, "the alert names no host")
        if self.inventory is not None and host not in self.inventory.hosts:
            return self._decision(
                rule, context, Outcome.NO_HOST, now, f"host {host!r} is not in the inventory"
            )
        try:
            context.vars = rule.action.bind(event)
        except ConfigError as exc:
            return self._decision(rule, context, Outcome.INVALID, now, str(exc))
        if rule.correlate is not None:
            correlation = group_key(rule.correlate.key, event)
            incident = self.state.current_incident(rule.name, correlation)
            if incident is None or now - incident.last_seen_at > rule.correlate.window:
                incident = self.state.open_incident(rule.name, correlation, now)
                incident = self.state.join_incident(incident.id, event.fingerprint, host, now)
                context.incident, context.opened = incident, True
            else:
                already = self.state.host_firing(incident.id, host)
                incident = self.state.join_incident(incident.id, event.fingerprint, host, now)
                context.incident = incident
                if already:
                    return self._decision(
                        rule,
                        context,
                        Outcome.CORRELATED,
                        now,
                        f"{host} already has an alert firing in incident #{incident.id} "
                        f"({_incident_size(incident)})",
                    )
        if isinstance(throttle, OnceWithin):
            last = self.state.last_fired(rule.name, key)
            if last is not None and now - last < throttle.window:
                return self._decision(
                    rule,
                    context,
                    Outcome.THROTTLED,
                    now,
                    f"acted {format_duration(now - last)} ago{_for(key)}; {throttle.describe()}",
                )
            self.state.set_fired(rule.name, key, now)
            return self._act(rule, context, now, "")
        if isinstance(throttle, OnceAfter):
            return self._wait(rule, throttle, context, now)
        if isinstance(throttle, Accumulate):
            count = self.state.count_hit(rule.name, key, now, now - throttle.window)
            if count < throttle.count:
                return self._decision(
                    rule,
                    context,
                    Outcome.ACCUMULATING,
                    now,
                    f"{count} of {throttle.count} alerts within "
                    f"{format_duration(throttle.window)}{_for(key)}",
                )
            self.state.reset_hits(rule.name, key)
            return self._act(
                rule,
                context,
                now,
                f"{count} alerts within {format_duration(throttle.window)}{_for(key)}",
            )
        return self._act(rule, context, now, "")

    def _wait(self, rule: Rule, throttle: OnceAfter, context: _Context, now: datetime) -> Decision:
        pending = self.state.pending(rule.name, context.key)
        if pending is None:
            pending = Pending(
                rule=rule.name,
                key=context.key,
                first_seen=now,
                due_at=now + throttle.delay,
                fingerprint=context.fingerprint,
                event_id=context.event_id,
                host=context.host,
                vars=context.vars,
                incident_id=context.incident.id if context.incident else None,
                firing=frozenset({context.fingerprint}),
            )
            reason = "acts"
        else:
            pending = replace(pending, firing=pending.firing | {context.fingerprint})
            reason = f"joins the wait begun at {pending.first_seen.isoformat(timespec='seconds')}:"
        self.state.put_pending(pending)
        return self._decision(
            rule,
            context,
            Outcome.WAITING,
            now,
            f"{reason} at {pending.due_at.isoformat(timespec='seconds')}{_for(context.key)} "
            f"if still firing ({throttle.describe()})",
        )

    def _act(self, rule: Rule, context: _Context, now: datetime, why: str) -> Decision:
        verb = "would run" if rule.shadow else "runs"
        reason = f"{verb} {rule.action.runbook} on {context.host}"
        if why:
            reason += f": {why}"
        if context.incident is not None:
            opened = "opens" if context.opened else "joins"
            reason += (
                f"; {opened} incident #{context.incident.id} ({_incident_size(context.incident)})"
            )
        if rule.shadow:
            reason += " (shadow mode: nothing is done)"
        outcome = Outcome.SHADOW if rule.shadow else Outcome.RUN
        return self._decision(rule, context, outcome, now, reason)

    def _decision(
        self, rule: Rule, context: _Context, outcome: Outcome, now: datetime, reason: str
    ) -> Decision:
        # every field given, so without the frozen dataclass's per-field setattr (a decision
        # per alert: 4 µs that way, under 1 this way); test_engine compares the two
        decision: Decision = _new(Decision)
        decision.__dict__.update(
            rule=rule.name,
            outcome=outcome,
            reason=reason,
            at=now,
            fingerprint=context.fingerprint,
            event_id=context.event_id,
            host=context.host,
            runbook=rule.action.runbook,
            vars=context.vars,
            incident=context.incident,
            incident_opened=context.opened,
            coalesce=rule.coalesce,
            debounce=rule.debounce,
        )
        return decision

    # -- resolved -----------------------------------------------------------------------------

    def _resolved(self, event: Event, now: datetime) -> list[Decision]:
        decisions: list[Decision] = []
        for alert in self.state.untrack(event.fingerprint):
            # State is cleaned up even when the rule has since changed or gone.
            notes = ["the alert resolved"]
            pending = self.state.pending(alert.rule, alert.key)
            if pending is not None and event.fingerprint in pending.firing:
                rest = pending.firing - {event.fingerprint}
                if rest:
                    self.state.put_pending(replace(pending, firing=rest))
                    notes.append(f"{len(rest)} other alert(s) keep the wait{_for(alert.key)}")
                else:
                    self.state.drop_pending(alert.rule, alert.key)
                    due = pending.due_at.isoformat(timespec="seconds")
                    notes.append(f"the wait{_for(alert.key)} due at {due} is cancelled")
            incident = self.state.leave_incident(alert.rule, event.fingerprint, now)
            if incident is not None:
                if incident.resolved:
                    notes.append(f"incident #{incident.id} is resolved: no alert fires in it")
                else:
                    notes.append(f"incident #{incident.id}: {_incident_size(incident)}")
            rule = self.rulebook.get(alert.rule) if alert.rule in self.rulebook else None
            decisions.append(
                Decision(
                    rule=alert.rule,
                    outcome=Outcome.RESOLVED,
                    reason="; ".join(notes),
                    at=now,
                    fingerprint=event.fingerprint,
                    event_id=event.id,
                    host=alert.host,
                    runbook=rule.action.runbook if rule else None,
                    incident=incident,
                )
            )
        return decisions


@dataclass(slots=True)
class _Context:
    """What a decision is about, gathered as the checks go (filled in place: copying a
    frozen one at each step cost more than the step)."""

    event_id: int | None
    fingerprint: str
    host: str | None
    vars: Mapping[str, Any]
    key: str
    incident: Incident | None
    opened: bool = False


@functools.lru_cache(maxsize=16)
def _isoformat(at: datetime) -> str:
    """A decision's time as text: the decisions of a batch share one, formatted once."""
    return at.isoformat()


def _for(key: str) -> str:
    return f" for {key}" if key else ""


def _incident_size(incident: Incident) -> str:
    hosts = len(incident.hosts)
    return f"{hosts} host{'' if hosts == 1 else 's'}, {incident.firing} firing"
