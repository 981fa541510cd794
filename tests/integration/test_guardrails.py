"""Guardrails on the lab through the real command: a change inside a freeze window."""

from __future__ import annotations

import re
import shutil

import yaml

from .helpers import automator_cli


def test_break_glass_inside_a_freeze_window(lab, tmp_path):
    inventory = tmp_path / "inventory"
    shutil.copytree(lab.inventory_dir, inventory)
    hosts = yaml.safe_load((inventory / "hosts.yaml").read_text())
    name = sorted(h for h, v in hosts.items() if v["platform"] == "linux")[0]
    hosts[name]["data"]["freeze"] = [
        {
            "name": "audit",
            "starts": "2020-01-01T00:00:00+00:00",
            "ends": "2099-01-01T00:00:00+00:00",
        }
    ]
    (inventory / "hosts.yaml").write_text(yaml.safe_dump(hosts))
    automator = automator_cli(tmp_path / "home", inventory)
    refused = automator("run", "greet", "--limit", name, "-p", "message=hi")
    assert refused.returncode == 1
    assert (
        f"inside a window: {name} (freeze window 'audit' until 2099-01-01 00:00 UTC); "
        "a change there needs --break-glass REASON"
    ) in refused.stdout
    # the playbook it had started while asking the gate was stopped, its folder removed
    assert not list((tmp_path / "home" / "artifacts" / "starting").iterdir())
    forced = automator(
        "run", "greet", "--limit", name, "-p", "message=hi", "--break-glass", "INC-9 audit sign-off"
    )
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert re.search(rf"{name}\W+changed", forced.stdout)
    ticket = re.search(r"ticket #(\d+)", forced.stdout)
    assert ticket
    shown = automator("tickets", "show", ticket.group(1))
    assert (
        f"break-glass (INC-9 audit sign-off): changing {name} (freeze window 'audit'"
        in " ".join(shown.stdout.split())
    )
    # a read-only runbook is not held back by the window
    assert automator("run", "facts", "--limit", name).returncode == 0
