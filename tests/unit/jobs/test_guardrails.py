"""Guardrails in the one pipeline: windows, break-glass, approvals, budgets, the circuit
breaker, verify and rollback — with scripted runners and a fake clock."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from automator.errors import AutomatorError
from automator.guardrails import Budget, GuardrailPolicy, Step, WindowAction
from automator.inventory import Host, load_inventory
from automator.jobs import JobKind, JobSpec, Pipeline, RunStatus
from automator.runbooks import Catalogue
from automator.runners import HostResult, Outcome, RunContext, RunReport
from automator.tickets import TicketKind, TicketService

NOW = datetime(2026, 12, 25, 12, 0, tzinfo=UTC)
INVENTORY = """\
web1:
  hostname: 192.0.2.1
  platform: linux
  data:
    freeze:
      - {name: christmas, starts: 2026-12-24T00:00:00+00:00, ends: 2026-12-27T00:00:00+00:00}
web2: {hostname: 192.0.2.2, platform: linux}
web3: {hostname: 192.0.2.3, platform: linux}
"""
RUNBOOK = "task: commands\nchanges: {changes}\ncommands: {{server: [x]}}\n"


class Scripted:
    """Per action, per host outcomes; records which hosts each action ran on."""

    def __init__(self) -> None:
        self.outcomes: dict[str, dict[str, Outcome]] = {}
        self.calls: list[tuple[str, list[str]]] = []

    def runner_for(self, action, inventory):  # the Pipeline seam
        scripted = self

        class _Runner:
            def run(self, hosts: Sequence[Host], context: RunContext) -> RunReport:
                scripted.calls.append((action.name, [h.name for h in hosts]))
                plan = scripted.outcomes.get(action.name, {})
                return RunReport(
                    results={
                        h.name: HostResult(
                            h.name,
                            plan.get(h.name, Outcome.CHANGED),
                            error="boom" if h.name in plan else None,
                        )
                        for h in hosts
                    }
                )

        return _Runner()


@pytest.fixture
def world(tmp_path: Path, store):
    (tmp_path / "inventory").mkdir()
    (tmp_path / "inventory" / "hosts.yaml").write_text(INVENTORY)
    runbooks = tmp_path / "runbooks"
    runbooks.mkdir()
    for name, changes in (("fix", "true"), ("check", "false"), ("undo", "true")):
        (runbooks / f"{name}.yaml").write_text(RUNBOOK.format(changes=changes))
    scripted = Scripted()
    clock = {"now": NOW}
    pipeline = Pipeline(
        store=store,
        inventory=load_inventory(tmp_path / "inventory"),
        catalogue=Catalogue(runbooks, tmp_path / "playbooks"),
        artifacts_dir=tmp_path / "artifacts",
        runner_for=scripted.runner_for,
        clock=lambda: clock["now"],
    )
    return pipeline, scripted, clock


def job(limit: str = "web*", **kwargs: object) -> JobSpec:
    return JobSpec(
        kind=JobKind.REMEDIATION, action="fix", requester="rule-engine", limit=limit, **kwargs
    )  # type: ignore[arg-type]


def entries(pipeline: Pipeline, ticket_id: int) -> list[str]:
    return [e.message for e in TicketService(pipeline.store).get(ticket_id).entries]


def test_a_manual_change_in_a_window_needs_break_glass(world):
    pipeline, scripted, _ = world
    refused = pipeline.run(
        JobSpec(kind=JobKind.RUNBOOK, action="fix", requester="alice", limit="web1")
    )
    assert refused.status is RunStatus.BLOCKED
    assert "web1 (freeze window 'christmas' until 2026-12-27 00:00 UTC)" in refused.error
    assert "--break-glass" in refused.error
    assert scripted.calls == []
    forced = pipeline.run(
        JobSpec(
            kind=JobKind.RUNBOOK,
            action="fix",
            requester="alice",
            limit="web1",
            policy=GuardrailPolicy(break_glass="INC-7"),
        )
    )
    assert forced.status is RunStatus.SUCCEEDED
    assert any(
        m.startswith("break-glass (INC-7): changing web1")
        for m in entries(pipeline, forced.ticket_id)
    )


def test_read_only_jobs_pass_windows(world):
    pipeline, _, _ = world
    summary = pipeline.run(
        JobSpec(kind=JobKind.RUNBOOK, action="check", requester="a", limit="web1")
    )
    assert summary.status is RunStatus.SUCCEEDED


def test_a_rule_skips_hosts_in_a_window(world):
    pipeline, scripted, _ = world
    summary = pipeline.run(job(policy=GuardrailPolicy(window=WindowAction.SKIP)))
    assert scripted.calls == [("fix", ["web2", "web3"])]
    assert summary.results["web1"].outcome is Outcome.SKIPPED
    assert summary.results["web1"].error == "skipped: in freeze window 'christmas'"


def test_a_rule_waits_for_the_window_then_resumes(world):
    pipeline, scripted, clock = world
    waiting = pipeline.run(job("web1", policy=GuardrailPolicy(window=WindowAction.WAIT)))
    assert waiting.status is RunStatus.WAITING
    assert pipeline.resume_due() == []  # still Christmas
    clock["now"] = datetime(2026, 12, 27, 0, 1, tzinfo=UTC)
    [started] = pipeline.resume_due()
    resumed = started.result()
    assert pipeline.resume_due() == []  # claimed once, never started twice
    assert resumed.run_id == waiting.run_id and resumed.status is RunStatus.SUCCEEDED
    assert scripted.calls == [("fix", ["web1"])]


def test_approval_then_run(world):
    pipeline, scripted, _ = world
    waiting = pipeline.run(job("web2", policy=GuardrailPolicy(approval=True)))
    assert waiting.status is RunStatus.WAITING and scripted.calls == []
    assert f"automator approve {waiting.ticket_id}" in entries(pipeline, waiting.ticket_id)[-1]
    [started] = pipeline.approve(waiting.ticket_id, "bob", "looks right")
    done = started.result()
    assert done.status is RunStatus.SUCCEEDED and scripted.calls == [("fix", ["web2"])]
    assert "approved: looks right" in " ".join(entries(pipeline, waiting.ticket_id))
    with pytest.raises(AutomatorError, match="no change waiting for approval"):
        pipeline.approve(waiting.ticket_id, "bob")


def test_denied_and_expired_approvals(world):
    pipeline, scripted, clock = world
    denied = pipeline.run(job("web2", policy=GuardrailPolicy(approval=True)))
    assert pipeline.deny(denied.ticket_id, "bob", "not now") == [denied.run_id]
    expiring = pipeline.run(
        job("web3", policy=GuardrailPolicy(approval=True, approval_timeout=timedelta(minutes=30)))
    )
    assert pipeline.expire_approvals() == []
    clock["now"] = NOW + timedelta(minutes=31)
    assert pipeline.expire_approvals() == [expiring.run_id]
    ticket = TicketService(pipeline.store).get(expiring.ticket_id)
    assert ticket.status == "escalated"
    assert scripted.calls == []


def test_budget_spans_jobs_of_one_rule(world):
    pipeline, _, _ = world
    policy = GuardrailPolicy(
        window=WindowAction.RUN, budget=Budget(hosts=2, per=timedelta(hours=1))
    )
    first = pipeline.run(job("web1,web2", policy=policy, rule="r1"))
    second = pipeline.run(job("web3", policy=policy, rule="r1"))
    other_rule = pipeline.run(job("web3", policy=policy, rule="r2"))
    assert first.status is RunStatus.SUCCEEDED
    assert second.results["web3"].outcome is Outcome.SKIPPED
    assert "budget of 2 hosts per 1h" in (second.results["web3"].error or "")
    assert other_rule.results["web3"].outcome is Outcome.CHANGED


def test_circuit_breaker_stops_a_failing_rule_and_escalates(world):
    pipeline, scripted, _ = world
    scripted.outcomes["fix"] = {"web2": Outcome.FAILED}
    policy = GuardrailPolicy(circuit_breaker=2)
    for _ in range(2):
        assert pipeline.run(job("web2", policy=policy, rule="r")).status is RunStatus.FAILED
    stopped = pipeline.run(job("web2", policy=policy, rule="r"))
    assert stopped.status is RunStatus.BLOCKED
    assert "circuit breaker open: rule 'r' failed 2 remediations in a row" in stopped.error
    assert TicketService(pipeline.store).get(stopped.ticket_id).status == "escalated"
    assert len(scripted.calls) == 2
    # an operator looks, fixes the cause and closes the breaker: the rule runs again
    later = NOW + timedelta(minutes=5)
    pipeline.gate.reset_breaker("r", "alice", "disk replaced", later)
    pipeline.clock = lambda: later + timedelta(minutes=1)
    pipeline.records.clock = pipeline.clock
    scripted.outcomes["fix"] = {}
    assert pipeline.run(job("web2", policy=policy, rule="r")).status is RunStatus.SUCCEEDED


def test_verify_passes_and_the_incident_is_resolved(world):
    pipeline, scripted, _ = world
    tickets = TicketService(pipeline.store)
    incident = tickets.open(kind=TicketKind.INCIDENT, title="web2 down", actor="rules")
    policy = GuardrailPolicy(verify=Step("check"), rollback=Step("undo"))
    summary = pipeline.run(
        job("web2", policy=policy, rule="r", ticket_id=incident, resolve_ticket=True)
    )
    assert summary.status is RunStatus.SUCCEEDED
    assert scripted.calls == [("fix", ["web2"]), ("check", ["web2"])]
    ticket = tickets.get(incident)
    assert ticket.status == "resolved"
    assert "verified on web2" in [e.message for e in ticket.entries]


def test_verify_fails_rollback_runs_and_the_ticket_escalates(world):
    pipeline, scripted, _ = world
    scripted.outcomes["check"] = {"web3": Outcome.FAILED}
    tickets = TicketService(pipeline.store)
    incident = tickets.open(kind=TicketKind.INCIDENT, title="web down", actor="rules")
    policy = GuardrailPolicy(verify=Step("check"), rollback=Step("undo"), circuit_breaker=1)
    pipeline.run(job("web2,web3", policy=policy, rule="r", ticket_id=incident, resolve_ticket=True))
    assert scripted.calls == [
        ("fix", ["web2", "web3"]),
        ("check", ["web2", "web3"]),
        ("undo", ["web3"]),
    ]
    ticket = tickets.get(incident)
    assert ticket.status == "escalated"
    messages = [e.message for e in ticket.entries]
    assert "verification failed on web3" in messages
    assert any(m.startswith("rolled back web3: run #") for m in messages)
    # a fix that did not verify counts as a failure for the circuit breaker
    again = pipeline.run(job("web2", policy=policy, rule="r"))
    assert again.status is RunStatus.BLOCKED
