"""The remediation engine: turns stored events into rule decisions, incident tickets and
remediation jobs, and drives the pipeline's clocks (deadlines, coalescing, waiting runs,
approval timeouts). It is what ``automator serve`` runs beside the hooks.

May import events, rules, guardrails, jobs, tickets and store.
"""

from automator.engine._engine import RemediationEngine, policy_of

__all__ = ["RemediationEngine", "policy_of"]
