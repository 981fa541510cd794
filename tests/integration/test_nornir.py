"""Nornir tasks on real gear: paramiko to sshd hosts, netmiko to simulated Cisco switches."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time

import yaml

from automator.jobs import RunStatus
from automator.runners import Outcome, Timeouts

from .helpers import FAST, pipeline_for, servers, spec, stopped, switches


def test_config_change_on_five_switches_confirmed_by_a_later_show(lab, tmp_path):
    pipeline = pipeline_for(lab.inventory_dir, tmp_path)
    names = [h.name for h in switches(pipeline.inventory)][:5]
    assert len(names) == 5

    before = pipeline.run(spec("show-uplink", limit=",".join(names), timeouts=FAST))
    changed = pipeline.run(spec("uplink", limit=",".join(names), timeouts=FAST))
    after = pipeline.run(spec("show-uplink", limit=",".join(names), timeouts=FAST))

    assert changed.status is RunStatus.SUCCEEDED, changed.results
    for name in names:
        assert changed.results[name].outcome is Outcome.CHANGED
        assert changed.results[name].data["verify"][0]["passed"] is True
        shown = after.results[name].data["commands"][0]["output"]
        assert "description uplink-to-core" in shown
        assert after.results[name].outcome is Outcome.OK
    assert before.status is RunStatus.SUCCEEDED


def test_commands_on_servers_and_switches_in_one_job(lab, tmp_path):
    pipeline = pipeline_for(lab.inventory_dir, tmp_path)
    summary = pipeline.run(spec("facts", timeouts=FAST))
    assert summary.status is RunStatus.SUCCEEDED, summary.results
    for host in servers(pipeline.inventory):
        outputs = summary.results[host.name].data["commands"]
        assert outputs[0]["output"].strip() == host.name  # the host's own UTS namespace
        assert outputs[1]["output"].strip() == "root"
    for host in switches(pipeline.inventory):
        assert "Cisco IOS Software" in summary.results[host.name].data["commands"][0]["output"]


def test_unreachable_host_is_not_failed_and_others_go_on(lab, tmp_path):
    pipeline = pipeline_for(lab.inventory_dir, tmp_path)
    names = [h.name for h in servers(pipeline.inventory)][:3]
    with stopped(lab, names[1]):
        summary = pipeline.run(spec("facts", limit=",".join(names), timeouts=FAST))
    assert summary.results[names[1]].outcome is Outcome.UNREACHABLE
    assert "refused" in (summary.results[names[1]].error or "")
    assert summary.results[names[0]].outcome is Outcome.OK
    assert summary.results[names[2]].outcome is Outcome.OK


def test_a_command_that_stops_answering_times_out_per_host(lab, tmp_path):
    pipeline = pipeline_for(lab.inventory_dir, tmp_path)
    name = servers(pipeline.inventory)[0].name
    summary = pipeline.run(
        spec("slow", limit=name, timeouts=Timeouts(connect=5, command=1, job=60))
    )
    result = summary.results[name]
    assert result.outcome is Outcome.FAILED
    assert result.error == "no answer to 'echo started; sleep 30' within 1 s"


def test_whole_job_time_limit(lab, tmp_path):
    pipeline = pipeline_for(lab.inventory_dir, tmp_path)
    names = [h.name for h in servers(pipeline.inventory)][:2]
    summary = pipeline.run(
        spec("slow", limit=",".join(names), timeouts=Timeouts(connect=5, command=30, job=2))
    )
    assert summary.status is RunStatus.TIMED_OUT
    for name in names:
        assert summary.results[name].outcome is Outcome.FAILED
        assert summary.results[name].error == (
            "job time limit of 2 s reached before this host finished"
        )


def test_authentication_failure_and_bad_credentials(lab, tmp_path):
    inventory_dir = tmp_path / "inventory"
    shutil.copytree(lab.inventory_dir, inventory_dir)
    groups_file = inventory_dir / "groups.yaml"
    groups = yaml.safe_load(groups_file.read_text())
    # a key the hosts do not trust, and a switch password file that does not exist
    other_key = tmp_path / "other_key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other_key)], check=True
    )
    for group in groups.values():
        creds = group.setdefault("data", {}).setdefault("credentials", {})
        if "key_file" in creds:
            creds["key_file"] = str(other_key)
        if "password_file" in creds:
            creds["password_file"] = str(tmp_path / "missing.password")
    groups_file.write_text(yaml.safe_dump(groups))
    pipeline = pipeline_for(inventory_dir, tmp_path)
    server = servers(pipeline.inventory)[0].name
    switch = switches(pipeline.inventory)[0].name
    summary = pipeline.run(spec("facts", limit=f"{server},{switch}", timeouts=FAST))
    assert summary.results[server].outcome is Outcome.FAILED
    assert summary.results[server].error == "authentication failed"
    assert summary.results[switch].outcome is Outcome.FAILED
    assert "missing.password" in (summary.results[switch].error or "")


def test_a_frozen_switch_is_unreachable_and_the_job_ends(lab, tmp_path):
    """A device that accepts TCP but never answers (its process frozen) must not hang the
    job: the connect timeout makes it unreachable, with the reason."""
    pipeline = pipeline_for(lab.inventory_dir, tmp_path)
    name = switches(pipeline.inventory)[0].name
    farm = int((lab.inventory_dir.parent / "switchfarm.pid").read_text())
    os.kill(farm, signal.SIGSTOP)
    try:
        started = time.monotonic()
        summary = pipeline.run(
            spec("facts", limit=name, timeouts=Timeouts(connect=2, command=5, job=60))
        )
        elapsed = time.monotonic() - started
    finally:
        os.kill(farm, signal.SIGCONT)
    result = summary.results[name]
    assert result.outcome is Outcome.UNREACHABLE, result
    assert result.error == "the device accepted the connection but did not answer SSH in time"
    assert elapsed < 20
    again = pipeline.run(spec("facts", limit=name, timeouts=FAST))
    assert again.results[name].outcome is Outcome.OK
