"""A full backup of simulated switches, side by side in one run: RANCID 3.13, a bare netmiko
loop (the floor: fetching alone) and ``automator backup`` (issue 5, Speed).

    sudo .venv/bin/python benchmarks/backup.py [--devices 300] [--rounds 3] [--forks 50]
        [--par-count 50 [N ...]] [--skip-rancid] [--keep]

The switches are the lab's recorded-output simulator (``automator.lab._simulator``): one
process, device *i* (``sim<i>``) on its own address ``127.1.0.1 + i - 1``, port 22, because
RANCID's router.db has no port field. They live in a network namespace of the benchmark's own
(``bbackup``, where all of 127.0.0.0/8 is on the loopback), so this machine's port 22 is
untouched; this process enters it before it starts any thread and every contender inherits it.

Each contender is a process tree of its own. Wall time runs from its start to its exit. Peak
memory is the highest sum over the tree (every descendant, orphans included) of each process's
Rss, and of its Pss (shared pages split between their users), read from
/proc/PID/smaps_rollup every 0.2 s; the Rss figure is at least the exact peak of the tree's
largest process (``wait4``). This machine's cgroup v2 hierarchy has no memory controller, so
there is no ``memory.peak`` to read. CPU is the tree's user + system time; "sim CPU" is the
simulator's meanwhile. RANCID and automator run twice a round:
*first* on an empty store (every device new) and *again* on the same store (nothing changed);
the commits each run made are counted. Every run is checked: each device's running
configuration must be in what the run produced (RANCID: its git working tree, rewritten by
this run and tracked; automator: the run's host results; the floor: the outputs it fetched).

Setup is idempotent: RANCID is installed (Debian package, debconf preseeded) only when
missing, its system user ``rancid`` made only when missing; everything else goes to a fresh
temporary folder, removed at the end (unless ``--keep``) with the namespace.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import secrets
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve()
BIN = Path(sys.executable).parent
SIM_DEFAULTS = ROOT / "automator" / "lab" / "files" / "sim" / "_default"
NETNS = "bbackup"
ADDRESS_BASE = "127.1.0.1"
USERNAME = "admin"
RANCID_USER = "rancid"
RANCID_GROUP = "bench"  # RANCID's "group": one router.db, one git repository
RANCID_CONF = Path("/etc/rancid/rancid.conf")
# The answer that makes the package's postinst create the rancid user (the default, false,
# installs it without one).
RANCID_PRESEED = "rancid rancid/go_on boolean true\n"
PHASES = ("first", "again")  # on an empty store, then on the same store with nothing changed
FLOOR = "netmiko floor"  # netmiko's defaults, as automator's runner connects
SERVED = "automator in serve"  # the nightly backup in a process that is already up


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--forks", type=int, default=50, help="automator's and the floor's")
    parser.add_argument(
        "--par-count", type=int, nargs="+", default=[50], help="RANCID's PAR_COUNT(s)"
    )
    parser.add_argument("--skip-rancid", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--child-floor", type=Path, help=argparse.SUPPRESS)  # the work folder
    parser.add_argument("--child-served", type=Path, help=argparse.SUPPRESS)  # its home
    args = parser.parse_args()
    if args.child_floor:
        floor(args.child_floor, args.devices, args.forks)
        return
    if args.child_served:
        served(args.child_served, args.forks)
        return
    if os.geteuid() != 0:
        sys.exit("run as root: the benchmark makes a network namespace and installs RANCID")
    if not 1 <= args.devices <= 65000:
        sys.exit("--devices must be 1..65000 (addresses 127.1.0.1 onwards)")
    rancid_version = None if args.skip_rancid else install_rancid()
    has_backup = automator_has_backup()
    work = Path(tempfile.mkdtemp(prefix="automator-backup-"))
    work.chmod(0o711)  # the rancid user reaches its own folders inside, nothing else
    try:
        results = run_rounds(args, work, rancid_version, has_backup)
        report(results, args, rancid_version is not None, has_backup)
    finally:
        if args.keep:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def run_rounds(
    args: argparse.Namespace, work: Path, rancid_version: str | None, has_backup: bool
) -> dict[str, list[Result]]:
    """Every contender, interleaved, ``--rounds`` times, in the benchmark's own namespace."""
    from automator.lab import enter_netns

    fleet = Fleet.create(work, args.devices)
    write_inventory(work / "inventory", fleet)
    create_netns()
    simulator: subprocess.Popen[str] | None = None
    try:
        enter_netns(NETNS)  # before any thread; every child inherits it
        simulator = start_simulator(work, fleet)
        bench = Bench(work, fleet, simulator.pid, args.forks)
        # warm-up, not recorded: page cache, imports, the simulator's first logins
        bench.floor()
        results: dict[str, list[Result]] = {}
        for round_no in range(1, args.rounds + 1):
            runs = bench.round(round_no, rancid_version, args.par_count, has_backup)
            for label, result in runs:  # each as it ends
                results.setdefault(label, []).append(result)
                print(f"round {round_no}: {label:<28} {result.line(fleet.devices)}", flush=True)
        return results
    finally:
        if simulator is not None:
            simulator.terminate()
            simulator.wait()
        subprocess.run(["ip", "netns", "del", NETNS], check=False)


