"""``Lab``: bring a lab up, take it down, tell what is running."""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from automator.errors import LabError
from automator.lab import _hosts, _network, _snmpd
from automator.lab._inventory import write_inventory
from automator.lab._netns import list_netns, netns_path, pids_by_netns, tcp_open
from automator.lab._spec import (
    FacilityState,
    HostState,
    LabSpec,
    LabStatus,
    Layout,
    SwitchState,
)
from automator.lab._system import (
    check_prerequisites,
    cmdline,
    is_alive,
    kill_and_wait,
    spawn_detached,
    tail,
)

_FARM_MODULE = "automator.lab._switchfarm"
_SIM_MODULE = "automator.lab._simulator"
_SIM_DEFAULTS = Path(__file__).parent / "files" / "sim" / "_default"
_SWITCH_ADDRESS = "127.0.0.1"  # the controller namespace's own loopback
_PROBE_TIMEOUT = 1.0


class Lab:
    """A lab of real Linux hosts, simulated network gear and facility gear on this machine.

    Everything it runs lives in network namespaces named after ``spec.prefix``; what it keeps
    (keys, secrets, logs, the inventory) lives in ``spec.state_dir``. Needs root.
    """

    def __init__(self, spec: LabSpec) -> None:
        self.spec = spec
        self._layout = Layout(spec)

    @property
    def controller_netns(self) -> str:
        """The namespace from which the hosts and switches are reached."""
        return self._layout.controller_netns

    @property
    def inventory_dir(self) -> Path:
        return self._layout.inventory_dir

    @property
    def sim_outputs_dir(self) -> Path:
        """The simulator's outputs folder: ``_default/`` and one folder per device that has
        outputs of its own (``automator.lab._simulator.set_output`` writes them)."""
        return self._layout.sim_outputs

    def facility_values_file(self, name: str) -> Path:
        """The values file a facility device serves (``automator.lab._snmpd.set_values``)."""
        names = [device.name for device in self._recorded_layout().facility]
        if name not in names:
            raise LabError(
                f"{name!r} is not a facility device of lab {self.spec.prefix!r}: {names}"
            )
        return _snmpd.values_path(self._layout.facility_device_dir(name))

    def up(self) -> LabStatus:
        """Stand the lab up, replacing what is left of a lab with the same prefix.

        Returns once every host's sshd, every switch's and simulator device's port accepts
        connections and every facility device's snmpd listens.
        """
        started = time.monotonic()
        check_prerequisites(hosts=self.spec.hosts > 0, switches=self.spec.switches > 0)
        _check_gear(self.spec)
        self._refuse_other_running_lab()
        self.down()
        self.spec.state_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._start()
            record = asdict(self.spec) | {"seconds_to_start": time.monotonic() - started}
            del record["state_dir"]  # the record lives in it
            self._layout.record.write_text(json.dumps(record, indent=2) + "\n")
        except BaseException:
            self.down()
            raise
        return self.status()

    def down(self) -> None:
        """Stop everything the lab runs and delete its namespaces. Does nothing if it is down."""
        layout = self._layout
        names = [name for name in list_netns() if layout.owns_netns(name)]
        pids = pids_by_netns(names)
        # Only what the lab started: a process that entered the controller namespace (a test
        # run, a shell) is not the lab's to kill.
        servers = [pid for pid in pids.pop(layout.controller_netns, []) if _is_server(cmdline(pid))]
        # Killing a host's launcher kills its PID 1 and so the whole host; whatever else is in
        # the host's network namespace (a debugging shell) goes too, or the namespace would
        # outlive its name.
        in_hosts = [pid for host_pids in pids.values() for pid in host_pids]
        launchers = [pid for pid in in_hosts if cmdline(pid)[:1] == ["unshare"]]
        kill_and_wait([*servers, *launchers, *in_hosts])
        _network.delete(names)
        recorded = self._recorded_layout()
        for each in {layout.subnet_cidr: layout, recorded.subnet_cidr: recorded}.values():
            _network.remove_safety_route(each)
        layout.record.unlink(missing_ok=True)
        layout.farm_pid.unlink(missing_ok=True)

    def status(self) -> LabStatus:
        """What runs now: hosts whose sshd and switches and simulator devices whose port accept
        TCP are up, and facility devices whose snmpd listens on its UDP port."""
        layout = self._recorded_layout()
        targets = [(address, 22) for _, address in layout.hosts]
        targets += [(_SWITCH_ADDRESS, port) for _, port in [*layout.switches, *layout.sims]]
        snmp_ports = [device.port for device in layout.facility]
        if netns_path(layout.controller_netns).exists():
            reachable = tcp_open(layout.controller_netns, targets, _PROBE_TIMEOUT)
            listening = _snmpd.udp_listening(layout.controller_netns, snmp_ports)
        else:
            reachable = [False] * len(targets)
            listening = [False] * len(snmp_ports)
        hosts_up = reachable[: len(layout.hosts)]
        switches_up = reachable[len(layout.hosts) : len(layout.hosts) + len(layout.switches)]
        sims_up = reachable[len(layout.hosts) + len(layout.switches) :]
        return LabStatus(
            hosts=[
                HostState(name, address, up)
                for (name, address), up in zip(layout.hosts, hosts_up, strict=True)
            ],
            switches=[
                SwitchState(name, port, up)
                for (name, port), up in zip(layout.switches, switches_up, strict=True)
            ],
            controller_netns=layout.controller_netns,
            state_dir=self.spec.state_dir,
            seconds_to_start=self._read_record().get("seconds_to_start"),
            sims=[
                SwitchState(name, port, up)
                for (name, port), up in zip(layout.sims, sims_up, strict=True)
            ],
            facility=[
                FacilityState(device.name, device.kind, device.port, up)
                for device, up in zip(layout.facility, listening, strict=True)
            ],
        )

    def stop_host(self, name: str) -> None:
        """Stop a host's sshd: the host stays, but SSH to it is refused."""
        _hosts.stop_sshd(self._layout, self._host(name))

    def start_host(self, name: str) -> None:
        """Start a host's sshd again after ``stop_host``."""
        _hosts.start_sshd(self._layout, self._host(name))

    def write_inventory(self, dest: Path) -> None:
        """Write the lab's Nornir inventory (hosts, groups, defaults .yaml) into ``dest``."""
        write_inventory(self._layout, dest)

    def _start(self) -> None:
        layout = self._layout
        authorized_key = _hosts.ensure_client_key(layout)
        for path in (layout.switch_password, layout.switch_enable):
            _write_secret(path, secrets.token_urlsafe(18))
        _network.create(layout)
        _network.add_safety_route(layout)
        farm = self._start_farm() if layout.switches else None
        simulator = self._start_simulator() if layout.sims else None
        facility = self._start_facility()
        known_hosts = [
            _hosts.prepare(layout, name, address, authorized_key) for name, address in layout.hosts
        ]
        layout.known_hosts.write_text("".join(known_hosts))
        launchers = {name: _hosts.launch(layout, name) for name, _ in layout.hosts}
        _hosts.wait_sshd(layout, launchers, timeout=30 + 0.1 * len(launchers))
        ctl = layout.controller_netns
        if farm is not None:
            _wait_listening(ctl, farm, layout.farm_log, layout.switches, "switch farm")
        if simulator is not None:
            _wait_listening(ctl, simulator, layout.sim_log, layout.sims, "simulator")
        _snmpd.wait_listening(ctl, facility, timeout=10 + 0.1 * len(facility))
        write_inventory(layout, layout.inventory_dir)

    def _start_farm(self) -> int:
        layout = self._layout
        pid = spawn_detached(
            [
                "ip", "netns", "exec", layout.controller_netns,
                sys.executable, "-m", _FARM_MODULE,
                "--count", str(len(layout.switches)),
                "--base-port", str(self.spec.switch_base_port),
                "--host", _SWITCH_ADDRESS,
                "--password-file", str(layout.switch_password),
                "--enable-secret-file", str(layout.switch_enable),
                "--hostname-prefix", "sw",
            ],
            layout.farm_log,
        )  # fmt: skip
        layout.farm_pid.write_text(f"{pid}\n")
        return pid

    def _start_simulator(self) -> int:
        """Start the recorded-output simulator on fresh copies of the default outputs."""
        layout = self._layout
        shutil.rmtree(layout.sim_outputs, ignore_errors=True)
        shutil.copytree(_SIM_DEFAULTS, layout.sim_outputs / "_default")
        return spawn_detached(
            [
                "ip", "netns", "exec", layout.controller_netns,
                sys.executable, "-m", _SIM_MODULE,
                "--count", str(len(layout.sims)),
                "--base-port", str(self.spec.sim_base_port),
                "--host", _SWITCH_ADDRESS,
                "--password-file", str(layout.switch_password),
                "--enable-secret-file", str(layout.switch_enable),
                "--hostname-prefix", "sim",
                "--outputs-dir", str(layout.sim_outputs),
            ],
            layout.sim_log,
        )  # fmt: skip

    def _start_facility(self) -> list[_snmpd.Started]:
        """Give every facility device fresh default values and start its snmpd."""
        layout = self._layout
        shutil.rmtree(layout.facility_dir, ignore_errors=True)
        if not layout.facility:
            return []
        community = secrets.token_hex(16)  # letters and digits: snmpd.conf takes it as is
        _write_secret(layout.snmp_community, community)
        started = []
        for device in layout.facility:
            folder = layout.facility_device_dir(device.name)
            _snmpd.prepare(folder, device.name, device.kind, device.port, community)
            started.append(_snmpd.launch(layout.controller_netns, device.name, device.port, folder))
        return started

    def _host(self, name: str) -> str:
        names = [host for host, _ in self._recorded_layout().hosts]
        if name not in names:
            raise LabError(f"{name!r} is not a host of lab {self.spec.prefix!r}: {names}")
        return name

    def _refuse_other_running_lab(self) -> None:
        prefix = self._record_file().get("prefix", self.spec.prefix)
        if prefix != self.spec.prefix and f"{prefix}ctl" in list_netns():
            raise LabError(
                f"{self.spec.state_dir} holds the running lab {prefix!r}: take it down with"
                f" `automator lab down --prefix {prefix}`, or use another state folder"
            )

    def _record_file(self) -> dict[str, Any]:
        try:
            record: dict[str, Any] = json.loads(self._layout.record.read_text())
        except FileNotFoundError:
            return {}
        return record

    def _read_record(self) -> dict[str, Any]:
        """What ``up`` recorded in the state folder, if it was this lab (this prefix)."""
        record = self._record_file()
        return record if record.get("prefix") == self.spec.prefix else {}

    def _recorded_layout(self) -> Layout:
        """The layout of the lab as last brought up, which ``spec`` may not describe (a
        ``status`` or ``down`` without the counts that ``up`` was given)."""
        record = self._read_record()
        if not record:
            return self._layout
        record.pop("seconds_to_start", None)
        return Layout(LabSpec(state_dir=self.spec.state_dir, **record))


