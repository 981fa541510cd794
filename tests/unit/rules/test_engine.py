"""Decisions: throttles on a fake clock, correlation, storms, shadow mode, hosts and vars, on
the in-memory state and on the store-backed one alike."""

from __future__ import annotations

import dataclasses
import random
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from automator.errors import StoreError
from automator.rules import (
    Decision,
    MemoryRuleState,
    Outcome,
    RuleEngine,
    RuleState,
    StoreRuleState,
    load_rulebook,
)
from automator.store import Store
from tests.unit.rules._support import T0, event

RESTART = """\
- name: restart
  when: name == "LabsvcDown" and labels.severity in ["critical", "warning"]
  action:
    runbook: restart-service
    vars: {service: labels.service}
"""


@pytest.fixture(params=["memory", "store"])
def state(request, tmp_path) -> RuleState:
    if request.param == "memory":
        return MemoryRuleState()
    store = Store.open(f"sqlite:///{tmp_path / 'rules.db'}")
    request.addfinalizer(store.dispose)
    return StoreRuleState(store)


@pytest.fixture
def engine_for(project, catalogue, state, clock, small_inventory):
    def make(text: str) -> RuleEngine:
        (project / "remediations" / "rules.yaml").write_text(text)
        rulebook = load_rulebook(project / "remediations", catalogue)
        return RuleEngine(rulebook, state, clock, small_inventory)

    return make


def outcomes(decisions) -> list[str]:
    return [decision.outcome.value for decision in decisions]


def test_a_matching_event_runs_with_typed_vars(engine_for):
    engine = engine_for(RESTART + "  coalesce: 5s\n")
    (decision,) = engine.decide(event())
    assert decision.outcome is Outcome.RUN
    assert decision.rule == "restart" and decision.host == "web1" and decision.event_id == 1
    assert decision.runbook == "restart-service"
    assert decision.vars == {"service": "labsvc"}
    assert decision.reason == "runs restart-service on web1"
    assert decision.coalesce == timedelta(seconds=5)
    assert decision.at == T0 and decision.incident is None
    assert engine.decide(event(name="Other", fingerprint="fp2")) == []
    assert engine.decide(event(severity="info", fingerprint="fp3")) == []


def test_typed_vars_for_every_param_type(engine_for):
    engine = engine_for(
        """\
- name: tune
  when: name == "LabsvcDown"
  action:
    runbook: tune
    vars: {note: labels.note, count: labels.count, force: labels.force == "yes"}
"""
    )
    (decision,) = engine.decide(event(note="$(rm -rf /) {{ 7*7 }}", count="12", force="yes"))
    assert decision.vars == {
        "note": "$(rm -rf /) {{ 7*7 }}",  # data, exactly as it came
        "count": 12,
        "force": True,
        "mode": "safe",  # the runbook's default
    }


def test_vars_the_runbook_refuses_are_invalid(engine_for):
    engine = engine_for(RESTART)
    (missing,) = engine.decide(event(service=None))
    assert missing.outcome is Outcome.INVALID
    assert missing.reason == "vars.service: labels.service is null in this event"
    (hostile,) = engine.decide(event(fingerprint="fp2", service="$(rm -rf /)"))
    assert hostile.outcome is Outcome.INVALID
    assert hostile.reason == "vars.service: '$(rm -rf /)' does not match ^[a-zA-Z0-9_.@-]{1,64}$"
    engine = engine_for(RESTART.replace("restart-service", "tune").replace("service:", "count:"))
    (wrong,) = engine.decide(event(fingerprint="fp3", service="many"))
    assert wrong.reason == "vars.count: 'many' is not a whole number"


def test_hosts_must_be_in_the_inventory(engine_for):
    engine = engine_for(RESTART)
    (unknown,) = engine.decide(event(host="ghost"))
    assert unknown.outcome is Outcome.NO_HOST
    assert unknown.reason == "host 'ghost' is not in the inventory"
    (hostless,) = engine.decide(event(host=None, fingerprint="fp2"))
    assert hostless.outcome is Outcome.NO_HOST and hostless.reason == "the alert names no host"


