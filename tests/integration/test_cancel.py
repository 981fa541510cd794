"""Cancelling a run: hosts not finished fail as cancelled, the run and ticket say so."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from automator.jobs import RunStatus
from automator.runners import Outcome
from automator.tickets import TicketService

from .helpers import FAST, PROJECT, pipeline_for, servers, spec


@pytest.mark.parametrize("action", ["slow", "slow-play"])
def test_cancel_stops_nornir_and_ansible_runs(lab, tmp_path, action):
    pipeline = pipeline_for(lab.inventory_dir, tmp_path)
    names = [h.name for h in servers(pipeline.inventory)][:2]
    cancel = threading.Event()
    started = time.monotonic()
    future = pipeline.submit(spec(action, limit=",".join(names), timeouts=FAST), None, cancel)
    time.sleep(2)
    cancel.set()
    summary = future.result(timeout=30)
    assert time.monotonic() - started < 15
    assert summary.status is RunStatus.CANCELLED
    for name in names:
        assert summary.results[name].outcome is Outcome.FAILED
        assert summary.results[name].error == "cancelled before this host finished"
    entries = TicketService(pipeline.store).get(summary.ticket_id).entries
    assert any(e.message.startswith(f"run #{summary.run_id} cancelled") for e in entries)


def test_ctrl_c_cancels_the_run_and_exits_130(lab, tmp_path):
    env = dict(
        os.environ,
        AUTOMATOR_HOME=str(tmp_path),
        AUTOMATOR_INVENTORY=str(lab.inventory_dir),
        AUTOMATOR_PROJECT=str(PROJECT),
        COLUMNS="200",
    )
    name = servers(pipeline_for(lab.inventory_dir, tmp_path).inventory)[0].name
    process = subprocess.Popen(
        [sys.executable, "-m", "automator.cli", "run", "slow", "--limit", name],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(3)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stdout + stderr
    assert "cancelled" in stdout
    assert "cancelled before this host finished" in stdout
    assert "Traceback" not in stderr
