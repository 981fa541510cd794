"""Shared pieces of the integration tests: a pipeline on the session lab."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from automator.inventory import Host, Inventory, load_inventory
from automator.jobs import JobKind, JobSpec, Pipeline
from automator.runbooks import Catalogue
from automator.runners import Timeouts
from automator.store import Store

PROJECT = Path(__file__).parent / "project"


def pipeline_for(inventory_dir: Path, home: Path) -> Pipeline:
    return Pipeline(
        store=Store.open(f"sqlite:///{home / 'automator.db'}"),
        inventory=load_inventory(inventory_dir),
        catalogue=Catalogue(PROJECT / "runbooks", PROJECT / "playbooks"),
        artifacts_dir=home / "artifacts",
    )


def spec(action: str, limit: str | None = None, **kwargs: object) -> JobSpec:
    return JobSpec(kind=JobKind.RUNBOOK, action=action, requester="pytest", limit=limit, **kwargs)  # type: ignore[arg-type]


def servers(inventory: Inventory) -> list[Host]:
    return [h for h in inventory.hosts.values() if h.kind == "server"]


def switches(inventory: Inventory) -> list[Host]:
    """The fake-switches devices (the recorded-output simulators are ``lab_sims``)."""
    return [h for h in inventory.hosts.values() if "lab_switches" in h.groups]


@contextlib.contextmanager
def stopped(lab: object, host: str) -> Iterator[None]:
    lab.stop_host(host)  # type: ignore[attr-defined]
    try:
        yield
    finally:
        lab.start_host(host)  # type: ignore[attr-defined]


FAST = Timeouts(connect=5, command=20, job=300)


def ssh(host: Host, command: str) -> tuple[int, str]:
    """Run a command on a lab server over real SSH (test setup and checks)."""
    import paramiko

    credentials = host.credentials
    client = paramiko.SSHClient()
    client.load_host_keys(str(credentials.known_hosts_file))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(
        host.hostname,
        username=credentials.username,
        key_filename=str(credentials.key_file),
        timeout=5,
        allow_agent=False,
        look_for_keys=False,
    )
    try:
        _, stdout, stderr = client.exec_command(command, timeout=20)
        rc = stdout.channel.recv_exit_status()
        return rc, stdout.read().decode() + stderr.read().decode()
    finally:
        client.close()


def automator_cli(
    home: Path, inventory: Path, project: Path = PROJECT
) -> Callable[..., subprocess.CompletedProcess[str]]:
    """The ``automator`` command as an operator runs it: a process of its own, settings from
    the environment, wide plain output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOMATOR_")}
    env.update(
        AUTOMATOR_HOME=str(home),
        AUTOMATOR_INVENTORY=str(inventory),
        AUTOMATOR_PROJECT=str(project),
        COLUMNS="200",
        NO_COLOR="1",
    )

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "automator.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    return run