def test_a_repeated_notification_is_a_duplicate_until_it_resolves(engine_for, clock):
    engine = engine_for(RESTART)
    assert outcomes(engine.decide(event())) == ["run"]
    clock.advance(minutes=30)
    (repeat,) = engine.decide(event())
    assert repeat.outcome is Outcome.DUPLICATE
    (resolved,) = engine.decide(event(status="resolved"))
    assert resolved.outcome is Outcome.RESOLVED and resolved.reason == "the alert resolved"
    assert outcomes(engine.decide(event())) == ["run"]


def test_a_resolved_event_never_runs_anything(engine_for):
    engine = engine_for(RESTART.replace('name == "LabsvcDown"', 'status == "resolved"'))
    assert engine.decide(event(status="resolved")) == []


def test_once_within(engine_for, clock):
    engine = engine_for(RESTART + "  throttle: {once_within: 10m}\n")
    assert outcomes(engine.decide(event("a"))) == ["run"]
    clock.advance(minutes=3)
    (throttled,) = engine.decide(event("b"))
    assert throttled.outcome is Outcome.THROTTLED
    assert throttled.reason == 'acted 3m ago for host="web1"; once within 10m per host'
    assert outcomes(engine.decide(event("c", host="web2"))) == ["run"]  # per host
    clock.advance(minutes=7)
    assert outcomes(engine.decide(event("d"))) == ["run"]


def test_once_within_for_the_rule_as_a_whole(engine_for, clock):
    engine = engine_for(RESTART + "  throttle: {once_within: 1h, group_by: []}\n")
    assert outcomes(engine.decide(event("a"))) == ["run"]
    (throttled,) = engine.decide(event("b", host="web2"))
    assert throttled.reason == "acted 0ms ago; once within 1h"


def test_once_after_acts_only_if_still_firing(engine_for, clock):
    engine = engine_for(RESTART + "  throttle: {once_after: 2m}\n")
    (waiting,) = engine.decide(event("a"))
    assert waiting.outcome is Outcome.WAITING
    assert waiting.reason == (
        'acts at 2026-11-27T10:02:00+00:00 for host="web1" if still firing (once after 2m per host)'
    )
    clock.advance(seconds=30)
    (joined,) = engine.decide(event("b"))  # a second alert for the same host joins the wait
    assert joined.outcome is Outcome.WAITING and joined.reason.startswith("joins the wait")
    assert engine.due(clock.advance(seconds=60)) == []
    (resolved,) = engine.decide(event("a", status="resolved"))
    assert resolved.reason == 'the alert resolved; 1 other alert(s) keep the wait for host="web1"'
    (run,) = engine.due(clock.advance(seconds=30))
    assert run.outcome is Outcome.RUN and run.host == "web1" and run.vars == {"service": "labsvc"}
    assert run.event_id == 1 and run.fingerprint == "a"
    assert run.reason == "runs restart-service on web1: still firing 2m after it was first seen"
    assert engine.due(clock.advance(minutes=10)) == []  # acted once


def test_once_after_is_cancelled_when_every_alert_resolves(engine_for, clock):
    engine = engine_for(RESTART + "  throttle: {once_after: 2m}\n")
    engine.decide(event("a"))
    clock.advance(minutes=1)
    (resolved,) = engine.decide(event("a", status="resolved"))
    assert resolved.reason == (
        'the alert resolved; the wait for host="web1" due at 2026-11-27T10:02:00+00:00 is cancelled'
    )
    assert engine.due(clock.advance(minutes=5)) == []


