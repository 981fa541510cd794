"""The parsers on real outputs: recorded Cisco IOS devices (ntc-templates' and genieparser's
test data, see data/README.md), this machine's own commands, and crafted edge cases."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from automator.checks._parsers import (
    PARSERS,
    UPS_MIB_FIELDS,
    CommandOutput,
    ParseContext,
    ParseError,
    Record,
    parse,
)

DATA = Path(__file__).with_name("data")
NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
DAY = 86400


def ctx(platform: str = "linux", now: datetime = NOW, **options: Any) -> ParseContext:
    return ParseContext(platform=platform, now=now, options=options)


def out(command: str, output: str, rc: int | None = None) -> CommandOutput:
    return CommandOutput(command=command, output=output, rc=rc)


def run(*argv: str) -> CommandOutput:
    """A command run on this machine, as the collector hands it over."""
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    return out(" ".join(argv), done.stdout, done.returncode)


def ios(command: str, name: str) -> CommandOutput:
    return out(command, (DATA / "cisco_ios" / command.replace(" ", "_") / name).read_text())


def by_item(records: list[Record]) -> dict[str, Record]:
    return {str(record["item"]): record for record in records}


def parse_ios(name: str, *outputs: CommandOutput, **options: Any) -> list[Record]:
    return parse(name, outputs, ctx("cisco_ios", **options))


# --- the registry ----------------------------------------------------------------------------


def test_every_parser_documents_itself() -> None:
    for name, parser in PARSERS.items():
        assert parser.__doc__, f"{name} has no docstring"


def test_unknown_parser_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="unknown parser 'nope'"):
        parse("nope", [], ctx())


def test_wrong_number_of_outputs() -> None:
    with pytest.raises(ParseError, match="expects the output of 2 commands, got 1"):
        parse("loadavg", [out("cat /proc/loadavg", "0.1 0.2 0.3 1/100 42")], ctx())


# --- df, df_inodes ---------------------------------------------------------------------------


def test_df_on_this_machines_recorded_output() -> None:
    records = parse("df", [out("df -P -k", (DATA / "linux" / "df_k.txt").read_text())], ctx())
    assert by_item(records)["/"] == {
        "item": "/",
        "size_kb": 264212084,
        "used_kb": 23536456,
        "avail_kb": 82854456,
        "used_pct": 23,
    }
    # devtmpfs on /dev, tmpfs on /dev/shm and /sys/fs/cgroup are runtime filesystems
    assert set(by_item(records)) == {"/"}


def test_df_live() -> None:
    records = parse("df", [run("df", "-P", "-k")], ctx())
    root = by_item(records)["/"]
    assert isinstance(root["size_kb"], int) and root["size_kb"] > 0
    assert 0 <= int(root["used_pct"] or 0) <= 100


def test_df_mount_with_spaces_full_tmpfs_kept_and_df_complaints_skipped() -> None:
    text = (
        "Filesystem     1024-blocks  Used Available Capacity Mounted on\n"
        "/dev/sda1         10000000 9000000   1000000      90% /\n"
        "tmpfs                 1024  1024         0     100% /tmp/my disk\n"
        "tmpfs                 1024    10      1014       1% /run/user/0\n"
        "df: /mnt/nfs: Stale file handle\n"
        "proc                     0     0         0       -  /proc\n"
    )
    records = by_item(parse("df", [out("df -P -k", text, rc=1)], ctx()))
    assert set(records) == {"/", "/tmp/my disk"}
    assert records["/tmp/my disk"]["used_pct"] == 100
    assert records["/tmp/my disk"]["avail_kb"] == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty output"),
        ("garbage\n", "no 'Filesystem' header"),
        ("Filesystem 1024-blocks Used\n/dev/sda1 10 x y 1% /\n", "line 2 does not parse"),
        ("Filesystem 1024-blocks Used\ntmpfs 10 1 9 10% /dev/shm\n", "no real filesystem"),
    ],
)
def test_df_garbage(text: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse("df", [out("df -P -k", text)], ctx())


def test_df_inodes_recorded_and_no_inode_filesystem_skipped() -> None:
    text = (DATA / "linux" / "df_i.txt").read_text() + (
        "/dev/sdb1            0     0        0     - /boot/efi\n"
    )
    records = by_item(parse("df_inodes", [out("df -P -i", text)], ctx()))
    assert set(records) == {"/"}
    assert records["/"] == {
        "item": "/",
        "inodes": 16777216,
        "iused": 427079,
        "ifree": 16350137,
        "iused_pct": 3,
    }


def test_df_inodes_live() -> None:
    records = by_item(parse("df_inodes", [run("df", "-P", "-i")], ctx()))
    assert int(records["/"]["inodes"] or 0) > 0


# --- meminfo, loadavg -------------------------------------------------------------------------


def test_meminfo_recorded() -> None:
    text = (DATA / "linux" / "meminfo.txt").read_text()
    (record,) = parse("meminfo", [out("cat /proc/meminfo", text)], ctx())
    assert record["total_kb"] == 24684092
    assert record["available_kb"] == 23997828
    assert record["used_pct"] == round((24684092 - 23997828) * 100 / 24684092, 2)
    assert record["swap_used_pct"] == 0.0  # no swap on this machine


def test_meminfo_live_and_with_swap_and_old_kernel() -> None:
    (live,) = parse("meminfo", [run("cat", "/proc/meminfo")], ctx())
    assert 0 < float(live["used_pct"] or 0) < 100
    old = "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 50 kB\n"
    old += "SwapTotal: 400 kB\nSwapFree: 100 kB\n"
    (record,) = parse("meminfo", [out("cat /proc/meminfo", old)], ctx())
    assert record["available_kb"] == 200
    assert record["used_pct"] == 80.0
    assert record["swap_used_pct"] == 75.0


def test_meminfo_garbage() -> None:
    with pytest.raises(ParseError, match="no MemTotal"):
        parse("meminfo", [out("cat /proc/meminfo", "cat: /proc/meminfo: No such file")], ctx())


def test_loadavg_recorded_and_live() -> None:
    loadavg = out("cat /proc/loadavg", (DATA / "linux" / "loadavg.txt").read_text())
    (record,) = parse("loadavg", [loadavg, out("nproc", "2\n")], ctx())
    assert record == {
        "cpus": 2,
        "load1": 0.14,
        "load1_per_core": 0.07,
        "load5": 0.17,
        "load5_per_core": 0.085,
        "load15": 0.09,
        "load15_per_core": 0.045,
    }
    (live,) = parse("loadavg", [run("cat", "/proc/loadavg"), run("nproc")], ctx())
    assert live["cpus"] == os.cpu_count()


@pytest.mark.parametrize(
    ("loadavg", "nproc", "message"),
    [
        ("0.1 0.2", "2", "not a load average"),
        ("0.1 abc 0.3 1/2 3", "2", "a load is not a number"),
        ("0.1 0.2 0.3 1/2 3", "0", "not a CPU count"),
        ("0.1 0.2 0.3 1/2 3", "two", "the CPU count is not a number"),
    ],
)
def test_loadavg_garbage(loadavg: str, nproc: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse("loadavg", [out("cat /proc/loadavg", loadavg), out("nproc", nproc)], ctx())


# --- service, chrony, cert_expiry, reboot_required, file_age -------------------------------


def test_service_running_by_exit_status() -> None:
    command = "systemctl is-active sshd"
    assert parse("service", [out(command, "active\n", rc=0)], ctx(service="sshd")) == [
        {"running": 1, "state": "active", "item": "sshd"}
    ]
    assert parse("service", [out(command, "inactive\n", rc=3)], ctx()) == [
        {"running": 0, "state": "inactive"}
    ]
    with pytest.raises(ParseError, match="no exit status"):
        parse("service", [out(command, "active")], ctx())


CHRONY_SYNCED = """\
Reference ID    : C0A80001 (ntp1.example.net)
Stratum         : 3
Ref time (UTC)  : Fri Nov 27 01:58:12 2026
System time     : 0.000012345 seconds slow of NTP time
Last offset     : -0.000003456 seconds
RMS offset      : 0.000012345 seconds
Frequency       : 12.345 ppm fast
Residual freq   : -0.001 ppm
Skew            : 0.012 ppm
Root delay      : 0.000234000 seconds
Root dispersion : 0.000123000 seconds
Update interval : 64.2 seconds
Leap status     : Normal
"""


def test_chrony_synchronised_and_fast_offset_is_absolute() -> None:
    (record,) = parse("chrony", [out("chronyc tracking", CHRONY_SYNCED)], ctx())
    assert record == {
        "offset_ms": 0.012345,
        "stratum": 3,
        "synchronised": 1,
        "reference": "C0A80001 (ntp1.example.net)",
    }
    fast = CHRONY_SYNCED.replace("0.000012345 seconds slow", "1.5 seconds fast")
    (record,) = parse("chrony", [out("chronyc tracking", fast)], ctx())
    assert record["offset_ms"] == 1500.0


def test_chrony_not_synchronised_and_no_daemon() -> None:
    lost = CHRONY_SYNCED.replace("Leap status     : Normal", "Leap status     : Not synchronised")
    (record,) = parse("chrony", [out("chronyc tracking", lost)], ctx())
    assert record["synchronised"] == 0
    with pytest.raises(ParseError, match="no System time, Stratum, Leap status"):
        parse("chrony", [out("chronyc tracking", "506 Cannot talk to daemon\n", rc=1)], ctx())
    odd = CHRONY_SYNCED.replace(": Normal", ": Sideways")
    with pytest.raises(ParseError, match="unknown Leap status 'Sideways'"):
        parse("chrony", [out("chronyc tracking", odd)], ctx())


def test_cert_expiry_of_a_real_certificate(tmp_path: Path) -> None:
    cert = tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", str(tmp_path / "key.pem"), "-out", str(cert),
            "-days", "30", "-subj", "/CN=test",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    output = run("openssl", "x509", "-noout", "-enddate", "-in", str(cert))
    (record,) = parse("cert_expiry", [output], ctx(now=datetime.now(UTC), item=str(cert)))
    assert 29.9 < float(record["days_left"] or 0) <= 30
    assert record["item"] == str(cert)


def test_cert_expiry_bundle_expired_and_garbage() -> None:
    text = "notAfter=Dec  7 02:00:00 2026 GMT\nnotAfter=Nov 20 02:00:00 2026 GMT\n"
    (record,) = parse("cert_expiry", [out("openssl x509 -noout -enddate", text)], ctx())
    assert record == {"days_left": -7.0, "not_after": "2026-11-20T02:00:00+00:00"}
    with pytest.raises(ParseError, match="no notAfter= line"):
        parse("cert_expiry", [out("x", "Could not read certificate from /x", rc=1)], ctx())
    with pytest.raises(ParseError, match="notAfter 'soon'"):
        parse("cert_expiry", [out("x", "notAfter=soon")], ctx())


@pytest.mark.parametrize(("answer", "value"), [("yes\n", 1), ("no\n", 0)])
def test_reboot_required(answer: str, value: int) -> None:
    assert parse("reboot_required", [out("test -e ...", answer)], ctx()) == [
        {"reboot_required": value}
    ]


def test_reboot_required_garbage() -> None:
    with pytest.raises(ParseError, match="expected yes or no, got 'maybe'"):
        parse("reboot_required", [out("test -e ...", "maybe")], ctx())


def test_file_age_live(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    old, new = tmp_path / "db dump.gz", tmp_path / "new"
    for path, age in ((old, timedelta(hours=30)), (new, timedelta(minutes=6))):
        path.write_text("x")
        stamp = (now - age).timestamp()
        os.utime(path, (stamp, stamp))
    records = by_item(
        parse("file_age", [run("stat", "-c", "%Y %n", str(old), str(new))], ctx(now=now))
    )
    assert records[str(old)]["age_hours"] == pytest.approx(30, abs=0.01)
    assert records[str(new)]["age_hours"] == pytest.approx(0.1, abs=0.01)


def test_file_age_missing_file_is_named(tmp_path: Path) -> None:
    present, missing = tmp_path / "present", tmp_path / "missing"
    present.write_text("x")
    command = f"stat -c '%Y %n' {present} {missing}"
    stdout_only = run("stat", "-c", "%Y %n", str(present), str(missing))
    assert stdout_only.rc == 1
    with pytest.raises(ParseError, match=f"cannot stat {missing}$"):
        parse("file_age", [out(command, stdout_only.output, stdout_only.rc)], ctx())
    merged = subprocess.run(
        command,
        shell=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    with pytest.raises(ParseError, match=f"cannot stat {missing} \\(No such file or directory\\)"):
        parse("file_age", [out(command, merged.stdout, merged.returncode)], ctx())


def test_file_age_glob_that_matched_nothing_and_garbage() -> None:
    with pytest.raises(ParseError, match=r"cannot stat /backups/\*\.gz"):
        parse("file_age", [out("stat -c '%Y %n' /backups/*.gz", "", rc=1)], ctx())
    with pytest.raises(ParseError, match="not 'MTIME PATH'"):
        parse("file_age", [out("stat -c '%Y %n' /x", "yesterday /x", rc=0)], ctx())


# --- json, kv, regex, textfsm ----------------------------------------------------------------


def test_json_object_and_list() -> None:
    document = '{"healthy": true, "disk": {"used": 12.5, "name": "sda"}, "tags": ["a"]}'
    assert parse("json", [out("curl -s /health", document)], ctx()) == [
        {"healthy": 1, "disk.used": 12.5, "disk.name": "sda"}
    ]
    rows = '[{"name": "a", "lag": 3}, {"name": "b", "lag": null}]'
    assert parse("json", [out("x", rows)], ctx(item_key="name")) == [
        {"item": "a", "lag": 3},
        {"item": "b", "lag": None},
    ]
    assert parse("json", [out("x", "[]")], ctx()) == []


@pytest.mark.parametrize(
    ("text", "options", "message"),
    [
        ("{oops", {}, "not JSON"),
        ("[1, 2]", {}, "not an object or a list of objects"),
        ('[{"lag": 1}]', {"item_key": "name"}, "no 'name' in a row"),
        ("", {}, "empty output"),
    ],
)
def test_json_garbage(text: str, options: dict[str, Any], message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse("json", [out("x", text)], ctx(**options))


def test_kv() -> None:
    text = "# replication\nlag=3\nstate: running\nratio = 0.75\nenabled: false\nurl: http://x:1\n"
    assert parse("kv", [out("x", text)], ctx()) == [
        {"lag": 3, "state": "running", "ratio": 0.75, "enabled": 0, "url": "http://x:1"}
    ]
    with pytest.raises(ParseError, match="not key=value: 'just words'"):
        parse("kv", [out("x", "lag=3\njust words\n")], ctx())


def test_regex() -> None:
    text = "queue mail: 12 waiting\nqueue print: 0 waiting\nsomething else\n"
    pattern = r"queue (?P<queue>\w+): (?P<waiting>\d+) waiting"
    assert parse("regex", [out("x", text)], ctx(pattern=pattern, item="queue")) == [
        {"item": "mail", "waiting": 12},
        {"item": "print", "waiting": 0},
    ]
    with pytest.raises(ParseError, match="no line matches"):
        parse("regex", [out("x", "nothing")], ctx(pattern=pattern))
    with pytest.raises(ParseError, match="named groups"):
        parse("regex", [out("x", text)], ctx(pattern=r"queue \w+"))
    with pytest.raises(ParseError, match="does not compile"):
        parse("regex", [out("x", text)], ctx(pattern=r"(?P<x"))


def test_textfsm_with_a_template_file(tmp_path: Path) -> None:
    template = tmp_path / "queues.textfsm"
    template.write_text(
        "Value QUEUE (\\w+)\nValue WAITING (\\d+)\n\nStart\n"
        "  ^queue ${QUEUE}: ${WAITING} waiting -> Record\n"
    )
    text = "queue mail: 12 waiting\nqueue print: 0 waiting\n"
    records = parse("textfsm", [out("x", text)], ctx(template=str(template), item_key="queue"))
    assert records == [{"item": "mail", "waiting": 12}, {"item": "print", "waiting": 0}]
    with pytest.raises(ParseError, match="no row"):
        parse("textfsm", [out("x", "nothing here")], ctx(template=str(template)))
    with pytest.raises(ParseError, match="No such file"):
        parse("textfsm", [out("x", text)], ctx(template=str(tmp_path / "none.textfsm")))


def test_textfsm_by_platform_and_command() -> None:
    records = parse_ios("textfsm", ios("show ip ospf neighbor", "four_neighbors.raw"))
    assert records[0] == {
        "neighbor_id": "10.190.30.2",
        "priority": 1,
        "state": "FULL/BDR",
        "dead_time": "00:00:04",
        "ip_address": "10.190.16.11",
        "interface": "GigabitEthernet0/2.101",
    }
    # our own index is searched first
    (ntp,) = parse_ios("textfsm", ios("show ntp status", "genieparser_ios_golden_output_1.raw"))
    assert ntp["status"] == "synchronized"
    with pytest.raises(ParseError, match="no TextFSM template for cisco_ios"):
        parse_ios("textfsm", out("show flux capacitor", "1.21 GW"))


# --- Cisco IOS ------------------------------------------------------------------------------


def test_ios_cpu() -> None:
    output = ios("show processes cpu", "cisco_ios_show_processes_cpu.raw")
    assert parse_ios("ios_cpu", output) == [
        {"cpu_5s": 4, "cpu_1m": 6, "cpu_5m": 5, "cpu_interrupt_5s": 0}
    ]


def test_ios_cpu_device_error() -> None:
    said = "             ^\n% Invalid input detected at '^' marker.\n"
    with pytest.raises(ParseError, match='the device said "% Invalid input'):
        parse_ios("ios_cpu", out("show processes cpu", said))


def test_ios_memory_from_either_command() -> None:
    sorted_ = ios("show processes memory sorted", "cisco_ios_show_processes_memory_sorted.raw")
    assert parse_ios("ios_memory", sorted_) == [
        {
            "used_pct": round(236752096 * 100 / 919638648, 2),
            "total_bytes": 919638648,
            "used_bytes": 236752096,
            "free_bytes": 682886552,
        }
    ]
    refused = out("show processes memory sorted", "% Invalid input detected at '^' marker.")
    statistics = ios("show memory statistics", "genieparser_iosxe_golden_output.raw")
    (record,) = parse_ios("ios_memory", refused, statistics)
    assert record["used_pct"] == round(355116128 * 100 / 856541768, 2)
    with pytest.raises(ParseError, match="show processes memory sorted: the device said"):
        parse_ios("ios_memory", refused, out("show memory statistics", ""))


def test_ios_interfaces_up_admin_down_and_counters() -> None:
    records = by_item(
        parse_ios("ios_interfaces", ios("show interfaces", "cisco_ios_show_interfaces.raw"))
    )
    assert records["GigabitEthernet0/1"] == {
        "item": "GigabitEthernet0/1",
        "up": 1,
        "admin_down": 0,
        "down": 0,
        "input_errors": 0,
        "output_errors": 0,
        "crc": 0,
        "state": "up/up (connected)",
    }
    assert records["GigabitEthernet0/0"]["up"] == 0  # "is reset, line protocol is down"
    assert records["GigabitEthernet0/0"]["admin_down"] == 0
    many = parse_ios("ios_interfaces", ios("show interfaces", "cisco_ios_show_interfaces4.raw"))
    assert len(many) == 16
    assert sum(int(r["up"] or 0) for r in many) == 9
    assert sum(int(r["admin_down"] or 0) for r in many) == 5
    down_not_shut = [r["item"] for r in many if r["up"] == 0 and r["admin_down"] == 0]
    assert down_not_shut == ["FastEthernet1", "TenGigabitEthernet1/1/12"]
    assert [r["item"] for r in many if r["down"]] == down_not_shut
    shut_uplink = next(r["item"] for r in many if r["admin_down"])
    expecting = parse_ios(
        "ios_interfaces",
        ios("show interfaces", "cisco_ios_show_interfaces4.raw"),
        expected_up=[shut_uplink],
    )
    assert {r["item"] for r in expecting if r["down"]} == {*down_not_shut, shut_uplink}
    errors = by_item(
        parse_ios("ios_interfaces", ios("show interfaces", "cisco_ios_show_interfaces5.raw"))
    )
    assert errors["Port-channel1"]["input_errors"] == 179928
    assert errors["Port-channel1"]["crc"] == 21419


def test_ios_bgp_neighbours() -> None:
    records = by_item(
        parse_ios("ios_bgp", ios("show ip bgp summary", "cisco_ios_show_ip_bgp_summary.raw"))
    )
    assert len(records) == 10
    assert records["10.0.0.1"] == {
        "item": "10.0.0.1",
        "established": 1,
        "admin_down": 0,
        "prefixes_received": 558720,
        "uptime_s": 21 * DAY,
        "state": "Established",
    }
    assert records["10.0.0.4"]["uptime_s"] == (365 + 50 * 7) * DAY
    assert records["10.0.0.10"] == {
        "item": "10.0.0.10",
        "established": 0,
        "admin_down": 1,
        "prefixes_received": 0,
        "uptime_s": 0,
        "state": "Idle (Admin)",
    }


def test_ios_bgp_address_families() -> None:
    records = by_item(
        parse_ios("ios_bgp", ios("show ip bgp summary", "cisco_ios_show_ip_bgp_summary_all.raw"))
    )
    assert records["10.0.14.4 (IPv4 Unicast)"]["uptime_s"] == 20 * 60 + 6
    assert records["10.10.14.4 (VPNv4 Unicast)"]["established"] == 0
    assert records["10.10.14.4 (VPNv4 Unicast)"]["state"] == "Idle"


def test_ios_bgp_no_bgp_is_an_empty_answer_and_garbage_is_not() -> None:
    assert parse_ios("ios_bgp", out("show ip bgp summary", "% BGP not active\n")) == []
    header_only = "BGP router identifier 10.0.0.1, local AS number 65000\n"
    assert parse_ios("ios_bgp", out("show ip bgp summary", header_only)) == []
    with pytest.raises(ParseError, match="no neighbour table"):
        parse_ios("ios_bgp", out("show ip bgp summary", "Connection closed by foreign host."))
    with pytest.raises(ParseError, match="empty output"):
        parse_ios("ios_bgp", out("show ip bgp summary", ""))


def test_ios_ospf_adjacencies() -> None:
    records = by_item(
        parse_ios("ios_ospf", ios("show ip ospf neighbor", "cisco_ios_show_ip_ospf_neighbor.raw"))
    )
    assert records["10.0.0.1 Port-channel1"] == {
        "item": "10.0.0.1 Port-channel1",
        "full": 1,
        "state": "FULL/-",
    }
    # the same router is a neighbour on two subinterfaces: one record each
    both = parse_ios("ios_ospf", ios("show ip ospf neighbor", "four_neighbors.raw"))
    assert [r["item"] for r in both][:3] == [
        "10.190.30.2 GigabitEthernet0/2.101",
        "10.190.30.3 GigabitEthernet0/2.101",
        "10.190.30.2 GigabitEthernet0/2.100",
    ]


def test_ios_ospf_2way_drother_is_healthy_init_is_not_and_missing_neighbours() -> None:
    text = (
        "Neighbor ID     Pri   State           Dead Time   Address         Interface\n"
        "10.0.0.5          1   2WAY/DROTHER    00:00:35    10.1.1.5        GigabitEthernet0/1\n"
        "10.0.0.6          1   INIT/DROTHER    00:00:31    10.1.1.6        GigabitEthernet0/1\n"
        "10.0.0.7          1   EXSTART/DR      00:00:38    10.1.1.7        GigabitEthernet0/1\n"
    )
    output = out("show ip ospf neighbor", text)
    records = by_item(parse_ios("ios_ospf", output, neighbors=["10.0.0.5", "10.0.0.9"]))
    assert {item: r["full"] for item, r in records.items()} == {
        "10.0.0.5 GigabitEthernet0/1": 1,
        "10.0.0.6 GigabitEthernet0/1": 0,
        "10.0.0.7 GigabitEthernet0/1": 0,
        "10.0.0.9": 0,
    }
    assert records["10.0.0.9"]["state"] == "missing"
    empty = out("show ip ospf neighbor", "")
    assert parse_ios("ios_ospf", empty, neighbors=["10.0.0.5"]) == [
        {"item": "10.0.0.5", "full": 0, "state": "missing"}
    ]
    with pytest.raises(ParseError, match="empty output"):
        parse_ios("ios_ospf", empty)


def test_ios_environment_catalyst_9000() -> None:
    output = ios("show environment all", "genieparser_iosxe_golden_output.raw")
    records = by_item(parse_ios("ios_environment", output))
    assert records["fan 1/1"] == {"item": "fan 1/1", "fan_ok": 1, "fan_rpm": 35840}
    assert records["switch 1 fan PS-2"]["fan_ok"] == 1
    assert "switch 1 fan PS-1" not in records  # NOT PRESENT
    assert records["switch 1 inlet"] == {
        "item": "switch 1 inlet",
        "temperature_c": 29,
        "temperature_ok": 1,
    }
    assert records["switch 1 hotspot"]["temperature_c"] == 55
    assert records["psu 1A"]["psu_ok"] == 0  # No Input Power / Bad
    assert records["psu 1B"]["psu_ok"] == 1
    second = by_item(
        parse_ios(
            "ios_environment", ios("show environment all", "genieparser_iosxe_golden_output2.raw")
        )
    )
    assert second["fan 3/2"]["fan_rpm"] == 13760  # tab-separated fan table
    assert "psu 3B" not in second  # an empty bay


def test_ios_environment_from_the_separate_commands() -> None:
    temperature = ios("show environment temperature", "cisco_ios_show_environment_temperature.raw")
    power = ios(
        "show environment power all", "cisco_ios_show_environment_power_all-3850-not-pres.raw"
    )
    records = by_item(parse_ios("ios_environment", temperature, power))
    assert records["switch 2 hotspot"]["temperature_c"] == 69
    assert {item: r["psu_ok"] for item, r in records.items() if item.startswith("psu")} == {
        "psu 1A": 1,
        "psu 2B": 0,
        "psu 3A": 1,
    }
    builtin = ios("show environment power all", "cisco_ios_show_environment_power_all-2960s.raw")
    assert [r["psu_ok"] for r in parse_ios("ios_environment", builtin)] == [1, 1, 1, 1]


def test_ios_environment_classic_layout_and_alarms() -> None:
    text = (
        "FAN is FAULTY\nTEMPERATURE is OK\nTemperature Value: 61 Degree Celsius\n"
        "Temperature State: RED\nYellow Threshold : 54 Degree Celsius\n"
        "Red Threshold    : 60 Degree Celsius\nPOWER is OK\nRPS is NOT PRESENT\n"
    )
    records = by_item(parse_ios("ios_environment", out("show env all", text)))
    assert records == {
        "fan": {"item": "fan", "fan_ok": 0},
        "system temperature": {"item": "system temperature", "temperature_ok": 1},
        "temperature": {"item": "temperature", "temperature_c": 61, "temperature_ok": 0},
        "power": {"item": "power", "psu_ok": 1},
    }
    with pytest.raises(ParseError, match="no sensor"):
        parse_ios("ios_environment", out("show environment all", "Switch#"))


@pytest.mark.parametrize(
    ("name", "uptime_s", "reason"),
    [
        (
            "cisco_ios_show_version.raw",
            2 * 365 * DAY + 31 * 7 * DAY + 6 * DAY + 9 * 3600 + 55 * 60,
            "reload",
        ),
        ("cisco_ios_show_version2.raw", DAY + 15 * 3600 + 32 * 60, "LocalSoft"),
        ("cisco_ios_show_version6.raw", 3 * 7 * DAY + 6 * DAY + 32 * 60, "Unknown reason"),
    ],
)
def test_ios_uptime(name: str, uptime_s: int, reason: str) -> None:
    assert parse_ios("ios_uptime", ios("show version", name)) == [
        {"uptime_s": uptime_s, "reload_reason": reason}
    ]


def test_ios_uptime_on_the_simulated_switch() -> None:
    enabled = pytest.importorskip("fake_switches.cisco.command_processor.enabled")
    text = enabled.version_text(hostname="sw1", vlan_port_count=1, port_count=4)
    (record,) = parse_ios("ios_uptime", out("show version", text))
    assert record["uptime_s"] == 365 * DAY + 18 * 7 * DAY + 5 * DAY + 3600 + 11 * 60
    assert record["reload_reason"] == "power-on"


RUNNING = """\
Building configuration...

