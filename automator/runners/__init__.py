"""Runners: run work on hosts and return one HostResult per host.

Owns the outcome vocabulary (ok, changed, failed, unreachable, skipped), the Nornir runner
(paramiko for Linux, netmiko for network gear) and the ansible-runner runner. May import
``automator.inventory`` and ``automator.errors`` only: runners know nothing of jobs or tickets.

The two runners load on first use: importing them pulls in nornir, netmiko, paramiko and
ansible-runner, which every ``automator`` command would otherwise pay for at start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from automator.runners._base import (
    HeldRun,
    HoldingRunner,
    HostResult,
    Outcome,
    ProgressCallback,
    ProgressEvent,
    RunContext,
    Runner,
    RunReport,
    Timeouts,
)
from automator.runners._specs import (
    Collect,
    CollectTask,
    CommandsTask,
    ConfigTask,
    NornirTaskSpec,
    Verify,
)

if TYPE_CHECKING:
    from automator.runners._ansible import AnsibleRunner
    from automator.runners._nornir import NornirRunner

_LAZY = {"AnsibleRunner": "automator.runners._ansible", "NornirRunner": "automator.runners._nornir"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AnsibleRunner",
    "Collect",
    "CollectTask",
    "CommandsTask",
    "ConfigTask",
    "HeldRun",
    "HoldingRunner",
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