def test_accumulate(engine_for, clock):
    engine = engine_for(RESTART + "  throttle: {accumulate: {count: 3, within: 5m}}\n")
    (first,) = engine.decide(event("a"))
    assert first.outcome is Outcome.ACCUMULATING
    assert first.reason == '1 of 3 alerts within 5m for host="web1"'
    clock.advance(minutes=4)
    assert outcomes(engine.decide(event("b"))) == ["accumulating"]
    clock.advance(minutes=2)  # "a" is now older than 5 minutes
    assert outcomes(engine.decide(event("c"))) == ["accumulating"]
    (run,) = engine.decide(event("d"))
    assert run.outcome is Outcome.RUN
    assert run.reason == 'runs restart-service on web1: 3 alerts within 5m for host="web1"'
    assert outcomes(engine.decide(event("e"))) == ["accumulating"]  # counting starts again


def test_multi_condition_rule_with_throttle_per_label(engine_for, clock):
    engine = engine_for(
        """\
- name: disk
  when: >-
    source == "alertmanager" and (name == "DiskFull" or name == "DiskWillFill")
    and labels.mount startswith "/var" and not (host matches "^sw")
  action: {runbook: labsvc-health}
  throttle: {once_within: 1h, group_by: [host, labels.mount]}
"""
    )
    disk = {"name": "DiskFull", "mount": "/var/log"}
    assert outcomes(engine.decide(event("a", **disk))) == ["run"]
    assert outcomes(engine.decide(event("b", name="DiskWillFill", mount="/var/log"))) == [
        "throttled"
    ]
    assert outcomes(engine.decide(event("c", name="DiskFull", mount="/var/lib"))) == ["run"]
    assert engine.decide(event("d", name="DiskFull", mount="/home")) == []
    assert engine.decide(event("e", host="sw1", **disk)) == []


def test_shadow_mode_decides_and_does_nothing(engine_for):
    engine = engine_for(RESTART + "  shadow: true\n  throttle: {once_within: 10m}\n")
    (shadow,) = engine.decide(event("a"))
    assert shadow.outcome is Outcome.SHADOW
    assert shadow.reason == "would run restart-service on web1 (shadow mode: nothing is done)"
    assert shadow.vars == {"service": "labsvc"}
    assert outcomes(engine.decide(event("b"))) == ["throttled"]  # as it would have been


CORRELATED = RESTART + "  correlate: {key: [labels.alertname, labels.site], window: 5m}\n"


def test_correlation_makes_one_incident(engine_for, clock):
    engine = engine_for(CORRELATED)
    (first,) = engine.decide(event("a"))
    assert first.incident_opened and first.incident is not None
    assert first.incident.hosts == ("web1",) and first.incident.key == (
        'labels.alertname="LabsvcDown", labels.site="dc1"'
    )
    assert first.reason == "runs restart-service on web1; opens incident #1 (1 host, 1 firing)"
    clock.advance(minutes=1)
    (second,) = engine.decide(event("b", host="web2"))
    assert second.outcome is Outcome.RUN and not second.incident_opened
    assert second.correlation_id == first.correlation_id
    assert second.incident is not None and second.incident.hosts == ("web1", "web2")
    (again,) = engine.decide(event("c", host="web1"))  # another alert on a host in it
    assert again.outcome is Outcome.CORRELATED
    assert again.reason == "web1 already has an alert firing in incident #1 (2 hosts, 3 firing)"
    (other_site,) = engine.decide(event("d", site="dc2"))
    assert other_site.incident_opened and other_site.correlation_id != first.correlation_id
    for fingerprint in ("a", "b"):
        (resolved,) = engine.decide(event(fingerprint, status="resolved"))
        assert resolved.outcome is Outcome.RESOLVED and not resolved.incident.resolved
    (last,) = engine.decide(event("c", status="resolved"))
    assert last.incident is not None and last.incident.resolved
    assert last.incident.resolved_at == clock.now
    assert last.reason == "the alert resolved; incident #1 is resolved: no alert fires in it"


def test_an_incident_quiet_for_longer_than_the_window_is_not_joined(engine_for, clock):
    engine = engine_for(CORRELATED)
    (first,) = engine.decide(event("a"))
    clock.advance(minutes=6)
    (later,) = engine.decide(event("b", host="web2"))
    assert later.incident_opened and later.correlation_id != first.correlation_id


