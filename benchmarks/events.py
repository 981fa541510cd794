"""automator serve against ansible-rulebook, side by side: alerts decided per second, webhook
latency, alert-to-remediation-start latency, and how many runs a storm of 1,000 hosts costs.

    .venv/bin/python benchmarks/events.py [--rounds 3] [--seconds 5]
        [--rulebook /tmp/rulebook-venv/bin/ansible-rulebook] [--only automator|ansible-rulebook]
    .venv/bin/python benchmarks/events.py --engine-alone [--alerts 40000] [--rounds 5]

Everything runs on loopback, each tool as its own process, rounds interleaved (the order
alternates), every round with a fresh database. This process plays Alertmanager (webhook v4
bodies over raw keep-alive HTTP/1.1, the client of ``benchmarks/intake.py``).

automator: ``automator serve`` with its own AUTOMATOR_HOME, a project written to a temporary
folder (1,000 inventory hosts at 127.0.0.1 port 1, which refuses connections at once) and
three rules, one per measure:

- ``bench-decide`` (``name == "BenchAlert"``, shadow mode): every alert goes through the whole
  decision and is recorded on its event, nothing runs. Accepted = rows in the events table;
  decided = events with ``decided_at`` set, timed from the first request sent to the last
  ``decided_at``.
- ``bench-latency`` (``name == "BenchLatency"``, ``coalesce: 250ms``, a ``commands`` runbook):
  alert sent → ``runs.started_at`` of the run holding its host, i.e. the pipeline has recorded
  the run as started and hands it to the runner (Ansible's own start-up excluded).
- ``bench-storm`` (``name == "BenchStorm"``, ``coalesce: 5s`` as ``automator serve``'s
  default, a playbook runbook, approval required so that nothing starts Ansible): 1,000 hosts
  alert within 4.5 s; every job recorded for the rule is one ansible-runner invocation.

ansible-rulebook (in its own virtualenv, PyPI ``ansible-rulebook``, Java 17) runs
``benchmarks/rulebook/rulebook.yml`` with the same conditions behind
``benchmarks/rulebook/sources/alertmanager_bench.py``, a minimal Alertmanager webhook source
that queues each alert as the ansible.eda collection's does (its answer waits until the rule
engine has taken every alert of the body). The throughput rule's action is ``none``; decided is
timed by a sentinel alert sent after the last answer, whose ``debug`` marker this process reads
(ansible-rulebook matches events and runs a ruleset's actions in order). The latency case's
action prints a marker (the remediation starts) and then runs a trivial playbook on the alert's
host (local), one at a time as ansible-rulebook does.

``--engine-alone`` measures automator's rule engine without the hooks or a client beside it:
alerts stored as the hooks store them, then decided by the engine ``automator serve`` builds,
in this process, with the collector set as in the engine's process. It prints the CPU an alert
costs and the collector's share of it: the figure to compare when changing the engine, as
it moves far less with the rest of the machine than the flood's rounds do.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from intake import TOKEN, connection, free_port, request, wait_for

ROOT = Path(__file__).resolve().parent.parent
RULEBOOK_DIR = ROOT / "benchmarks" / "rulebook"
HOSTS = 1000
LATENCY_ALERTS, LATENCY_RATE = 20, 4.0  # alerts, per second
STORM_SECONDS = 4.5
DEFAULT_RULEBOOK = "/tmp/rulebook-venv/bin/ansible-rulebook"

# -- what this process sends -----------------------------------------------------------------


def host_name(n: int) -> str:
    return f"b{n % HOSTS:04d}"


def alert(name: str, number: int, host: int) -> dict[str, Any]:
    return {
        "status": "firing",
        "labels": {
            "alertname": name,
            "host": host_name(host),
            "job": "node",
            "severity": "critical",
        },
        "annotations": {"summary": f"{name} on {host_name(host)}"},
        "startsAt": "2026-11-27T06:00:00.123456789Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
        "fingerprint": f"{number:016x}",
    }


def body(alerts: list[dict[str, Any]]) -> bytes:
    name = alerts[0]["labels"]["alertname"]
    return orjson.dumps(
        {
            "version": "4",
            "status": "firing",
            "receiver": "automator",
            "groupKey": f'{{}}:{{alertname="{name}"}}',
            "truncatedAlerts": 0,
            "groupLabels": {"alertname": name},
            "commonLabels": {"alertname": name, "job": "node", "severity": "critical"},
            "commonAnnotations": {},
            "externalURL": "http://alertmanager:9093",
            "alerts": alerts,
        }
    )


def bodies(name: str, size: int, count: int, first: int) -> list[bytes]:
    """``count`` bodies of ``size`` alerts with fingerprints from ``first`` on, hosts in turn."""
    return [
        body([alert(name, first + i * size + n, i * size + n) for n in range(size)])
        for i in range(count)
    ]


@dataclass
class Flood:
    """Requests sent back to back on keep-alive connections for a fixed time."""

    began: float  # wall clock, first request
    ended: float
    alerts: int  # answered 202
    latencies: list[float]

    @property
    def accepted_per_s(self) -> float:
        return self.alerts / (self.ended - self.began)


async def _flood(port: int, size: int, connections: int, seconds: float, first: int) -> Flood:
    # enough distinct alerts for 20,000/s (5,000/s one by one); beyond that they repeat
    per_connection = max(50, int(seconds * (20_000 if size > 1 else 5_000) / size / connections))
    requests = [
        [
            request(port, b)
            for b in bodies("BenchAlert", size, per_connection, first + c * per_connection * size)
        ]
        for c in range(connections)
    ]
    latencies: list[float] = []
    began = time.time()
    deadline = time.perf_counter() + seconds
    sent = await asyncio.gather(
        *(connection(port, requests[c], deadline, latencies, None) for c in range(connections))
    )
    return Flood(began, time.time(), sum(sent) * size, latencies)


def flood(port: int, size: int, connections: int, seconds: float, first: int) -> Flood:
    return asyncio.run(_flood(port, size, connections, seconds, first))


async def _paced(port: int, payloads: list[bytes], rate: float, connections: int) -> list[float]:
    """Send ``payloads`` at ``rate`` a second over ``connections``; return each one's wall
    clock send time (in order)."""
    sent_at = [0.0] * len(payloads)
    start = time.perf_counter() + 0.01
    wall = time.time() - time.perf_counter()

    async def one(index: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for n in range(index, len(payloads), connections):
                await asyncio.sleep(max(0.0, start + n / rate - time.perf_counter()))
                sent_at[n] = wall + time.perf_counter()
                writer.write(request(port, payloads[n]))
                status = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                if b" 202 " not in status:
                    raise SystemExit(f"unexpected answer: {status!r}")
        finally:
            writer.close()

    await asyncio.gather(*(one(c) for c in range(connections)))
    return sent_at


def paced(port: int, payloads: list[bytes], rate: float, connections: int = 1) -> list[float]:
    return asyncio.run(_paced(port, payloads, rate, connections))


def wait_until(check: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return check()


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def cpu_seconds(pid: int, tree: bool = True) -> float:
    """User + system CPU of a process, its waited-for children and (``tree``) the children
    still running (``automator serve`` decides in a child process of its own)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))
    own = ticks / os.sysconf("SC_CLK_TCK")
    return own + sum(cpu_seconds(child) for child in children(pid)) if tree else own


