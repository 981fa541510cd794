"""What a lab is: the spec it is built from, where its parts live, and its status."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from automator.errors import LabError
from automator.lab._snmpd import KINDS

MAX_HOSTS = 200
MAX_SWITCHES = 500
MAX_SIMS = 500
# Each facility device is an snmpd plus a Python pass_persist helper, ~20 MB together.
MAX_FACILITY = 50
# Interface names are built from the prefix (``<prefix>br``, ``<prefix>h200``) and the kernel
# limits them to 15 characters.
_PREFIX = re.compile(r"[a-z][a-z0-9]{0,7}")


@dataclass(frozen=True)
class LabSpec:
    """What to stand up.

    The namespaces are ``<prefix>ctl`` (the controller) and ``<prefix>h<i>`` (host *i*, from 1),
    so labs with different prefixes coexist. The controller's bridge has ``<subnet>.1`` and host
    *i* has ``<subnet>.<10 + i>``. Inside the controller namespace, on 127.0.0.1: switch *i*
    (``sw<i>``) listens on TCP ``<switch_base_port + i - 1>``, simulator device *i* (``sim<i>``)
    on TCP ``<sim_base_port + i - 1>``, and the facility devices (``ups<i>``, then ``pdu<i>``,
    then ``crac<i>``) on consecutive UDP ports from ``snmp_base_port``.
    """

    state_dir: Path
    prefix: str = "lab"
    subnet: str = "10.123.0"
    switch_base_port: int = 20001
    hosts: int = 3
    switches: int = 2
    sim_base_port: int = 22001
    sims: int = 0
    snmp_base_port: int = 23001
    ups: int = 0
    pdus: int = 0
    coolers: int = 0

    def __post_init__(self) -> None:
        problems = []
        if not _PREFIX.fullmatch(self.prefix):
            problems.append(
                f"prefix {self.prefix!r} must be 1-8 lowercase letters or digits, starting with"
                " a letter (interface names are limited to 15 characters)"
            )
        try:
            network = ipaddress.IPv4Network(f"{self.subnet}.0/24")
        except ValueError:
            problems.append(f"subnet {self.subnet!r} must be three octets, like 10.123.0")
        else:
            if not network.is_private:
                problems.append(f"subnet {self.subnet!r} must be a private range")
        if not 0 <= self.hosts <= MAX_HOSTS:
            problems.append(f"hosts must be 0..{MAX_HOSTS}, not {self.hosts}")
        if not 0 <= self.switches <= MAX_SWITCHES:
            problems.append(f"switches must be 0..{MAX_SWITCHES}, not {self.switches}")
        if not 1024 <= self.switch_base_port <= 65536 - max(self.switches, 1):
            problems.append(
                f"switch_base_port {self.switch_base_port} leaves no room for"
                f" {self.switches} switches in 1024..65535"
            )
        problems += self._gear_problems()
        if problems:
            raise LabError("invalid lab spec: " + "; ".join(problems))
        # Inventories and sshd configs written from it must not depend on the current directory.
        object.__setattr__(self, "state_dir", Path(self.state_dir).absolute())

    @property
    def facility_count(self) -> int:
        return self.ups + self.pdus + self.coolers

    def _gear_problems(self) -> list[str]:
        """What is wrong with the simulator's and the facility gear's counts and ports."""
        problems = []
        if not 0 <= self.sims <= MAX_SIMS:
            problems.append(f"sims must be 0..{MAX_SIMS}, not {self.sims}")
        if not 1024 <= self.sim_base_port <= 65536 - max(self.sims, 1):
            problems.append(
                f"sim_base_port {self.sim_base_port} leaves no room for"
                f" {self.sims} simulator devices in 1024..65535"
            )
        # Switches and simulator devices both listen on TCP on the same loopback.
        switch_ports = range(self.switch_base_port, self.switch_base_port + self.switches)
        sim_ports = range(self.sim_base_port, self.sim_base_port + self.sims)
        if set(switch_ports) & set(sim_ports):
            problems.append(
                f"switch ports {self.switch_base_port}.. and sim ports {self.sim_base_port}.."
                " overlap"
            )
        counts = {"ups": self.ups, "pdus": self.pdus, "coolers": self.coolers}
        problems += [f"{name} must not be negative, not {n}" for name, n in counts.items() if n < 0]
        if self.facility_count > MAX_FACILITY:
            problems.append(
                f"ups + pdus + coolers must be at most {MAX_FACILITY}, not {self.facility_count}"
            )
        if not 1024 <= self.snmp_base_port <= 65536 - max(self.facility_count, 1):
            problems.append(
                f"snmp_base_port {self.snmp_base_port} leaves no room for"
                f" {self.facility_count} facility devices in 1024..65535"
            )
        return problems


class HostState(NamedTuple):
    name: str
    address: str
    up: bool


class SwitchState(NamedTuple):
    """A switch or a simulator device."""

    name: str
    port: int
    up: bool


class FacilityDevice(NamedTuple):
    """A facility device: ``kind`` is a key of ``automator.lab._snmpd.KINDS``; UDP ``port``."""

    name: str
    kind: str
    port: int


class FacilityState(NamedTuple):
    name: str
    kind: str
    port: int
    up: bool


@dataclass(frozen=True)
class LabStatus:
    """What is running: ``up`` is whether the host's sshd or the switch's or simulator device's
    port accepts TCP, or whether the facility device's snmpd listens on its UDP port."""

    hosts: list[HostState]
    switches: list[SwitchState]
    controller_netns: str
    state_dir: Path
    seconds_to_start: float | None
    sims: list[SwitchState] = field(default_factory=list)
    facility: list[FacilityState] = field(default_factory=list)


