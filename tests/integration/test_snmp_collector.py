"""The SNMP collector against a real net-snmp ``snmpd`` serving UPS-MIB values the test sets.

snmpd is started by this process (so it shares the network namespace the process is in: the
machine's, or the lab controller's once the lab fixture moved the process) on 127.0.0.1 and a
free UDP port, with a random community. A ``pass_persist`` script answers the UPS-MIB subtree
(RFC 1628, which net-snmp does not implement) from a JSON file the test rewrites.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from automator.checks._parsers import CommandOutput, ParseContext, parse
from automator.runners._snmp import (
    UPS_MIB_OIDS,
    SnmpError,
    SnmpTarget,
    SnmpUnreachable,
    snmp_get,
)

SNMPD = "/usr/sbin/snmpd"
UPS = "1.3.6.1.2.1.33"
UPS_MODEL = f"{UPS}.1.1.2.0"  # upsIdentModel, a DisplayString

# snmpd's pass_persist protocol: PING -> PONG; "get"/"getnext" + OID -> OID, type, value or
# NONE; "set" is refused. Values are read from the JSON file on every request.
PASS_PERSIST = r"""
import json, sys

def key(oid):
    return tuple(int(part) for part in oid.strip().strip(".").split("."))

def reply(*lines):
    sys.stdout.write("".join(line + "\n" for line in lines))
    sys.stdout.flush()

for line in sys.stdin:
    command = line.strip()
    if command == "PING":
        reply("PONG")
    elif command in ("get", "getnext"):
        oid = key(sys.stdin.readline())
        with open(sys.argv[1]) as handle:
            values = {key(k): v for k, v in json.load(handle).items()}
        if command == "get":
            found = oid if oid in values else None
        else:
            found = next((k for k in sorted(values) if k > oid), None)
        if found is None:
            reply("NONE")
        else:
            kind, value = values[found]
            reply("." + ".".join(map(str, found)), kind, str(value))
    elif command == "set":
        sys.stdin.readline()
        sys.stdin.readline()
        reply("not-writable")
    else:
        break