# -- the switches -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fleet:
    """The simulated switches and their login, as every contender is told them."""

    devices: int
    password_file: Path
    enable_file: Path

    @classmethod
    def create(cls, work: Path, devices: int) -> Fleet:
        fleet = cls(devices, work / "switch.password", work / "switch.enable")
        for path in (fleet.password_file, fleet.enable_file):
            path.touch(mode=0o600)
            path.write_text(secrets.token_hex(12) + "\n")
        return fleet

    @classmethod
    def load(cls, work: Path, devices: int) -> Fleet:
        return cls(devices, work / "switch.password", work / "switch.enable")

    @property
    def password(self) -> str:
        return self.password_file.read_text().strip()

    @property
    def enable(self) -> str:
        return self.enable_file.read_text().strip()

    def switches(self) -> list[tuple[str, str]]:
        """(name, address) of every device, as the simulator numbers them."""
        from automator.lab._simulator import endpoints

        addresses = endpoints(self.devices, address_base=ADDRESS_BASE, port=22)
        return [(f"sim{i}", address) for i, (address, _) in enumerate(addresses, start=1)]


def looks_whole(config: str, name: str) -> bool:
    """A device's running configuration, all of it: its own hostname and the final ``end``."""
    return f"\nhostname {name}\n" in config and config.rstrip().endswith("\nend")


def create_netns() -> None:
    """A fresh namespace; one left behind by an interrupted run is replaced, one in use is not."""
    from automator.lab._netns import list_netns, pids_by_netns

    if NETNS in list_netns():
        if pids_by_netns([NETNS])[NETNS]:
            sys.exit(f"network namespace {NETNS} is in use: is another backup benchmark running?")
        subprocess.run(["ip", "netns", "del", NETNS], check=True)
    subprocess.run(["ip", "netns", "add", NETNS], check=True)
    if subprocess.run(["ip", "-n", NETNS, "link", "set", "lo", "up"], check=False).returncode:
        subprocess.run(["ip", "netns", "del", NETNS], check=False)
        sys.exit(f"cannot bring up the loopback of network namespace {NETNS}")


def start_simulator(work: Path, fleet: Fleet) -> subprocess.Popen[str]:
    outputs = work / "sim"
    shutil.copytree(SIM_DEFAULTS, outputs / "_default")
    with (work / "simulator.log").open("w") as log:
        simulator = subprocess.Popen(
            [
                sys.executable, "-m", "automator.lab._simulator",
                "--count", str(fleet.devices),
                "--address-base", ADDRESS_BASE, "--port", "22",
                "--username", USERNAME,
                "--password-file", str(fleet.password_file),
                "--enable-secret-file", str(fleet.enable_file),
                "--outputs-dir", str(outputs),
            ],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )  # fmt: skip
    assert simulator.stdout is not None
    ready = simulator.stdout.readline()  # "" if it died
    if not ready.startswith("READY"):
        simulator.wait()
        sys.exit(f"the simulator did not start:\n{(work / 'simulator.log').read_text()[-2000:]}")
    print(ready.strip(), flush=True)
    return simulator


