"""Facility gear over SNMP: net-snmp's real snmpd, one per UPS, PDU or cooling unit.

Each facility device is a ``/usr/sbin/snmpd`` of its own, listening on its own UDP port on the
controller namespace's 127.0.0.1 and answering its kind's subtree through a ``pass_persist``
helper (``files/snmp_pass_persist.py``) that reads the device's values file. ``pass_persist``
rather than ``pass``: snmpd caches ``pass`` answers, so a value a test changes would come back
stale for a while. The helper reads the file again when it changes, so a change made with
``set_values`` is served on the next GET.

A device's folder (``<state>/facility/<name>/``) holds ``values.json`` (numeric OID ->
``[type, value]``), ``snmpd.conf`` (0600: it holds the community), ``snmpd.pid``,
``snmpd.log`` and snmpd's persistent-state folder, so that devices never share
``/var/lib/snmp``.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import NamedTuple

from automator.errors import LabError
from automator.lab._netns import netns_path, thread_in_netns
from automator.lab._system import is_alive, spawn_detached, tail
from automator.lab.files import snmp_pass_persist as protocol

SNMPD = "/usr/sbin/snmpd"
PASS_SCRIPT = Path(__file__).parent / "files" / "snmp_pass_persist.py"
# Only v1/v2c access control, the system group, the pass_persist subtree and snmpEngine: a
# simulated UPS must not answer with this machine's interfaces, processes and disks. snmpEngine
# (.1.3.6.1.6.3.10.2.1) sorts after every kind's subtree, so a walk of one ends at its last
# value rather than with an endOfMibView exception.
_MODULES = "vacm_conf,pass_persist,system_mib,snmpEngine"
_LOOPBACK_HEX = ("0100007F", "00000000")  # 127.0.0.1 and 0.0.0.0 in /proc/net/udp


@dataclass(frozen=True)
class Point:
    """One value a device serves: ``name`` is the MIB object's, ``oid`` the served instance
    (``.0`` for a scalar, the row index for a table column). In a string ``default``,
    ``{name}`` stands for the device's name."""

    name: str
    oid: str
    type: str
    default: int | str


@dataclass(frozen=True)
class Kind:
    """A kind of facility device: how it is named and described, and what it serves."""

    prefix: str  # devices are <prefix>1, <prefix>2, ...
    platform: str  # the inventory's platform
    role: str
    root: str  # the subtree snmpd hands to the pass_persist helper
    sys_descr: str
    points: tuple[Point, ...]


_UPS = ".1.3.6.1.2.1.33"  # UPS-MIB (RFC 1628), upsMIB
_PDU = ".1.3.6.1.4.1.318.1.1.12"  # PowerNet-MIB (APC), rPDU
_AIR = ".1.3.6.1.4.1.318.1.1.13"  # PowerNet-MIB (APC), air
_IRRC_UNIT = _AIR + ".3.2.2.2"  # airIR.airIRRC.airIRRCUnit.airIRRCUnitStatus

