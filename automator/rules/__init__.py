"""Rules: from a monitoring event to a decision about remediating it.

Owns the rule file format (``remediations/*.yaml``, read with every problem reported as
``FILE:LINE: field: message``), the small safe expression language of ``when`` and ``vars``
(parsed by hand, evaluated by walking a tree: no ``eval``, no templates over event data),
throttles (once within, once after, accumulate) and storm correlation over a ``RuleState``
(in memory, or in the store so that it survives restarts), the engine that turns events into
``Decision`` s, the coalescing of ``run`` decisions into batches of hosts, and replay of
recorded events. It decides; the jobs pipeline acts.

May import ``automator.events``, ``automator.runbooks``, ``automator.inventory``,
``automator.store`` and ``automator.errors``.
"""

from automator._durations import format_duration
from automator.rules._coalesce import Batch, Coalescer
from automator.rules._engine import Clock, Decision, Outcome, RuleEngine
from automator.rules._errors import ExpressionError, RuleError
from automator.rules._expr import Expression, Kind, parse_condition, parse_expression, parse_field
from automator.rules._loader import load_rulebook, load_rules
from automator.rules._model import (
    Accumulate,
    Budget,
    Correlate,
    Guardrails,
    Maintenance,
    OnceAfter,
    OnceWithin,
    Rule,
    RuleBook,
    Step,
    Throttle,
    group_key,
)
from automator.rules._replay import Replayed, event_time, read_events, replay
from automator.rules._state import (
    Incident,
    MemoryRuleState,
    Pending,
    RuleState,
    StoreRuleState,
    TrackedAlert,
)

__all__ = [
    "Accumulate",
    "Batch",
    "Budget",
    "Clock",
    "Coalescer",
    "Correlate",
    "Decision",
    "Expression",
    "ExpressionError",
    "Guardrails",
    "Incident",
    "Kind",
    "Maintenance",
    "MemoryRuleState",
    "OnceAfter",
    "OnceWithin",
    "Outcome",
    "Pending",
    "Replayed",
    "Rule",
    "RuleBook",
    "RuleEngine",
    "RuleError",
    "RuleState",
    "Step",
    "StoreRuleState",
    "Throttle",
    "TrackedAlert",
    "event_time",
    "format_duration",
    "group_key",
    "load_rulebook",
    "load_rules",
    "parse_condition",
    "parse_expression",
    "parse_field",
    "read_events",
    "replay",
]
