"""Facility gear's pure parts: the OID tables, the values file and the pass_persist helper."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from automator.errors import LabError
from automator.lab import _snmpd
from automator.lab._snmpd import KINDS, NAMES, default_values, read_values, set_values


def test_every_point_lies_under_its_kind_subtree_once() -> None:
    for kind in KINDS.values():
        oids = [point.oid for point in kind.points]
        assert len(set(oids)) == len(oids)
        assert all(oid.startswith(kind.root + ".") for oid in oids)
    assert len(NAMES) == sum(len(kind.points) for kind in KINDS.values())


def test_names_map_to_the_documented_oids() -> None:
    assert NAMES["upsBatteryStatus"].oid == ".1.3.6.1.2.1.33.1.2.1.0"
    assert NAMES["upsBatteryTemperature"].oid == ".1.3.6.1.2.1.33.1.2.7.0"
    assert NAMES["upsInputVoltage"].oid == ".1.3.6.1.2.1.33.1.3.3.1.3.1"
    assert NAMES["upsOutputSource"].oid == ".1.3.6.1.2.1.33.1.4.1.0"
    assert NAMES["upsOutputPercentLoad"].oid == ".1.3.6.1.2.1.33.1.4.4.1.5.1"
    assert NAMES["rPDULoadStatusLoad"].oid == ".1.3.6.1.4.1.318.1.1.12.2.3.1.1.2.1"
    assert NAMES["rPDULoadStatusLoadState"].oid == ".1.3.6.1.4.1.318.1.1.12.2.3.1.1.3.1"
    assert (
        NAMES["airIRRCUnitStatusSupplyAirTempMetric"].oid == ".1.3.6.1.4.1.318.1.1.13.3.2.2.2.9.0"
    )


def test_kinds_name_inventory_platforms() -> None:
    assert {kind.platform for kind in KINDS.values()} == {"ups_snmp", "pdu_snmp", "cooling_snmp"}
    assert [kind.prefix for kind in KINDS.values()] == ["ups", "pdu", "crac"]


def test_defaults_are_healthy_and_name_the_device() -> None:
    ups = default_values("ups", "ups2")
    assert ups[NAMES["upsBatteryStatus"].oid] == ["integer", 2]
    assert ups[NAMES["upsOutputSource"].oid] == ["integer", 3]
    assert ups[NAMES["upsIdentName"].oid] == ["string", "ups2"]
    assert default_values("pdu", "pdu1")[NAMES["rPDULoadStatusLoadState"].oid] == ["integer", 1]


@pytest.fixture
def values_file(tmp_path: Path) -> Path:
    path = tmp_path / "values.json"
    _snmpd.write_values(path, default_values("ups", "ups1"))
    return path


def test_set_values_by_name_and_by_oid_keeps_types(values_file: Path) -> None:
    set_values(values_file, {"upsBatteryTemperature": 41, "1.3.6.1.2.1.33.1.4.1.0": 5})
    values = read_values(values_file)
    assert values[".1.3.6.1.2.1.33.1.2.7.0"] == ["integer", 41]
    assert values[".1.3.6.1.2.1.33.1.4.1.0"] == ["integer", 5]


def test_set_values_adds_with_a_type_and_removes_with_none(values_file: Path) -> None:
    set_values(values_file, {".1.3.6.1.2.1.33.1.9.9.0": ("gauge", 7), "upsAlarmsPresent": None})
    values = read_values(values_file)
    assert values[".1.3.6.1.2.1.33.1.9.9.0"] == ["gauge", 7]
    assert NAMES["upsAlarmsPresent"].oid not in values


def test_set_values_replaces_the_file_at_once(values_file: Path) -> None:
    inode = values_file.stat().st_ino
    set_values(values_file, {"upsBatteryTemperature": 30})
    assert values_file.stat().st_ino != inode
    assert [p.name for p in values_file.parent.iterdir()] == ["values.json"]


@pytest.mark.parametrize(
    ("updates", "message"),
    [
        ({"upsBatteryTemprature": 1}, "did you mean upsBatteryTemperature"),
        ({"1.3.x": 1}, "not a numeric OID"),
        ({"upsBatteryTemperature": "hot"}, "needs an integer"),
        ({"upsIdentName": "two\nlines"}, "line breaks"),
        ({".1.3.6.1.2.1.33.1.9.9.0": 3}, "give its type"),
        ({"upsBatteryTemperature": ("float", 1.5)}, "expected \\[type, value\\]"),
    ],
)
def test_set_values_refuses_what_snmpd_could_not_serve(
    values_file: Path, updates: dict[str, object], message: str
) -> None:
    before = values_file.read_text()
    with pytest.raises(LabError, match=message):
        set_values(values_file, updates)
    assert values_file.read_text() == before


def _helper(values_file: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(_snmpd.PASS_SCRIPT), str(values_file)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # the helper's complaints go to snmpd's log
        text=True,
    )


def _ask(helper: subprocess.Popen[str], *lines: str) -> list[str]:
    assert helper.stdin is not None and helper.stdout is not None
    helper.stdin.write("".join(line + "\n" for line in lines))
    helper.stdin.flush()
    first = helper.stdout.readline().rstrip("\n")
    if first in ("PONG", "NONE", "not-writable"):
        return [first]
    return [first, helper.stdout.readline().rstrip("\n"), helper.stdout.readline().rstrip("\n")]


def test_pass_persist_helper_answers_get_and_getnext_in_oid_order(tmp_path: Path) -> None:
    values_file = tmp_path / "values.json"
    values_file.write_text(
        json.dumps(
            {
                ".1.3.6.1.2.1.33.1.2.10.0": ["integer", 10],
                ".1.3.6.1.2.1.33.1.2.9.0": ["gauge", 9],
                ".1.3.6.1.2.1.33.1.1.5.0": ["string", "ups1 in room A"],
            }
        )
    )
    with _helper(values_file) as helper:
        assert _ask(helper, "PING") == ["PONG"]
        assert _ask(helper, "get", ".1.3.6.1.2.1.33.1.2.9.0") == [
            ".1.3.6.1.2.1.33.1.2.9.0",
            "gauge",
            "9",
        ]
        assert _ask(helper, "get", ".1.3.6.1.2.1.33.1.2.8.0") == ["NONE"]
        # Numeric order: .9 before .10, the string before both.
        assert _ask(helper, "getnext", ".1.3.6.1.2.1.33") == [
            ".1.3.6.1.2.1.33.1.1.5.0",
            "string",
            "ups1 in room A",
        ]
        assert _ask(helper, "getnext", ".1.3.6.1.2.1.33.1.2.9.0")[0] == ".1.3.6.1.2.1.33.1.2.10.0"
        assert _ask(helper, "getnext", ".1.3.6.1.2.1.33.1.2.10.0") == ["NONE"]
        assert _ask(helper, "set", ".1.3.6.1.2.1.33.1.2.9.0", "gauge 1") == ["not-writable"]

        set_values(values_file, {".1.3.6.1.2.1.33.1.2.9.0": 99})
        assert _ask(helper, "get", ".1.3.6.1.2.1.33.1.2.9.0")[2] == "99"
        assert helper.stdin is not None
        helper.stdin.close()  # snmpd going away: the helper ends on EOF
        assert helper.wait(timeout=5) == 0


def test_pass_persist_helper_keeps_the_last_good_values(tmp_path: Path) -> None:
    values_file = tmp_path / "values.json"
    values_file.write_text(json.dumps({".1.3.6.1.2.1.33.1.2.7.0": ["integer", 31]}))
    with _helper(values_file) as helper:
        assert _ask(helper, "get", ".1.3.6.1.2.1.33.1.2.7.0")[2] == "31"
        values_file.write_text("{not json")
        os.utime(values_file, ns=(1, 1))
        assert _ask(helper, "get", ".1.3.6.1.2.1.33.1.2.7.0")[2] == "31"
        assert helper.stdin is not None
        helper.stdin.close()
