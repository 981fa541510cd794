"""Turn the exception a host's task ended with into an outcome and a one-line reason."""

from __future__ import annotations

import errno
import socket

import paramiko
from netmiko.exceptions import (
    NetmikoAuthenticationException,
    NetmikoTimeoutException,
    ReadTimeout,
)

from automator.errors import ConfigError
from automator.runners._base import Outcome
from automator.runners._paramiko import CommandTimeout

_UNREACHABLE_ERRNOS = {
    errno.ECONNREFUSED,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.ETIMEDOUT,
    errno.ECONNRESET,
    errno.EHOSTDOWN,
}


_NO_SSH_ANSWER = "the device accepted the connection but did not answer SSH in time"


class JobTimeLimit(Exception):
    """The whole job ran out of time before this host finished."""

    def __init__(self, limit: float) -> None:
        self.limit = limit
        super().__init__(f"job time limit of {limit:g} s reached before this host finished")


class Cancelled(Exception):
    """The operator cancelled the job before this host finished."""

    def __init__(self) -> None:
        super().__init__("cancelled before this host finished")


def classify(exc: BaseException) -> tuple[Outcome, str]:
    """Unreachable means "could not get a session"; anything after that is a failure."""
    if isinstance(exc, paramiko.AuthenticationException | NetmikoAuthenticationException):
        return Outcome.FAILED, "authentication failed"
    if isinstance(exc, paramiko.BadHostKeyException):
        return Outcome.FAILED, f"host key mismatch: {exc}"
    if isinstance(exc, ReadTimeout | CommandTimeout | JobTimeLimit | Cancelled | ConfigError):
        return Outcome.FAILED, _first_line(exc)
    if isinstance(exc, NetmikoTimeoutException):
        text = str(exc)
        if "No existing session" in text or "banner" in text.lower():
            return Outcome.UNREACHABLE, _NO_SSH_ANSWER
        return Outcome.UNREACHABLE, _first_line(exc)
    if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
        reason = exc.strerror or _first_line(exc)
        return Outcome.UNREACHABLE, f"connection refused or unreachable: {reason}"
    if isinstance(exc, socket.timeout | TimeoutError):
        return Outcome.UNREACHABLE, "connection timed out"
    if isinstance(exc, socket.gaierror):
        return Outcome.UNREACHABLE, f"name does not resolve: {exc}"
    if isinstance(exc, OSError) and exc.errno in _UNREACHABLE_ERRNOS:
        return Outcome.UNREACHABLE, exc.strerror or str(exc)
    if isinstance(exc, paramiko.SSHException) and "host key" in str(exc).lower():
        return Outcome.FAILED, _first_line(exc)
    if isinstance(exc, paramiko.SSHException) and "banner" in str(exc).lower():
        return Outcome.UNREACHABLE, _NO_SSH_ANSWER
    return Outcome.FAILED, f"{type(exc).__name__}: {_first_line(exc)}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
