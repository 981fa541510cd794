"""The check catalogue: the shipped checks load, bad files are reported by file, line and
field, and inventory settings are checked against the catalogue."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from automator.checks import CheckError, Status, load_checks
from automator.inventory import load_inventory

REPO = Path(__file__).resolve().parents[3]


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(dedent(text))
    return path


def problems(folder: Path) -> list[str]:
    with pytest.raises(CheckError) as raised:
        load_checks(folder)
    return [str(problem) for problem in raised.value.problems]


def test_the_shipped_catalogue_loads_and_covers_every_kind_of_gear() -> None:
    catalogue = load_checks(REPO / "checks")
    kinds = {target for check in catalogue.checks.values() for target in check.applies_to}
    assert {"server", "cisco_ios", "ups_snmp"} <= kinds
    disk = catalogue.get("linux-disk")
    assert disk.metrics["used_pct"].threshold.critical == 95
    assert disk.trends[0].reaches == 100
    assert catalogue.get("ups").metrics["charge_pct"].threshold.below


def test_a_valid_check_file(tmp_path: Path) -> None:
    write(
        tmp_path,
        "svc.yaml",
        """\
        description: a service
        applies_to: [linux]
        params: {service: [sshd, cron]}
        commands: {server: "service {service} status"}
        parse: service
        values:
          running: {critical: 0, below: true}
        schedule: "*/5 * * * *"
        priority: p1
        """,
    )
    check = load_checks(tmp_path).get("svc")
    assert check.schedule == "*/5 * * * *"
    assert check.priority.value == "P1"
    assert check.params == {"service": ["sshd", "cron"]}
    assert check.metrics["running"].threshold.judge(0) is Status.CRITICAL
    assert check.metrics["running"].threshold.judge(1) is Status.OK


def test_every_problem_is_named_by_file_line_and_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "bad.yaml",
        """\
        applies_to: [linux, toaster]
        commands: {server: "df {mount}"}
        parse: {parser: textfsm, template: missing.textfsm}
        colour: blue
        values:
          used_pct: {warning: high, critical: 90}
          free: {warning: 30, critical: 20}
        trends:
          nothing: {rising: 1}
          used_pct: {reaches: 100}
        schedule: "every day"
        priority: P9
        """,
    )
    found = problems(tmp_path)
    where = str(path)
    assert f"{where}:1: applies_to: unknown platform or kind 'toaster'" in "\n".join(found)
    expected = [
        f"{where}:2: commands.server: {{mount}} is not a declared param",
        f"{where}:4: colour: unknown field",
        f"{where}:6: values.used_pct.warning: must be a number",
        f"{where}:7: values.free: warning must come before critical",
        f"{where}:9: trends.nothing: not a value of this check",
        f"{where}:10: trends.used_pct.within: is required with reaches",
        f"{where}:11: schedule: not a cron expression",
        f"{where}:12: priority: must be P1, P2, P3 or P4",
        f"{where}:3: parse.template: no template file 'missing.textfsm'",
    ]
    for line in expected:
        assert any(problem.startswith(line) for problem in found), (line, found)


def test_an_unknown_parser_and_a_missing_values_section(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "x.yaml",
        """\
        applies_to: network
        commands: {network: show clock}
        parse: crystal_ball
        """,
    )
    found = problems(tmp_path)
    assert any(p.startswith(f"{path}:3: parse: unknown parser 'crystal_ball'") for p in found)
    assert any(p.startswith(f"{path}:1: values: is required") for p in found)


def test_a_parameter_value_that_a_shell_would_interpret_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "svc.yaml",
        """\
        applies_to: server
        params: {service: "sshd; rm -rf /"}
        commands: {server: "service {service} status"}
        parse: service
        values: {running: {critical: 0, below: true}}
        """,
    )
    assert any(
        p.startswith(f"{path}:2: params.service: must be a word") for p in problems(tmp_path)
    )


def test_inventory_settings_merge_and_are_checked_against_the_catalogue(tmp_path: Path) -> None:
    inventory_dir = tmp_path / "inventory"
    write(
        inventory_dir,
        "hosts.yaml",
        """\
        web1:
          hostname: 10.0.0.1
          platform: linux
          groups: [web]
          data:
            checks:
              linux-disk: {thresholds: {used_pct: {critical: 99}}}
              linux-ntp: {enabled: false}
        """,
    )
    write(
        inventory_dir,
        "groups.yaml",
        """\
        web:
          data:
            checks:
              linux-disk: {thresholds: {used_pct: {warning: 70}}}
              linux-service: {params: {service: [nginx]}}
        """,
    )
    write(inventory_dir, "defaults.yaml", "data: {}\n")
    inventory = load_inventory(inventory_dir)
    web1 = inventory.get("web1")
    assert web1.checks["linux-disk"]["thresholds"]["used_pct"] == {"warning": 70, "critical": 99}
    assert web1.checks["linux-ntp"]["enabled"] is False
    assert web1.checks["linux-service"]["params"] == {"service": ["nginx"]}
    catalogue = load_checks(REPO / "checks")
    catalogue.validate_inventory(inventory)

    write(
        inventory_dir,
        "hosts.yaml",
        """\
        web1:
          hostname: 10.0.0.1
          platform: linux
          data:
            checks:
              linux-disk: {thresholds: {free_pct: {warning: 10}}}
              no-such-check: {enabled: false}
        """,
    )
    with pytest.raises(CheckError) as raised:
        catalogue.validate_inventory(load_inventory(inventory_dir))
    text = str(raised.value)
    assert "web1.data.checks.no-such-check: no such check" in text
    assert (
        "web1.data.checks.linux-disk.thresholds.free_pct: check linux-disk judges no value" in text
    )


def test_wrong_types_in_inventory_check_settings_name_the_line(tmp_path: Path) -> None:
    inventory_dir = tmp_path / "inventory"
    write(
        inventory_dir,
        "hosts.yaml",
        """\
        web1:
          platform: linux
          data:
            checks:
              linux-disk:
                thresholds: {used_pct: {warning: "80%"}}
                enabled: maybe
                colour: red
        """,
    )
    from automator.errors import InventoryError

    with pytest.raises(InventoryError) as raised:
        load_inventory(inventory_dir)
    text = str(raised.value)
    assert (
        "hosts.yaml:6: web1.data.checks.linux-disk.thresholds.used_pct.warning: must be a number"
        in text
    )
    assert "hosts.yaml:7: web1.data.checks.linux-disk.enabled: must be true or false" in text
    assert "hosts.yaml:8: web1.data.checks.linux-disk.colour: unknown field" in text


def test_a_fact_from_a_playbook(tmp_path: Path) -> None:
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "facts.yml").write_text("- hosts: all\n  tasks: []\n")
    write(
        tmp_path / "checks",
        "up.yaml",
        """\
        applies_to: server
        playbook: facts.yml
        fact: ansible_facts.uptime_seconds
        parse: json
        values: {uptime_seconds: {warning: 600, below: true}}
        """,
    )
    check = load_checks(tmp_path / "checks").get("up")
    assert check.playbook == (tmp_path / "playbooks" / "facts.yml").resolve()
    assert check.fact == "ansible_facts.uptime_seconds"
    path = write(
        tmp_path / "bad",
        "up.yaml",
        """\
        applies_to: server
        commands: {server: uptime}
        playbook: ../../etc/passwd
        fact: "uptime; rm"
        parse: json
        values: {uptime_seconds: {warning: 600, below: true}}
        """,
    )
    found = problems(tmp_path / "bad")
    assert any(p.startswith(f"{path}:4: fact: a dotted path") for p in found), found
    assert any(p.startswith(f"{path}:3: playbook: no playbook") for p in found), found


def test_facts_are_found_under_their_injected_names() -> None:
    from automator.runners._ansible import _fact

    facts = {"ansible_uptime_seconds": 42, "ansible_mounts": [{"mount": "/"}], "custom": {"a": 1}}
    assert _fact(facts, "ansible_facts.uptime_seconds") == 42
    assert _fact(facts, "ansible_uptime_seconds") == 42
    assert _fact(facts, "custom.a") == 1
    assert _fact(facts, "ansible_facts.nothing") is None
