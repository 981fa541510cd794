"""The gate: every guardrail a job passes before it runs, fed from the store.

Order: circuit breaker (is the rule stopped?), windows, budget, approval. Locks are taken by
the pipeline after the gate admits a job, so a refused or waiting job holds no lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import distinct, func, select

from automator.guardrails._checks import Admission, breaker_open, check_budget, check_windows
from automator.guardrails._policy import GuardrailPolicy
from automator.inventory import Host
from automator.store import BreakerReset, HostResultRow, Job, Run, Store

# runs that count as a failed remediation for the circuit breaker
_FAILED = ("failed", "partial", "timed_out")
_ACTED = ("ok", "changed", "failed")


class Gate:
    def __init__(self, store: Store) -> None:
        self.store = store

    def admit(
        self,
        hosts: Sequence[Host],
        policy: GuardrailPolicy,
        rule: str | None,
        now: datetime,
        changes: bool,
    ) -> Admission:
        if not changes:
            return Admission(list(hosts))
        if rule is not None and breaker_open(
            self.recent_failures(rule, policy), policy.circuit_breaker
        ):
            return Admission(
                [],
                refused=(
                    f"circuit breaker open: rule {rule!r} failed {policy.circuit_breaker} "
                    "remediations in a row; an operator must look, then: automator rules reset "
                    f"{rule} --reason ..."
                ),
            )
        windows = check_windows(hosts, policy, now)
        if windows.refused or windows.wait_until:
            return windows
        budget = check_budget(windows.hosts, policy, self.used_budget(rule, policy, now))
        return Admission(
            budget.hosts,
            skipped={**windows.skipped, **budget.skipped},
            notes=windows.notes + budget.notes,
        )

    def recent_failures(self, rule: str, policy: GuardrailPolicy) -> list[bool]:
        """Newest first: was each finished remediation of ``rule`` since the breaker was last
        reset a failure?"""
        limit = policy.circuit_breaker or 0
        with self.store.session() as session:
            reset = session.scalar(
                select(func.max(BreakerReset.reset_at)).where(BreakerReset.rule == rule)
            )
            query = (
                select(Run.status, Run.counts)
                .join(Job, Run.job_id == Job.id)
                .where(
                    Job.rule == rule,
                    Run.finished_at.is_not(None),
                    Run.status.in_([*_FAILED, "succeeded"]),
                )
            )
            if reset is not None:
                query = query.where(Run.finished_at > reset)
            runs = session.execute(query.order_by(Run.id.desc()).limit(limit)).all()
        return [
            status in _FAILED or bool((counts or {}).get("verify_failed"))
            for status, counts in runs
        ]

    def used_budget(self, rule: str | None, policy: GuardrailPolicy, now: datetime) -> set[str]:
        """Hosts this rule has acted on within the budget's period."""
        if rule is None or policy.budget is None:
            return set()
        since = now - policy.budget.per
        with self.store.session() as session:
            return set(
                session.scalars(
                    select(distinct(HostResultRow.host))
                    .join(Run, HostResultRow.run_id == Run.id)
                    .join(Job, Run.job_id == Job.id)
                    .where(
                        Job.rule == rule, Run.started_at >= since, HostResultRow.outcome.in_(_ACTED)
                    )
                )
            )

    def reset_breaker(self, rule: str, actor: str, reason: str, now: datetime) -> None:
        """Close the rule's circuit breaker: its earlier failures no longer count."""
        with self.store.session() as session:
            session.add(BreakerReset(rule=rule, reset_at=now, reset_by=actor, reason=reason))
