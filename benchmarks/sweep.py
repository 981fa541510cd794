"""The standard health checks across simulated switches and sshd hosts, side by side with
(a) the same Linux checks as one playbook run by ``ansible-playbook`` with equal forks and
(b) a bare loop that only fetches the same outputs with paramiko/netmiko in a thread pool.

    sudo .venv/bin/python benchmarks/sweep.py [--sims 200] [--hosts 40] [--rounds 3] [--forks 50]

Brings up its own lab (prefix ``bsweep``, 10.127.0.0/24) and takes it down at the end. Each
contender runs in a child process of its own, so its peak memory (ru_maxrss) is its own.
automator's sweep is the whole job: collection, parsing, judging, time series, check states,
ticket entries and events in SQLite, through the pipeline. A warm-up sweep first opens the
tickets a lab host keeps (checks such as chrony that it cannot pass), so that the timed
rounds are steady-state nights.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HERE = Path(__file__).resolve()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=200)
    parser.add_argument("--hosts", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--forks", type=int, default=50)
    parser.add_argument("--ansible-rounds", type=int, default=1)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    from automator.lab import Lab, LabSpec, enter_netns

    work = Path(tempfile.mkdtemp(prefix="automator-sweep-"))
    lab = Lab(
        LabSpec(
            state_dir=work / "lab",
            prefix="bsweep",
            subnet="10.127.0",
            hosts=args.hosts,
            switches=0,
            sims=args.sims,
        )
    )
    started = time.perf_counter()
    lab.up()
    print(
        f"lab up: {args.hosts} sshd hosts, {args.sims} simulated switches in "
        f"{time.perf_counter() - started:.1f} s; {os.cpu_count()} cores"
    )
    try:
        enter_netns(lab.controller_netns)  # before any thread; children inherit it
        inventory_dir = lab.inventory_dir
        write_playbook(work, inventory_dir)
        common = ["--work", str(work), "--forks", str(args.forks)]
        run_child(["automator", *common])  # warm-up: opens the lab's standing tickets
        results: dict[str, list[dict[str, Any]]] = {}
        for _ in range(args.rounds):
            for name in ("automator", "floor", "automator-linux", "floor-linux"):
                results.setdefault(name, []).append(run_child([name, *common]))
        for _ in range(args.ansible_rounds):
            results.setdefault("ansible-linux", []).append(run_child(["ansible-linux", *common]))
        report(results, args)
    finally:
        lab.down()


def run_child(argv: list[str]) -> dict[str, Any]:
    command = [sys.executable, str(HERE), "--child", *argv]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(
            f"{argv[0]} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- the contenders, each in its own process ---------------------------------------------------


def child(args: argparse.Namespace) -> None:
    from automator.checks import load_checks
    from automator.inventory import load_inventory

    work: Path = args.work
    inventory = load_inventory(work / "lab" / "inventory")
    catalogue = load_checks(ROOT / "checks")
    linux_only = args.child.endswith("-linux")
    hosts = [h for h in inventory.hosts.values() if not linux_only or h.kind == "server"]
    started = time.perf_counter()
    if args.child.startswith("automator"):
        detail = automator_sweep(
            work, inventory, catalogue, "kind=server" if linux_only else None, args.forks
        )
    elif args.child.startswith("floor"):
        detail = floor(inventory, catalogue, hosts, args.forks)
    else:
        detail = ansible(work, args.forks)
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if args.child.startswith("ansible"):
        peak_mb = max(peak_mb, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    print(json.dumps({"seconds": elapsed, "hosts": len(hosts), "peak_mb": peak_mb, **detail}))


def automator_sweep(
    work: Path, inventory: Any, catalogue: Any, limit: str | None, forks: int
) -> dict[str, Any]:
    from automator.checks import CheckService, check_action
    from automator.jobs import Pipeline
    from automator.runbooks import Catalogue
    from automator.store import Store

    store = Store.open(f"sqlite:///{work / 'automator.db'}")
    pipeline = Pipeline(
        store,
        inventory,
        Catalogue(
            ROOT / "runbooks",
            ROOT / "playbooks",
            builtins={"checks": lambda: check_action(catalogue)},
        ),
        work / "artifacts",
    )
    service = CheckService(store, pipeline, catalogue, inventory)
    summary = service.run(service.spec((), limit, "benchmark", forks=forks))
    pipeline.executor.shutdown()
    return {"results": len(summary.results), "counts": summary.counts(), "status": summary.status}


def floor(inventory: Any, catalogue: Any, hosts: list[Any], forks: int) -> dict[str, Any]:
    """Fetch exactly the outputs automator's checks need, one command at a time, and nothing
    else: no parsing, no judging, no store."""
    from automator.checks._runner import plan

    def fetch(host: Any) -> int:
        commands = list(
            dict.fromkeys(
                command
                for planned in plan(list(catalogue.checks.values()), host)
                for commands, _ in planned.instances
                for command in commands
            )
        )
        if host.kind == "server":
            return fetch_paramiko(host, commands)
        if host.kind == "network":
            return fetch_netmiko(host, commands)
        return 0

    with ThreadPoolExecutor(forks) as pool:
        fetched = sum(pool.map(fetch, hosts))
    return {"outputs": fetched}


def fetch_paramiko(host: Any, commands: list[str]) -> int:
    import paramiko

    client = paramiko.SSHClient()
    client.load_host_keys(str(host.credentials.known_hosts_file))
    client.connect(
        host.hostname,
        username=host.credentials.username,
        key_filename=str(host.credentials.key_file),
        allow_agent=False,
        look_for_keys=False,
        timeout=10,
    )
    try:
        for command in commands:
            _, stdout, _ = client.exec_command(command, timeout=30)
            stdout.read()
            stdout.channel.recv_exit_status()
    finally:
        client.close()
    return len(commands)


def fetch_netmiko(host: Any, commands: list[str]) -> int:
    from netmiko import ConnectHandler

    connection = ConnectHandler(
        device_type="cisco_ios",
        host=host.hostname,
        port=host.port,
        username=host.credentials.username,
        password=host.credentials.password(),
        secret=host.credentials.enable_secret(),
    )
    try:
        connection.enable()
        for command in commands:
            connection.send_command(command, read_timeout=30)
    finally:
        connection.disconnect()
    return len(commands)


def write_playbook(work: Path, inventory_dir: Path) -> None:
    """The Linux checks' commands as one playbook, one task per command (as a team would
    write it), and the Ansible inventory generated from the lab's."""
    from automator.checks import load_checks
    from automator.checks._runner import plan
    from automator.inventory import export_ansible, load_inventory

    inventory = load_inventory(inventory_dir)
    server = next(h for h in inventory.hosts.values() if h.kind == "server")
    commands = list(
        dict.fromkeys(
            command
            for planned in plan(list(load_checks(ROOT / "checks").checks.values()), server)
            for commands, _ in planned.instances
            for command in commands
        )
    )
    tasks = [
        {
            "name": command,
            "ansible.builtin.shell": command,
            "register": f"out{i}",
            "changed_when": False,
            "failed_when": False,
        }
        for i, command in enumerate(commands)
    ]
    play = [{"name": "Linux health checks", "hosts": "all", "gather_facts": False, "tasks": tasks}]
    (work / "checks.yml").write_text(yaml.safe_dump(play, sort_keys=False))
    servers = export_ansible(inventory)
    (work / "ansible-inventory.yaml").write_text(yaml.safe_dump(servers))


