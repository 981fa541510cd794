"""Nornir tasks automator ships: run commands, push configuration.

Linux servers are driven over the ``paramiko`` connection, network gear over ``netmiko``.
Commands are chosen per host from a mapping keyed by platform (``cisco_ios``) or by kind
(``server``, ``network``); a host with nothing to run is skipped, not failed.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

from nornir.core.task import Result, Task

from automator.runners._paramiko import CONNECTION_NAME as PARAMIKO
from automator.runners._paramiko import exec_command
from automator.runners._specs import CommandsTask, ConfigTask

NETMIKO = "netmiko"


class TaskFailed(Exception):
    """A task reached the host but what it ran failed (non-zero exit, verification)."""

    def __init__(self, message: str, output: str, data: dict[str, Any]) -> None:
        super().__init__(message)
        self.output = output
        self.data = data


class NothingToRun(Exception):
    """The action has no commands for this host's platform or kind."""


def for_host(mapping: Mapping[str, Sequence[Any]], platform: str, kind: str) -> Sequence[Any]:
    return mapping.get(platform) or mapping.get(kind) or ()


def run_commands(
    task: Task,
    spec: CommandsTask,
    kind: str,
    timeout: float,
    check_mode: bool,
    cancel: threading.Event,
) -> Result:
    commands = for_host(spec.commands, task.host.platform or "", kind)
    if not commands:
        raise NothingToRun(f"no commands for platform {task.host.platform!r}")
    if check_mode and spec.changes:
        return Result(
            host=task.host,
            result={"would_run": list(commands)},
            changed=False,
            check_mode_skipped=True,
        )
    transcript: list[str] = []
    outputs: list[dict[str, Any]] = []
    for command in commands:
        if cancel.is_set():
            raise TaskFailed(
                "cancelled before this host finished", "\n".join(transcript), {"commands": outputs}
            )
        rc, text = _send(task, kind, command, timeout)
        outputs.append({"command": command, "rc": rc, "output": text})
        transcript.append(f"$ {command}\n{text}".rstrip())
        if rc != 0:
            raise TaskFailed(
                f"{command!r} exited with status {rc}",
                "\n".join(transcript),
                {"commands": outputs},
            )
    return Result(
        host=task.host,
        result={"commands": outputs},
        changed=spec.changes,
        transcript="\n".join(transcript),
    )


def push_config(
    task: Task,
    spec: ConfigTask,
    kind: str,
    timeout: float,
    check_mode: bool,
    cancel: threading.Event,
) -> Result:
    platform = task.host.platform or ""
    lines = for_host(spec.lines, platform, kind)
    if not lines:
        raise NothingToRun(f"no configuration for platform {platform!r}")
    if kind != "network":
        raise TaskFailed("configuration push is for network gear only", "", {})
    if check_mode:
        return Result(
            host=task.host,
            result={"would_apply": list(lines)},
            changed=False,
            check_mode_skipped=True,
        )
    connection = _netmiko(task)
    transcript = [connection.send_config_set(list(lines), read_timeout=timeout)]
    if spec.save:
        transcript.append(connection.save_config())
    checks: list[dict[str, Any]] = []
    for check in for_host(spec.verify, platform, kind):
        if cancel.is_set():
            break
        _, shown = _send(task, kind, check.command, timeout)
        passed = check.expect in shown
        checks.append({"command": check.command, "expect": check.expect, "passed": passed})
        transcript.append(f"$ {check.command}\n{shown}")
        if not passed:
            raise TaskFailed(
                f"verify: {check.command!r} does not show {check.expect!r}",
                "\n".join(transcript),
                {"applied": list(lines), "verify": checks},
            )
    return Result(
        host=task.host,
        result={"applied": list(lines), "saved": spec.save, "verify": checks},
        changed=True,
        transcript="\n".join(transcript),
    )


def _send(task: Task, kind: str, command: str, timeout: float) -> tuple[int, str]:
    if kind == "server":
        client = task.host.get_connection(PARAMIKO, task.nornir.config)
        out = exec_command(client, command, timeout)
        return out.rc, (out.stdout + out.stderr)
    text = _netmiko(task).send_command(command, read_timeout=timeout)
    return 0, str(text)


def _netmiko(task: Task) -> Any:
    """The host's netmiko session, in privileged mode when the inventory gives a secret
    (many show commands and every config push need it)."""
    connection = task.host.get_connection(NETMIKO, task.nornir.config)
    if connection.secret:
        connection.enable()  # which asks the device first whether it is enabled already
    return connection
