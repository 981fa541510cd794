"""Pure logic of outcomes: exception classification, run status, extra-vars escaping."""

from __future__ import annotations

import errno

import paramiko
import pytest
import yaml
from netmiko.exceptions import (
    NetmikoAuthenticationException,
    NetmikoTimeoutException,
    ReadTimeout,
)

from automator.errors import ConfigError
from automator.jobs import RunStatus, run_status
from automator.runners import HostResult, Outcome
from automator.runners._ansible import _outcome, unsafe_extravars
from automator.runners._classify import JobTimeLimit, classify
from automator.runners._paramiko import CommandTimeout


@pytest.mark.parametrize(
    ("exc", "outcome", "reason"),
    [
        (
            ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"),
            Outcome.UNREACHABLE,
            "Connection refused",
        ),
        (OSError(errno.EHOSTUNREACH, "No route to host"), Outcome.UNREACHABLE, "No route to host"),
        (TimeoutError("timed out"), Outcome.UNREACHABLE, "connection timed out"),
        (
            NetmikoTimeoutException("TCP connection to device failed."),
            Outcome.UNREACHABLE,
            "TCP connection to device failed.",
        ),
        (
            paramiko.ssh_exception.NoValidConnectionsError({("10.0.0.1", 22): OSError("x")}),
            Outcome.UNREACHABLE,
            "connection refused or unreachable: Unable to connect to port 22 on 10.0.0.1",
        ),
        (paramiko.AuthenticationException("bad key"), Outcome.FAILED, "authentication failed"),
        (NetmikoAuthenticationException("no"), Outcome.FAILED, "authentication failed"),
        (
            ReadTimeout("Pattern not detected: 'sw1#' in output."),
            Outcome.FAILED,
            "Pattern not detected: 'sw1#' in output.",
        ),
        (CommandTimeout("sleep 9", 2), Outcome.FAILED, "no answer to 'sleep 9' within 2 s"),
        (
            JobTimeLimit(30),
            Outcome.FAILED,
            "job time limit of 30 s reached before this host finished",
        ),
        (
            ConfigError("credentials.password_env: environment variable X is not set"),
            Outcome.FAILED,
            "credentials.password_env: environment variable X is not set",
        ),
        (ValueError("odd\nsecond line"), Outcome.FAILED, "ValueError: odd"),
    ],
)
def test_classify(exc, outcome, reason):
    assert classify(exc) == (outcome, reason)


def results(*outcomes: Outcome) -> dict[str, HostResult]:
    return {f"h{i}": HostResult(f"h{i}", o) for i, o in enumerate(outcomes)}


def test_run_status():
    assert (
        run_status(results(Outcome.OK, Outcome.CHANGED, Outcome.SKIPPED), False, None)
        is RunStatus.SUCCEEDED
    )
    assert run_status(results(Outcome.OK, Outcome.UNREACHABLE), False, None) is RunStatus.PARTIAL
    assert run_status(results(Outcome.FAILED, Outcome.UNREACHABLE), False, None) is RunStatus.FAILED
    assert run_status(results(Outcome.OK), True, None) is RunStatus.TIMED_OUT
    assert run_status(results(Outcome.FAILED), False, "ansible-playbook: boom") is RunStatus.FAILED


def test_ansible_stats_mapping():
    assert (
        _outcome({"ok": 3, "dark": 1}, "Failed to connect to the host via ssh")
        is Outcome.UNREACHABLE
    )
    assert _outcome({"dark": 1}, "root@10.0.0.1: Permission denied (publickey).") is Outcome.FAILED
    assert _outcome({"ok": 2, "failures": 1}, "") is Outcome.FAILED
    assert _outcome({"ok": 2, "ignored": 1}, "") is Outcome.OK
    assert _outcome({"ok": 2, "rescued": 1, "changed": 1}, "") is Outcome.CHANGED
    assert _outcome({"skipped": 2}, "") is Outcome.SKIPPED


def test_extravars_are_unsafe_data():
    text = unsafe_extravars({"msg": "{{ lookup('pipe', 'id') }}\n\"x\"", "n": 2, "on": False})
    assert text.splitlines()[0].startswith('"msg": !unsafe ')

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor("!unsafe", lambda loader, node: ("UNSAFE", node.value))
    assert yaml.load(text, Loader=Loader) == {
        "msg": ("UNSAFE", "{{ lookup('pipe', 'id') }}\n\"x\""),
        "n": 2,
        "on": False,
    }
    assert unsafe_extravars({}) == "{}\n"
    with pytest.raises(ConfigError, match="not a valid Ansible variable name"):
        unsafe_extravars({"a-b": "x"})
    with pytest.raises(ConfigError, match="must be a string, number or boolean"):
        unsafe_extravars({"a": ["x"]})
