"""What a rule is once its file has been read and checked."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from automator._durations import format_duration
from automator.errors import ConfigError
from automator.events import Event
from automator.rules._expr import Expression, Value, format_value
from automator.runbooks import Action, Param


def group_key(fields: Sequence[Expression], event: Event) -> str:
    """The values of ``fields`` in this event, as one readable key (``host=web1``); a
    missing value is written null. No fields: the rule as a whole."""
    return ", ".join(f"{f.field}={format_value(f.evaluate(event))}" for f in fields)


@dataclass(frozen=True)
class OnceWithin:
    """Act at most once per ``window`` for each group."""

    window: timedelta
    group_by: tuple[Expression, ...]

    def describe(self) -> str:
        return f"once within {format_duration(self.window)}{_per(self.group_by)}"


@dataclass(frozen=True)
class OnceAfter:
    """Act only if the alert is still firing ``delay`` after it was first seen."""

    delay: timedelta
    group_by: tuple[Expression, ...]

    def describe(self) -> str:
        return f"once after {format_duration(self.delay)}{_per(self.group_by)}"


@dataclass(frozen=True)
class Accumulate:
    """Act when ``count`` alerts have fired within ``window``."""

    count: int
    window: timedelta
    group_by: tuple[Expression, ...]

    def describe(self) -> str:
        return f"{self.count} within {format_duration(self.window)}{_per(self.group_by)}"


Throttle = OnceWithin | OnceAfter | Accumulate


def _per(group_by: tuple[Expression, ...]) -> str:
    return f" per {', '.join(str(f.field) for f in group_by)}" if group_by else ""


@dataclass(frozen=True)
class Correlate:
    """Alerts of the rule sharing ``key`` within ``window`` of each other are one incident."""

    key: tuple[Expression, ...]
    window: timedelta

    def describe(self) -> str:
        keys = ", ".join(str(f.field) for f in self.key)
        return f"by {keys} within {format_duration(self.window)}"


class Maintenance(StrEnum):
    """What a rule does for a host inside a maintenance window."""

    SKIP = "skip"
    WAIT = "wait"
    RUN = "run"


@dataclass(frozen=True)
class Budget:
    """At most ``hosts`` hosts remediated by the rule ``per`` period."""

    hosts: int
    per: timedelta


@dataclass(frozen=True)
class Guardrails:
    approval: bool = False
    maintenance: Maintenance = Maintenance.SKIP
    budget: Budget | None = None
    circuit_breaker: int | None = None  # failed remediations in a row that stop the rule


def coerce_var(param: Param, value: Value) -> Any:
    """A var's value checked and typed by the runbook's own parameter check (the one
    ``automator run -p`` uses); ConfigError says why not."""
    raw = value if isinstance(value, str) else format_value(value)
    try:
        return param.coerce(raw)
    except ConfigError as exc:
        # Worded for the command line; the rule's caller names the var itself.
        raise ConfigError(str(exc).removeprefix(f"--param {param.name}: ")) from None


@dataclass(frozen=True)
class Step:
    """A runbook the rule runs (its action, verify or rollback) and the vars passed to it."""

    runbook: str
    action: Action
    vars: Mapping[str, Expression] = field(default_factory=dict)
    delay: timedelta | None = None

    def bind(self, event: Event) -> dict[str, Any]:
        """The vars for this event, typed and checked by the runbook's parameter
        declarations; raise ConfigError naming the var when the event cannot give one."""
        bound: dict[str, Any] = {}
        for name, expression in self.vars.items():
            param = self.action.params[name]
            value = expression.evaluate(event)
            if value is None:
                if param.required:
                    raise ConfigError(f"vars.{name}: {expression.text} is null in this event")
                continue
            try:
                bound[name] = coerce_var(param, value)
            except ConfigError as exc:
                raise ConfigError(f"vars.{name}: {exc}") from None
        for name, param in self.action.params.items():
            if name not in bound and param.default is not None:
                bound[name] = param.default
        return bound


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    when: Expression
    action: Step
    file: Path
    line: int
    throttle: Throttle | None = None
    correlate: Correlate | None = None
    coalesce: timedelta | None = None
    # trailing: a batch is due this long after its LAST decision (a burst gives one run)
    debounce: timedelta | None = None
    guardrails: Guardrails = Guardrails()
    verify: Step | None = None
    rollback: Step | None = None
    shadow: bool = False


class RuleBook:
    """Every rule of a folder (or of the files given), in file order."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules: tuple[Rule, ...] = tuple(rules)
        self._by_name = {rule.name: rule for rule in self.rules}

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def get(self, name: str) -> Rule:
        """The rule called ``name``; KeyError when there is none."""
        return self._by_name[name]