KINDS: Mapping[str, Kind] = MappingProxyType(
    {
        # RFC 1628 UPS-MIB. Units as the RFC gives them: volts RMS for line voltages, 0.1 V DC
        # for the battery, 0.1 Hz, 0.1 A, watts, percent, degrees Celsius, seconds, minutes.
        "ups": Kind(
            prefix="ups",
            platform="ups_snmp",
            role="ups",
            root=_UPS,
            sys_descr="APC Web/SNMP Management Card (MB:v4.1.0 PF:v6.9.6 MN:SRT5KXLI)",
            points=(
                Point("upsIdentManufacturer", _UPS + ".1.1.1.0", "string", "APC"),
                Point("upsIdentModel", _UPS + ".1.1.2.0", "string", "Smart-UPS SRT 5000"),
                Point("upsIdentUPSSoftwareVersion", _UPS + ".1.1.3.0", "string", "UPS 16.5"),
                Point("upsIdentName", _UPS + ".1.1.5.0", "string", "{name}"),
                # unknown(1), batteryNormal(2), batteryLow(3), batteryDepleted(4)
                Point("upsBatteryStatus", _UPS + ".1.2.1.0", "integer", 2),
                Point("upsSecondsOnBattery", _UPS + ".1.2.2.0", "integer", 0),
                Point("upsEstimatedMinutesRemaining", _UPS + ".1.2.3.0", "integer", 42),
                Point("upsEstimatedChargeRemaining", _UPS + ".1.2.4.0", "integer", 100),
                Point("upsBatteryVoltage", _UPS + ".1.2.5.0", "integer", 2184),
                Point("upsBatteryCurrent", _UPS + ".1.2.6.0", "integer", 0),
                Point("upsBatteryTemperature", _UPS + ".1.2.7.0", "integer", 27),
                Point("upsInputLineBads", _UPS + ".1.3.1.0", "counter", 0),
                Point("upsInputNumLines", _UPS + ".1.3.2.0", "integer", 1),
                Point("upsInputLineIndex", _UPS + ".1.3.3.1.1.1", "integer", 1),
                Point("upsInputFrequency", _UPS + ".1.3.3.1.2.1", "integer", 500),
                Point("upsInputVoltage", _UPS + ".1.3.3.1.3.1", "integer", 230),
                # other(1), none(2), normal(3), bypass(4), battery(5), booster(6), reducer(7)
                Point("upsOutputSource", _UPS + ".1.4.1.0", "integer", 3),
                Point("upsOutputFrequency", _UPS + ".1.4.2.0", "integer", 500),
                Point("upsOutputNumLines", _UPS + ".1.4.3.0", "integer", 1),
                Point("upsOutputLineIndex", _UPS + ".1.4.4.1.1.1", "integer", 1),
                Point("upsOutputVoltage", _UPS + ".1.4.4.1.2.1", "integer", 230),
                Point("upsOutputCurrent", _UPS + ".1.4.4.1.3.1", "integer", 82),
                Point("upsOutputPower", _UPS + ".1.4.4.1.4.1", "integer", 1850),
                Point("upsOutputPercentLoad", _UPS + ".1.4.4.1.5.1", "integer", 37),
                Point("upsAlarmsPresent", _UPS + ".1.6.1.0", "gauge", 0),
            ),
        ),
        # APC PowerNet-MIB, rPDU branch (a metered/switched rack PDU, one phase).
        "pdu": Kind(
            prefix="pdu",
            platform="pdu_snmp",
            role="pdu",
            root=_PDU,
            sys_descr="APC Web/SNMP Management Card (MB:v4.1.0 PF:v6.9.6 MN:AP8853)",
            points=(
                Point("rPDUIdentName", _PDU + ".1.1.0", "string", "{name}"),
                Point("rPDUIdentDeviceNumPhases", _PDU + ".1.9.0", "integer", 1),
                Point("rPDUIdentDeviceLinetoLineVoltage", _PDU + ".1.15.0", "integer", 230),
                Point("rPDUIdentDevicePowerWatts", _PDU + ".1.16.0", "integer", 1564),
                Point("rPDULoadDevNumPhases", _PDU + ".2.1.2.0", "integer", 1),
                Point("rPDULoadStatusIndex", _PDU + ".2.3.1.1.1.1", "integer", 1),
                # tenths of amps
                Point("rPDULoadStatusLoad", _PDU + ".2.3.1.1.2.1", "gauge", 68),
                # phaseLoadNormal(1), phaseLoadLow(2), phaseLoadNearOverload(3),
                # phaseLoadOverload(4)
                Point("rPDULoadStatusLoadState", _PDU + ".2.3.1.1.3.1", "integer", 1),
                Point("rPDULoadStatusPhaseNumber", _PDU + ".2.3.1.1.4.1", "integer", 1),
                Point("rPDULoadStatusBankNumber", _PDU + ".2.3.1.1.5.1", "integer", 0),
            ),
        ),
        # APC PowerNet-MIB, airIRRCUnitStatus (an InRow RC cooling unit). Temperatures in
        # tenths of a degree Celsius, fan speed in tenths of a percent, air flow in CFM.
        "cooling": Kind(
            prefix="crac",
            platform="cooling_snmp",
            role="crac",
            root=_AIR,
            sys_descr="APC Web/SNMP Management Card (MB:v4.1.0 PF:v6.9.6 MN:ACRC301S)",
            points=(
                # standby(1), on(2)
                Point("airIRRCUnitStatusOperateMode", _IRRC_UNIT + ".1.0", "integer", 2),
                Point("airIRRCUnitStatusAirFlowUS", _IRRC_UNIT + ".4.0", "integer", 2160),
                Point("airIRRCUnitStatusRackInletTempMetric", _IRRC_UNIT + ".7.0", "integer", 215),
                Point("airIRRCUnitStatusSupplyAirTempMetric", _IRRC_UNIT + ".9.0", "integer", 180),
                Point("airIRRCUnitStatusReturnAirTempMetric", _IRRC_UNIT + ".11.0", "integer", 290),
                Point("airIRRCUnitStatusFanSpeed", _IRRC_UNIT + ".16.0", "integer", 550),
                Point(
                    "airIRRCUnitStatusEnteringFluidTemperatureMetric",
                    _IRRC_UNIT + ".24.0",
                    "integer",
                    131,
                ),
                Point(
                    "airIRRCUnitStatusLeavingFluidTemperatureMetric",
                    _IRRC_UNIT + ".26.0",
                    "integer",
                    154,
                ),
            ),
        ),
    }
)

