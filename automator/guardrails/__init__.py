"""Guardrails: what a job must pass before it changes hosts.

Owns the policy a rule or an operator attaches to a job (windows, break-glass, approval,
blast-radius budget, circuit breaker, verify and rollback steps), the pure checks, and the
gate that feeds them from the store. The pipeline calls the gate for every job, whatever
started it. May import inventory and store.
"""

from typing import TYPE_CHECKING

from automator._lazy import lazy_attributes
from automator.guardrails._checks import Admission, breaker_open, check_budget, check_windows
from automator.guardrails._policy import Budget, GuardrailPolicy, Step, WindowAction

if TYPE_CHECKING:
    from automator.guardrails._gate import Gate

# the gate reads the store: loaded when a pipeline is made, not when a policy is
__getattr__ = lazy_attributes(__name__, {"Gate": "_gate"})

__all__ = [
    "Admission",
    "Budget",
    "Gate",
    "GuardrailPolicy",
    "Step",
    "WindowAction",
    "breaker_open",
    "check_budget",
    "check_windows",
]