def write_inventory(dest: Path, fleet: Fleet) -> None:
    """The switches as automator's inventory, credentials read from files as the lab's are."""
    hosts = {
        name: {"hostname": address, "port": 22, "groups": ["bench_switches"]}
        for name, address in fleet.switches()
    }
    groups = {
        "bench_switches": {
            "platform": "cisco_ios",
            "data": {
                "role": "access-switch",
                "credentials": {
                    "username": USERNAME,
                    "password_file": str(fleet.password_file),
                    "enable_secret_file": str(fleet.enable_file),
                },
            },
        }
    }
    defaults = {
        "data": {"site": "bench", "tenant": "bench", "owner": "ops@example.net"},
    }
    dest.mkdir()
    for filename, document in (
        ("hosts.yaml", hosts),
        ("groups.yaml", groups),
        ("defaults.yaml", defaults),
    ):
        (dest / filename).write_text(yaml.safe_dump(document, sort_keys=False))
    from automator.inventory import load_inventory

    load_inventory(dest)  # refuses a wrong inventory here rather than in every run


# -- measuring a process tree -------------------------------------------------------------------


@dataclass
class Result:
    seconds: float
    cpu: float  # the tree's user + system seconds
    sim_cpu: float  # the simulator's, meanwhile
    rss_mb: float  # peak of the tree's summed Rss
    pss_mb: float  # peak of the tree's summed Pss (shared pages counted once)
    ok: int = 0  # devices whose configuration the run verifiably got
    commits: int | None = None

    def line(self, devices: int) -> str:
        commits = "" if self.commits is None else f", {self.commits} commits"
        return (
            f"{self.seconds:6.1f} s {devices / self.seconds:6.1f} dev/s "
            f"RSS {self.rss_mb:5.0f} MB PSS {self.pss_mb:5.0f} MB "
            f"CPU {self.cpu:5.1f} s sim {self.sim_cpu:4.1f} s, {self.ok}/{devices} ok{commits}"
        )


class TreeMemory:
    """Samples the memory of a process and all its descendants, from /proc, in a thread.

    A process stays counted after its parent exits (an orphan moves to another parent), so
    what a contender leaves running while it works is its own too.
    """

    def __init__(self, root: int, interval: float = 0.2) -> None:
        self._members = {root}
        self._interval = interval
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.peak_rss_kb = 0
        self.peak_pss_kb = 0

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._done.is_set():
            self._sample()
            self._done.wait(self._interval)

    def _sample(self) -> None:
        children: dict[int, list[int]] = {}
        parents = _parents()
        for pid, ppid in parents.items():
            children.setdefault(ppid, []).append(pid)
        members = {pid for pid in self._members if pid in parents}
        queue = list(members)
        while queue:
            for child in children.get(queue.pop(), []):
                if child not in members:
                    members.add(child)
                    queue.append(child)
        self._members = members
        rss = pss = 0
        for pid in members:
            pid_rss, pid_pss = _rollup(pid)
            rss += pid_rss
            pss += pid_pss
        self.peak_rss_kb = max(self.peak_rss_kb, rss)
        self.peak_pss_kb = max(self.peak_pss_kb, pss)