# Every point by name, across kinds: names are the MIBs' own and never repeat.
NAMES: Mapping[str, Point] = MappingProxyType(
    {point.name: point for kind in KINDS.values() for point in kind.points}
)


class Started(NamedTuple):
    """A facility device's snmpd that ``launch`` started."""

    name: str
    port: int
    pid: int
    folder: Path


def default_values(kind: str, name: str) -> dict[str, list[int | str]]:
    """The values a new device of ``kind`` called ``name`` serves."""
    return {
        point.oid: [
            point.type,
            point.default.replace("{name}", name)
            if isinstance(point.default, str)
            else point.default,
        ]
        for point in KINDS[kind].points
    }


def values_path(folder: Path) -> Path:
    """The values file of the device whose folder is ``folder``."""
    return folder / "values.json"


def read_values(values_file: Path) -> dict[str, list[object]]:
    try:
        document = json.loads(values_file.read_text())
    except OSError as exc:
        raise LabError(f"cannot read the values file {values_file}: {exc.strerror}") from None
    except ValueError as exc:
        raise LabError(f"the values file {values_file} is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise LabError(f"the values file {values_file} must hold a JSON object")
    return document


def write_values(values_file: Path, values: Mapping[str, object]) -> None:
    """Replace the values file at once, so the helper never reads half of it."""
    try:
        protocol.parse_values(dict(values))
    except ValueError as exc:
        raise LabError(f"refusing to write {values_file}: {exc}") from None
    fd, temporary = tempfile.mkstemp(dir=values_file.parent, prefix=f".{values_file.name}.")
    try:
        with os.fdopen(fd, "w") as file:
            json.dump(values, file, indent=1, sort_keys=True)
            file.write("\n")
        os.replace(temporary, values_file)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def set_values(values_file: Path, updates: Mapping[str, object]) -> None:
    """Change what a facility device serves; its snmpd answers with it from the next request.

    A key is a numeric OID or a name of ``NAMES`` (``upsBatteryTemperature``). A value is the
    new value (the OID keeps its type), a ``(type, value)`` pair, or None to remove the OID
    (the device then answers noSuchInstance, as one whose sensor is gone).
    """
    values = read_values(values_file)
    for key, value in updates.items():
        oid = resolve(key)
        if value is None:
            values.pop(oid, None)
        elif isinstance(value, tuple | list):
            if len(value) != 2:
                raise LabError(f"{key}: give a value or a (type, value) pair, not {value!r}")
            values[oid] = [value[0], value[1]]
        else:
            values[oid] = [_type_of(key, oid, values), value]
    write_values(values_file, values)


def resolve(key: str) -> str:
    """A numeric OID in its canonical form (leading dot), from an OID or a point's name."""
    if key[:1].isdigit() or key.startswith("."):
        try:
            return "." + ".".join(map(str, protocol.oid_key(key)))
        except ValueError as exc:
            raise LabError(str(exc)) from None
    point = NAMES.get(key)
    if point is None:
        close = difflib.get_close_matches(key, NAMES, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise LabError(f"unknown facility value name {key!r}{hint}")
    return point.oid


def _type_of(key: str, oid: str, values: Mapping[str, object]) -> str:
    current = values.get(oid)
    if isinstance(current, list) and current and isinstance(current[0], str):
        return current[0]
    point = NAMES.get(key)
    if point is not None:
        return point.type
    raise LabError(f"{key} is not served yet: give its type, as (type, value)")


def prepare(folder: Path, name: str, kind: str, port: int, community: str) -> None:
    """Give a device a fresh folder: its default values and its snmpd.conf (0600)."""
    spec = KINDS[kind]
    values_file = values_path(folder)
    pass_command = [sys.executable, str(PASS_SCRIPT), str(values_file)]
    if any(char.isspace() for char in "".join(pass_command)):
        raise LabError(
            f"snmpd cannot run a pass_persist command with spaces in it: {pass_command};"
            " use a state folder (and Python) whose path has none"
        )
    if not community.isalnum():
        raise LabError("the SNMP community must be letters and digits only")
    folder.mkdir(parents=True, exist_ok=True)
    write_values(values_file, default_values(kind, name))
    config = "\n".join(
        [
            "# Written by `automator lab up`; it holds the community, hence mode 0600.",
            f"agentAddress udp:127.0.0.1:{port}",
            f"rocommunity {community} 127.0.0.1",
            f"sysName {name}",
            f"sysDescr {spec.sys_descr}",
            "sysLocation lab",
            "sysContact ops@example.net",
            "dontLogTCPWrappersConnects yes",
            f"pass_persist {spec.root} {' '.join(pass_command)}",
            "",
        ]
    )
    conf = folder / "snmpd.conf"
    fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        os.fchmod(fd, 0o600)  # an older file keeps its mode through O_CREAT
        file.write(config)


def launch(netns: str, name: str, port: int, folder: Path) -> Started:
    """Start a prepared device's snmpd inside ``netns``, in the foreground of its own session."""
    persistent = folder / "persist"
    persistent.mkdir(exist_ok=True)
    (folder / "snmpd.pid").unlink(missing_ok=True)
    pid = spawn_detached(
        [
            "ip", "netns", "exec", netns,
            # Numeric OIDs need no MIB files; Debian ships few, and looking for the rest only
            # fills the log.
            "env", f"SNMP_PERSISTENT_DIR={persistent}", "MIBS=",
            SNMPD, "-f", "-Lo", "-C", "-c", str(folder / "snmpd.conf"),
            "-p", str(folder / "snmpd.pid"), "-I", _MODULES,
        ],
        folder / "snmpd.log",
    )  # fmt: skip
    return Started(name, port, pid, folder)


def wait_listening(netns: str, started: list[Started], timeout: float) -> None:
    """Wait until every started snmpd listens on its UDP port."""
    deadline = time.monotonic() + timeout
    waiting = list(started)
    while waiting:
        listening = udp_listening(netns, [device.port for device in waiting])
        waiting = [device for device, up in zip(waiting, listening, strict=True) if not up]
        for device in waiting:
            if not is_alive(device.pid):
                raise LabError(
                    f"the snmpd of {device.name} exited:\n{tail(device.folder / 'snmpd.log')}"
                )
        if waiting and time.monotonic() > deadline:
            first = waiting[0]
            raise LabError(
                f"{len(waiting)} facility devices do not listen after {timeout:.0f} s:"
                f" {', '.join(device.name for device in waiting)}\n"
                f"{tail(first.folder / 'snmpd.log')}"
            )
        if waiting:
            time.sleep(0.02)


def udp_listening(netns: str, ports: list[int]) -> list[bool]:
    """Whether something listens on each UDP port of 127.0.0.1 inside ``netns``."""
    with thread_in_netns(netns_path(netns)):
        # /proc/thread-self/net shows the calling thread's network namespace.
        table = Path("/proc/thread-self/net/udp").read_text()
    bound = set()
    for line in table.splitlines()[1:]:
        address, _, port = line.split()[1].partition(":")
        if address in _LOOPBACK_HEX:
            bound.add(int(port, 16))
    return [port in bound for port in ports]


def is_ours(cmdline: list[str]) -> bool:
    """Whether a process of the lab's controller namespace is a facility device's."""
    return cmdline[:1] == [SNMPD] or str(PASS_SCRIPT) in cmdline
