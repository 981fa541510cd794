"""Rule files: the schema as built, and every problem as exact ``FILE:LINE: field: message``."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from automator.rules import (
    Accumulate,
    Maintenance,
    OnceAfter,
    OnceWithin,
    RuleError,
    load_rulebook,
    load_rules,
)
from automator.runbooks import Catalogue

REPO = Path(__file__).resolve().parents[3]

FULL_RULE = """\
- name: restart-labsvc
  description: Restart the lab service when its health check fails
  when: source == "alertmanager" and name == "LabsvcDown" and labels.severity in ["critical"]
  action:
    runbook: restart-service
    vars:
      service: labels.service
  throttle: {once_within: 10m, group_by: [host]}
  correlate: {key: [labels.alertname, labels.site], window: 5m}
  coalesce: 5s
  guardrails:
    approval: true
    maintenance: wait
    budget: {hosts: 5, per: 1h}
    circuit_breaker: {failures: 3}
  verify: {runbook: labsvc-health, delay: 10s}
  rollback: {runbook: restart-service, vars: {service: '"labsvc"'}}
  shadow: true
"""

NOT_A_DURATION = "is not a duration of more than zero, like 30s, 10m, 1h30m or 2d"


def write(project: Path, text: str, name: str = "rules.yaml") -> Path:
    path = project / "remediations" / name
    path.write_text(text)
    return path


def problems(project: Path, catalogue: Catalogue, *texts: str) -> list[str]:
    for index, text in enumerate(texts):
        write(project, text, f"r{index}.yaml")
    with pytest.raises(RuleError) as raised:
        load_rulebook(project / "remediations", catalogue)
    prefix = f"{project}/remediations/"
    return [str(problem).removeprefix(prefix) for problem in raised.value.problems]


def test_a_full_rule(project, catalogue):
    write(project, FULL_RULE)
    rulebook = load_rulebook(project / "remediations", catalogue)
    assert len(rulebook) == 1 and "restart-labsvc" in rulebook
    rule = rulebook.get("restart-labsvc")
    assert rule.line == 1 and rule.file.name == "rules.yaml"
    assert rule.description == "Restart the lab service when its health check fails"
    assert rule.action.runbook == "restart-service"
    assert rule.action.vars["service"].text == "labels.service"
    assert rule.throttle == OnceWithin(
        window=timedelta(minutes=10), group_by=rule.throttle.group_by
    )
    assert [f.field for f in rule.throttle.group_by] == ["host"]
    assert rule.correlate is not None
    assert [f.field for f in rule.correlate.key] == ["labels.alertname", "labels.site"]
    assert rule.correlate.window == timedelta(minutes=5)
    assert rule.coalesce == timedelta(seconds=5)
    assert rule.guardrails.approval is True
    assert rule.guardrails.maintenance is Maintenance.WAIT
    assert rule.guardrails.budget is not None
    assert (rule.guardrails.budget.hosts, rule.guardrails.budget.per) == (5, timedelta(hours=1))
    assert rule.guardrails.circuit_breaker == 3
    assert rule.verify is not None and rule.verify.runbook == "labsvc-health"
    assert rule.verify.delay == timedelta(seconds=10)
    assert rule.rollback is not None and rule.rollback.vars["service"].text == '"labsvc"'
    assert rule.shadow is True


def test_defaults_and_the_rules_mapping(project, catalogue):
    write(
        project,
        """\
# a mapping with rules: is the other shape of a file
rules:
  - name: minimal
    when: name == "X"
    action: {runbook: labsvc-health}
  - name: waits
    when: name == "Y"
    action: {runbook: labsvc-health}
    throttle: {once_after: 2m, group_by: [labels.site, host]}
  - name: counts
    when: name == "Z"
    action: {runbook: labsvc-health}
    throttle: {accumulate: {count: 3, within: 5m}, group_by: []}
""",
    )
    minimal, waits, counts = load_rulebook(project / "remediations", catalogue)
    assert minimal.line == 3
    assert minimal.throttle is None and minimal.correlate is None and minimal.coalesce is None
    assert minimal.guardrails.maintenance is Maintenance.SKIP and not minimal.shadow
    assert minimal.action.vars == {}
    assert isinstance(waits.throttle, OnceAfter)
    assert [f.field for f in waits.throttle.group_by] == ["labels.site", "host"]
    assert isinstance(counts.throttle, Accumulate)
    assert (counts.throttle.count, counts.throttle.window) == (3, timedelta(minutes=5))
    assert counts.throttle.group_by == ()


def test_the_shipped_remediations_load():
    from automator.cli._app import open_catalogue
    from automator.config import Settings

    catalogue = open_catalogue(Settings.from_env(project_dir=REPO, environ={}))
    rulebook = load_rulebook(REPO / "remediations", catalogue)
    assert "restart-labsvc" in rulebook
    assert rulebook.get("backup-on-config-change").debounce == timedelta(seconds=30)
    restart = rulebook.get("restart-labsvc")
    assert restart.action.runbook == "restart-service"
    assert restart.throttle is not None and restart.correlate is not None


def test_empty_and_missing_folders_have_no_rules(project, catalogue):
    assert len(load_rulebook(project / "nothing-here", catalogue)) == 0
    write(project, "")
    assert len(load_rulebook(project / "remediations", catalogue)) == 0


def test_every_problem_with_its_line(project, catalogue):
    assert problems(
        project,
        catalogue,
        """\