def _parents() -> dict[int, int]:
    """pid -> parent pid of every process on the machine."""
    found = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(f"/proc/{entry.name}/stat").read_text()
            except OSError:  # gone
                continue
            found[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return found


def _rollup(pid: int) -> tuple[int, int]:
    """(Rss, Pss) of a process in kB; zeros once it is gone or a zombie."""
    rss = pss = 0
    try:
        lines = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
    except OSError:
        return 0, 0
    for line in lines:
        if line.startswith("Rss:"):
            rss = int(line.split()[1])
        elif line.startswith("Pss:"):
            pss = int(line.split()[1])
    return rss, pss


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def measure(command: list[str], log: Path, simulator: int, timeout: float) -> Result:
    """Run a contender to its end: time, CPU, peak memory; its output goes to ``log``.

    ``wait4`` gives the tree's CPU and the exact peak Rss of its largest process, which is
    the whole figure for a one-process contender that sampling could miss between ticks.
    """
    sim_cpu = _cpu_seconds(simulator)
    with log.open("w") as out:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        # its own session: the timer kills it and all its children
        timer = threading.Timer(timeout, os.killpg, (process.pid, signal.SIGKILL))
        timer.start()
        with TreeMemory(process.pid) as memory:
            _, status, usage = os.wait4(process.pid, 0)
        timer.cancel()
        seconds = time.perf_counter() - started
    process.returncode = code = os.waitstatus_to_exitcode(status)
    if seconds >= timeout:
        sys.exit(f"{' '.join(command)}\nran over {timeout:.0f} s; see {log}")
    if code != 0:  # a partial failure is data (the "ok" count); say what it was
        print(f"{command[0]} exited {code}; the end of {log}:\n{log.read_text()[-2000:]}")
    return Result(
        seconds=seconds,
        cpu=usage.ru_utime + usage.ru_stime,
        sim_cpu=_cpu_seconds(simulator) - sim_cpu,
        rss_mb=max(memory.peak_rss_kb, usage.ru_maxrss) / 1024,
        pss_mb=memory.peak_pss_kb / 1024,
    )


# -- the contenders -----------------------------------------------------------------------------


class Bench:
    def __init__(self, work: Path, fleet: Fleet, simulator: int, forks: int) -> None:
        self.work = work
        self.fleet = fleet
        self.simulator = simulator
        self.forks = forks
        self.timeout = 120.0 + 2.0 * fleet.devices

    def round(
        self, round_no: int, rancid_version: str | None, par_counts: list[int], automator: bool
    ) -> Iterator[tuple[str, Result]]:
        if rancid_version is not None:
            for par in par_counts:
                yield from self.rancid(par, round_no, rancid_version)
        yield FLOOR, self.floor()
        if automator:
            yield from self.automator(round_no)

    def floor(self) -> Result:
        """The bare loop, in a child process of its own."""
        command = [
            sys.executable, str(HERE), "--child-floor", str(self.work),
            "--devices", str(self.fleet.devices), "--forks", str(self.forks),
        ]  # fmt: skip
        log = self.work / "floor.log"
        result = measure(command, log, self.simulator, self.timeout)
        result.ok = json.loads(log.read_text().strip().splitlines()[-1])["ok"]
        return result

    def rancid(self, par: int, round_no: int, version: str) -> Iterator[tuple[str, Result]]:
        base = prepare_rancid(self.work / f"rancid-par{par}-round{round_no}", self.fleet, par)
        repo = base / RANCID_GROUP
        conf = str(base / "rancid.conf")
        for phase in PHASES:
            before, since = commit_count(repo), time.time()
            log = base / f"rancid-run-{phase}.log"
            result = measure(as_rancid(base, ["rancid-run", "-f", conf]), log, self.simulator,
                             self.timeout)  # fmt: skip
            result.ok = rancid_collected(repo, self.fleet, since)
            result.commits = commit_count(repo) - before
            yield f"rancid {version} par {par} {phase}", result

    def automator(self, round_no: int) -> Iterator[tuple[str, Result]]:
        home = self.work / f"automator-home-round{round_no}"
        command = [
            str(BIN / "automator"),
            "--inventory", str(self.work / "inventory"),
            "--home", str(home),
            "--project", str(ROOT),
            "backup", "--forks", str(self.forks),
        ]  # fmt: skip
        for phase in PHASES:
            before = automator_commits(home)
            log = self.work / f"automator-round{round_no}-{phase}.log"
            result = measure(command, log, self.simulator, self.timeout)
            result.ok = automator_collected(home)
            result.commits = automator_commits(home) - before
            yield f"automator {phase}", result
        yield from self.served(round_no)

    def served(self, round_no: int) -> Iterator[tuple[str, Result]]:
        """The nightly backup as ``automator serve`` runs it: in a process that is already
        up (imports, store, pipeline), so only the job is timed; memory is the process's."""
        home = self.work / f"served-home-round{round_no}"
        command = [
            sys.executable, str(HERE), "--child-served", str(home), "--forks", str(self.forks),
        ]  # fmt: skip
        log = self.work / f"served-round{round_no}.log"
        whole = measure(command, log, self.simulator, self.timeout)
        jobs = json.loads(log.read_text().strip().splitlines()[-1])
        for phase in PHASES:
            result = Result(
                seconds=jobs[phase],
                cpu=whole.cpu,
                sim_cpu=whole.sim_cpu / len(PHASES),
                rss_mb=whole.rss_mb,
                pss_mb=whole.pss_mb,
            )
            result.ok = jobs[f"{phase}_ok"]
            result.commits = jobs[f"{phase}_commits"]
            yield f"{SERVED} {phase}", result


def served(home: Path, forks: int) -> None:
    """Open the pipeline and the backup service as ``automator serve`` does, then time two
    nightly backups (an empty store, then nothing changed); print them as JSON."""
    from automator.cli._app import open_backup_service, open_pipeline
    from automator.config import Settings
    from automator.runners import Outcome

    work = home.parent
    settings = Settings.from_env(home=home, inventory_dir=work / "inventory", project_dir=ROOT)
    pipeline = open_pipeline(settings)
    service = open_backup_service(pipeline)
    figures: dict[str, Any] = {}
    for phase in PHASES:
        started = time.perf_counter()
        summary = pipeline.run(service.spec(requester="schedule backup", forks=forks))
        figures[phase] = time.perf_counter() - started
        figures[f"{phase}_ok"] = sum(1 for r in summary.results.values() if r.outcome is Outcome.OK)
        figures[f"{phase}_commits"] = 1 if summary.recorded and summary.recorded.commit else 0
    pipeline.executor.shutdown()
    print(json.dumps(figures))


def floor(work: Path, devices: int, forks: int) -> None:
    """Fetch every device's running configuration with netmiko (its default options, as
    automator's runner connects), and nothing else: no filters, no git, no store."""
    from netmiko import ConnectHandler

    fleet = Fleet.load(work, devices)
    password, enable = fleet.password, fleet.enable

    def fetch(switch: tuple[str, str]) -> bool:
        name, address = switch
        try:
            connection = ConnectHandler(
                device_type="cisco_ios",
                host=address,
                port=22,
                username=USERNAME,
                password=password,
                secret=enable,
                conn_timeout=10,
                auth_timeout=10,
                banner_timeout=10,
                fast_cli=True,  # netmiko's default, as automator connects
            )
            try:
                connection.enable()
                config = connection.send_command("show running-config", read_timeout=60)
            finally:
                connection.disconnect()
        except Exception as exc:  # one device's failure is a count, not the end of the loop
            print(f"{name} {address}: {exc!r}", file=sys.stderr)
            return False
        return looks_whole(str(config), name)

    with ThreadPoolExecutor(forks) as pool:
        ok = sum(pool.map(fetch, fleet.switches()))
    print(json.dumps({"ok": ok}))


# -- RANCID --------------------------------------------------------------------------------------


def install_rancid() -> str:
    """RANCID from Debian, once; returns its version. Benchmarks install their own peers."""
    if _package_version("rancid") is None:
        print("installing RANCID (apt-get, debconf preseeded) ...", flush=True)
        subprocess.run(["debconf-set-selections"], input=RANCID_PRESEED, text=True, check=True)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-q"], env=env, check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "install", "-y", "-q", "rancid"], env=env, check=True)
    try:
        pwd.getpwnam(RANCID_USER)
    except KeyError:  # installed without the preseed: the postinst made no user
        subprocess.run(
            [
                "adduser", "--system", "--group", "--home", "/var/lib/rancid",
                "--shell", "/bin/bash", "--quiet", RANCID_USER,
            ],
            check=True,
        )  # fmt: skip
    version = _package_version("rancid")
    assert version is not None
    return version.split("-")[0]


def _package_version(package: str) -> str | None:
    done = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Status} ${Version}", package],
        capture_output=True,
        text=True,
        check=False,
    )
    status = done.stdout.split()
    return (
        status[3] if done.returncode == 0 and status[:3] == ["install", "ok", "installed"] else None
    )


