"""Playbooks through ansible-runner on real sshd hosts: outcomes kept apart end to end."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

from rich.console import Console

from automator.cli._render import ticket_view
from automator.jobs import RunStatus
from automator.runners import Outcome
from automator.tickets import TicketService

from .helpers import FAST, pipeline_for, servers, spec, stopped


def test_one_host_stopped_and_one_failing_task(lab, tmp_path):
    pipeline = pipeline_for(lab.inventory_dir, tmp_path)
    names = [h.name for h in servers(pipeline.inventory)][:5]
    with stopped(lab, names[3]):
        summary = pipeline.run(spec("fail-on-three", limit=",".join(names), timeouts=FAST))

    outcomes = {name: r.outcome for name, r in summary.results.items()}
    assert outcomes == {
        names[0]: Outcome.OK,
        names[1]: Outcome.OK,
        names[2]: Outcome.FAILED,
        names[3]: Outcome.UNREACHABLE,
        names[4]: Outcome.OK,
    }
    assert summary.status is RunStatus.PARTIAL
    assert "Fails on host 3" in (summary.results[names[2]].error or "")
    assert summary.results[names[3]].error  # says why it is unreachable
    # artifacts are filed under the ticket, as ansible-runner lays them out
    artifacts = Path(summary.artifacts_dir or "")
    assert artifacts.parent.parent.name == str(summary.ticket_id)
    assert (artifacts / "rc").read_text() == "4"  # ansible-playbook's code for "unreachable"
    assert (artifacts / "status").read_text() == "failed"
    assert list((artifacts / "job_events").glob("*.json"))


def test_every_outcome_in_one_run_shows_on_the_ticket(lab, tmp_path):
    pipeline = pipeline_for(lab.inventory_dir, tmp_path)
    names = [h.name for h in servers(pipeline.inventory)][:6]
    with stopped(lab, names[5]):
        summary = pipeline.run(spec("outcomes", limit=",".join(names), timeouts=FAST))

    ticket = TicketService(pipeline.store).get(summary.ticket_id)
    rows = {row.host: row for row in ticket.runs[0].host_results}
    assert {host: row.outcome for host, row in rows.items()} == {
        names[0]: "ok",
        names[1]: "changed",
        names[2]: "failed",
        names[3]: "ok",
        names[4]: "ok",
        names[5]: "unreachable",
    }
    assert rows[names[3]].data["stats"]["ignored"] == 1
    assert rows[names[4]].data["stats"]["rescued"] == 1
    assert not rows[names[0]].data["stats"].get("ignored")
    assert summary.results[names[3]].notes == ["1 ignored"]
    assert summary.results[names[4]].notes == ["1 rescued"]
    # and what an operator reads on the ticket
    console = Console(width=200, record=True, color_system=None)
    console.print(ticket_view(ticket))
    shown = console.export_text()
    for host, outcome, note in [
        (names[0], "ok", "ok=1"),
        (names[1], "changed", "ok=2 changed=1"),
        (names[2], "failed", "Fail: non-zero return code"),
        (names[3], "ok", "1 ignored"),
        (names[4], "ok", "1 rescued"),
        (names[5], "unreachable", "Look around: Failed to connect to the host via ssh"),
    ]:
        assert re.search(rf"{host}\W+{outcome}\W+[\d.]+s\W+{note}", shown), shown
    last = ticket.entries[-2]
    assert last.data["counts"] == {
        "ok": 3,
        "changed": 1,
        "failed": 1,
        "unreachable": 1,
        "skipped": 0,
    }


def test_check_mode_changes_nothing(lab, tmp_path):
    pipeline = pipeline_for(lab.inventory_dir, tmp_path)
    name = servers(pipeline.inventory)[1].name
    summary = pipeline.run(
        spec("greet", limit=name, params={"message": "hello"}, check_mode=True, timeouts=FAST)
    )
    assert summary.results[name].outcome is Outcome.CHANGED  # would change
    result = pipeline.run(spec("facts", limit=name, timeouts=FAST))
    assert result.results[name].outcome is Outcome.OK


def test_parameters_reach_the_playbook_as_data_not_code(lab, tmp_path):
    pipeline = pipeline_for(lab.inventory_dir, tmp_path)
    name = servers(pipeline.inventory)[0].name
    hostile = '$(touch /tmp/automator-pwned); `id`; {{ 7*7 }} "quoted"'
    summary = pipeline.run(spec("greet", limit=name, params={"message": hostile}, timeouts=FAST))
    assert summary.results[name].outcome is Outcome.CHANGED
    shown = pipeline.run(spec("read-message", limit=name, timeouts=FAST))
    written = shown.results[name].data["commands"][0]["output"]
    assert written == hostile + "\n"  # not run by a shell, not rendered by Jinja2
    assert not Path("/tmp/automator-pwned").exists()
    events = list((Path(summary.artifacts_dir or "") / "job_events").glob("*.json"))
    assert any(json.loads(p.read_text()).get("event") == "playbook_on_stats" for p in events)


def test_secrets_in_the_environment_never_reach_the_artifacts(lab, tmp_path, monkeypatch):
    secret = f"s3cret-{uuid.uuid4().hex}"
    monkeypatch.setenv("SWITCH_PASSWORD", secret)  # as a password_env credential would be
    monkeypatch.setenv("INNOCENT_LOOKING", secret)
    pipeline = pipeline_for(lab.inventory_dir, tmp_path)
    name = servers(pipeline.inventory)[0].name
    summary = pipeline.run(spec("fail-on-three", limit=name, timeouts=FAST))
    assert summary.results[name].outcome is Outcome.OK
    artifacts = Path(summary.artifacts_dir or "").parent
    files = [p for p in artifacts.rglob("*") if p.is_file()]
    assert any(p.name == "command" for p in files)
    for path in files:
        assert secret not in path.read_text(errors="replace"), path
    command = json.loads((artifacts / "ansible" / "command").read_text())
    assert command["env"]["SWITCH_PASSWORD"] == "<redacted>"
    assert command["env"]["PATH"]  # harmless values stay readable
