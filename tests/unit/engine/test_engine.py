"""The remediation engine's own logic: events in the store → decisions → tickets → jobs, with
a scripted runner and jobs run inline."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest

from automator.engine import RemediationEngine
from automator.errors import StoreError
from automator.events import Event, EventIntake, EventStatus, Severity
from automator.inventory import Host
from automator.jobs import Pipeline
from automator.rules import (
    Coalescer,
    MemoryRuleState,
    RuleEngine,
    StoreRuleState,
    load_rulebook,
)
from automator.runbooks import Catalogue
from automator.runners import HostResult, Outcome, RunContext, RunReport
from automator.store import Job
from automator.tickets import TicketService

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
T = TypeVar("T")
RULES = """\
rules:
  - name: fix-web
    when: name == "WebDown"
    action: {runbook: fix}
    throttle: {once_within: 10m}
    coalesce: 5s
    guardrails: {budget: {hosts: 10, per: 1h}, circuit_breaker: {failures: 3}}
    verify: {runbook: check}
  - name: fix-storm
    when: name == "Flap"
    action: {runbook: fix}
    correlate: {key: [labels.site], window: 10m}
  - name: trial
    when: name == "Slow"
    action: {runbook: fix}
    shadow: true
"""


class Inline:
    """Runs each job at once, so a test sees its result when step() returns."""

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        future: Future[T] = Future()
        future.set_result(fn())
        return future

    def shutdown(self) -> None:
        pass


class Recording:
    def __init__(self) -> None:
        self.calls: list[tuple[str, list[str]]] = []

    def runner_for(self, action, inventory):  # the Pipeline seam
        calls = self.calls

        class _Runner:
            def run(self, hosts: Sequence[Host], context: RunContext) -> RunReport:
                calls.append((action.name, [h.name for h in hosts]))
                return RunReport({h.name: HostResult(h.name, Outcome.CHANGED) for h in hosts})

        return _Runner()


@pytest.fixture
def world(tmp_path: Path, store, small_inventory):
    runbooks = tmp_path / "runbooks"
    runbooks.mkdir()
    (runbooks / "fix.yaml").write_text(
        "task: commands\nchanges: true\ncommands: {server: [x], network: [y]}\n"
    )
    (runbooks / "check.yaml").write_text("task: commands\ncommands: {server: [x]}\n")
    (tmp_path / "remediations").mkdir()
    (tmp_path / "remediations" / "rules.yaml").write_text(RULES)
    catalogue = Catalogue(runbooks, tmp_path / "playbooks")
    recording = Recording()
    clock = {"now": NOW}
    pipeline = Pipeline(
        store,
        small_inventory,
        catalogue,
        tmp_path / "artifacts",
        executor=Inline(),
        runner_for=recording.runner_for,
        clock=lambda: clock["now"],
    )
    rules = RuleEngine(
        load_rulebook(tmp_path / "remediations", catalogue),
        MemoryRuleState(),
        lambda: clock["now"],
        small_inventory,
    )
    engine = RemediationEngine(
        pipeline,
        EventIntake(store),
        rules,
        Coalescer(timedelta(seconds=5), lambda: clock["now"]),
        clock=lambda: clock["now"],
    )
    return engine, recording, clock


def event(name: str, host: str | None, status: str = "firing", **labels: str) -> Event:
    return Event(
        source="alertmanager",
        fingerprint=f"{name}-{host}",
        status=EventStatus(status),
        name=name,
        host=host,
        severity=Severity.CRITICAL,
        labels={"alertname": name, **labels},
        starts_at=NOW,
    )


def later(clock: dict[str, datetime], seconds: float) -> None:
    clock["now"] += timedelta(seconds=seconds)


def test_alerts_within_the_window_become_one_remediation_with_the_rules_guardrails(world):
    engine, recording, clock = world
    intake = engine.intake
    intake.ingest([event("WebDown", "web1"), event("WebDown", "web2")])
    engine.step()
    assert recording.calls == []  # gathered, not yet due
    later(clock, 6)
    engine.step()
    assert recording.calls == [("fix", ["web1", "web2"]), ("check", ["web1", "web2"])]
    [record] = intake.list_events()[:1]
    assert record.decision["decisions"][0]["outcome"] == "run"
    with engine.store.session() as session:
        job = session.query(Job).filter(Job.rule == "fix-web").one()
        assert job.kind == "remediation"
        assert job.policy["budget"] == {"hosts": 10, "per": 3600.0}
        assert job.policy["verify"]["runbook"] == "check"
    tickets = TicketService(engine.store)
    [ticket] = tickets.list(kind=["incident"])
    ticket = tickets.get(ticket.id)
    assert ticket.status == "resolved"  # fixed and verified
    story = [entry.message for entry in ticket.entries]
    assert any(
        m.startswith("alert WebDown firing on web1 (event #1, alertmanager) → rule fix-web: run")
        for m in story
    ), story


def test_an_alert_again_within_the_throttle_runs_nothing(world):
    engine, recording, clock = world
    engine.intake.ingest([event("WebDown", "web1")])
    engine.step()
    later(clock, 6)
    engine.step()
    engine.intake.ingest([event("WebDown", "web1", status="resolved")])
    engine.intake.ingest([event("WebDown", "web1")])
    later(clock, 6)
    engine.step()
    later(clock, 6)
    engine.step()
    assert [call for call in recording.calls if call[0] == "fix"] == [("fix", ["web1"])]
    decisions = [
        r.decision["decisions"][0]["outcome"]
        for r in engine.intake.list_events()
        if r.decision and r.decision["decisions"]
    ]
    assert "throttled" in decisions


def test_an_alert_for_a_host_not_in_the_inventory_opens_a_ticket_and_runs_nothing(world):
    engine, recording, clock = world
    engine.intake.ingest([event("WebDown", "db9")])
    engine.step()
    later(clock, 6)
    engine.step()
    assert recording.calls == []
    tickets = TicketService(engine.store)
    [ticket] = tickets.list(kind=["incident"])
    assert ticket.title == "alert WebDown for db9: not in the inventory"
    assert "nothing was run" in tickets.get(ticket.id).entries[0].message


def test_a_shadow_rule_records_and_does_nothing(world):
    engine, recording, clock = world
    engine.intake.ingest([event("Slow", "web1")])
    engine.step()
    later(clock, 60)
    engine.step()
    assert recording.calls == []
    [record] = engine.intake.list_events()
    assert record.decision["decisions"][0]["outcome"] == "suppressed-shadow"


def test_a_batchs_rule_state_and_decisions_commit_together(world, monkeypatch):
    """Recording the decisions fails after they were written: the rule state the batch
    changed is not kept either, so the events are decided again as new, not as repeats."""
    engine, _recording, _clock = world
    engine.rules.state = StoreRuleState(engine.store)
    engine.intake.ingest([event("Slow", "web1")])
    record = engine.intake.mark_many_decided

    def record_then_fail(decisions, connection=None):
        record(decisions, connection)
        raise StoreError("cannot record decisions: disk I/O error")

    monkeypatch.setattr(engine.intake, "mark_many_decided", record_then_fail)
    with pytest.raises(StoreError):
        engine.step()
    assert engine.intake.undecided() != []
    monkeypatch.undo()
    engine.step()
    [stored] = engine.intake.list_events()
    assert [d["outcome"] for d in stored.decision["decisions"]] == ["suppressed-shadow"]


def test_a_storm_is_one_incident_resolved_when_every_alert_has_resolved(world):
    engine, recording, clock = world
    engine.intake.ingest([event("Flap", host, site="dc1") for host in ("web1", "web2", "sw1")])
    engine.step()
    later(clock, 6)
    engine.step()
    tickets = TicketService(engine.store)
    [incident] = tickets.list(kind=["incident"])
    assert [h.host for h in tickets.get(incident.id).hosts] == ["sw1", "web1", "web2"]
    assert sorted(host for _, hosts in recording.calls for host in hosts) == ["sw1", "web1", "web2"]
    engine.intake.ingest(
        [event("Flap", host, status="resolved", site="dc1") for host in ("web1", "web2")]
    )
    engine.step()
    assert tickets.get(incident.id).status != "resolved"
    engine.intake.ingest([event("Flap", "sw1", status="resolved", site="dc1")])
    engine.step()
    assert tickets.get(incident.id).status == "resolved"