Current configuration : 1234 bytes
!
! Last configuration change at 10:01:02 UTC Fri Nov 27 2026 by admin
! NVRAM config last updated at 09:00:00 UTC Fri Nov 27 2026 by admin
!
version 15.2
hostname sw1
!
ntp clock-period 17179865
interface GigabitEthernet0/1
 description uplink
!
end
"""
STARTUP = """\
Using 1180 out of 524288 bytes
!
! Last configuration change at 08:55:00 UTC Fri Nov 27 2026 by admin
! NVRAM config last updated at 09:00:00 UTC Fri Nov 27 2026 by admin
!
version 15.2
hostname sw1
!
interface GigabitEthernet0/1
 description uplink
!
end
"""


def test_ios_config_saved() -> None:
    running = out("show running-config", RUNNING)
    startup = out("show startup-config", STARTUP)
    assert parse_ios("ios_config_saved", running, startup) == [{"saved": 1, "changed_lines": 0}]
    changed = out("show running-config", RUNNING.replace("uplink", "uplink to core"))
    assert parse_ios("ios_config_saved", changed, startup) == [{"saved": 0, "changed_lines": 2}]
    never = out("show startup-config", "startup-config is not present\n")
    assert parse_ios("ios_config_saved", running, never)[0]["saved"] == 0


@pytest.mark.parametrize(
    ("startup", "message"),
    [
        ("", "show startup-config: empty output"),  # what the simulated switch answers
        ("% Invalid input detected at '^' marker.", "the device said"),
        ("Using 1180 out of 524288 bytes\nversion 15.2\nhostname sw1\n", "no 'end' line"),
    ],
)
def test_ios_config_saved_without_a_usable_startup_config(startup: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_ios(
            "ios_config_saved",
            out("show running-config", RUNNING),
            out("show startup-config", startup),
        )


def test_ios_ntp() -> None:
    synced = ios("show ntp status", "genieparser_ios_golden_output_1.raw")
    assert parse_ios("ios_ntp", synced) == [
        {"synchronised": 1, "stratum": 4, "offset_ms": 27.0279, "reference": "10.16.2.2"}
    ]
    lost = ios("show ntp status", "genieparser_ios_golden_output_2.raw")
    assert parse_ios("ios_ntp", lost)[0]["synchronised"] == 0
    assert parse_ios("ios_ntp", lost)[0]["stratum"] == 16
    negative = out("show ntp status", synced.output.replace("is 27.0279 msec", "is -3.5 msec"))
    assert parse_ios("ios_ntp", negative)[0]["offset_ms"] == 3.5
    disabled = out("show ntp status", "%NTP is not enabled.\n")
    assert parse_ios("ios_ntp", disabled) == [
        {"synchronised": 0, "stratum": None, "offset_ms": None, "reference": ""}
    ]
    with pytest.raises(ParseError, match="nothing parsed"):
        parse_ios("ios_ntp", out("show ntp status", "Clock is fine, thanks"))


# --- SNMP -----------------------------------------------------------------------------------


def snmp_outputs(**values: str) -> list[CommandOutput]:
    return [out(name, value) for name, value in values.items()]


def test_snmp_values_scaled_and_missing() -> None:
    outputs = snmp_outputs(upsBatteryVoltage="545", sysName="ups1", upsBatteryTemperature="")
    records = parse("snmp", outputs, ctx("ups_snmp", scale={"upsBatteryVoltage": 0.1}))
    assert records == [
        {"upsBatteryVoltage": 54.5, "sysName": "ups1", "upsBatteryTemperature": None}
    ]
    with pytest.raises(ParseError, match="answered none of a, b"):
        parse("snmp", snmp_outputs(a="", b=" "), ctx("ups_snmp"))
    with pytest.raises(ParseError, match="cannot scale 'ups1'"):
        parse("snmp", snmp_outputs(sysName="ups1"), ctx("ups_snmp", scale={"sysName": 2}))


def test_ups_mib_on_battery() -> None:
    outputs = snmp_outputs(
        upsBatteryStatus="3",
        upsSecondsOnBattery="420",
        upsEstimatedMinutesRemaining="12",
        upsEstimatedChargeRemaining="41",
        upsBatteryVoltage="523",
        upsBatteryTemperature="38",
        upsInputVoltage="0",
        upsOutputVoltage="230",
        upsOutputPercentLoad="64",
        upsOutputSource="5",
    )
    assert parse("ups_mib", outputs, ctx("ups_snmp")) == [
        {
            "battery_status": 3,
            "seconds_on_battery": 420,
            "minutes_remaining": 12,
            "charge_pct": 41,
            "battery_voltage_v": 52.3,
            "battery_temperature_c": 38,
            "input_voltage_v": 0,
            "output_voltage_v": 230,
            "output_load_pct": 64,
            "on_battery": 1,
        }
    ]


def test_ups_mib_partial_and_garbage() -> None:
    (record,) = parse(
        "ups_mib", snmp_outputs(upsBatteryStatus="2", upsOutputSource="3"), ctx("ups_snmp")
    )
    assert record["battery_status"] == 2
    assert record["on_battery"] == 0
    assert record["battery_temperature_c"] is None
    with pytest.raises(ParseError, match="upsBatteryStatus: 'normal' is not a number"):
        parse("ups_mib", snmp_outputs(upsBatteryStatus="normal"), ctx("ups_snmp"))
    with pytest.raises(ParseError, match="no UPS-MIB value among sysName"):
        parse("ups_mib", snmp_outputs(sysName="ups1"), ctx("ups_snmp"))


def test_ups_mib_names_match_the_collectors_oids() -> None:
    from automator.runners._snmp import UPS_MIB_OIDS

    assert set(UPS_MIB_OIDS) == {*UPS_MIB_FIELDS, "upsOutputSource"}