def machine_busy() -> float:
    """CPU seconds every core has spent busy since boot (/proc/stat)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


# -- one round's results ---------------------------------------------------------------------


@dataclass
class Result:
    tool: str
    figures: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def throughput(
    result: Result,
    label: str,
    run: Flood,
    decided: int,
    last_decided: float,
    cpu: float,
) -> None:
    f = result.figures
    f[f"{label} accepted/s"] = run.accepted_per_s
    f[f"{label} decided/s"] = decided / (last_decided - run.began) if decided else 0.0
    f[f"{label} p50 ms"] = statistics.median(run.latencies) * 1000
    f[f"{label} p99 ms"] = percentile(run.latencies, 0.99) * 1000
    f[f"{label} cpu us/alert"] = cpu / run.alerts * 1e6 if run.alerts else float("nan")
    if decided != run.alerts:
        result.notes.append(f"{label}: {run.alerts} alerts answered 202, {decided} decided")


def latency(result: Result, sent_at: list[float], started: list[float | None]) -> None:
    delays = [s - t for t, s in zip(sent_at, started, strict=True) if s is not None]
    if len(delays) < len(sent_at):
        result.notes.append(f"latency: {len(sent_at) - len(delays)} alerts never started")
    result.figures["start p50 ms"] = percentile(delays, 0.5) * 1000
    result.figures["start p99 ms"] = percentile(delays, 0.99) * 1000


# -- automator -------------------------------------------------------------------------------

RULES = """\
rules:
  - name: bench-decide
    when: name == "BenchAlert"
    action: {runbook: bench-start}
    shadow: true
  - name: bench-latency
    when: name == "BenchLatency"
    action: {runbook: bench-start}
    coalesce: 250ms
  - name: bench-storm
    when: name == "BenchStorm"
    action: {runbook: bench-fix}
    coalesce: 5s
    guardrails: {approval: true}