def test_a_storm_of_1000_alerts_on_50_hosts_is_one_incident(
    project, catalogue, clock, tmp_path, state
):
    """1,000 alerts (20 per host, each its own fingerprint, in random order) within two
    minutes: one incident with all 50 hosts, one remediation per host, and the incident
    resolved when the last alert resolves."""
    hosts = [f"web{n:02}" for n in range(50)]
    alerts = [(f"{host}-{n}", host) for host in hosts for n in range(20)]
    random.Random(3).shuffle(alerts)
    (project / "remediations" / "rules.yaml").write_text(
        CORRELATED + "  throttle: {once_within: 10m}\n"
    )
    engine = RuleEngine(load_rulebook(project / "remediations", catalogue), state, clock)
    decisions = []
    for index, (fingerprint, host) in enumerate(alerts):
        clock.now = T0 + timedelta(milliseconds=120 * index)
        decisions += engine.decide(event(fingerprint, host=host, event_id=index))
    assert len(decisions) == 1000
    assert len({d.correlation_id for d in decisions}) == 1
    assert sum(d.incident_opened for d in decisions) == 1
    runs = [d for d in decisions if d.outcome is Outcome.RUN]
    assert sorted(d.host for d in runs) == hosts  # none twice
    assert {d.outcome for d in decisions} == {Outcome.RUN, Outcome.CORRELATED}
    final = decisions[-1].incident
    assert final is not None and final.hosts == tuple(hosts) and final.firing == 1000
    resolved = [d for fp, _ in alerts for d in engine.decide(event(fp, status="resolved"))]
    assert [d.incident.resolved for d in resolved].count(True) == 1
    assert resolved[-1].incident.resolved and resolved[-1].incident.hosts == tuple(hosts)


def test_decide_many_and_decisions_as_json(engine_for):
    engine = engine_for(CORRELATED)
    decisions = engine.decide_many([event("a"), event("b", host="web2"), event("c", host="nope")])
    assert outcomes(decisions) == ["run", "run", "no-host"]
    assert decisions[1].to_json() == {
        "rule": "restart",
        "outcome": "run",
        "reason": "runs restart-service on web2; joins incident #1 (2 hosts, 2 firing)",
        "at": "2026-11-27T10:00:00+00:00",
        "fingerprint": "b",
        "event_id": 1,
        "host": "web2",
        "runbook": "restart-service",
        "vars": {"service": "labsvc"},
        "incident": {
            "id": 1,
            "key": 'labels.alertname="LabsvcDown", labels.site="dc1"',
            "opened": False,
            "hosts": ["web1", "web2"],
            "firing": 2,
            "resolved": False,
        },
        "coalesce": None,
        "debounce": None,
    }


def test_two_rules_decide_on_one_event(engine_for):
    engine = engine_for(RESTART + RESTART.replace("name: restart", "name: again"))
    assert [(d.rule, d.outcome.value) for d in engine.decide(event())] == [
        ("restart", "run"),
        ("again", "run"),
    ]
    resolved = engine.decide(event(status="resolved"))
    assert [(d.rule, d.outcome.value) for d in resolved] == [
        ("restart", "resolved"),
        ("again", "resolved"),
    ]


def test_state_of_a_removed_rule_is_cleaned_up(engine_for, project, catalogue, state, clock):
    engine_for(CORRELATED + "  throttle: {once_after: 1m}\n").decide(event())
    (project / "remediations" / "rules.yaml").write_text(RESTART.replace("restart", "other", 1))
    engine = RuleEngine(load_rulebook(project / "remediations", catalogue), state, clock)
    (resolved,) = engine.decide(event(status="resolved"))
    assert resolved.rule == "restart" and resolved.runbook is None
    assert resolved.incident is not None and resolved.incident.resolved
    assert engine.due(clock.advance(minutes=5)) == []


