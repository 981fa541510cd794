"""The lab's simulated gear is real: netmiko against the simulator, net-snmp's snmpd as a UPS.

This module brings up a lab of its own (prefix ``asim``): 200 simulator devices, a UPS, a PDU
and a cooling unit. The session ``lab`` fixture may have moved this process into another
lab's namespace, so nothing here enters ``asimctl`` itself: SSH and pysnmp run in a child
process that enters it (``in_lab``), the net-snmp tools under ``ip netns exec``.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from automator.errors import LabError
from automator.lab import Lab, LabSpec, enter_netns
from automator.lab._simulator import reset_output, set_output
from automator.lab._snmpd import NAMES, set_values

SIMS = 200
SIM_PORT = 24001
SNMP_PORT = 25001
_T = TypeVar("_T")


@pytest.fixture(scope="module")
def sim_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    lab = Lab(
        LabSpec(
            state_dir=tmp_path_factory.mktemp("simlab"),
            prefix="asim",
            subnet="10.125.0",
            hosts=0,
            switches=0,
            sims=SIMS,
            sim_base_port=SIM_PORT,
            ups=1,
            pdus=1,
            coolers=1,
            snmp_base_port=SNMP_PORT,
        )
    )
    lab.up()
    try:
        yield lab
    finally:
        lab.down()
    # Nothing the lab started outlives it.
    assert _processes_mentioning(lab.spec.state_dir) == []


@pytest.fixture(scope="module")
def in_lab(sim_lab: Lab) -> Iterator[Callable[..., Any]]:
    """Run a function of this module in a child process inside the lab's namespace."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=1,
        mp_context=context,
        initializer=enter_netns,
        initargs=(sim_lab.controller_netns,),
    ) as executor:

        def run(function: Callable[..., _T], *args: Any) -> _T:
            return executor.submit(function, *args).result(timeout=120)

        yield run