"""
RUNBOOK = """\
description: One command on the alert's host (the benchmark's hosts refuse connections)
task: commands
commands:
  server: [uptime]
timeout: 30
"""
PLAYBOOK = """\
- name: Fix
  hosts: all
  gather_facts: false
  tasks:
    - name: Ping
      ansible.builtin.ping:
"""


def write_project(folder: Path) -> None:
    for sub in ("inventory", "project/remediations", "project/runbooks", "project/playbooks"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    (folder / "inventory/hosts.yaml").write_text(
        "".join(
            f"{host_name(n)}:\n  hostname: 127.0.0.1\n  port: 1\n  groups: [servers]\n"
            for n in range(HOSTS)
        )
    )
    (folder / "inventory/groups.yaml").write_text("servers:\n  platform: linux\n  username: root\n")
    (folder / "project/remediations/bench.yaml").write_text(RULES)
    (folder / "project/runbooks/bench-start.yaml").write_text(RUNBOOK)
    (folder / "project/playbooks/bench-fix.yml").write_text(PLAYBOOK)


def utc_epoch(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


class Automator:
    tool = "automator"

    def __init__(self, folder: Path, round_: int) -> None:
        self.folder = folder
        self.home = folder / f"home-{round_}"
        self.port = free_port()
        self.log = (folder / f"automator-{round_}.log").open("wb")
        env = dict(os.environ, AUTOMATOR_HOOK_TOKEN_ALERTMANAGER=TOKEN)
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "automator"),
                "--home",
                str(self.home),
                "--project",
                str(folder / "project"),
                "--inventory",
                str(folder / "inventory"),
                "serve",
                "--port",
                str(self.port),
            ],
            env=env,
            cwd=folder,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(self.port)
        self.db = sqlite3.connect(f"file:{self.home / 'automator.db'}?mode=ro", uri=True)

    def query(self, sql: str, *params: Any) -> list[Any]:
        return self.db.execute(sql, params).fetchall()

    def throughput(self, result: Result, label: str, size: int, conns: int, secs: float) -> None:
        [(before,)] = self.query("SELECT coalesce(max(id), 0) FROM events")
        cpu = cpu_seconds(self.process.pid)
        own = cpu_seconds(self.process.pid, tree=False)
        machine, client = machine_busy(), time.process_time()
        run = flood(self.port, size, conns, secs, first=(before + 1) * 1000)
        # what else kept the machine busy meanwhile (other work on a shared machine)
        others = machine_busy() - machine - (time.process_time() - client)
        others -= cpu_seconds(self.process.pid) - cpu
        result.figures[f"{label} others' cpu %"] = 100 * others / (run.ended - run.began)

        def settled() -> bool:
            [(stored, undecided)] = self.query(
                "SELECT count(*), count(*) - count(decided_at) FROM events WHERE id > ?", before
            )
            return stored >= run.alerts and undecided == 0

        wait_until(settled, timeout=120)
        cpu = cpu_seconds(self.process.pid) - cpu
        own = cpu_seconds(self.process.pid, tree=False) - own
        if run.alerts:  # the hooks' process; the rest is the engine's
            result.figures[f"{label} hooks cpu us/alert"] = own / run.alerts * 1e6
        [(stored, decided, last)] = self.query(
            "SELECT count(*), count(decided_at), max(decided_at) FROM events WHERE id > ?",
            before,
        )
        if stored != run.alerts:
            result.notes.append(f"{label}: {run.alerts} alerts answered 202, {stored} stored")
        throughput(result, label, run, decided, utc_epoch(last) if last else 0.0, cpu)

    def latency(self, result: Result) -> None:
        hosts = [host_name(n) for n in range(LATENCY_ALERTS)]
        payloads = [body([alert("BenchLatency", 900_000 + n, n)]) for n in range(LATENCY_ALERTS)]
        sent_at = paced(self.port, payloads, LATENCY_RATE)
        started: dict[str, float] = {}

        def all_started() -> bool:
            for targets, at in self.query(
                "SELECT jobs.targets, runs.started_at FROM runs JOIN jobs ON runs.job_id = "
                "jobs.id WHERE jobs.rule = 'bench-latency' AND runs.started_at IS NOT NULL"
            ):
                for host in json.loads(targets):
                    started[host] = min(started.get(host, float("inf")), utc_epoch(at))
            return all(host in started for host in hosts)

        wait_until(all_started, timeout=20, step=0.1)
        latency(result, sent_at, [started.get(host) for host in hosts])

    def storm(self, result: Result) -> None:
        payloads = [body([alert("BenchStorm", 800_000 + n, n)]) for n in range(HOSTS)]
        sent_at = paced(self.port, payloads, HOSTS / STORM_SECONDS, connections=4)

        def covered() -> int:
            rows = self.query("SELECT targets FROM jobs WHERE rule = 'bench-storm'")
            return sum(len(json.loads(targets)) for (targets,) in rows)

        wait_until(lambda: covered() >= HOSTS, timeout=30, step=0.1)
        [(jobs, last)] = self.query(
            "SELECT count(*), max(created_at) FROM jobs WHERE rule = 'bench-storm'"
        )
        result.figures["storm invocations"] = jobs
        result.figures["storm hosts"] = covered()
        if last:
            result.figures["storm last job s"] = utc_epoch(last) - sent_at[0]

    def stop(self) -> None:
        self.db.close()
        stop_process(self.process)
        self.log.close()


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group this script started, SIGKILL if it lingers."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


# -- automator's engine alone ---------------------------------------------------------------


def engine_alone(folder: Path, round_: int, alerts: int) -> dict[str, float]:
    """``alerts`` in bodies of 100 stored by ``EventIntake.ingest`` after the Alertmanager
    normaliser, then decided by ``open_engine``'s engine (serve's: batches of 500, the rule
    state in the store) until none is left. CPU µs an alert, the collector's share."""
    from automator.cli._serve import open_engine
    from automator.config import Settings
    from automator.engine._process import GC_THRESHOLD
    from automator.events import EventIntake, from_alertmanager
    from automator.store import Store

    home = folder / f"engine-home-{round_}"
    settings = Settings(
        inventory_dir=folder / "inventory",
        home=home,
        project_dir=folder / "project",
        database_url=f"sqlite:///{home / 'automator.db'}",
    )
    store = Store.open(settings.database_url)
    intake = EventIntake(store)
    first = round_ * 10**7
    for start in range(0, alerts, 100):
        payload = [alert("BenchAlert", first + start + n, start + n) for n in range(100)]
        intake.ingest(from_alertmanager(orjson.loads(body(payload))))
    store.dispose()
    engine, after = open_engine(settings, 5.0, 0)
    collector = [0.0, 0.0]  # seconds in collections, start of the current one

    def timed(phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            collector[1] = time.perf_counter()
        else:
            collector[0] += time.perf_counter() - collector[1]

    threshold = gc.get_threshold()
    gc.freeze()  # as the engine's process does once built
    gc.set_threshold(*GC_THRESHOLD)
    gc.callbacks.append(timed)
    try:
        cpu, wall = time.process_time(), time.perf_counter()
        while engine.step():
            pass
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        gc.callbacks.remove(timed)
        gc.set_threshold(*threshold)
        gc.unfreeze()
        after()
    left = len(intake.undecided(limit=1))
    if left:
        raise SystemExit(f"engine alone: events left undecided after {alerts}")
    return {
        "cpu us/alert": cpu / alerts * 1e6,
        "collector us/alert": collector[0] / alerts * 1e6,
        "wall us/alert": wall / alerts * 1e6,
    }


def run_engine_alone(args: argparse.Namespace) -> int:
    rounds: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="automator-bench-") as tmp:
        folder = Path(tmp)
        write_project(folder)
        for round_ in range(1, args.rounds + 1):
            machine, own = machine_busy(), time.process_time()
            began = time.monotonic()
            figures = engine_alone(folder, round_, args.alerts)
            others = machine_busy() - machine - (time.process_time() - own)
            figures["others' cpu %"] = 100 * others / (time.monotonic() - began)
            rounds.append(figures)
            print(
                f"engine alone, round {round_}, {args.alerts:,} alerts: "
                + ", ".join(f"{k} {v:,.1f}" for k, v in figures.items()),
                flush=True,
            )
    for key in ("cpu us/alert", "collector us/alert"):
        values = [r[key] for r in rounds]
        print(f"{key}: median {statistics.median(values):,.1f}, best {min(values):,.1f}")
    return 0


