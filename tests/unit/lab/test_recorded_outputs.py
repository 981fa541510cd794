"""The simulator's default outputs are real IOS outputs that ntc-templates parses."""

from __future__ import annotations

from pathlib import Path

import pytest
from ntc_templates.parse import parse_output

from automator.lab import _simulator
from automator.lab._simulator import Outputs, startup_from_running

SIM_FILES = Path(_simulator.__file__).parent / "files" / "sim"


@pytest.fixture
def outputs() -> Outputs:
    return Outputs(SIM_FILES)


@pytest.mark.parametrize(
    ("command", "field", "expected"),
    [
        ("show version", "hostname", "sim12"),
        ("show processes cpu", "cpu_usage_5_sec", "4"),
        ("show processes memory sorted", "memory_total", "919638648"),
        ("show interfaces", "interface", "GigabitEthernet0/0"),
        ("show ip bgp summary", "bgp_neighbor", "10.0.0.1"),
        ("show ip ospf neighbor", "state", "FULL/  -"),
        ("show environment temperature", "inlet_temperature_state", "GREEN"),
        ("show environment power all", "status", "OK"),
        ("show clock", "timezone", "UTC"),
    ],
)
def test_default_output_parses_with_ntc_templates(
    outputs: Outputs, command: str, field: str, expected: str
) -> None:
    text = outputs.read("sim12", command)
    assert text is not None
    records = parse_output(platform="cisco_ios", command=command, data=text)
    assert records
    assert records[0][field] == expected


def test_every_interface_that_is_not_shut_is_up(outputs: Outputs) -> None:
    text = outputs.read("sim1", "show interfaces")
    records = parse_output(platform="cisco_ios", command="show interfaces", data=text)
    states = {record["interface"]: record["link_status"] for record in records}
    assert len(states) == 8
    assert {
        state
        for name, state in states.items()
        if name not in ("GigabitEthernet0/0", "Port-channel1")
    } == {"up"}


@pytest.mark.parametrize(
    "command",
    ["show environment all", "show ntp status", "show ntp associations", "show running-config"],
)
def test_outputs_without_a_template_are_recorded_too(outputs: Outputs, command: str) -> None:
    text = outputs.read("sim2", command)
    assert text
    assert "{" not in text


def test_default_startup_config_is_the_saved_running_config(outputs: Outputs) -> None:
    running = outputs.read("sim5", "show running-config")
    assert running is not None
    assert "\nhostname sim5\n" in running
    startup = outputs.read("sim5", "show startup-config")
    assert startup is not None
    # The same configuration; only the byte counts in the headers follow the name's length.
    assert startup.split("\n", 1)[1] == startup_from_running(running).split("\n", 1)[1]


def test_every_default_output_names_a_command() -> None:
    names = sorted(path.name for path in (SIM_FILES / "_default").iterdir())
    assert names == sorted(
        _simulator.command_filename(name[:-4].replace("_", " ")) for name in names
    )
