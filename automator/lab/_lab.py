"""``Lab``: bring a lab up, take it down, tell what is running."""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from automator.errors import LabError
from automator.lab import _hosts, _network
from automator.lab._inventory import write_inventory
from automator.lab._netns import list_netns, netns_path, pids_by_netns, tcp_open
from automator.lab._spec import HostState, LabSpec, LabStatus, Layout, SwitchState
from automator.lab._system import (
    check_prerequisites,
    cmdline,
    is_alive,
    kill_and_wait,
    spawn_detached,
    tail,
)

_FARM_MODULE = "automator.lab._switchfarm"
_SWITCH_ADDRESS = "127.0.0.1"  # the controller namespace's own loopback
_PROBE_TIMEOUT = 1.0


class Lab:
    """A lab of real Linux hosts and simulated Cisco IOS switches on this machine.

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

    def up(self) -> LabStatus:
        """Stand the lab up, replacing what is left of a lab with the same prefix.

        Returns once every host's sshd and every switch's port accepts connections.
        """
        started = time.monotonic()
        check_prerequisites(hosts=self.spec.hosts > 0, switches=self.spec.switches > 0)
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
        farm = [
            pid for pid in pids.pop(layout.controller_netns, []) if _FARM_MODULE in cmdline(pid)
        ]
        # Killing a host's launcher kills its PID 1 and so the whole host; whatever else is in
        # the host's network namespace (a debugging shell) goes too, or the namespace would
        # outlive its name.
        in_hosts = [pid for host_pids in pids.values() for pid in host_pids]
        launchers = [pid for pid in in_hosts if cmdline(pid)[:1] == ["unshare"]]
        kill_and_wait([*farm, *launchers, *in_hosts])
        _network.delete(names)
        recorded = self._recorded_layout()
        for each in {layout.subnet_cidr: layout, recorded.subnet_cidr: recorded}.values():
            _network.remove_safety_route(each)
        layout.record.unlink(missing_ok=True)
        layout.farm_pid.unlink(missing_ok=True)

    def status(self) -> LabStatus:
        """What runs now: hosts whose sshd and switches whose port accept TCP are up."""
        layout = self._recorded_layout()
        targets = [(address, 22) for _, address in layout.hosts]
        targets += [(_SWITCH_ADDRESS, port) for _, port in layout.switches]
        if netns_path(layout.controller_netns).exists():
            reachable = tcp_open(layout.controller_netns, targets, _PROBE_TIMEOUT)
        else:
            reachable = [False] * len(targets)
        hosts_up, switches_up = reachable[: len(layout.hosts)], reachable[len(layout.hosts) :]
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
            _write_secret(path)
        _network.create(layout)
        _network.add_safety_route(layout)
        farm = self._start_farm() if layout.switches else None
        known_hosts = [
            _hosts.prepare(layout, name, address, authorized_key) for name, address in layout.hosts
        ]
        layout.known_hosts.write_text("".join(known_hosts))
        launchers = {name: _hosts.launch(layout, name) for name, _ in layout.hosts}
        _hosts.wait_sshd(layout, launchers, timeout=30 + 0.1 * len(launchers))
        if farm is not None:
            self._wait_farm(farm)
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

    def _wait_farm(self, pid: int) -> None:
        layout = self._layout
        timeout = 30 + 0.1 * len(layout.switches)
        deadline = time.monotonic() + timeout
        targets = [(_SWITCH_ADDRESS, port) for _, port in layout.switches]
        while not _farm_ready(layout.farm_log) or not all(
            tcp_open(layout.controller_netns, targets, _PROBE_TIMEOUT)
        ):
            if not is_alive(pid):
                raise LabError(f"the switch farm exited:\n{tail(layout.farm_log)}")
            if time.monotonic() > deadline:
                raise LabError(
                    f"the switches did not listen within {timeout:.0f} s:\n{tail(layout.farm_log)}"
                )
            time.sleep(0.05)

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


def _farm_ready(log: Path) -> bool:
    try:
        return any(line.startswith("READY") for line in log.read_text().splitlines())
    except FileNotFoundError:
        return False


def _write_secret(path: Path) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as secret:
        os.fchmod(fd, 0o600)  # an older file keeps its mode through O_CREAT
        secret.write(secrets.token_urlsafe(18))
