"""``automator serve`` as an operator runs it: one command, the engine in a child process.
An alert posted to the hook is committed, then decided by the child; SIGTERM stops both
cleanly; a child that dies stops serve with a message saying so."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

TOKEN = "serve-token"
RULES = """\
rules:
  - name: disk
    when: name == "DiskFull"
    action: {runbook: uptime}
    shadow: true
"""
RUNBOOK = """\
description: One command
task: commands
commands:
  server: [uptime]
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], object], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def engine_of(pid: int) -> int:
    """The engine's process among serve's children (multiprocessing adds a resource
    tracker beside it)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        for child in (task / "children").read_text().split():
            command = Path(f"/proc/{child}/cmdline").read_bytes()
            if b"spawn_main" in command:
                found.append(int(child))
    (engine,) = found
    return engine


class Serve:
    def __init__(self, root: Path) -> None:
        (root / "inventory").mkdir()
        (root / "inventory/hosts.yaml").write_text(
            "web1:\n  hostname: 127.0.0.1\n  port: 1\n  groups: [servers]\n"
        )
        (root / "inventory/groups.yaml").write_text("servers:\n  platform: linux\n")
        for name, text in {
            "remediations/disk.yaml": RULES,
            "runbooks/uptime.yaml": RUNBOOK,
        }.items():
            (root / "project" / name).parent.mkdir(parents=True, exist_ok=True)
            (root / "project" / name).write_text(text)
        self.home = root / "home"
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOMATOR_")}
        env.update(AUTOMATOR_HOOK_TOKEN_ALERTMANAGER=TOKEN, COLUMNS="200", NO_COLOR="1")
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "automator.cli", "--home", str(self.home)),
                *("--project", str(root / "project"), "--inventory", str(root / "inventory")),
                *("serve", "--port", str(self.port)),
            ],
            env=env,
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # a process group of its own, as a terminal gives it
        )
        wait_for(lambda: listening(self.port) or self.process.poll() is not None)
        assert self.process.poll() is None, self.process.communicate()

    def post(self, name: str, fingerprint: str) -> int:
        body = {
            "version": "4",
            "status": "firing",
            "alerts": [
                {
                    "status": "firing",
                    "labels": {"alertname": name, "host": "web1"},
                    "startsAt": "2026-11-27T06:00:00Z",
                    "fingerprint": fingerprint,
                }
            ],
        }
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/hooks/alertmanager",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)

    def decision(self, fingerprint: str) -> dict[str, object] | None:
        with sqlite3.connect(f"file:{self.home / 'automator.db'}?mode=ro", uri=True) as db:
            row = db.execute(
                "SELECT decision FROM events WHERE fingerprint = ? AND decided_at IS NOT NULL",
                (fingerprint,),
            ).fetchone()
        return json.loads(row[0]) if row else None

    def stop(self, timeout: float = 60) -> tuple[int, str]:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        _out, err = self.process.communicate(timeout=timeout)
        return self.process.returncode, err


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    running = Serve(tmp_path)
    yield running
    if running.process.poll() is None:
        running.process.kill()
        running.process.communicate()


def test_the_engine_decides_in_its_own_process_and_stops_with_serve(serve: Serve) -> None:
    engine = engine_of(serve.process.pid)
    assert serve.post("DiskFull", "fp1") == 202
    wait_for(lambda: serve.decision("fp1"))
    decision = serve.decision("fp1")
    assert decision is not None
    assert [d["outcome"] for d in decision["decisions"]] == ["suppressed-shadow"]  # type: ignore[union-attr]
    code, err = serve.stop()
    assert code == 0, err
    assert not Path(f"/proc/{engine}").exists()


def test_ctrl_c_stops_serve_and_its_engine(serve: Serve) -> None:
    engine = engine_of(serve.process.pid)
    assert serve.post("DiskFull", "fp2") == 202
    os.killpg(serve.process.pid, signal.SIGINT)  # Ctrl-C: the whole process group
    serve.process.wait(timeout=60)
    _code, err = serve.stop()
    assert "Traceback" not in err
    assert not Path(f"/proc/{engine}").exists()


def test_a_dead_engine_stops_serve_and_says_so(serve: Serve) -> None:
    engine = engine_of(serve.process.pid)
    os.kill(engine, signal.SIGKILL)
    serve.process.wait(timeout=60)  # on its own: nobody stops it
    code, err = serve.stop()
    assert code == 1
    assert "the remediation engine" in err
    assert "killed by SIGKILL" in err
