"""Overhead of ``automator run`` over plain ``ansible-playbook``: one short playbook on 20 lab
hosts, same forks, same generated inventory, runs interleaved, medians compared.

    sudo .venv/bin/python benchmarks/runbook.py [--hosts 20] [--rounds 5] [--forks 10]

Brings up its own lab (prefix ``bench``, 10.126.0.0/24) and takes it down at the end.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from automator.inventory import export_ansible, load_inventory
from automator.lab import Lab, LabSpec, enter_netns

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--forks", type=int, default=10)
    parser.add_argument("--playbook", default="ping")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="automator-bench-"))
    lab = Lab(
        LabSpec(
            state_dir=work / "lab",
            prefix="bench",
            subnet="10.126.0",
            switch_base_port=23001,
            hosts=args.hosts,
            switches=0,
        )
    )
    lab.up()
    try:
        enter_netns(lab.controller_netns)  # before any thread; subprocesses inherit it
        inventory_file = work / "ansible-inventory.yaml"
        inventory_file.write_text(yaml.safe_dump(export_ansible(load_inventory(lab.inventory_dir))))
        env = dict(
            os.environ,
            ANSIBLE_HOST_KEY_CHECKING="True",
            ANSIBLE_RETRY_FILES_ENABLED="False",
            ANSIBLE_NOCOLOR="1",
            PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}",
        )
        automator = [
            str(BIN / "automator"),
            "--inventory",
            str(lab.inventory_dir),
            "--home",
            str(work / "home"),
            "--project",
            str(ROOT),
            "run",
            args.playbook,
            "--limit",
            "kind=server",
            "--forks",
            str(args.forks),
        ]
        plain = [
            str(BIN / "ansible-playbook"),
            "-i",
            str(inventory_file),
            str(ROOT / "playbooks" / f"{args.playbook}.yml"),
            "--forks",
            str(args.forks),
        ]
        # automator's runner gives every run its own SSH ControlPath folder: a master
        # connection is shared by the run's tasks, never kept for the next run (it would
        # reach a host whose sshd has since stopped and call it ok, or hang on one that has
        # gone). ansible-playbook gets the same, a new folder per run; the third contender is
        # ansible-playbook keeping its masters in ~/.ansible/cp for 60 s between runs, as it
        # does by default when run again within a minute: shown, not the comparison.
        timings: dict[str, list[tuple[float, float]]] = {
            "automator run": [],
            "ansible-playbook": [],
            "ansible-playbook, masters kept": [],
        }
        kept = dict(env, ANSIBLE_SSH_CONTROL_PATH_DIR=str(work / "cp-kept"))
        # warm caches (bytecode, the page cache) and automator's store before measuring
        timed(plain, fresh_masters(env, work))
        timed(automator, env)
        timed(plain, kept)
        for _ in range(args.rounds):
            timings["ansible-playbook"].append(timed(plain, fresh_masters(env, work)))
            timings["automator run"].append(timed(automator, env))
            timings["ansible-playbook, masters kept"].append(timed(plain, kept))
        report(timings, args)
    finally:
        lab.down()


def fresh_masters(env: dict[str, str], work: Path) -> dict[str, str]:
    """``env`` with a new, empty SSH ControlPath folder: no master connection to reuse."""
    return dict(env, ANSIBLE_SSH_CONTROL_PATH_DIR=tempfile.mkdtemp(prefix="cp-", dir=work))


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system of the command and its descendants: the
    ssh clients and Ansible's forks, not the hosts' sshd)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        sys.exit(f"{command[0]} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return elapsed, cpu


def report(timings: dict[str, list[tuple[float, float]]], args: argparse.Namespace) -> None:
    walls = {name: [wall for wall, _ in values] for name, values in timings.items()}
    cpus = {name: [cpu for _, cpu in values] for name, values in timings.items()}
    medians = {name: statistics.median(values) for name, values in walls.items()}
    print(
        f"playbook {args.playbook}.yml on {args.hosts} hosts, forks {args.forks}, "
        f"{args.rounds} interleaved rounds, {os.cpu_count()} cores"
    )
    print(f"{'tool':<32} {'median s':>9} {'min s':>7} {'max s':>7} {'CPU s':>7}")
    for name, values in walls.items():
        print(
            f"{name:<32} {medians[name]:>9.2f} {min(values):>7.2f} {max(values):>7.2f} "
            f"{statistics.median(cpus[name]):>7.2f}"
        )
    overhead = medians["automator run"] / medians["ansible-playbook"] - 1
    print(f"automator overhead: {overhead:+.1%} (goal: under +10%)")
    pairs = [
        auto / plain - 1
        for auto, plain in zip(walls["automator run"], walls["ansible-playbook"], strict=True)
    ]
    print(
        "round by round: "
        + ", ".join(f"{p:+.1%}" for p in pairs)
        + f" (median {statistics.median(pairs):+.1%})"
    )
    kept = medians["automator run"] / medians["ansible-playbook, masters kept"] - 1
    print(f"against ansible-playbook reusing the previous run's SSH masters: {kept:+.1%}")


if __name__ == "__main__":
    main()