def _check_gear(spec: LabSpec) -> None:
    """Raise LabError naming what to install when the simulated gear cannot run."""
    if spec.sims and importlib.util.find_spec("asyncssh") is None:
        raise LabError("the network simulator needs asyncssh: pip install 'automator[lab]'")
    if spec.facility_count and not os.access(_snmpd.SNMPD, os.X_OK):
        raise LabError(f"the facility devices need {_snmpd.SNMPD}: apt-get install snmpd")


def _is_server(argv: list[str]) -> bool:
    """Whether a process of the controller namespace is one the lab started there."""
    return _FARM_MODULE in argv or _SIM_MODULE in argv or _snmpd.is_ours(argv)


def _wait_listening(
    netns: str, pid: int, log: Path, devices: list[tuple[str, int]], what: str
) -> None:
    """Wait until a device server has said READY and every device's port accepts TCP."""
    timeout = 30 + 0.1 * len(devices)
    deadline = time.monotonic() + timeout
    targets = [(_SWITCH_ADDRESS, port) for _, port in devices]
    while not _ready(log) or not all(tcp_open(netns, targets, _PROBE_TIMEOUT)):
        if not is_alive(pid):
            raise LabError(f"the {what} exited:\n{tail(log)}")
        if time.monotonic() > deadline:
            raise LabError(f"the {what} did not listen within {timeout:.0f} s:\n{tail(log)}")
        time.sleep(0.05)


def _ready(log: Path) -> bool:
    try:
        return any(line.startswith("READY") for line in log.read_text().splitlines())
    except FileNotFoundError:
        return False


def _write_secret(path: Path, secret: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        os.fchmod(fd, 0o600)  # an older file keeps its mode through O_CREAT
        file.write(secret)