def prepare_rancid(base: Path, fleet: Fleet, par: int) -> Path:
    """A RANCID installation of its own under ``base``: rancid.conf (git, PAR_COUNT), the
    login file, ssh options for the lab's addresses, an empty group repository and router.db.

    ssh takes its options from a file named in ``.cloginrc`` (``sshcmd``), not from the rancid
    user's ~/.ssh/config: nothing outside ``base`` is changed. The simulator's host key is new
    at each start, hence no host-key checking, for 127.* only.
    """
    base.mkdir()
    (base / "rancid.conf").write_text(
        RANCID_CONF.read_text()
        + f"""
# -- benchmarks/backup.py
BASEDIR={base}; export BASEDIR
CVSROOT=$BASEDIR/CVS; export CVSROOT
LOGDIR=$BASEDIR/logs; export LOGDIR
TMPDIR=$BASEDIR; export TMPDIR
RCSSYS=git; export RCSSYS
PAR_COUNT={par}; export PAR_COUNT
LIST_OF_GROUPS="{RANCID_GROUP}"; export LIST_OF_GROUPS
# no mail transport here: the diff mail is built, then handed to a no-op
SENDMAIL=/bin/true
"""
    )
    (base / "ssh_config").write_text(
        "Host 127.*\n    StrictHostKeyChecking no\n    UserKnownHostsFile /dev/null\n"
        "    LogLevel ERROR\n"
    )
    cloginrc = base / ".cloginrc"
    cloginrc.touch(mode=0o600)
    cloginrc.write_text(
        f"add sshcmd 127.* {{{{ssh -F {base / 'ssh_config'}}}}}\n"
        f"add user 127.* {USERNAME}\n"
        f"add password 127.* {{{fleet.password}}} {{{fleet.enable}}}\n"
        "add method 127.* ssh\n"
    )
    subprocess.run(["chown", "-R", f"{RANCID_USER}:{RANCID_USER}", str(base)], check=True)
    _as_rancid_checked(base, ["rancid-cvs", "-f", str(base / "rancid.conf")])
    router_db = base / RANCID_GROUP / "router.db"
    router_db.write_text("".join(f"{address};cisco;up\n" for _, address in fleet.switches()))
    shutil.chown(router_db, RANCID_USER, RANCID_USER)
    return base


