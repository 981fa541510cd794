"""What a backup fetches (backups.yaml), how outputs are checked before they are kept, and
the lines a restore pushes."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from automator.backups._plan import DEFAULT_PLAN, BackupPlanError, load_plan
from automator.backups._restore import restore_lines
from automator.backups._runner import BadOutput, assemble, commands_of
from automator.inventory import Inventory

MARK = "<removed>"
RUNNING = """\
Building configuration...

Current configuration : 120 bytes
!
hostname sw1
!
interface Gi0/1
 description uplink
 negotiation auto
!
ntp server 10.0.0.1
enable secret 5 <removed>
end
"""


def test_without_a_file_the_built_in_plan_applies(tmp_path: Path) -> None:
    assert load_plan(tmp_path) is DEFAULT_PLAN
    assert DEFAULT_PLAN.fetch_for("cisco_ios", "network").commands == ("show running-config",)
    linux = DEFAULT_PLAN.fetch_for("linux", "server")
    assert linux is not None and "/etc/ssh/sshd_config" in linux.files
    assert DEFAULT_PLAN.fetch_for("ups_snmp", "facility") is None


def test_a_plan_file_is_checked_line_by_line(tmp_path: Path) -> None:
    (tmp_path / "backups.yaml").write_text(
        dedent(
            """\
            schedule: "every night"
            retention: {keep_last: 0}
            platforms:
              toaster: {commands: [show toast]}
              linux: {files: ["/etc/hosts; rm -rf /"]}
              cisco_ios: {}
            """
        )
    )
    with pytest.raises(BackupPlanError) as raised:
        load_plan(tmp_path)
    text = str(raised.value)
    for expected in (
        "backups.yaml:1: schedule: not a cron expression",
        "backups.yaml:2: retention.keep_last: must be a whole number >= 1",
        "backups.yaml:4: platforms.toaster: unknown platform 'toaster'",
        "backups.yaml:5: platforms.linux.files: '/etc/hosts; rm -rf /': not a plain absolute path",
        "backups.yaml:6: platforms.cisco_ios: give commands or files to fetch",
    ):
        assert expected in text, text


def out(command: str, text: str, rc: int | None = None) -> dict[str, object]:
    return {"command": command, "output": text, "rc": rc}


def test_a_network_configuration_must_be_whole(small_inventory: Inventory) -> None:
    sw1 = small_inventory.get("sw1")
    fetch = DEFAULT_PLAN.platforms["cisco_ios"]
    show = "show running-config"
    assert assemble(sw1, fetch, {show: out(show, RUNNING)}) == RUNNING
    cases = {
        "": "gave an empty output",
        RUNNING.replace("end\n", ""): "does not end with 'end': cut short",
        RUNNING.replace("ntp server", " --More-- \nntp server"): "a paging prompt (--More--)",
        "% Invalid input detected at '^' marker.\n": "was refused by the device",
    }
    for text, reason in cases.items():
        with pytest.raises(BadOutput, match=reason.replace("(", r"\(").replace(")", r"\)")):
            assemble(sw1, fetch, {show: out(show, text)})


def test_a_server_configuration_is_one_section_per_file_and_command(
    small_inventory: Inventory,
) -> None:
    web1 = small_inventory.get("web1")
    fetch = DEFAULT_PLAN.platforms["linux"]
    outputs = {c: out(c, f"output of {c}\n", 0) for c in commands_of(fetch)}
    outputs["crontab -l"] = out("crontab -l", "no crontab for root\n", 1)
    outputs["cat /etc/crontab"] = out("cat /etc/crontab", "cat: /etc/crontab: No such file\n", 1)
    text = assemble(web1, fetch, outputs)
    assert "### command crontab -l (exit status 1)\nno crontab for root" in text
    assert "### file /etc/hosts\noutput of cat /etc/hosts" in text
    assert "### file /etc/crontab (missing or unreadable)" in text
    assert "No such file" not in text


def test_restore_lines_take_the_device_back() -> None:
    changed = (
        RUNNING.replace(" description uplink", " description CHANGED")
        .replace("ntp server 10.0.0.1\n", "ntp server 10.0.0.1\nntp server 192.0.2.9\n")
        .replace("hostname sw1", "hostname renamed")
        .replace(" negotiation auto\n", " negotiation auto\n shutdown\n")
    )
    assert restore_lines(changed, RUNNING, MARK) == [
        "no ntp server 192.0.2.9",
        "hostname sw1",  # replaces the name: no "no hostname" first
        "interface Gi0/1",
        " no shutdown",
        " description uplink",
        "exit",
    ]
    assert restore_lines(RUNNING, RUNNING, MARK) == []


def test_restore_never_touches_masked_secret_lines() -> None:
    without = RUNNING.replace("enable secret 5 <removed>\n", "")
    assert restore_lines(RUNNING, without, MARK) == []
    assert restore_lines(without, RUNNING, MARK) == []