def test_store_state_survives_a_restart(project, catalogue, clock, tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'restart.db'}"
    (project / "remediations" / "rules.yaml").write_text(
        CORRELATED + "  throttle: {once_within: 10m}\n"
    )
    rulebook = load_rulebook(project / "remediations", catalogue)
    store = Store.open(url)
    engine = RuleEngine(rulebook, StoreRuleState(store), clock)
    assert outcomes(engine.decide(event("a"))) == ["run"]
    store.dispose()

    store = Store.open(url)  # a new process, the same database
    engine = RuleEngine(rulebook, StoreRuleState(store), clock)
    clock.advance(minutes=1)
    assert outcomes(engine.decide(event("a"))) == ["duplicate"]
    (correlated,) = engine.decide(event("b"))
    assert correlated.outcome is Outcome.CORRELATED and correlated.correlation_id == 1
    (resolved,) = engine.decide(event("a", status="resolved"))
    assert resolved.incident is not None and resolved.incident.firing == 1
    store.dispose()

    store = Store.open(url)
    engine = RuleEngine(rulebook, StoreRuleState(store), clock)
    (resolved,) = engine.decide(event("b", status="resolved"))
    assert resolved.incident is not None and resolved.incident.resolved
    clock.advance(minutes=1)
    (throttled,) = engine.decide(event("c"))  # a new incident, but web1 was fixed 2m ago
    assert throttled.outcome is Outcome.THROTTLED and throttled.incident_opened
    assert throttled.reason == 'acted 2m ago for host="web1"; once within 10m per host'
    store.dispose()


@pytest.mark.postgres
def test_store_state_on_postgresql(project, catalogue, clock):
    """The scale-out store: a storm decided in batches of 100, then read back by a new
    state as a restarted process would."""
    name = f"automator_rules_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        "postgresql+psycopg://postgres@/postgres?host=/var/run/postgresql",
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        store = Store.open(f"postgresql://postgres@/{name}?host=/var/run/postgresql")
        (project / "remediations" / "rules.yaml").write_text(
            CORRELATED + "  throttle: {once_within: 10m}\n"
        )
        rulebook = load_rulebook(project / "remediations", catalogue)
        engine = RuleEngine(rulebook, StoreRuleState(store), clock)
        storm = [event(f"fp{n}", host=f"web{n % 50:02}", event_id=n) for n in range(1000)]
        decisions = [d for n in range(0, 1000, 100) for d in engine.decide_many(storm[n : n + 100])]
        assert sum(d.outcome is Outcome.RUN for d in decisions) == 50
        restarted = RuleEngine(rulebook, StoreRuleState(store), clock)
        (resolved,) = restarted.decide(event("fp0", status="resolved"))
        assert resolved.incident is not None
        assert len(resolved.incident.hosts) == 50 and resolved.incident.firing == 999
        store.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def test_a_failed_batch_leaves_nothing_and_the_state_is_read_again(store):
    state = StoreRuleState(store)
    with state.batch():
        state.set_fired("r", "k", T0)
    with pytest.raises(RuntimeError), state.batch():
        state.set_fired("r", "k", T0 + timedelta(minutes=1))
        state.set_fired("r", "other", T0)
        raise RuntimeError("the engine failed half-way")
    with state.batch():
        assert state.last_fired("r", "k") == T0
        assert state.last_fired("r", "other") is None
    with store.engine.begin() as connection:
        connection.execute(text("DROP TABLE rule_fired"))
    with pytest.raises(StoreError, match="cannot record rule state: no such table: rule_fired"):
        state.set_fired("r", "k", T0)
    with pytest.raises(StoreError, match="cannot read rule state: no such table: rule_fired"):
        state.set_fired("r", "k", T0)


def test_decisions_are_whole_dataclasses(engine_for):
    """The engine builds decisions without the dataclass's __init__ (a hot path): each must
    still hold exactly the dataclass's fields, and equal one built the ordinary way."""
    engine = engine_for(CORRELATED)
    decisions = engine.decide_many([event("a"), event("b", host="web2"), event("c", host="nope")])
    assert len(decisions) == 3
    names = [f.name for f in dataclasses.fields(Decision)]
    for decision in decisions:
        assert list(vars(decision)) == names
        assert decision == Decision(**{name: getattr(decision, name) for name in names})
