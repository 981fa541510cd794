"""The lab is real: its hosts answer SSH as themselves, its switches speak Cisco IOS."""

from __future__ import annotations

import http.client
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import paramiko
import pytest
import yaml
from netmiko import ConnectHandler

import automator.lab
from automator.errors import LabError
from automator.lab import Lab, LabSpec, enter_netns
from automator.lab._netns import in_origin_netns, list_netns


def _inventory(lab: Lab, name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((lab.inventory_dir / name).read_text())
    return document


def _ssh(lab: Lab, address: str) -> paramiko.SSHClient:
    credentials = _inventory(lab, "groups.yaml")["lab_servers"]["data"]["credentials"]
    client = paramiko.SSHClient()
    client.load_host_keys(credentials["known_hosts_file"])
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(
        address,
        username="root",
        key_filename=credentials["key_file"],
        look_for_keys=False,
        allow_agent=False,
        timeout=5,
    )
    return client


def _run(client: paramiko.SSHClient, command: str) -> tuple[int, str]:
    _, stdout, _ = client.exec_command(command, timeout=10)
    output = stdout.read().decode().strip()
    return stdout.channel.recv_exit_status(), output


def _switch(lab: Lab, name: str) -> Any:
    device = _inventory(lab, "hosts.yaml")[name]
    credentials = _inventory(lab, "groups.yaml")["lab_switches"]["data"]["credentials"]
    return ConnectHandler(
        device_type=device["platform"],
        host=device["hostname"],
        port=device["port"],
        username=credentials["username"],
        password=Path(credentials["password_file"]).read_text(),
        secret=Path(credentials["enable_secret_file"]).read_text(),
    )


def test_every_host_answers_ssh_as_itself(lab: Lab) -> None:
    for host in lab.status().hosts:
        with _ssh(lab, host.address) as client:
            assert _run(client, "hostname") == (0, host.name)


def test_each_host_has_its_own_srv(lab: Lab) -> None:
    first, second = lab.status().hosts[:2]
    marker = f"/srv/marker-{uuid.uuid4().hex}"
    with _ssh(lab, first.address) as client:
        assert _run(client, f"touch {marker} && test -e {marker}")[0] == 0
    with _ssh(lab, second.address) as client:
        assert _run(client, f"test -e {marker}")[0] == 1


def test_labsvc_starts_as_a_service_and_answers_health(lab: Lab) -> None:
    host = lab.status().hosts[2]
    with _ssh(lab, host.address) as client:
        assert _run(client, "service labsvc start")[0] == 0
        try:
            deadline = time.monotonic() + 10
            while True:
                connection = http.client.HTTPConnection(host.address, 8080, timeout=2)
                try:
                    connection.request("GET", "/health")
                    response = connection.getresponse()
                    status, body = response.status, response.read().decode()
                    break
                except ConnectionRefusedError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
                finally:
                    connection.close()
            assert status == 200
            assert body.startswith("ok pid=")
            assert _run(client, "service labsvc status")[0] == 0
        finally:
            _run(client, "service labsvc stop")


def test_switch_speaks_cisco_ios(lab: Lab) -> None:
    with _switch(lab, "sw2") as switch:
        assert switch.find_prompt() == "sw2>"
        switch.enable()
        assert switch.find_prompt() == "sw2#"
        assert "Cisco IOS Software" in switch.send_command("show version")
        switch.send_config_set(["interface FastEthernet0/1", "description automator-test"])
        running = switch.send_command("show running-config interface FastEthernet0/1")
        assert "description automator-test" in running
        assert "OK" in switch.save_config(cmd="write memory")


def test_switch_refuses_a_wrong_enable_secret(lab: Lab) -> None:
    with _switch(lab, "sw1") as switch:
        switch.secret = "not-the-secret"
        with pytest.raises(ValueError, match="enable mode"):
            switch.enable()


def test_stopped_host_is_unreachable_until_started(lab: Lab) -> None:
    host = lab.status().hosts[3]
    lab.stop_host(host.name)
    try:
        with pytest.raises(OSError):  # connection refused
            _ssh(lab, host.address)
        assert host._replace(up=False) in lab.status().hosts
    finally:
        lab.start_host(host.name)
    with _ssh(lab, host.address) as client:
        assert _run(client, "hostname") == (0, host.name)
    assert host in lab.status().hosts


def test_status_reports_the_running_lab(lab: Lab) -> None:
    status = lab.status()
    assert [(h.name, h.address, h.up) for h in status.hosts] == [
        (f"atesth{i}", f"10.124.0.{10 + i}", True) for i in range(1, 7)
    ]
    assert [(s.name, s.port, s.up) for s in status.switches] == [
        (f"sw{i}", 21000 + i, True) for i in range(1, 6)
    ]
    assert status.controller_netns == lab.controller_netns == "atestctl"
    assert status.state_dir == lab.spec.state_dir
    assert status.seconds_to_start is not None
    assert 0 < status.seconds_to_start < 60


def test_inventory_describes_the_lab(lab: Lab, tmp_path: Path) -> None:
    hosts = _inventory(lab, "hosts.yaml")
    assert list(hosts) == [
        *(f"atesth{i}" for i in range(1, 7)),
        *(f"sw{i}" for i in range(1, 6)),
        *(f"sim{i}" for i in range(1, 4)),
        "ups1",
        "pdu1",
        "crac1",
    ]
    assert hosts["atesth1"] == {
        "hostname": "10.124.0.11",
        "platform": "linux",
        "groups": ["lab_servers"],
        "data": {"role": "server"},
    }
    assert hosts["sw1"] == {
        "hostname": "127.0.0.1",
        "port": 21001,
        "platform": "cisco_ios",
        "groups": ["lab_switches"],
        "data": {"role": "access-switch"},
    }
    switch_credentials = _inventory(lab, "groups.yaml")["lab_switches"]["data"]["credentials"]
    for key in ("password_file", "enable_secret_file"):
        assert Path(switch_credentials[key]).stat().st_mode & 0o777 == 0o600
    assert _inventory(lab, "defaults.yaml")["data"]["site"] == "lab"

    lab.write_inventory(tmp_path)
    for name in ("hosts.yaml", "groups.yaml", "defaults.yaml"):
        assert (tmp_path / name).read_text() == (lab.inventory_dir / name).read_text()


def test_a_second_lab_comes_up_beside_and_goes_down_twice(lab: Lab, tmp_path: Path) -> None:
    other = Lab(
        LabSpec(
            state_dir=tmp_path / "lab",
            prefix="atest2",
            subnet="10.125.0",
            switch_base_port=22001,
            hosts=2,
            switches=1,
        )
    )
    names = {"atest2ctl", "atest2h1", "atest2h2"}
    try:
        status = other.up()
        assert all(host.up for host in status.hosts)
        assert all(switch.up for switch in status.switches)
        assert names <= set(list_netns())
        assert "unreachable 10.125.0.0/24" in _main_namespace_routes()
    finally:
        other.down()
    other.down()

    assert not names & set(list_netns())
    assert "10.125.0.0/24" not in _main_namespace_routes()
    status = other.status()
    assert not any(host.up for host in status.hosts)
    assert status.seconds_to_start is None
    assert all(host.up for host in lab.status().hosts)


def _main_namespace_routes() -> str:
    # The test process lives in the controller namespace; the safety route does not.
    with in_origin_netns():
        return subprocess.run(
            ["ip", "route", "show"], capture_output=True, text=True, check=True
        ).stdout


def test_enter_netns_refuses_while_other_threads_run(lab: Lab) -> None:
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        with pytest.raises(LabError, match="threads"):
            enter_netns(lab.controller_netns)
    finally:
        stop.set()
        thread.join()


def test_enter_netns_names_the_fix_for_a_missing_namespace() -> None:
    with pytest.raises(LabError, match="automator lab up"):
        enter_netns("atestnone")


def test_host_boot_refuses_to_run_outside_a_new_pid_namespace() -> None:
    boot = Path(automator.lab.__file__).parent / "files" / "labhost_boot.sh"
    # New UTS and mount namespaces but the machine's PID namespace: were the guard broken, the
    # renaming and mounting would still stay away from the real machine.
    done = subprocess.run(
        ["unshare", "--uts", "--mount", "--propagation", "private", "sh", str(boot),
         "guarded", "/nonexistent/sshd_config", "/dev/null"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert "refusing" in done.stderr


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("prefix", "Lab", "prefix"),
        ("prefix", "averylongprefix", "prefix"),
        ("subnet", "10.1", "three octets"),
        ("subnet", "8.8.8", "private"),
        ("hosts", 201, "hosts"),
        ("switches", 501, "switches"),
        ("switch_base_port", 65500, "switch_base_port"),
    ],
)
def test_spec_rejects(field: str, value: object, message: str, tmp_path: Path) -> None:
    with pytest.raises(LabError, match=message):
        LabSpec(state_dir=tmp_path, **({"switches": 100} | {field: value}))  # type: ignore[arg-type]