- name: bad one
  colour: blue
  when: sevrity == "critical"
  action:
    runbook: no-such-runbook
  throttle: {once_within: 10 minutes}
  coalesce: 5
  shadow: "yes"
- description: no name, no when, no action
""",
    ) == [
        "r0.yaml:2: colour: unknown field (allowed: name, description, when, action, throttle, "
        "correlate, coalesce, debounce, guardrails, verify, rollback, shadow)",
        "r0.yaml:1: name: letters, digits, . _ - (at most 100)",
        "r0.yaml:3: when: column 1: unknown name 'sevrity' (known: source, status, name, host, "
        "severity, fingerprint, labels.NAME, annotations.NAME)",
        "r0.yaml:5: action.runbook: no runbook or playbook named 'no-such-runbook' "
        "(known: labsvc-health, restart-service, tune)",
        f"r0.yaml:6: throttle.once_within: '10 minutes' {NOT_A_DURATION}",
        f"r0.yaml:7: coalesce: '5' {NOT_A_DURATION}",
        "r0.yaml:8: shadow: must be true or false",
        "r0.yaml:9: name: is required",
        "r0.yaml:9: when: is required",
        "r0.yaml:9: action: is required",
    ]


def test_expression_problems_name_the_column(project, catalogue):
    assert problems(
        project,
        catalogue,
        """\
- name: a
  when: 'host == "web1" and labels.severity = "critical"'
  action: {runbook: labsvc-health}
- name: b
  when: >-
    host == "web1"
    and labels.x
  action: {runbook: labsvc-health}
""",
    ) == [
        "r0.yaml:2: when: column 36: use == to compare",
        "r0.yaml:5: when: column 20: and needs a condition, not a field: "
        "compare it (==, !=, <, in, matches, ...)",
    ]


def test_vars_are_checked_against_the_runbook(project, catalogue):
    assert problems(
        project,
        catalogue,
        """\
- name: a
  when: name == "X"
  action:
    runbook: restart-service
    vars:
      service: labsvc
      colour: labels.colour
- name: b
  when: name == "X"
  action:
    runbook: restart-service
- name: c
  when: name == "X"
  action:
    runbook: tune
    vars:
      note: 3
      count: '"three"'
      force: labels.a == "b"
      mode: '"slow"'
- name: d
  when: name == "X"
  action:
    runbook: tune
    vars:
      count: 2.5
      force: '"maybe"'
      note: "[1, 2]"
      mode: "null"
- name: e
  when: name == "X"
  action:
    runbook: restart-service
    vars: {service: '"two words"'}
""",
    ) == [
        "r0.yaml:6: action.vars.service: column 1: unknown name 'labsvc' (known: source, "
        "status, name, host, severity, fingerprint, labels.NAME, annotations.NAME); "
        "for the text itself write '\"labsvc\"'",
        "r0.yaml:7: action.vars.colour: runbook 'restart-service' declares no param 'colour' "
        "(declared: service)",
        "r0.yaml:11: action.vars: runbook 'restart-service' requires service",
        "r0.yaml:17: action.vars.note: is a number, but param 'note' is str",
        "r0.yaml:18: action.vars.count: is a string, but param 'count' is int",
        "r0.yaml:20: action.vars.mode: 'slow' is not one of fast, safe",
        "r0.yaml:26: action.vars.count: is a number, but param 'count' is int",
        "r0.yaml:27: action.vars.force: is a string, but param 'force' is bool",
        "r0.yaml:28: action.vars.note: a list cannot be passed as a var",
        "r0.yaml:29: action.vars.mode: null: leave the var out to use the runbook's default",
        "r0.yaml:34: action.vars.service: 'two words' does not match ^[a-zA-Z0-9_.@-]{1,64}$",
    ]


def test_literal_and_yaml_scalar_vars_are_accepted(project, catalogue):
    write(
        project,
        """\
- name: tune
  when: name == "X"
  action:
    runbook: tune
    vars: {note: '"fixed"', count: 3, force: true, mode: labels.mode}
""",
    )
    (rule,) = load_rulebook(project / "remediations", catalogue)
    assert {name: e.text for name, e in rule.action.vars.items()} == {
        "note": '"fixed"',
        "count": "3",
        "force": "true",
        "mode": "labels.mode",
    }


def test_runbook_problems(project, catalogue):
    (project / "runbooks" / "broken.yaml").write_text("task: shell\n")
    assert problems(
        project,
        catalogue,
        """\
