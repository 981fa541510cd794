"""``automator rules list|test`` through click's runner, on a project in a temp folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from automator.cli._app import cli, console
from automator.rules import RuleError
from tests.conftest import SMALL_INVENTORY
from tests.unit.rules._support import make_project

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def invoke(tmp_path, monkeypatch):
    project = make_project(tmp_path / "project")
    shutil.copy(REPO / "remediations" / "labsvc.yaml", project / "remediations")
    inventory = tmp_path / "inventory"
    inventory.mkdir()
    for name, text in SMALL_INVENTORY.items():
        (inventory / name).write_text(text)
    monkeypatch.setattr(console, "width", 250)

    def run(*args: str, with_inventory: bool = True):
        settings = ["--project", str(project), "--home", str(tmp_path / "home")]
        settings += ["--inventory", str(inventory if with_inventory else tmp_path / "none")]
        return CliRunner().invoke(cli, [*args, *settings], catch_exceptions=True)

    run.project = project  # type: ignore[attr-defined]
    return run


def record(path: Path, *events: dict) -> Path:
    base = {
        "source": "alertmanager",
        "status": "firing",
        "name": "LabsvcDown",
        "severity": "critical",
        "labels": {
            "alertname": "LabsvcDown",
            "site": "dc1",
            "severity": "critical",
            "service": "labsvc",
        },
        "annotations": {},
    }
    path.write_text("".join(json.dumps({**base, **event}) + "\n" for event in events))
    return path


def test_rules_list(invoke):
    result = invoke("rules", "list")
    assert result.exit_code == 0, result.output
    assert "3 rules in" in result.output
    assert "restart-labsvc" in result.output and "remediations/labsvc.yaml:9" in result.output
    assert "restart-service (service=labels.service)" in result.output
    assert "once within 10m per host; correlate by labels.alertname, labels.site" in result.output
    assert "check-slow-labsvc" in result.output and "once after 2m per host" in result.output


def test_rules_test_replays_and_prints_every_decision(invoke, tmp_path):
    events = record(
        tmp_path / "recorded.jsonl",
        {"fingerprint": "a", "host": "web1", "starts_at": "2026-11-27T10:00:00Z"},
        {"fingerprint": "b", "host": "web2", "starts_at": "2026-11-27T10:00:01Z"},
        {"fingerprint": "a", "host": "web1", "starts_at": "2026-11-27T10:00:30Z"},
        {
            "fingerprint": "[red]x[/red]",
            "host": "[b]ghost[/b] $(rm -rf /)",
            "starts_at": "2026-11-27T10:01:00Z",
        },
        {
            "fingerprint": "s",
            "host": "web1",
            "name": "LabsvcSlow",
            "starts_at": "2026-11-27T10:01:00Z",
        },
        {
            "fingerprint": "z",
            "host": "web1",
            "name": "Unrelated",
            "starts_at": "2026-11-27T10:02:00Z",
        },
        {
            "fingerprint": "a",
            "status": "resolved",
            "host": "web1",
            "ends_at": "2026-11-27T10:03:00Z",
            "starts_at": "2026-11-27T10:00:00Z",
        },
        {
            "fingerprint": "b",
            "status": "resolved",
            "host": "web2",
            "ends_at": "2026-11-27T10:04:00Z",
            "starts_at": "2026-11-27T10:00:01Z",
        },
    )
    result = invoke(
        "rules",
        "test",
        str(invoke.project / "remediations" / "labsvc.yaml"),
        "--events",
        str(events),
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()

    def row(*parts: str) -> str:
        found = [line for line in lines if all(part in line for part in parts)]
        assert len(found) == 1, (parts, result.output)
        return found[0]

    assert "opens incident #1 (1 host, 1 firing)" in row("#1 LabsvcDown firing (a)", "run")
    assert "joins incident #1 (2 hosts, 2 firing)" in row("#2 LabsvcDown firing (b)", "run")
    assert "already firing" in row("#3", "duplicate")
    assert "one run of restart-service on 2 host(s) with service='labsvc'" in row(
        "batch", "web1, web2"
    )
    # Event data is printed as it came, never read as markup or run.
    assert "host '[b]ghost[/b] $(rm -rf /)' is not in the inventory" in row("#4", "no-host")
    assert "([red]x[/red])" in row("#4")
    assert "waiting" in row("#5 LabsvcSlow")
    assert "no rule matches" in row("#6 Unrelated")
    assert "incident #1: 2 hosts, 1 firing" in row("#7", "resolved")
    assert "incident #1 is resolved" in row("#8", "resolved")
    assert "shadow mode" in row("deadline", "suppressed-shadow")
    assert lines[-1] == (
        "8 events; decisions: duplicate 1, no-host 1, resolved 2, run 2, suppressed-shadow 1, "
        "waiting 1; coalesced runs: 1"
    )


def test_rules_test_without_an_inventory_and_on_a_folder(invoke, tmp_path):
    events = record(
        tmp_path / "r.jsonl",
        {"fingerprint": "a", "host": "anywhere", "starts_at": "2026-11-27T10:00:00Z"},
    )
    result = invoke(
        "rules",
        "test",
        str(invoke.project / "remediations"),
        "--events",
        str(events),
        with_inventory=False,
    )
    assert result.exit_code == 0, result.output
    assert "hosts not checked" in result.output
    assert "runs restart-service on anywhere" in result.output


def test_bad_rules_and_recordings_are_errors(invoke, tmp_path):
    bad = invoke.project / "remediations" / "bad.yaml"
    bad.write_text('- name: x\n  when: host = "a"\n  action: {runbook: labsvc-health}\n')
    events = record(
        tmp_path / "r.jsonl",
        {"fingerprint": "a", "host": "web1", "starts_at": "2026-11-27T10:00:00Z"},
    )
    result = invoke("rules", "test", str(bad), "--events", str(events))
    assert isinstance(result.exception, RuleError)
    assert [str(p) for p in result.exception.problems] == [
        f"{bad}:2: when: column 6: use == to compare"
    ]
    listed = invoke("rules", "list")
    assert isinstance(listed.exception, RuleError)
    (tmp_path / "broken.jsonl").write_text("{}\n")
    bad.unlink()
    broken = invoke(
        "rules",
        "test",
        str(invoke.project / "remediations"),
        "--events",
        str(tmp_path / "broken.jsonl"),
    )
    assert "source: is required" in str(broken.exception)


def test_rules_reset_closes_a_circuit_breaker(invoke, tmp_path):
    from automator.store import BreakerReset, Store

    result = invoke("rules", "reset", "restart-labsvc", "--reason", "disk replaced")
    assert result.exit_code == 0, result.output
    assert "circuit breaker of rule restart-labsvc closed" in result.output
    store = Store.open(f"sqlite:///{tmp_path / 'home' / 'automator.db'}")
    with store.session() as session:
        [reset] = session.query(BreakerReset).all()
        assert (reset.rule, reset.reason) == ("restart-labsvc", "disk replaced")
    unknown = invoke("rules", "reset", "no-such-rule", "--reason", "x")
    assert unknown.exit_code != 0
    assert "no rule named 'no-such-rule'" in str(unknown.exception)