def as_rancid(base: Path, argv: list[str]) -> list[str]:
    """A command run as the rancid user (RANCID refuses root), at home in ``base``."""
    return [
        "runuser", "-u", RANCID_USER, "--",
        "env", f"HOME={base}", f"CLOGINRC={base / '.cloginrc'}", *argv,
    ]  # fmt: skip


def _as_rancid_checked(base: Path, argv: list[str]) -> None:
    done = subprocess.run(as_rancid(base, argv), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")


def rancid_collected(repo: Path, fleet: Fleet, since: float) -> int:
    """Devices whose configuration file this run rewrote, holds the whole running config and
    is tracked in git (RANCID keeps the old file when a fetch fails)."""
    tracked = set(_git(repo, "ls-tree", "-r", "--name-only", "HEAD", "configs").split())
    ok = 0
    for name, address in fleet.switches():
        path = repo / "configs" / address
        if f"configs/{address}" not in tracked or not path.is_file():
            continue
        if path.stat().st_mtime >= since and looks_whole(path.read_text(errors="replace"), name):
            ok += 1
    return ok


def commit_count(repo: Path) -> int:
    return int(_git(repo, "rev-list", "--all", "--count"))


def _git(repo: Path, *argv: str) -> str:
    # The repository belongs to another user: git refuses it unless told it is safe.
    command = ["git", "-c", f"safe.directory={repo}", "-C", str(repo), *argv]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


# -- automator ----------------------------------------------------------------------------------


def automator_has_backup() -> bool:
    done = subprocess.run(
        [str(BIN / "automator"), "backup", "--help"], capture_output=True, check=False
    )
    if done.returncode != 0:
        print("automator: skipped: `automator backup` does not exist yet", flush=True)
    return done.returncode == 0


def automator_collected(home: Path) -> int:
    """Hosts backed up (ok or changed) by the latest run in automator's store; 0 when the run
    left no store behind."""
    database = home / "automator.db"
    if not database.is_file():
        return 0
    with closing(sqlite3.connect(database)) as db:
        try:
            (count,) = db.execute(
                "SELECT count(*) FROM host_results WHERE outcome IN ('ok', 'changed')"
                " AND run_id = (SELECT max(id) FROM runs)"
            ).fetchone()
        except sqlite3.OperationalError:  # no tables: it failed before making them
            return 0
    return int(count)


def automator_commits(home: Path) -> int:
    """Commits in the git repositories under automator's home (0 before the first run)."""
    if not home.is_dir():
        return 0
    gitdirs = [head.parent for head in home.rglob("HEAD") if (head.parent / "objects").is_dir()]
    return sum(commit_count(gitdir) for gitdir in gitdirs)


# -- the report ----------------------------------------------------------------------------------


def report(
    results: dict[str, list[Result]], args: argparse.Namespace, rancid: bool, automator: bool
) -> None:
    devices = args.devices
    print(
        f"\n{devices} simulated switches (one loopback address each, port 22), forks "
        f"{args.forks}, {args.rounds} rounds, {os.cpu_count()} cores; medians"
    )
    print(
        f"{'contender':<28} {'wall s':>7} {'dev/s':>6} {'RSS MB':>7} {'PSS MB':>7} "
        f"{'CPU s':>6} {'sim s':>6} {'commits':>7} {'ok':>5}  runs (s)"
    )
    medians: dict[str, float] = {}
    for label, runs in results.items():
        seconds = medians[label] = statistics.median(r.seconds for r in runs)
        commits = "/".join(sorted({"-" if r.commits is None else str(r.commits) for r in runs}))
        print(
            f"{label:<28} {seconds:>7.1f} {devices / seconds:>6.1f} "
            f"{_median(runs, 'rss_mb'):>7.0f} {_median(runs, 'pss_mb'):>7.0f} "
            f"{_median(runs, 'cpu'):>6.1f} {_median(runs, 'sim_cpu'):>6.1f} "
            f"{commits:>7} "
            f"{min(r.ok for r in runs):>5}  " + " ".join(f"{r.seconds:.1f}" for r in runs)
        )
    if not automator:
        print("automator: not run (`automator backup` does not exist yet)")
        return
    backed_up = min(r.ok for r in results["automator first"] + results["automator again"])
    if backed_up < devices:
        print(f"automator backed up {backed_up} of {devices} devices in a run: goals not assessed")
        return
    first = medians["automator first"]
    print(f"automator first: {devices / first:.1f} devices/s (goal: >= 30)")
    print(f"automator first vs {FLOOR}: {first / medians[FLOOR] - 1:+.0%} (goal: within +20 %)")
    if f"{SERVED} first" in medians:
        nightly = medians[f"{SERVED} first"]
        print(
            f"{SERVED} first vs {FLOOR}: {nightly / medians[FLOOR] - 1:+.0%} "
            "(the nightly backup, as serve runs it: no process start)"
        )
    peak = _median(results["automator first"], "rss_mb")
    print(f"automator first peak memory: {peak:.0f} MB RSS (goal: <= 150 MB)")
    made = {phase: _median(results[f"automator {phase}"], "commits") for phase in PHASES}
    print(f"automator commits: first {made['first']:.0f}, again {made['again']:.0f}"
          " (goal: one per run, of the devices that changed)")  # fmt: skip
    if rancid:
        best = min(
            (label for label in medians if label.startswith("rancid") and label.endswith("first")),
            key=medians.__getitem__,
        )
        print(f"automator first vs {best}: {medians[best] / first:.1f}x faster (goal: >= 4.5x)")


def _median(runs: list[Result], field: str) -> float:
    values: list[Any] = [getattr(r, field) for r in runs]
    return float(statistics.median(values))


if __name__ == "__main__":
    main()
