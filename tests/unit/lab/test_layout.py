"""Where the simulated gear lives, what a lab spec refuses, and the inventory it yields."""

from __future__ import annotations

from pathlib import Path

import pytest

from automator.errors import LabError
from automator.inventory import load_inventory
from automator.lab._inventory import write_inventory
from automator.lab._spec import FacilityDevice, LabSpec, Layout


def test_layout_names_sims_and_facility_devices_on_consecutive_ports(tmp_path: Path) -> None:
    layout = Layout(LabSpec(tmp_path, sims=3, ups=2, pdus=1, coolers=1, snmp_base_port=30001))
    assert layout.sims == [("sim1", 22001), ("sim2", 22002), ("sim3", 22003)]
    assert layout.facility == [
        FacilityDevice("ups1", "ups", 30001),
        FacilityDevice("ups2", "ups", 30002),
        FacilityDevice("pdu1", "pdu", 30003),
        FacilityDevice("crac1", "cooling", 30004),
    ]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"sims": 501}, "sims must be 0..500"),
        ({"sims": 2, "sim_base_port": 65535}, "sim_base_port"),
        ({"switches": 5, "sims": 5, "sim_base_port": 20003}, "overlap"),
        ({"ups": -1}, "ups must not be negative"),
        ({"ups": 30, "pdus": 21}, "at most 50"),
        ({"coolers": 2, "snmp_base_port": 80}, "snmp_base_port"),
    ],
)
def test_spec_refuses_bad_gear(tmp_path: Path, fields: dict[str, int], message: str) -> None:
    with pytest.raises(LabError, match=message):
        LabSpec(tmp_path, **fields)


def test_written_inventory_loads_with_sims_and_facility_gear(tmp_path: Path) -> None:
    layout = Layout(LabSpec(tmp_path / "state", hosts=1, switches=1, sims=2, ups=1, coolers=1))
    write_inventory(layout, tmp_path / "inventory")
    inventory = load_inventory(tmp_path / "inventory")

    sim = inventory.get("sim2")
    assert (sim.platform, sim.hostname, sim.port, sim.groups) == (
        "cisco_ios",
        "127.0.0.1",
        22002,
        ("lab_sims",),
    )
    assert sim.credentials.username == "admin"
    assert sim.credentials.password_file == layout.switch_password
    assert sim.credentials.enable_secret_file == layout.switch_enable

    ups, crac = inventory.get("ups1"), inventory.get("crac1")
    assert (ups.platform, ups.kind, ups.port, ups.role) == ("ups_snmp", "facility", 23001, "ups")
    assert (crac.platform, crac.port, crac.role) == ("cooling_snmp", 23002, "crac")
    assert ups.credentials.password_file == layout.snmp_community
    assert ups.groups == ("lab_facility",)


def test_inventory_of_a_lab_without_gear_has_no_gear_groups(tmp_path: Path) -> None:
    write_inventory(Layout(LabSpec(tmp_path / "state")), tmp_path / "inventory")
    assert set(load_inventory(tmp_path / "inventory").groups) == {"lab_servers", "lab_switches"}