- name: a
  when: name == "X"
  action: {runbook: broken}
- name: b
  when: name == "X"
  action:
    runbook: service-restart
- name: c
  when: name == "X"
  action:
    runbook: labsvc-health
    vars: {service: labels.service}
- name: d
  when: name == "X"
  action: restart-service
- name: e
  when: name == "X"
  action: {runbook: no-such-runbook}
""",
    ) == [
        f"r0.yaml:3: action.runbook: runbook 'broken' is invalid: {project}/runbooks/"
        "broken.yaml:1: task: must be commands, config or playbook",
        "r0.yaml:7: action.runbook: playbook service-restart.yml is run through runbook "
        "'restart-service', which validates its parameters",
        "r0.yaml:12: action.vars: playbook 'labsvc-health' declares no params: wrap it in a "
        "runbook (runbooks/NAME.yaml) to pass vars",
        "r0.yaml:15: action: must be a mapping",
        # an unknown name is reported as unknown, whatever state other runbook files are in
        "r0.yaml:18: action.runbook: no runbook or playbook named 'no-such-runbook' (known: "
        "broken, labsvc-health, restart-service, tune)",
    ]


def test_throttle_correlate_and_guardrail_problems(project, catalogue):
    assert problems(
        project,
        catalogue,
        """\
- name: a
  when: name == "X"
  action: {runbook: labsvc-health}
  throttle: {once_within: 1m, once_after: 2m}
  correlate: {key: [], window: 0s}
  guardrails: {maintenance: later, budget: {hosts: 0}, circuit_breaker: {failures: x}}
- name: b
  when: name == "X"
  action: {runbook: labsvc-health}
  throttle: {accumulate: {count: 3}, group_by: ['"host"']}
  correlate: {key: [labels.site, "labels[1]"]}
  verify: {runbook: labsvc-health, delay: soon, check: yes}
- name: c
  when: name == "X"
  action: {runbook: labsvc-health}
  throttle: {group_by: host}
""",
    ) == [
        "r0.yaml:4: throttle: give one of once_within, once_after, accumulate",
        "r0.yaml:5: correlate.key: must name at least one event field",
        f"r0.yaml:5: correlate.window: '0s' {NOT_A_DURATION}",
        "r0.yaml:6: guardrails.maintenance: must be one of skip, wait, run",
        "r0.yaml:6: guardrails.budget.hosts: must be a whole number, 1 or more",
        "r0.yaml:6: guardrails.budget.per: is required",
        "r0.yaml:6: guardrails.circuit_breaker.failures: must be a whole number, 1 or more",
        "r0.yaml:10: throttle.group_by: column 1: must be one event field, "
        "e.g. host or labels.site",
        "r0.yaml:10: throttle.accumulate.within: is required",
        'r0.yaml:11: correlate.key: column 8: labels[...] takes a "string"',
        "r0.yaml:11: correlate.window: is required",
        "r0.yaml:12: verify.check: unknown field (allowed: runbook, vars, delay)",
        f"r0.yaml:12: verify.delay: 'soon' {NOT_A_DURATION}",
        "r0.yaml:16: throttle: give one of once_within, once_after, accumulate",
        "r0.yaml:16: throttle.group_by: must be a list of event fields, e.g. [host]",
    ]


def test_duplicate_names_across_files_and_yaml_errors(project, catalogue):
    rule = '- name: same\n  when: name == "X"\n  action: {runbook: labsvc-health}\n'
    assert problems(
        project,
        catalogue,
        rule,
        "# another file\n" + rule,
        "- name: [unclosed\n",
        "just a string\n",
        "rules: {name: x}\n",
        "other: 1\n",
    ) == [
        f"r1.yaml:2: name: rule 'same' is already defined at {project}/remediations/r0.yaml:1",
        "r2.yaml:2: yaml: expected ',' or ']', but got '<stream end>'",
        "r3.yaml:1: rules: a file holds a list of rules, or rules: [...]",
        "r4.yaml:1: rules: a file holds a list of rules, or rules: [...]",
        "r5.yaml:1: other: unknown field (allowed: rules)",
        "r5.yaml:1: rules: is required (a list of rules)",
    ]


def test_keys_given_twice(project, catalogue):
    assert problems(
        project,
        catalogue,
        '- name: a\n  when: name == "X"\n  when: name == "Y"\n  action: {runbook: labsvc-health}\n',
    ) == ["r0.yaml:3: when: appears twice"]


def test_load_rules_from_named_files(project, catalogue):
    path = write(project, FULL_RULE, "one.yaml")
    assert [rule.name for rule in load_rules([path], catalogue)] == ["restart-labsvc"]