def _processes_mentioning(text: object) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                cmdline = Path(entry.path, "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if str(text) in cmdline:
                found.append(int(entry.name))
    return found


def _credentials(lab: Lab, group: str) -> dict[str, str]:
    groups = yaml.safe_load((lab.inventory_dir / "groups.yaml").read_text())
    credentials: dict[str, str] = groups[group]["data"]["credentials"]
    return credentials


def _login(lab: Lab, name: str) -> dict[str, Any]:
    """What netmiko needs to log in to a simulator device, as the inventory gives it."""
    hosts = yaml.safe_load((lab.inventory_dir / "hosts.yaml").read_text())
    credentials = _credentials(lab, "lab_sims")
    return {
        "device_type": hosts[name]["platform"],
        "host": hosts[name]["hostname"],
        "port": hosts[name]["port"],
        "username": credentials["username"],
        "password": Path(credentials["password_file"]).read_text(),
        "secret": Path(credentials["enable_secret_file"]).read_text(),
    }


# --- run in the child process, inside the lab's namespace ----------------------------------


def _show_and_change(login: dict[str, Any], outputs_dir: Path) -> dict[str, Any]:
    from netmiko import ConnectHandler

    seen: dict[str, Any] = {}
    with ConnectHandler(**login) as device:
        seen["user_prompt"] = device.find_prompt()
        device.enable()
        seen["prompt"] = device.find_prompt()
        seen["version"] = device.send_command("show version")
        seen["cpu"] = device.send_command("show processes cpu", use_textfsm=True)
        seen["invalid"] = device.send_command("show nonsense")
        name = seen["prompt"].rstrip("#")
        set_output(outputs_dir, name, "show clock", "*00:00:01.000 UTC Mon Mar 1 1993\n")
        seen["changed"] = device.send_command("show clock")
        reset_output(outputs_dir, name, "show clock")
        seen["reset"] = device.send_command("show clock", use_textfsm=True)
    return seen


def _configure_and_save(login: dict[str, Any]) -> dict[str, str]:
    from netmiko import ConnectHandler

    with ConnectHandler(**login) as device:
        device.enable()
        config = device.send_config_set(
            ["interface GigabitEthernet0/2", "description to core-7", "exit", "ntp server 10.9.9.9"]
        )
        return {
            "config": config,
            "running": device.send_command("show running-config"),
            "startup_before": device.send_command("show startup-config"),
            "save": device.save_config(),
            "startup_after": device.send_command("show startup-config"),
            "prompt": device.find_prompt(),
        }


def _pysnmp_get(port: int, community: str, oid: str) -> tuple[str, str]:
    from pysnmp.hlapi.v3arch.asyncio import (
        CommunityData,
        ContextData,
        ObjectIdentity,
        ObjectType,
        SnmpEngine,
        UdpTransportTarget,
        get_cmd,
    )

    async def get() -> tuple[str, str]:
        engine = SnmpEngine()
        try:
            target = await UdpTransportTarget.create(("127.0.0.1", port), timeout=2, retries=1)
            error, status, _, binds = await get_cmd(
                engine,
                CommunityData(community),
                target,
                ContextData(),
                ObjectType(ObjectIdentity(oid)),
            )
        finally:
            engine.close_dispatcher()
        assert error is None and not status, (error, status)
        ((name, value),) = binds
        return str(name), value.prettyPrint()

    return asyncio.run(get())


# --- the tests -----------------------------------------------------------------------------


def test_two_hundred_sims_and_the_facility_gear_come_up_quickly(sim_lab: Lab) -> None:
    status = sim_lab.status()
    assert [(s.name, s.port, s.up) for s in status.sims] == [
        (f"sim{i}", SIM_PORT + i - 1, True) for i in range(1, SIMS + 1)
    ]
    assert [(f.name, f.kind, f.port, f.up) for f in status.facility] == [
        ("ups1", "ups", SNMP_PORT, True),
        ("pdu1", "pdu", SNMP_PORT + 1, True),
        ("crac1", "cooling", SNMP_PORT + 2, True),
    ]
    assert status.seconds_to_start is not None
    assert status.seconds_to_start < 15


def test_netmiko_reads_recorded_outputs_and_sees_a_changed_file(
    sim_lab: Lab, in_lab: Callable[..., Any]
) -> None:
    seen = in_lab(_show_and_change, _login(sim_lab, "sim7"), sim_lab.sim_outputs_dir)
    assert (seen["user_prompt"], seen["prompt"]) == ("sim7>", "sim7#")
    assert "sim7 uptime is 3 weeks, 6 days, 32 minutes" in seen["version"]
    assert seen["version"].startswith("Cisco IOS Software, vios_l2 Software")
    assert seen["cpu"][0]["cpu_usage_5_sec"] == "4"
    assert "% Invalid input detected at '^' marker." in seen["invalid"]
    assert seen["changed"] == "*00:00:01.000 UTC Mon Mar 1 1993"
    assert seen["reset"][0]["year"] != "1993"


def test_netmiko_config_changes_the_running_config_until_saved(
    sim_lab: Lab, in_lab: Callable[..., Any]
) -> None:
    seen = in_lab(_configure_and_save, _login(sim_lab, "sim200"))
    assert "sim200(config-if)#description to core-7" in seen["config"]
    assert "interface GigabitEthernet0/2\n description to core-7\n" in seen["running"]
    assert "ntp server 10.9.9.9" in seen["running"]
    assert "ntp server 10.9.9.9" not in seen["startup_before"]
    assert "[OK]" in seen["save"]
    assert "ntp server 10.9.9.9" in seen["startup_after"]
    assert seen["prompt"] == "sim200#"
    saved = sim_lab.sim_outputs_dir / "sim200" / "show_startup-config.txt"
    assert "description to core-7" in saved.read_text()


def _snmp(lab: Lab, tool: str, port: int, *args: str, community: str | None = None) -> str:
    if community is None:
        community = Path(_credentials(lab, "lab_facility")["password_file"]).read_text()
    done = subprocess.run(
        ["ip", "netns", "exec", lab.controller_netns, tool, "-v2c", "-c", community,
         "-On", "-t", "1", "-r", "1", f"127.0.0.1:{port}", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_snmpget_sees_a_changed_value_within_a_second(sim_lab: Lab) -> None:
    oid = NAMES["upsBatteryTemperature"].oid
    assert _snmp(sim_lab, "snmpget", SNMP_PORT, oid) == f"{oid} = INTEGER: 27\n"
    set_values(sim_lab.facility_values_file("ups1"), {"upsBatteryTemperature": 48})
    changed = time.monotonic()
    while (answer := _snmp(sim_lab, "snmpget", SNMP_PORT, oid)) != f"{oid} = INTEGER: 48\n":
        assert time.monotonic() - changed < 1, answer
        time.sleep(0.05)
    set_values(sim_lab.facility_values_file("ups1"), {"upsBatteryTemperature": 27})


def test_pysnmp_reads_the_ups_as_a_check_would(sim_lab: Lab, in_lab: Callable[..., Any]) -> None:
    community = Path(_credentials(sim_lab, "lab_facility")["password_file"]).read_text()
    set_values(sim_lab.facility_values_file("ups1"), {"upsOutputSource": 5})
    try:
        oid = NAMES["upsOutputSource"].oid
        assert in_lab(_pysnmp_get, SNMP_PORT, community, oid) == (oid.lstrip("."), "5")
    finally:
        set_values(sim_lab.facility_values_file("ups1"), {"upsOutputSource": 3})


def test_a_walk_of_the_ups_subtree_returns_every_value_in_order(sim_lab: Lab) -> None:
    walked = _snmp(sim_lab, "snmpwalk", SNMP_PORT, ".1.3.6.1.2.1.33").splitlines()
    oids = [line.split(" = ")[0] for line in walked]
    ups_points = [point for point in NAMES.values() if point.oid.startswith(".1.3.6.1.2.1.33.")]
    assert oids == sorted(
        (p.oid for p in ups_points), key=lambda o: tuple(map(int, o[1:].split(".")))
    )
    assert f'{NAMES["upsIdentName"].oid} = STRING: "ups1"' in walked
    assert f"{NAMES['upsAlarmsPresent'].oid} = Gauge32: 0" in walked


def test_pdu_and_cooling_unit_answer_their_vendor_oids(sim_lab: Lab) -> None:
    load = NAMES["rPDULoadStatusLoad"].oid
    assert _snmp(sim_lab, "snmpget", SNMP_PORT + 1, load) == f"{load} = Gauge32: 68\n"
    supply = NAMES["airIRRCUnitStatusSupplyAirTempMetric"].oid
    assert _snmp(sim_lab, "snmpget", SNMP_PORT + 2, supply) == f"{supply} = INTEGER: 180\n"
    assert _snmp(sim_lab, "snmpget", SNMP_PORT + 2, ".1.3.6.1.2.1.1.5.0").endswith('"crac1"\n')


def test_a_wrong_community_gets_no_answer(sim_lab: Lab) -> None:
    with pytest.raises(AssertionError, match="Timeout"):
        _snmp(sim_lab, "snmpget", SNMP_PORT, ".1.3.6.1.2.1.1.5.0", community="public")


def test_facility_config_keeps_the_community_private(sim_lab: Lab) -> None:
    community_file = Path(_credentials(sim_lab, "lab_facility")["password_file"])
    folder = sim_lab.facility_values_file("pdu1").parent
    for secret in (community_file, folder / "snmpd.conf"):
        assert secret.stat().st_mode & 0o777 == 0o600
    community = community_file.read_text()
    assert all(community not in " ".join(_cmdline(pid)) for pid in _processes_mentioning(folder))


def _cmdline(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")


def test_facility_values_file_names_only_the_labs_devices(sim_lab: Lab) -> None:
    assert sim_lab.facility_values_file("crac1").name == "values.json"
    with pytest.raises(LabError, match="not a facility device"):
        sim_lab.facility_values_file("ups9")
