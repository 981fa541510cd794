"""Processes and commands the lab runs on the machine, and the tools it needs."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

from automator.errors import LabError

SSHD = "/usr/sbin/sshd"

# tool -> the Debian package that provides it
_HOST_TOOLS = {
    "ip": "iproute2",
    "unshare": "util-linux",
    "nsenter": "util-linux",
    "ssh-keygen": "openssh-client",
    SSHD: "openssh-server",
    "tini": "tini",
    # Run by the hosts' init script, on service's PATH rather than on ours.
    "/usr/sbin/start-stop-daemon": "dpkg",
    "/usr/bin/python3": "python3",
}
_SWITCH_MODULES = ("fake_switches", "twisted")


def check_prerequisites(*, hosts: bool, switches: bool) -> None:
    """Raise LabError naming what to install when the machine cannot run the lab."""
    if os.geteuid() != 0:
        raise LabError("the lab needs root (network namespaces, mounts): run it as root")
    tools = {"ip": "iproute2"} | (_HOST_TOOLS if hosts else {})
    missing = sorted({package for tool, package in tools.items() if shutil.which(tool) is None})
    if missing:
        raise LabError(f"the lab needs missing tools: apt-get install {' '.join(missing)}")
    if switches and not all(importlib.util.find_spec(m) for m in _SWITCH_MODULES):
        raise LabError(
            "the switches need fake-switches and twisted: pip install --no-deps"
            " fake-switches==1.5.0 && pip install 'automator[lab]'"
        )


def run(argv: list[str], *, stdin: str | None = None) -> str:
    """Run a command to completion; its stdout, or LabError with its stderr."""
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise LabError(
            f"`{shlex.join(argv)}` failed (exit {done.returncode}): {done.stderr.strip()}"
        )
    return done.stdout


def spawn_detached(argv: list[str], log: Path) -> int:
    """Start ``argv`` in a session of its own with output to ``log``; return its pid.

    A shell starts it and exits at once, so it is not our child: it outlives this process
    (``automator lab up`` returns while the lab runs) and init reaps it, never us.
    """
    script = '"$@" </dev/null >"$0" 2>&1 & echo $!'
    done = subprocess.run(
        ["sh", "-c", script, str(log), *argv],
        capture_output=True,
        text=True,
        check=True,
        start_new_session=True,
    )
    return int(done.stdout)


def is_alive(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie (zombies wait for init to reap them)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # The state follows the command name, which is in parentheses and may contain anything.
    return stat.rpartition(")")[2].split()[0] != "Z"


def cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return raw.decode(errors="replace").split("\0")[:-1]


def kill_and_wait(pids: Iterable[int], timeout: float = 5.0) -> None:
    """SIGKILL every pid, in order, and wait until they are all gone."""
    pids = [pid for pid in pids if pid != os.getpid()]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    wait_gone(pids, timeout)


def wait_gone(pids: list[int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while any(is_alive(pid) for pid in pids):
        if time.monotonic() > deadline:
            alive = [pid for pid in pids if is_alive(pid)]
            raise LabError(f"processes {alive} did not exit within {timeout:.0f} s")
        time.sleep(0.02)


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"({path} is missing)"
    return f"{path}:\n" + "\n".join(text.splitlines()[-lines:])