def ansible(work: Path, forks: int) -> dict[str, Any]:
    env = dict(
        os.environ,
        ANSIBLE_HOST_KEY_CHECKING="True",
        ANSIBLE_RETRY_FILES_ENABLED="False",
        ANSIBLE_NOCOLOR="1",
        PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}",
    )
    done = subprocess.run(
        [
            str(BIN / "ansible-playbook"),
            "-i",
            str(work / "ansible-inventory.yaml"),
            "--limit",
            "platform_linux",
            str(work / "checks.yml"),
            "--forks",
            str(forks),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"ansible-playbook failed:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}")
    return {"tasks": done.stdout.count("TASK [")}


# -- the report ---------------------------------------------------------------------------------


def report(results: dict[str, list[dict[str, Any]]], args: argparse.Namespace) -> None:
    def median(name: str, key: str = "seconds") -> float:
        return statistics.median(r[key] for r in results[name])

    print(
        f"\n{args.sims} simulated switches + {args.hosts} sshd hosts, forks {args.forks}, "
        f"{args.rounds} rounds (ansible {args.ansible_rounds}); medians"
    )
    print(f"{'contender':<18} {'hosts':>5} {'median s':>9} {'hosts/s':>8} {'peak MB':>8}  runs (s)")
    for name, runs in results.items():
        hosts = runs[0]["hosts"]
        seconds = median(name)
        print(
            f"{name:<18} {hosts:>5} {seconds:>9.2f} {hosts / seconds:>8.1f} "
            f"{max(r['peak_mb'] for r in runs):>8.0f}  "
            + " ".join(f"{r['seconds']:.1f}" for r in runs)
        )
    print(f"automator counts: {results['automator'][-1]['counts']}")
    sweep = median("automator") / median("floor") - 1
    print(f"whole sweep vs the bare fetch loop: {sweep:+.1%} (goal: within +25%)")
    if "ansible-linux" in results:
        speedup = median("ansible-linux") / median("automator-linux")
        print(f"Linux hosts vs ansible-playbook: {speedup:.1f}x faster (goal: >= 20x)")
    peak = max(r["peak_mb"] for r in results["automator"])
    print(f"automator peak memory: {peak:.0f} MB (goal: <= 300 MB)")


if __name__ == "__main__":
    main()
