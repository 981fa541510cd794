"""The simulator's command line, without SSH: prompts, modes, recorded outputs, configuration."""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import asyncssh
import pytest

from automator.lab import _simulator
from automator.lab._simulator import (
    Cli,
    Device,
    Outputs,
    apply_config,
    command_filename,
    endpoints,
    reset_output,
    set_output,
    startup_from_running,
)

DEFAULTS = Path(_simulator.__file__).parent / "files" / "sim" / "_default"
SECRET = "en-secret"


@pytest.fixture
def outputs(tmp_path: Path) -> Path:
    root = tmp_path / "outputs"
    shutil.copytree(DEFAULTS, root / "_default")
    return root


def _cli(outputs: Path, name: str = "sim3", *, privileged: bool = False) -> Cli:
    cli = Cli(Device(name, SECRET, Outputs(outputs)))
    if privileged:
        cli.enter("enable")
        cli.enter(SECRET)
    return cli


@pytest.mark.parametrize(
    ("command", "filename"),
    [
        ("show ip bgp summary", "show_ip_bgp_summary.txt"),
        ("  show   running-config ", "show_running-config.txt"),
        ("show interfaces Gi0/1", "show_interfaces_Gi0%2F1.txt"),
        ("show a_b", "show_a%5Fb.txt"),
        ("show x | include y", "show_x_%7C_include_y.txt"),
    ],
)
def test_command_filename_joins_words_and_never_makes_a_path(command: str, filename: str) -> None:
    assert command_filename(command) == filename


def test_command_filename_refuses_an_empty_command() -> None:
    with pytest.raises(ValueError, match="empty"):
        command_filename("   ")


def test_prompts_follow_enable_and_the_secret(outputs: Path) -> None:
    cli = _cli(outputs)
    assert cli.prompt == "sim3>"
    assert cli.enter("enable") == ("", False)
    assert (cli.prompt, cli.echo) == ("Password: ", False)
    assert cli.enter(SECRET) == ("", False)
    assert (cli.prompt, cli.echo) == ("sim3#", True)
    cli.enter("disable")
    assert cli.prompt == "sim3>"


def test_a_wrong_enable_secret_stays_in_user_mode(outputs: Path) -> None:
    cli = _cli(outputs)
    cli.enter("en")
    assert "% Bad secrets" in cli.enter("not-it").text
    assert cli.prompt == "sim3>"


def test_show_answers_from_the_recorded_default_with_the_device_name(outputs: Path) -> None:
    text = _cli(outputs, "sim7").enter("show version").text
    assert "sim7 uptime is 3 weeks, 6 days, 32 minutes" in text
    assert "{hostname}" not in text


def test_a_device_file_overrides_the_default_until_reset(outputs: Path) -> None:
    cli = _cli(outputs)
    set_output(outputs, "sim3", "show clock", "*10:00:00.000 UTC Mon Jan 1 2024\n")
    assert cli.enter("show clock").text == "*10:00:00.000 UTC Mon Jan 1 2024\n"
    assert "show clock" not in _cli(outputs, "sim4").enter("show clock").text
    reset_output(outputs, "sim3", "show clock")
    assert re.fullmatch(
        r"\d\d:\d\d:\d\d\.\d{3} UTC \w{3} \w{3} \d+ \d{4}\n", cli.enter("sh clo").text
    )


def test_commands_may_be_abbreviated_when_unambiguous(outputs: Path) -> None:
    cli = _cli(outputs, privileged=True)
    assert cli.enter("sh ip bgp sum").text == cli.enter("show ip bgp summary").text
    assert cli.enter("sh run").text.startswith("Building configuration...")
    assert cli.enter("sh env all").text == cli.enter("show environment all").text
    assert cli.enter("sh ntp").text == "% Incomplete command.\n\n"
    assert cli.enter("show ntp a").text.lstrip().startswith("address")


def test_an_ambiguous_abbreviation_is_refused(outputs: Path) -> None:
    set_output(outputs, "sim3", "show ip ospf database", "x")
    assert _cli(outputs).enter("sh ip ospf d").text == "x\n"
    set_output(outputs, "sim3", "show ip ospf debug", "y")
    assert _cli(outputs).enter("sh ip ospf d").text.startswith("% Ambiguous command:")