# -- ansible-rulebook ------------------------------------------------------------------------


class Rulebook:
    tool = "ansible-rulebook"

    def __init__(self, folder: Path, round_: int, executable: str) -> None:
        self.port = free_port()
        inventory = folder / "rulebook-inventory.yml"
        inventory.write_text(
            "all:\n  hosts:\n"
            + "".join(
                f"    {host_name(n)}: {{ansible_connection: local}}\n"
                for n in range(LATENCY_ALERTS)
            )
        )
        bin_dir = str(Path(executable).parent)
        env = dict(
            os.environ,
            PATH=f"{bin_dir}:{os.environ.get('PATH', '')}",
            BENCH_PORT=str(self.port),
            BENCH_TOKEN=TOKEN,
            ANSIBLE_PYTHON_INTERPRETER=str(Path(bin_dir) / "python"),
        )
        env.setdefault("JAVA_HOME", java_home())
        self.done: dict[str, float] = {}
        self.starts: dict[str, float] = {}
        self.log = (folder / f"rulebook-{round_}.log").open("wb")
        self.process = subprocess.Popen(
            [
                executable,
                "--rulebook",
                "rulebook.yml",
                "-S",
                "sources",
                "-i",
                str(inventory),
                "-E",
                "BENCH_PORT,BENCH_TOKEN",
            ],
            env=env,
            cwd=RULEBOOK_DIR,
            stdout=subprocess.PIPE,
            stderr=self.log,
            start_new_session=True,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        wait_for(self.port, timeout=60)

    def _read(self) -> None:
        """Timestamp each marker line as it arrives: that is when the action ran."""
        assert self.process.stdout is not None
        for line in self.process.stdout:
            now = time.time()
            if line.startswith(b"BENCH-DONE "):
                self.done[line[11:].strip().decode()] = now
            elif line.startswith(b"BENCH-START "):
                self.starts[line[12:].strip().decode()] = now
            else:
                self.log.write(line)

    def throughput(self, result: Result, label: str, size: int, conns: int, secs: float) -> None:
        """Decided: the time of the sentinel alert's marker, sent once every alert of the run
        has been answered (each answer comes after its alerts were taken off the queue)."""
        cpu = cpu_seconds(self.process.pid)
        run = flood(self.port, size, conns, secs, first=(label == "1") * 10**8 + 10**9)
        sentinel = f"{700_000 + len(self.done):016x}"
        paced(self.port, [body([alert("BenchDone", int(sentinel, 16), 0)])], 1.0)
        wait_until(lambda: sentinel in self.done, timeout=300, step=0.05)
        cpu = cpu_seconds(self.process.pid) - cpu
        done = self.done.get(sentinel)
        throughput(result, label, run, run.alerts if done else 0, done or 0.0, cpu)

    def latency(self, result: Result) -> None:
        payloads = [body([alert("BenchLatency", 900_000 + n, n)]) for n in range(LATENCY_ALERTS)]
        fingerprints = [f"{900_000 + n:016x}" for n in range(LATENCY_ALERTS)]
        sent_at = paced(self.port, payloads, LATENCY_RATE)
        wait_until(lambda: all(f in self.starts for f in fingerprints), timeout=120, step=0.1)
        latency(result, sent_at, [self.starts.get(f) for f in fingerprints])

    def storm(self, result: Result) -> None:
        """Not run: ``run_playbook`` is one ansible-runner invocation per matching event."""
        result.figures["storm invocations"] = HOSTS

    def stop(self) -> None:
        stop_process(self.process)
        self.reader.join(5)
        self.log.close()


def java_home() -> str:
    for candidate in ("/usr/lib/jvm/java-17-openjdk-amd64", "/usr/lib/jvm/java-17-openjdk"):
        if Path(candidate).is_dir():
            return candidate
    return ""


# -- the run ---------------------------------------------------------------------------------


def one_round(tool: str, folder: Path, round_: int, args: argparse.Namespace) -> Result:
    result = Result(tool)
    began = time.monotonic()
    server: Automator | Rulebook = (
        Automator(folder, round_)
        if tool == "automator"
        else Rulebook(folder, round_, args.rulebook)
    )
    try:
        server.throughput(result, "100", 100, 4, args.seconds)
        server.throughput(result, "1", 1, 16, args.seconds)
        server.latency(result)
        server.storm(result)
    finally:
        server.stop()
    print(
        f"round {round_} {tool} ({time.monotonic() - began:.0f} s): "
        + ", ".join(f"{k} {v:,.1f}" for k, v in result.figures.items())
        + "".join(f"\n  note: {note}" for note in result.notes),
        flush=True,
    )
    return result


# title, figure keys, format, True when more is better
ROWS: list[tuple[str, tuple[str, ...], str, bool]] = [
    ("alerts/s accepted, bodies of 100 (4 connections)", ("100 accepted/s",), "{:,.0f}", True),
    ("alerts/s decided, bodies of 100", ("100 decided/s",), "{:,.0f}", True),
    ("webhook p50 / p99 ms, bodies of 100", ("100 p50 ms", "100 p99 ms"), "{:,.1f}", False),
    ("server CPU µs per alert, bodies of 100", ("100 cpu us/alert",), "{:,.0f}", False),
    ("alerts/s accepted, 1-alert bodies (16 connections)", ("1 accepted/s",), "{:,.0f}", True),
    ("alerts/s decided, 1-alert bodies", ("1 decided/s",), "{:,.0f}", True),
    ("webhook p50 / p99 ms, 1-alert bodies", ("1 p50 ms", "1 p99 ms"), "{:,.1f}", False),
    ("server CPU µs per alert, 1-alert bodies", ("1 cpu us/alert",), "{:,.0f}", False),
    (
        f"alert → remediation start p50 / p99 ms ({LATENCY_ALERTS} alerts, {LATENCY_RATE:g}/s)",
        ("start p50 ms", "start p99 ms"),
        "{:,.0f}",
        False,
    ),
    (
        "1,000 hosts within 5 s → ansible-runner invocations",
        ("storm invocations",),
        "{:,.0f}",
        False,
    ),
]


def median_of(results: list[Result], key: str) -> float | None:
    values = [r.figures[key] for r in results if key in r.figures]
    return statistics.median(values) if values else None


def report(by_tool: dict[str, list[Result]]) -> dict[str, float | None]:
    """The table (medians over rounds; the ratio compares the last figure of a row, as
    automator's advantage) and automator's medians."""
    ours, theirs = by_tool.get("automator", []), by_tool.get("ansible-rulebook", [])
    print("\n| measure (median of rounds) | automator | ansible-rulebook 1.3.2 | automator vs it |")
    print("|---|---|---|---|")
    for title, keys, fmt, more_is_better in ROWS:
        cells = []
        for results in (ours, theirs):
            values = [median_of(results, key) for key in keys]
            cells.append(" / ".join("-" if v is None else fmt.format(v) for v in values))
        a, b = median_of(ours, keys[-1]), median_of(theirs, keys[-1])
        ratio = f"{(a / b if more_is_better else b / a):,.1f}x" if a and b else ""
        print(f"| {title} | {cells[0]} | {cells[1]} | {ratio} |")
    return {key: median_of(ours, key) for _, keys, _, _ in ROWS for key in keys}


GOALS = [
    ("≥ 10,000 alerts/s accepted and decided, bodies of 100", "100", 10_000.0),
    ("≥ 2,500 alerts/s accepted and decided, 1-alert bodies", "1", 2_500.0),
]


def goals(medians: dict[str, float | None]) -> None:
    print()

    def mark(ok: bool) -> str:
        return "met" if ok else "MISSED"

    for text, label, floor in GOALS:
        acc, dec = medians.get(f"{label} accepted/s"), medians.get(f"{label} decided/s")
        if acc is not None and dec is not None:
            print(f"goal {text}: {mark(min(acc, dec) >= floor)} ({acc:,.0f} / {dec:,.0f})")
    p99 = [medians.get(k) for k in ("100 p99 ms", "1 p99 ms")]
    if all(v is not None for v in p99):
        worst = max(v for v in p99 if v is not None)
        print(f"goal webhook p99 ≤ 50 ms: {mark(worst <= 50)} (worst {worst:,.1f} ms)")
    start = medians.get("start p99 ms")
    if start is not None:
        print(f"goal alert → remediation start p99 ≤ 500 ms: {mark(start <= 500)} ({start:,.0f})")
    storm = medians.get("storm invocations")
    if storm is not None:
        print(f"goal 1,000 hosts in 5 s → ≤ 3 invocations: {mark(storm <= 3)} ({storm:,.0f})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0, help="per throughput run")
    parser.add_argument(
        "--rulebook",
        default=os.environ.get("AUTOMATOR_BENCH_RULEBOOK", DEFAULT_RULEBOOK),
        help="the ansible-rulebook executable, in a virtualenv of its own",
    )
    parser.add_argument("--only", choices=["automator", "ansible-rulebook"])
    parser.add_argument(
        "--engine-alone",
        action="store_true",
        help="measure automator's rule engine alone (no hooks, no client) instead",
    )
    parser.add_argument("--alerts", type=int, default=40_000, help="for --engine-alone")
    args = parser.parse_args()
    if args.engine_alone:
        return run_engine_alone(args)
    tools = [args.only] if args.only else ["automator", "ansible-rulebook"]
    if "ansible-rulebook" in tools and not Path(args.rulebook).exists():
        print(
            f"no ansible-rulebook at {args.rulebook}; see benchmarks/README.md to install it, "
            "or --only automator",
            file=sys.stderr,
        )
        return 2
    began = time.monotonic()
    by_tool: dict[str, list[Result]] = {tool: [] for tool in tools}
    with tempfile.TemporaryDirectory(prefix="automator-bench-") as tmp:
        folder = Path(tmp)
        write_project(folder)
        try:
            for round_ in range(1, args.rounds + 1):
                order = tools if round_ % 2 else tools[::-1]
                for tool in order:
                    by_tool[tool].append(one_round(tool, folder, round_, args))
        except BaseException:
            for log in sorted(folder.glob("*.log")):
                print(f"--- {log.name} (last lines)", file=sys.stderr)
                print(log.read_text(errors="replace")[-3000:], file=sys.stderr)
            raise
    print(f"\ncpus: {os.cpu_count()}, rounds: {args.rounds}, {args.seconds:g} s a throughput run")
    goals(report(by_tool))
    print(f"\ntook {time.monotonic() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
