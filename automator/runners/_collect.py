"""Fetch command outputs and SNMP values from hosts, for the health checks to judge.

On a Linux server every command of the host runs in ONE SSH exec: a small script runs each
command in a subshell (stdin from /dev/null, stderr joined to stdout) and prints a marker line
with a per-run random token, the command's index and its exit status after it. One channel
instead of one per command is what makes a sweep of many checks cost about one round trip per
host. The token is random so that no command output can fake a boundary. Network gear gets
one ``send_command`` per command over the host's netmiko session; facility gear one SNMP GET
of all its values.
"""

from __future__ import annotations

import re
import secrets
import shlex
from typing import Any

from nornir.core.task import Result, Task

from automator.runners._paramiko import CONNECTION_NAME as PARAMIKO
from automator.runners._paramiko import exec_command
from automator.runners._specs import Collect, CollectTask
from automator.runners._tasks import NothingToRun, _netmiko


def collect(task: Task, spec: CollectTask, kind: str, timeout: float) -> Result:
    wanted = spec.per_host.get(task.host.name)
    if wanted is None or not (wanted.commands or wanted.snmp):
        raise NothingToRun("no check applies to this host")
    data: dict[str, Any] = {}
    if wanted.commands:
        if kind == "server":
            data["outputs"] = _shell_outputs(task, wanted.commands, timeout)
        elif kind == "network":
            data["outputs"] = _network_outputs(task, wanted.commands, timeout)
        else:
            raise NothingToRun(f"commands cannot be run on {task.host.platform} gear")
    if wanted.snmp:
        data["snmp"] = _snmp_values(task, wanted, timeout)
    if spec.finish is not None:
        return Result(host=task.host, result=spec.finish(task.host.name, data), changed=False)
    transcript = "\n".join(
        f"$ {out['command']}\n{out['output']}".rstrip() for out in data.get("outputs", ())
    )
    return Result(host=task.host, result=data, changed=False, transcript=transcript)


def _shell_outputs(task: Task, commands: tuple[str, ...], timeout: float) -> list[dict[str, Any]]:
    client = task.host.get_connection(PARAMIKO, task.nornir.config)
    token = secrets.token_hex(12)
    script = "".join(
        f"( {command}\n) </dev/null 2>&1; printf '\\n{token} {index} %d\\n' $?\n"
        for index, command in enumerate(commands)
    )
    out = exec_command(client, f"sh -c {shlex.quote(script)}", timeout)
    return split_marked(out.stdout, token, commands)


def split_marked(text: str, token: str, commands: tuple[str, ...]) -> list[dict[str, Any]]:
    """Cut a marked transcript back into one output per command. A command whose marker never
    came (the script died first) has no exit status: rc None and whatever it printed."""
    marker = re.compile(rf"\n{token} (\d+) (-?\d+)\n")
    outputs: list[dict[str, Any]] = []
    position = 0
    for match in marker.finditer(text):
        outputs.append(
            {
                "command": commands[int(match.group(1))],
                "rc": int(match.group(2)),
                "output": text[position : match.start()],
            }
        )
        position = match.end()
    for command in commands[len(outputs) :]:
        outputs.append({"command": command, "rc": None, "output": text[position:]})
        position = len(text)
    return outputs


def _network_outputs(task: Task, commands: tuple[str, ...], timeout: float) -> list[dict[str, Any]]:
    connection = _netmiko(task)
    return [
        {
            "command": command,
            "rc": None,
            "output": str(connection.send_command(command, read_timeout=timeout)),
        }
        for command in commands
    ]


def _snmp_values(task: Task, wanted: Collect, timeout: float) -> dict[str, Any]:
    from automator.runners._snmp import SnmpTarget, snmp_get

    host = task.host
    target = SnmpTarget(
        host=host.hostname or host.name,
        port=host.port or 161,
        community=host.password or "public",
        timeout=min(timeout, 5.0),
    )
    return dict(snmp_get(target, wanted.snmp))
