"""A Nornir connection plugin for Linux servers over paramiko, and command execution on it.

Registered as the ``paramiko`` connection through the ``nornir.plugins.connections`` entry
point. Host keys are checked strictly: the host must be in the inventory's
``credentials.known_hosts_file`` (or the user's known hosts); an unknown key is refused.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import paramiko

CONNECTION_NAME = "paramiko"


class CommandTimeout(Exception):
    """A command did not finish within its timeout."""

    def __init__(self, command: str, timeout: float) -> None:
        self.command = command
        self.timeout = timeout
        super().__init__(f"no answer to {command!r} within {timeout:g} s")


@dataclass(frozen=True)
class CommandOutput:
    command: str
    rc: int
    stdout: str
    stderr: str


class ParamikoConnection:
    """``extras``: ``key_filename``, ``known_hosts_file``, ``timeout`` (connect, seconds)."""

    connection: paramiko.SSHClient

    def open(
        self,
        hostname: str | None,
        username: str | None,
        password: str | None,
        port: int | None,
        platform: str | None,
        extras: dict[str, Any] | None = None,
        configuration: Any = None,
    ) -> None:
        extras = extras or {}
        timeout = float(extras.get("timeout", 10.0))
        client = paramiko.SSHClient()
        known_hosts = extras.get("known_hosts_file")
        if known_hosts:
            client.load_host_keys(str(known_hosts))
        else:
            client.load_system_host_keys()
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        try:
            client.connect(
                hostname or "",
                port=port or 22,
                username=username,
                password=password,
                key_filename=extras.get("key_filename"),
                timeout=timeout,
                banner_timeout=timeout,
                auth_timeout=timeout,
                allow_agent=False,
                look_for_keys=False,
            )
        except BaseException:
            client.close()
            raise
        self.connection = client

    def close(self) -> None:
        self.connection.close()


def exec_command(client: paramiko.SSHClient, command: str, timeout: float) -> CommandOutput:
    """Run one command; raise CommandTimeout when it does not finish in ``timeout`` seconds."""
    transport = client.get_transport()
    if transport is None or not transport.is_active():
        raise paramiko.SSHException("SSH session is closed")
    channel = transport.open_session(timeout=timeout)
    try:
        channel.settimeout(0.2)
        channel.exec_command(command)
        deadline = time.monotonic() + timeout
        stdout, stderr = bytearray(), bytearray()
        while True:
            while channel.recv_ready():
                stdout += channel.recv(65536)
            while channel.recv_stderr_ready():
                stderr += channel.recv_stderr(65536)
            if channel.exit_status_ready() and not channel.recv_ready():
                break
            if time.monotonic() > deadline:
                raise CommandTimeout(command, timeout)
            if not transport.is_active():
                raise paramiko.SSHException(f"connection lost while running {command!r}")
            time.sleep(0.01)
        while channel.recv_stderr_ready():
            stderr += channel.recv_stderr(65536)
        return CommandOutput(
            command=command,
            rc=channel.recv_exit_status(),
            stdout=stdout.decode(errors="replace"),
            stderr=stderr.decode(errors="replace"),
        )
    finally:
        channel.close()
