"""What a lab is: the spec it is built from, where its parts live, and its status."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from automator.errors import LabError

MAX_HOSTS = 200
MAX_SWITCHES = 500
# Interface names are built from the prefix (``<prefix>br``, ``<prefix>h200``) and the kernel
# limits them to 15 characters.
_PREFIX = re.compile(r"[a-z][a-z0-9]{0,7}")


@dataclass(frozen=True)
class LabSpec:
    """What to stand up.

    The namespaces are ``<prefix>ctl`` (the controller) and ``<prefix>h<i>`` (host *i*, from 1),
    so labs with different prefixes coexist. The controller's bridge has ``<subnet>.1`` and host
    *i* has ``<subnet>.<10 + i>``. Switch *i* (``sw<i>``) listens on
    ``127.0.0.1:<switch_base_port + i - 1>`` inside the controller namespace.
    """

    state_dir: Path
    prefix: str = "lab"
    subnet: str = "10.123.0"
    switch_base_port: int = 20001
    hosts: int = 3
    switches: int = 2

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
        if problems:
            raise LabError("invalid lab spec: " + "; ".join(problems))
        # Inventories and sshd configs written from it must not depend on the current directory.
        object.__setattr__(self, "state_dir", Path(self.state_dir).absolute())


class HostState(NamedTuple):
    name: str
    address: str
    up: bool


class SwitchState(NamedTuple):
    name: str
    port: int
    up: bool


@dataclass(frozen=True)
class LabStatus:
    """What is running: ``up`` is whether the host's sshd or the switch's port accepts TCP."""

    hosts: list[HostState]
    switches: list[SwitchState]
    controller_netns: str
    state_dir: Path
    seconds_to_start: float | None


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
        self.record = state / "lab.json"
        self.inventory_dir = state / "inventory"

    @property
    def subnet_cidr(self) -> str:
        return f"{self.spec.subnet}.0/24"

    def owns_netns(self, name: str) -> bool:
        return self._own_netns.fullmatch(name) is not None

    def host_dir(self, name: str) -> Path:
        return self.hosts_dir / name
