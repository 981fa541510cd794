"""Playbooks through ansible-runner on real sshd hosts: outcomes kept apart end to end."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml
from rich.console import Console

import automator.runners
from automator.cli._render import ticket_view
from automator.guardrails import GuardrailPolicy, WindowAction
from automator.jobs import RunStatus, resolve, start_held
from automator.runners import HeldRun, Outcome
from automator.tickets import TicketService

from .helpers import FAST, pipeline_for, servers, spec, ssh, stopped


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


# -- held starts: ansible-playbook starts before the pipeline admits the job ---------------


def _at_its_gate(held: HeldRun) -> None:
    """Wait until ansible-playbook has loaded the playbook and waits before its first play."""
    events = held.folder / "ansible" / "job_events"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(
            "playbook_on_start" in p.name or "playbook_on_start" in p.read_text()
            for p in events.glob("*.json")
        ):
            return
        time.sleep(0.05)
    pytest.fail("ansible-playbook never reached its gate")


def test_a_held_playbook_touches_no_host_until_it_proceeds(lab, tmp_path):
    pipeline = pipeline_for(lab.inventory_dir, tmp_path)
    host = servers(pipeline.inventory)[2]
    message = f"held-{uuid.uuid4().hex}"
    job_spec = spec("greet", limit=host.name, params={"message": message}, timeouts=FAST)
    held = start_held(
        resolve(job_spec, pipeline.catalogue, pipeline.inventory),
        pipeline.inventory,
        pipeline.artifacts_dir,
    )
    assert held is not None and held.hosts == (host.name,)
    _at_its_gate(held)
    time.sleep(0.5)
    assert message not in ssh(host, "cat /srv/message")[1]

    summary = pipeline.submit(job_spec, held=held).result()

    assert summary.results[host.name].outcome is Outcome.CHANGED
    assert ssh(host, "cat /srv/message")[1] == message + "\n"
    # its files went from the folder it started in to the run's, under the ticket
    assert not held.folder.exists()
    artifacts = Path(summary.artifacts_dir or "")
    assert artifacts.parent.parent.name == str(summary.ticket_id)
    assert (artifacts / "status").read_text() == "successful"
    assert not (artifacts.parent / "runner" / "gate").exists()  # the FIFO does not stay
    # and the run's record (what `tickets show` prints) names where they are now
    (run,) = TicketService(pipeline.store).get(summary.ticket_id).runs
    assert run.artifacts_dir == str(artifacts.parent)


def test_a_held_playbook_the_gate_refuses_never_starts(lab, tmp_path):
    pipeline = pipeline_for(lab.inventory_dir, tmp_path)
    host = servers(pipeline.inventory)[2]
    message = f"refused-{uuid.uuid4().hex}"
    job_spec = spec("greet", limit=host.name, params={"message": message}, timeouts=FAST)
    job = resolve(job_spec, pipeline.catalogue, pipeline.inventory)
    held = start_held(job, pipeline.inventory, pipeline.artifacts_dir)
    assert held is not None
    _at_its_gate(held)
    held.abandon()
    held.abandon()  # a second time: nothing more
    assert not held.folder.exists()
    with pytest.raises(RuntimeError, match="abandoned"):
        held.proceed(job.context(tmp_path / "elsewhere", "x"))
    time.sleep(0.5)
    assert message not in ssh(host, "cat /srv/message")[1]


def test_a_held_playbook_for_more_hosts_than_admitted_gives_way(lab, tmp_path):
    """A host in a freeze window is skipped: the run started for both is abandoned and the
    admitted host runs on its own."""
    inventory = tmp_path / "inventory"
    shutil.copytree(lab.inventory_dir, inventory)
    hosts = yaml.safe_load((inventory / "hosts.yaml").read_text())
    frozen, free = sorted(h for h, v in hosts.items() if v["platform"] == "linux")[3:5]
    hosts[frozen]["data"]["freeze"] = [
        {
            "name": "audit",
            "starts": "2020-01-01T00:00:00+00:00",
            "ends": "2099-01-01T00:00:00+00:00",
        }
    ]
    (inventory / "hosts.yaml").write_text(yaml.safe_dump(hosts))
    pipeline = pipeline_for(inventory, tmp_path)
    message = f"partial-{uuid.uuid4().hex}"
    job_spec = spec(
        "greet",
        limit=f"{frozen},{free}",
        params={"message": message},
        timeouts=FAST,
        policy=GuardrailPolicy(window=WindowAction.SKIP),
    )
    held = start_held(
        resolve(job_spec, pipeline.catalogue, pipeline.inventory),
        pipeline.inventory,
        pipeline.artifacts_dir,
    )
    assert held is not None and set(held.hosts) == {frozen, free}

    summary = pipeline.submit(job_spec, held=held).result()

    assert {name: r.outcome for name, r in summary.results.items()} == {
        frozen: Outcome.SKIPPED,
        free: Outcome.CHANGED,
    }
    assert not held.folder.exists()
    assert (Path(summary.artifacts_dir or "") / "status").read_text() == "successful"
    assert message not in ssh(pipeline.inventory.get(frozen), "cat /srv/message")[1]


@pytest.mark.parametrize("word", [None, b"stop\n", b"go\n"])
def test_the_gate_plugin_lets_through_only_go(tmp_path, word):
    """ansible-playbook itself, with the gate plugin and nobody, ``stop`` or ``go`` on the
    FIFO: nobody is what it finds when automator died before it reached the gate."""
    marker = tmp_path / "touched"
    playbook = tmp_path / "touch.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "hosts": "localhost",
                    "gather_facts": False,
                    "tasks": [{"ansible.builtin.file": {"path": str(marker), "state": "touch"}}],
                }
            ]
        )
    )
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    writer = None
    if word is not None:
        writer = os.open(gate, os.O_RDWR)
        os.write(writer, word)
    env = dict(
        os.environ,
        ANSIBLE_CALLBACK_PLUGINS=str(Path(automator.runners.__file__).parent / "ansible_callbacks"),
        AUTOMATOR_GATE=str(gate),
        ANSIBLE_LOCALHOST_WARNING="False",
    )
    try:
        done = subprocess.run(
            [
                Path(sys.executable).parent / "ansible-playbook",
                "-i",
                "localhost,",
                "-c",
                "local",
                "-e",
                f"ansible_python_interpreter={sys.executable}",
                str(playbook),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        if writer is not None:
            os.close(writer)
    if word == b"go\n":
        assert done.returncode == 0, done.stdout + done.stderr
        assert marker.exists()
    else:
        assert done.returncode == 3, done.stdout + done.stderr
        assert "the run was not admitted; no host was touched" in done.stdout
        assert not marker.exists()
