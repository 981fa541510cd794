"""The remediation engine: turns stored events into rule decisions, incident tickets and
remediation jobs, and drives the pipeline's clocks (deadlines, coalescing, waiting runs,
approval timeouts). It is what ``automator serve`` runs beside the hooks, in a process of
its own (``EngineProcess``).

May import events, rules, guardrails, jobs, tickets and store.
"""

from automator.engine._engine import RemediationEngine, policy_of
from automator.engine._process import GC_THRESHOLD, EngineProcess, EngineStartError, describe_exit

__all__ = [
    "GC_THRESHOLD",
    "EngineProcess",
    "EngineStartError",
    "RemediationEngine",
    "describe_exit",
    "policy_of",
]
