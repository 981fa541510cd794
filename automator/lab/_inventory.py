"""The lab as a Nornir SimpleInventory: hosts.yaml, groups.yaml, defaults.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from automator.lab._snmpd import KINDS
from automator.lab._spec import Layout

# What the lab's parts can be checked for. Lab hosts run no chrony and keep no backups but
# the lab's own /srv; their service is the lab's demo service. fake-switches answers only
# `show version` of the commands the IOS checks use (the recorded-output simulator answers
# them all).
_SERVER_CHECKS = {
    "linux-service": {"params": {"service": ["labsvc"]}},
    "linux-backup-age": {"params": {"path": ["/srv"]}},
    "linux-ntp": {"enabled": False},
}
_SWITCH_CHECKS = {
    name: {"enabled": False}
    for name in (
        "ios-bgp",
        "ios-config-saved",
        "ios-cpu",
        "ios-environment",
        "ios-interfaces",
        "ios-memory",
        "ios-ntp",
        "ios-ospf",
    )
}


def write_inventory(layout: Layout, dest: Path) -> None:
    hosts: dict[str, Any] = {}
    for name, address in layout.hosts:
        hosts[name] = {
            "hostname": address,
            "platform": "linux",
            "groups": ["lab_servers"],
            "data": {"role": "server"},
        }
    for name, port in layout.switches:
        hosts[name] = {
            "hostname": "127.0.0.1",
            "port": port,
            "platform": "cisco_ios",
            "groups": ["lab_switches"],
            "data": {"role": "access-switch"},
        }
    for name, port in layout.sims:
        hosts[name] = {
            "hostname": "127.0.0.1",
            "port": port,
            "platform": "cisco_ios",
            "groups": ["lab_sims"],
            "data": {"role": "distribution-switch"},
        }
    for device in layout.facility:
        kind = KINDS[device.kind]
        hosts[device.name] = {
            "hostname": "127.0.0.1",
            "port": device.port,  # UDP: SNMP
            "platform": kind.platform,
            "groups": ["lab_facility"],
            "data": {"role": kind.role},
        }
    groups: dict[str, Any] = {
        "lab_servers": {
            "username": "root",
            "data": {
                "credentials": {
                    "key_file": str(layout.client_key),
                    "known_hosts_file": str(layout.known_hosts),
                },
                "ansible_vars": {"ansible_python_interpreter": "/usr/bin/python3"},
                "checks": _SERVER_CHECKS,
            },
        },
        "lab_switches": {
            "data": {"credentials": _network_credentials(layout), "checks": _SWITCH_CHECKS}
        },
    }
    if layout.sims:
        groups["lab_sims"] = {"data": {"credentials": _network_credentials(layout)}}
    if layout.facility:
        # SNMP v2c: the community is the device's read secret.
        groups["lab_facility"] = {
            "data": {"credentials": {"password_file": str(layout.snmp_community)}}
        }
    defaults = {
        "data": {
            "site": "lab",
            "tenant": "demo",
            "owner": "ops@example.net",
            "criticality": "medium",
        }
    }
    header = (
        f"# Lab {layout.spec.prefix!r} (state in {layout.spec.state_dir}),"
        " rewritten by `automator lab up`.\n"
    )
    dest.mkdir(parents=True, exist_ok=True)
    for filename, document in (
        ("hosts.yaml", hosts),
        ("groups.yaml", groups),
        ("defaults.yaml", defaults),
    ):
        # Flow style for the innermost mappings and lists only: `groups: [lab_servers]`.
        text = yaml.safe_dump(document, sort_keys=False, default_flow_style=None)
        (dest / filename).write_text(header + text)


def _network_credentials(layout: Layout) -> dict[str, str]:
    """The switches' and the simulator's login: the same files, written by ``Lab.up()``."""
    return {
        "username": "admin",
        "password_file": str(layout.switch_password),
        "enable_secret_file": str(layout.switch_enable),
    }