class Layout:
    """Where every part of a lab lives: names, addresses, ports and files."""

    def __init__(self, spec: LabSpec) -> None:
        self.spec = spec
        self.controller_netns = f"{spec.prefix}ctl"
        self.bridge = f"{spec.prefix}br"
        self.hosts = [
            (f"{spec.prefix}h{i}", f"{spec.subnet}.{10 + i}") for i in range(1, spec.hosts + 1)
        ]
        self.switches = [
            (f"sw{i}", spec.switch_base_port + i - 1) for i in range(1, spec.switches + 1)
        ]
        self.sims = [(f"sim{i}", spec.sim_base_port + i - 1) for i in range(1, spec.sims + 1)]
        self.facility = _facility(spec)
        self._own_netns = re.compile(rf"{re.escape(spec.prefix)}(ctl|h[0-9]+)")

        state = spec.state_dir
        self.hosts_dir = state / "hosts"
        self.ssh_dir = state / "ssh"
        self.client_key = self.ssh_dir / "id_ed25519"
        self.known_hosts = self.ssh_dir / "known_hosts"
        self.switch_password = state / "switch.password"
        self.switch_enable = state / "switch.enable"
        self.farm_log = state / "switchfarm.log"
        self.farm_pid = state / "switchfarm.pid"
        self.sim_outputs = state / "sim"
        self.sim_log = state / "simulator.log"
        self.facility_dir = state / "facility"
        self.snmp_community = state / "snmp.community"
        self.record = state / "lab.json"
        self.inventory_dir = state / "inventory"

    @property
    def subnet_cidr(self) -> str:
        return f"{self.spec.subnet}.0/24"

    def owns_netns(self, name: str) -> bool:
        return self._own_netns.fullmatch(name) is not None

    def host_dir(self, name: str) -> Path:
        return self.hosts_dir / name

    def facility_device_dir(self, name: str) -> Path:
        return self.facility_dir / name


def _facility(spec: LabSpec) -> list[FacilityDevice]:
    """UPSes first, then PDUs, then cooling units, on consecutive UDP ports."""
    devices: list[FacilityDevice] = []
    for kind, count in (("ups", spec.ups), ("pdu", spec.pdus), ("cooling", spec.coolers)):
        prefix = KINDS[kind].prefix
        for i in range(1, count + 1):
            port = spec.snmp_base_port + len(devices)
            devices.append(FacilityDevice(f"{prefix}{i}", kind, port))
    return devices
