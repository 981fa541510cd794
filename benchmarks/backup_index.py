"""The backup store at 100,000 stored versions: history, diff, show and latest-of-every-host
query times, the re-index of a whole repository, and one 300-device save with its memory.

    .venv/bin/python benchmarks/backup_index.py [--hosts 300] [--runs 334] [--ports 48]

Builds a repository as automator writes it (one commit per run, ``Run:`` trailers) in which
every run changed every device: ``hosts * runs`` versions of IOS-like configurations of
``--ports`` interfaces (48: about 8 KB, 300 lines) in one fast-import stream. The build is not
what is measured. automator then indexes it from scratch (a store started on an empty
database re-indexes the repository) and answers the queries; each query time is the median
of 20 calls. The save is measured in a child process, so its peak memory (ru_maxrss) is the
save's own: a fresh process that opens the store and saves one 300-device run, changed and
then unchanged.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

T0 = datetime(2023, 1, 1, 2, 0, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=300)
    parser.add_argument("--runs", type=int, default=334)
    parser.add_argument("--ports", type=int, default=48)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        save_child(args.child, args.hosts, args.ports)
        return

    from automator.backups._store import BackupStore
    from automator.store import Store

    work = Path(tempfile.mkdtemp(prefix="automator-backup-index-"))
    try:
        repo = work / "backups" / "repo"
        started = time.perf_counter()
        build(repo, args.hosts, args.runs, args.ports)
        built = time.perf_counter() - started
        store = Store.open(f"sqlite:///{work / 'automator.db'}")
        started = time.perf_counter()
        backups = BackupStore(store, repo.parent)
        indexed = time.perf_counter() - started
        versions = args.hosts * args.runs
        host = f"sw{args.hosts // 2:03d}"
        print(f"{versions:,} versions ({args.hosts} hosts x {args.runs} runs), "
              f"{len(device_config(0, 0, args.ports)):,} bytes per config")  # fmt: skip
        print(f"build (one fast-import stream): {built:.1f} s, {du(repo)}")
        print(f"re-index from the repository:   {indexed:.1f} s ({versions / indexed:,.0f}/s)")
        print("query (median of 20):")
        old, new = args.runs // 3, args.runs - 1
        timings = {
            f"history {host} ({args.runs} versions)": lambda: backups.history(host),
            f"history {host} --limit 10": lambda: backups.history(host, limit=10),
            f"show {host} (latest)": lambda: backups.content(backups.get(host)),
            f"diff {host} (latest vs previous)": lambda: backups.diff(host),
            f"diff {host} v{old} v{new}": lambda: backups.diff(host, old, new),
            f"latest_all ({args.hosts} hosts)": backups.latest_all,
        }
        for name, call in timings.items():
            print(f"  {name:<40} {median_ms(call):7.2f} ms")
        started = time.perf_counter()
        backups.gc()
        print(f"gc: {time.perf_counter() - started:.2f} s, {du(repo)}")
        print(f"  diff after gc                            "
              f"{median_ms(lambda: backups.diff(host, old, new)):7.2f} ms")  # fmt: skip
        store.dispose()

        shutil.copy(work / "automator.db", work / "save.db")
        child = subprocess.run(
            [sys.executable, __file__, "--child", str(work), "--hosts", str(args.hosts),
             "--ports", str(args.ports)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        saved = json.loads(child.stdout)
        print(f"save of {args.hosts} devices (child process, on the {versions:,}-version store):")
        print(f"  all changed:   {saved['changed_s'] * 1000:6.0f} ms, one commit")
        print(f"  none changed:  {saved['unchanged_s'] * 1000:6.0f} ms, no commit")
        print(f"  peak memory:   {saved['maxrss_mb']:6.0f} MB (the whole process, imports "
              f"included)")  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)


def save_child(work: Path, hosts: int, ports: int) -> None:
    from automator.backups._store import BackupStore
    from automator.store import Store

    store = Store.open(f"sqlite:///{work / 'save.db'}")
    backups = BackupStore(store, work / "backups")
    configs = {f"sw{h:03d}": device_config(h, 10_000, ports).decode() for h in range(hosts)}
    at = datetime.now(UTC)
    started = time.perf_counter()
    first = backups.save(configs, 10_000, 1, at)
    changed = time.perf_counter() - started
    started = time.perf_counter()
    second = backups.save(configs, 10_001, 1, at)
    unchanged = time.perf_counter() - started
    assert len(first.changed) == hosts and second.commit is None
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"changed_s": changed, "unchanged_s": unchanged, "maxrss_mb": maxrss}))


def build(repo: Path, hosts: int, runs: int, ports: int) -> None:
    subprocess.run(["git", "init", "-q", "--bare", "--initial-branch=main", str(repo)], check=True)
    stream = subprocess.Popen(
        ["git", "--git-dir", str(repo), "fast-import", "--quiet", "--date-format=raw"],
        stdin=subprocess.PIPE,
    )
    assert stream.stdin is not None
    for run in range(1, runs + 1):
        message = f"backup run #{run}: {hosts} changed of {hosts}\n\nRun: {run}\n".encode()
        when = int((T0 + timedelta(days=run)).timestamp())
        parts = [
            b"commit refs/heads/main\ncommitter automator <automator@localhost> %d +0000\n" % when,
            b"data %d\n%s\n" % (len(message), message),
        ]
        for host in range(hosts):
            data = device_config(host, run, ports)
            parts.append(b"M 100644 inline sw%03d\ndata %d\n%s\n" % (host, len(data), data))
        stream.stdin.write(b"".join(parts) + b"\n")
    stream.stdin.close()
    if stream.wait() != 0:
        raise SystemExit("git fast-import failed")


def device_config(host: int, run: int, ports: int) -> bytes:
    """An access switch's running config; each run moves one port's VLAN and description."""
    moved = run % ports
    lines = [
        "version 15.2", "service timestamps log datetime msec", "service password-encryption",
        f"hostname sw{host:03d}", "!", "logging buffered 64000", "aaa new-model",
        "enable secret 5 <removed>", "username admin privilege 15 secret 5 <removed>", "!",
        f"ip domain-name dc{host % 4}.example.net", "spanning-tree mode rapid-pvst", "!",
    ]  # fmt: skip
    for vlan in range(10, 30):
        lines += [f"vlan {vlan}", f" name servers-{vlan}", "!"]
    for port in range(ports):
        vlan = 10 + (port + (run if port == moved else 0)) % 20
        lines += [
            f"interface GigabitEthernet1/0/{port + 1}",
            f" description {'moved in run ' + str(run) if port == moved else 'server port'}",
            " switchport mode access",
            f" switchport access vlan {vlan}",
            " spanning-tree portfast",
            "!",
        ]
    lines += [
        "interface Vlan10", f" ip address 10.{host // 250}.{host % 250}.2 255.255.255.0", "!",
        "ip default-gateway 10.0.0.1", "snmp-server community <removed> RO",
        "ntp server 192.0.2.123", "line vty 0 15", " transport input ssh", "end",
    ]  # fmt: skip
    return ("\n".join(lines) + "\n").encode()


def median_ms(call: Callable[[], object], rounds: int = 20) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def du(path: Path) -> str:
    size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    packs = len(list((path / "objects" / "pack").glob("*.pack")))
    return f"repository {size / 1e6:.1f} MB in {packs} pack(s)"


if __name__ == "__main__":
    main()