def test_unknown_input_is_marked_under_the_first_wrong_word(outputs: Path) -> None:
    cli = _cli(outputs)
    lines = cli.enter("show bogus thing").text.split("\n")
    # "sim3>" then "show " puts the caret at column 10, under the "b".
    assert lines[:2] == [" " * 10 + "^", "% Invalid input detected at '^' marker."]
    assert cli.enter("frobnicate").text.startswith(" " * 5 + "^\n% Invalid input")


def test_running_config_needs_privileged_mode(outputs: Path) -> None:
    assert "% Invalid input" in _cli(outputs).enter("show running-config").text
    assert "% Invalid input" in _cli(outputs).enter("configure terminal").text
    assert "hostname sim3" in _cli(outputs, privileged=True).enter("show running-config").text


def test_terminal_settings_are_accepted(outputs: Path) -> None:
    cli = _cli(outputs)
    assert cli.enter("terminal length 0").text == ""
    assert cli.enter("terminal width 511").text == ""
    assert "% Invalid input" in cli.enter("terminal colour 3").text


def test_configuration_changes_the_running_config_and_write_saves_it(outputs: Path) -> None:
    cli = _cli(outputs, privileged=True)
    assert "End with CNTL/Z" in cli.enter("conf t").text
    assert cli.prompt == "sim3(config)#"
    cli.enter("interface GigabitEthernet0/1")
    assert cli.prompt == "sim3(config-if)#"
    cli.enter("description uplink to core")
    cli.enter("shutdown")
    cli.enter("exit")
    assert cli.prompt == "sim3(config)#"
    cli.enter("logging host 192.0.2.5")
    cli.enter("end")
    assert cli.prompt == "sim3#"

    running = cli.enter("show running-config").text
    block = running[running.index("interface GigabitEthernet0/1\n") :].split("!")[0]
    assert block == (
        "interface GigabitEthernet0/1\n description uplink to core\n negotiation auto\n shutdown\n"
    )
    assert "\nlogging host 192.0.2.5\nend" in running
    assert cli.enter("show startup-config").text.count("192.0.2.5") == 0

    assert cli.enter("write memory").text == "Building configuration...\n[OK]\n"
    startup = cli.enter("show startup-config").text
    assert startup.startswith("Using ")
    assert startup.split("\n", 1)[1] == running.split("bytes\n", 1)[1]
    assert "logging host" not in _cli(outputs, "sim4", privileged=True).enter("sh run").text


def test_copy_running_config_asks_for_the_destination(outputs: Path) -> None:
    cli = _cli(outputs, privileged=True)
    cli.enter("conf t")
    cli.enter("hostname renamed")
    cli.end_configuration()
    assert cli.enter("copy running-config startup-config").text == ""
    assert cli.prompt == "Destination filename [startup-config]? "
    assert cli.enter("").text == "Building configuration...\n[OK]\n"
    assert "hostname renamed" in cli.enter("show startup-config").text


def test_exit_closes_the_session(outputs: Path) -> None:
    assert _cli(outputs).enter("exit").close
    assert not _cli(outputs).enter("show clock").close


def test_apply_config_replaces_single_values_and_removes_with_no() -> None:
    config = "hostname a\n!\ninterface Gi0/1\n description old\n!\nntp server 1.1.1.1\nend\n"
    config = apply_config(config, "interface Gi0/1", "description new")
    config = apply_config(config, None, "hostname b")
    config = apply_config(config, None, "ntp server 2.2.2.2")
    config = apply_config(config, None, "ntp server 2.2.2.2")
    assert config == (
        "hostname b\n!\ninterface Gi0/1\n description new\n!\n"
        "ntp server 1.1.1.1\nntp server 2.2.2.2\nend\n"
    )
    config = apply_config(config, None, "no interface Gi0/1")
    config = apply_config(config, None, "no ntp server 1.1.1.1")
    assert config == "hostname b\n!\nntp server 2.2.2.2\nend\n"


