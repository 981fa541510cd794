"""The ``automator`` command as an operator uses it: output, exit codes, bad input."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from .helpers import automator_cli, stopped


@pytest.fixture
def cli(lab, tmp_path):
    automator = automator_cli(tmp_path / "home", lab.inventory_dir)

    def run(*args: str, inventory: Path | None = None) -> subprocess.CompletedProcess[str]:
        extra = ["--inventory", str(inventory)] if inventory else []
        return automator(*extra, *args)

    return run


def test_run_prints_per_host_outcomes_and_opens_a_ticket(cli, lab):
    names = sorted(n for n in _inventory_names(cli) if not n.startswith("sw"))[:3]
    with stopped(lab, names[2]):
        result = cli("run", "fail-on-three", "--limit", ",".join(names), "--connect-timeout", "5")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert re.search(rf"{names[0]}\W+ok", result.stdout)
    assert re.search(rf"{names[2]}\W+unreachable", result.stdout)
    assert "2 ok, 1 unreachable" in result.stdout
    ticket = re.search(r"ticket #(\d+) opened", result.stdout)
    assert ticket, result.stdout

    shown = cli("tickets", "show", ticket.group(1))
    assert shown.returncode == 0, shown.stderr
    assert re.search(rf"{names[2]}\W+unreachable", shown.stdout)
    assert "run #1 partial: 2 ok, 1 unreachable" in shown.stdout
    listed = cli("tickets", "list", "--open")
    assert f"#{ticket.group(1)}" in listed.stdout


def test_run_on_an_existing_ticket_and_success_exit_code(cli):
    opened = cli("tickets", "open", "--kind", "change", "--title", "cli test", "-q")
    assert opened.returncode == 0, opened.stderr
    ticket = opened.stdout.strip()
    result = cli("run", "facts", "--ticket", ticket, "--limit", "kind=network")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"ticket #{ticket} updated" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "no-such-book"], "error: no runbook or playbook named 'no-such-book' (known: "),
        (
            ["run", "facts", "--limit", "site=mars"],
            "error: --limit 'site=mars' matches no host in the inventory",
        ),
        (["run", "facts", "--ticket", "4242"], "error: ticket #4242 does not exist"),
        (["run", "greet", "-p", "message"], "error: --param 'message': expected NAME=VALUE"),
        (["tickets", "show", "999"], "error: ticket #999 does not exist"),
        (["inventory", "show", "nope"], "error: host 'nope' is not in the inventory"),
    ],
)
def test_bad_input_gives_a_clear_message_and_exit_2(cli, args, message):
    result = cli(*args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr


def test_malformed_inventory_names_file_line_and_field(cli, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "hosts.yaml").write_text(
        "web1:\n  platform: linux\n  groups: [nope]\n"
        "web1:\n  platform: linux\n"
        "bad1:\n  platform: cisco_iosx\n  port: high\n  password: hunter2\n"
    )
    result = cli("run", "facts", inventory=broken)
    assert result.returncode == 2
    hosts = f"{broken}/hosts.yaml"
    assert result.stderr.splitlines() == [
        "error: inventory has 5 problems:",
        f"{hosts}:3: web1.groups[0]: group 'nope' is not in groups.yaml",
        f"{hosts}:4: web1: duplicate host (first on line 1)",
        f"{hosts}:7: bad1.platform: unknown platform 'cisco_iosx' (known: arista_eos, "
        "cisco_asa, cisco_ios, cisco_nxos, cisco_xe, cooling_snmp, juniper_junos, linux, "
        "pdu_snmp, ups_snmp)",
        f"{hosts}:8: bad1.port: must be an integer from 1 to 65535",
        f"{hosts}:9: bad1.password: secrets are not kept in the inventory: use "
        "credentials.password_env or credentials.password_file",
    ]
    assert "hunter2" not in result.stderr + result.stdout


def test_inventory_commands(cli):
    listed = cli("inventory", "list", "--limit", "kind=network")
    assert listed.returncode == 0 and "cisco_ios" in listed.stdout and "linux" not in listed.stdout
    exported = cli("inventory", "export-ansible")
    assert exported.returncode == 0
    assert "ansible_network_os: cisco.ios.ios" in exported.stdout
    assert "lookup(''ansible.builtin.file''" in exported.stdout  # quotes doubled by YAML
    password = (Path(_lab_state(cli)) / "switch.password").read_text().strip()
    assert password not in exported.stdout


def _inventory_names(cli) -> list[str]:
    listed = cli("inventory", "list")
    return re.findall(r"^│ (\S+)\s+│", listed.stdout, flags=re.M) or re.findall(
        r"^\s*(\S+)\s+(?:linux|cisco_ios)\s", listed.stdout, flags=re.M
    )


def _lab_state(cli) -> str:
    shown = cli("inventory", "show", "sw1")
    match = re.search(r"from file (\S+)/switch\.password", shown.stdout)
    assert match, shown.stdout
    return match.group(1)