"""

ON_BATTERY = {
    "upsBatteryStatus": 3,
    "upsSecondsOnBattery": 420,
    "upsEstimatedMinutesRemaining": 12,
    "upsEstimatedChargeRemaining": 41,
    "upsBatteryVoltage": 523,
    "upsBatteryTemperature": 38,
    "upsInputVoltage": 0,
    "upsOutputSource": 5,
    "upsOutputVoltage": 230,
    "upsOutputPercentLoad": 64,
}


@dataclass
class Agent:
    port: int
    community: str
    values_file: Path

    def target(self, **changes: Any) -> SnmpTarget:
        settings: dict[str, Any] = {"port": self.port, "community": self.community, **changes}
        return SnmpTarget("127.0.0.1", **settings)

    def serve(self, values: dict[str, int], model: str = "Smart-UPS 3000") -> None:
        """Replace what the agent answers (atomically: snmpd may read it at any time)."""
        served = {UPS_MIB_OIDS[name]: ["integer", value] for name, value in values.items()}
        served[UPS_MODEL] = ["string", model]
        partial = self.values_file.with_suffix(".tmp")
        partial.write_text(json.dumps(served))
        partial.replace(self.values_file)


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_answering(agent: Agent, snmpd: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if snmpd.poll() is not None:
            pytest.fail(f"snmpd exited {snmpd.returncode}: {log.read_text()}")
        try:
            snmp_get(agent.target(timeout=0.2, retries=0), {"model": UPS_MODEL})
            return
        except SnmpUnreachable:
            continue
    pytest.fail(f"snmpd did not answer within 10 s: {log.read_text()}")


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    folder = tmp_path_factory.mktemp("snmpd")
    agent = Agent(_free_udp_port(), secrets.token_hex(8), folder / "values.json")
    agent.serve(ON_BATTERY)
    script = folder / "ups_pass_persist.py"
    script.write_text(PASS_PERSIST)
    config = folder / "snmpd.conf"
    config.write_text(
        f"agentAddress udp:127.0.0.1:{agent.port}\n"
        f"rocommunity {agent.community} 127.0.0.1\n"
        f"pass_persist .{UPS} {sys.executable} {script} {agent.values_file}\n"
    )
    log = folder / "snmpd.log"
    env = {**os.environ, "SNMP_PERSISTENT_DIR": str(folder / "persist"), "MIBS": ""}
    # -C: no configuration but ours; -f: stay in the foreground, a child of this process
    snmpd = subprocess.Popen(
        [SNMPD, "-f", "-C", "-c", str(config), "-Lf", str(log), "-p", str(folder / "pid")],
        env=env,
    )
    try:
        _wait_until_answering(agent, snmpd, log)
        yield agent
    finally:
        snmpd.terminate()
        snmpd.wait(timeout=10)


def test_reads_the_values_the_test_sets(agent: Agent) -> None:
    oids = {**UPS_MIB_OIDS, "model": UPS_MODEL}
    values = snmp_get(agent.target(), oids)
    assert values == {**ON_BATTERY, "model": "Smart-UPS 3000"}
    agent.serve({**ON_BATTERY, "upsBatteryTemperature": 44}, model="Smart-UPS 5000")
    again = snmp_get(agent.target(), oids)
    assert again["upsBatteryTemperature"] == 44
    assert again["model"] == "Smart-UPS 5000"


def test_values_through_the_ups_mib_parser(agent: Agent) -> None:
    agent.serve({**ON_BATTERY, "upsBatteryTemperature": 39})
    values = snmp_get(agent.target(), UPS_MIB_OIDS)
    outputs = [CommandOutput(name, str(value)) for name, value in values.items()]
    context = ParseContext(platform="ups_snmp", now=datetime.now(UTC), options={})
    (record,) = parse("ups_mib", outputs, context)
    assert record["on_battery"] == 1
    assert record["battery_status"] == 3
    assert record["battery_voltage_v"] == 52.3
    assert record["battery_temperature_c"] == 39


def test_an_oid_the_agent_does_not_have_is_none(agent: Agent) -> None:
    agent.serve({"upsBatteryStatus": 2})
    oids = {"status": UPS_MIB_OIDS["upsBatteryStatus"], "load": UPS_MIB_OIDS["upsOutputSource"]}
    oids["nothing"] = "1.3.6.1.4.1.99999.1.0"  # outside every subtree snmpd serves
    assert snmp_get(agent.target(), oids) == {"status": 2, "load": None, "nothing": None}


def test_snmpv1_names_the_value_the_agent_refused(agent: Agent) -> None:
    agent.serve({"upsBatteryStatus": 2})
    oids = {"status": UPS_MIB_OIDS["upsBatteryStatus"], "source": UPS_MIB_OIDS["upsOutputSource"]}
    with pytest.raises(SnmpError, match="answered noSuchName for source"):
        snmp_get(agent.target(version="1"), oids)


def test_wrong_community_is_unreachable_within_the_timeout(agent: Agent) -> None:
    wrong = secrets.token_hex(8)
    target = agent.target(community=wrong, timeout=0.5, retries=1)
    started = time.monotonic()
    with pytest.raises(SnmpUnreachable) as caught:
        snmp_get(target, {"status": UPS_MIB_OIDS["upsBatteryStatus"]})
    elapsed = time.monotonic() - started
    assert 1.0 <= elapsed < 2.0  # 0.5 s x 2 tries, plus building the engine
    assert "no answer within 0.5 s x 2 tries" in str(caught.value)
    for text in (str(caught.value), repr(caught.value), repr(target)):
        assert wrong not in text
        assert agent.community not in text
    assert caught.value.__cause__ is None


def test_fifty_concurrent_gets_share_one_engine_and_leave_no_thread(agent: Agent) -> None:
    agent.serve(ON_BATTERY)
    oids = dict(UPS_MIB_OIDS)  # 10 OIDs
    threads_before = threading.active_count()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(lambda _: snmp_get(agent.target(), oids), range(50)))
    elapsed = time.perf_counter() - started
    print(f"50 concurrent GETs of 10 OIDs: {elapsed:.3f} s")
    assert results == [ON_BATTERY] * 50
    assert elapsed < 5.0  # ~0.3 s here; an engine per call takes ~4 s
    # the lab fixture enters a network namespace only while no other thread runs
    assert threading.active_count() == threads_before


def test_nothing_listening_is_unreachable() -> None:
    target = SnmpTarget("127.0.0.1", _free_udp_port(), timeout=0.3, retries=0)
    with pytest.raises(SnmpUnreachable, match=r"no answer within 0\.3 s x 1 tries"):
        snmp_get(target, {"status": UPS_MIB_OIDS["upsBatteryStatus"]})
