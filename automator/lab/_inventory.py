"""The lab as a Nornir SimpleInventory: hosts.yaml, groups.yaml, defaults.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from automator.lab._spec import Layout


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
    groups = {
        "lab_servers": {
            "username": "root",
            "data": {
                "credentials": {
                    "key_file": str(layout.client_key),
                    "known_hosts_file": str(layout.known_hosts),
                },
                "ansible_vars": {"ansible_python_interpreter": "/usr/bin/python3"},
            },
        },
        "lab_switches": {
            "data": {
                "credentials": {
                    "username": "admin",
                    "password_file": str(layout.switch_password),
                    "enable_secret_file": str(layout.switch_enable),
                },
            },
        },
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
