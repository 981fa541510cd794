"""Runners: run work on hosts and return one HostResult per host.

Owns the outcome vocabulary (ok, changed, failed, unreachable, skipped), the Nornir runner
(paramiko for Linux, netmiko for network gear) and the ansible-runner runner. May import
``automator.inventory`` and ``automator.errors`` only: runners know nothing of jobs or tickets.
"""

from automator.runners._ansible import AnsibleRunner
from automator.runners._base import (
    HostResult,
    Outcome,
    ProgressCallback,
    ProgressEvent,
    RunContext,
    Runner,
    RunReport,
    Timeouts,
)
from automator.runners._nornir import NornirRunner
from automator.runners._tasks import CommandsTask, ConfigTask, NornirTaskSpec, Verify

__all__ = [
    "AnsibleRunner",
    "CommandsTask",
    "ConfigTask",
    "HostResult",
    "NornirRunner",
    "NornirTaskSpec",
    "Outcome",
    "ProgressCallback",
    "ProgressEvent",
    "RunContext",
    "RunReport",
    "Runner",
    "Timeouts",
    "Verify",
]