def test_apply_config_adds_a_new_section_before_end_and_keeps_the_size_header() -> None:
    running = "Building configuration...\n\nCurrent configuration : 4 bytes\nend\n"
    changed = apply_config(running, "interface Loopback9", "ip address 10.9.9.9 255.255.255.255")
    body = "interface Loopback9\n ip address 10.9.9.9 255.255.255.255\n!\nend\n"
    assert (
        changed == f"Building configuration...\n\nCurrent configuration : {len(body)} bytes\n{body}"
    )
    assert startup_from_running(changed) == f"Using {len(body)} out of 262144 bytes\n{body}"


def test_output_filters_take_a_regular_expression(outputs: Path) -> None:
    cli = _cli(outputs, privileged=True)
    assert cli.enter("show running-config | include ^ntp server").text == (
        "ntp server 10.0.0.1\nntp server 10.0.0.2\n"
    )
    assert "negotiation" not in cli.enter("sh run | ex negotiation").text
    assert cli.enter("show running-config | begin ^line vty").text.startswith("line vty 0 4\n")
    assert "% Invalid input" in cli.enter("show clock | grep x").text
    assert "% Invalid input" in cli.enter("show clock | include (").text


def test_endpoints_put_devices_on_consecutive_ports_of_one_host() -> None:
    assert endpoints(3, host="127.0.0.1", base_port=22001) == [
        ("127.0.0.1", 22001),
        ("127.0.0.1", 22002),
        ("127.0.0.1", 22003),
    ]


def test_endpoints_give_each_device_its_own_loopback_address_wrapping_octets() -> None:
    assert endpoints(3, address_base="127.1.0.254", port=22) == [
        ("127.1.0.254", 22),
        ("127.1.0.255", 22),
        ("127.1.1.0", 22),
    ]
    assert endpoints(300, address_base="127.1.0.1")[-1] == ("127.1.1.44", 22)


@pytest.mark.parametrize(
    ("count", "base"),
    [(1, "10.0.0.1"), (2, "127.255.255.255"), (1, "127.1.0.300"), (1, "::1")],
)
def test_endpoints_refuse_addresses_off_loopback_or_malformed(count: int, base: str) -> None:
    with pytest.raises(ValueError):
        endpoints(count, address_base=base)


def test_endpoints_take_ports_or_addresses_not_both() -> None:
    with pytest.raises(ValueError, match="either"):
        endpoints(1, base_port=22001, address_base="127.1.0.1")
    with pytest.raises(ValueError, match="either"):
        endpoints(1)


def test_address_mode_serves_each_device_on_its_own_address(outputs: Path, tmp_path: Path) -> None:
    """The real process: three devices from 127.77.0.254 on one port, across an octet."""
    (tmp_path / "password").write_text("pw-secret\n")
    (tmp_path / "enable").write_text(SECRET + "\n")
    with socket.socket() as probe:  # a port free on loopback now
        probe.bind(("127.77.0.254", 0))
        port = probe.getsockname()[1]
    command = [
        sys.executable, "-m", "automator.lab._simulator",
        "--count", "3", "--address-base", "127.77.0.254", "--port", str(port),
        "--password-file", str(tmp_path / "password"),
        "--enable-secret-file", str(tmp_path / "enable"),
        "--outputs-dir", str(outputs),
    ]  # fmt: skip
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as simulator:
        try:
            assert simulator.stdout is not None
            ready = simulator.stdout.readline()
            assert ready == f"READY 3 devices on 127.77.0.254-127.77.1.0:{port}\n"
            prompts = asyncio.run(
                _prompts([("127.77.0.254", port), ("127.77.0.255", port), ("127.77.1.0", port)])
            )
            assert prompts == ["sim1>", "sim2>", "sim3>"]
        finally:
            simulator.terminate()


async def _prompts(targets: list[tuple[str, int]]) -> list[str]:
    """The first prompt each address answers with, over SSH."""
    prompts = []
    for host, port in targets:
        async with asyncssh.connect(
            host, port, username="admin", password="pw-secret", known_hosts=None
        ) as connection:
            shell = await connection.create_process(term_type="vt100")
            prompts.append((await asyncio.wait_for(shell.stdout.readuntil(">"), 10)).strip())
    return prompts
