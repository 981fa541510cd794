"""Health checks: the catalogue in ``checks/``, thresholds, trends, tickets and events.

A check (``checks/NAME.yaml``) collects command outputs (servers over paramiko, network gear
over netmiko) or SNMP values (facility gear), parses them (``_parsers``: TextFSM through
ntc-templates, structured Linux outputs, the UPS-MIB), judges the values against warning and
critical thresholds (overridable per group and host in the inventory's ``data.checks``) and
watches their trends. A sweep is a pipeline job (``CheckService``, action ``checks``): one
connection per host for all of its checks, one result per host per check (ok, warning,
critical, unknown), values kept as time series, one incident per failing host and check, and
an Event per status change so that remediation rules act on data as on alerts.

May import inventory, runners, store, tickets, events, runbooks and jobs.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from automator.checks._action import ACTION, CheckAction, check_action
from automator.checks._loader import CheckCatalogue, CheckError, load_checks
from automator.checks._model import CheckDef, CheckResult, Finding, Status, Threshold, Trend
from automator.checks._service import REACHABLE, CheckService, SweepSummary

if TYPE_CHECKING:
    import threading
    from concurrent.futures import Future

    from automator.schedule import ScheduleEntry, StartJob


def schedule_entries(catalogue: CheckCatalogue) -> list[ScheduleEntry]:
    """One schedule per cron expression: checks due at the same time run as one sweep (one
    connection per host), named ``checks@<cron>``."""
    from automator.schedule import ScheduleEntry

    by_cron: dict[str, list[CheckDef]] = defaultdict(list)
    for check in catalogue.checks.values():
        by_cron[check.schedule].append(check)
    return [
        ScheduleEntry(
            name=f"checks@{cron}",
            cron=cron,
            description=", ".join(check.name for check in checks),
            time_limit=max(600.0, 10 * max(check.timeout for check in checks)),
            kind="check",
        )
        for cron, checks in sorted(by_cron.items())
    ]


def scheduled_sweeps(service: CheckService) -> tuple[list[ScheduleEntry], StartJob]:
    """The schedule entries of the service's catalogue, and how the scheduler starts one: a
    sweep of the entry's checks on every host, within the entry's time limit."""
    entries = schedule_entries(service.catalogue)
    names = {
        entry.name: [c.name for c in service.catalogue.checks.values() if c.schedule == entry.cron]
        for entry in entries
    }

    def start(entry: ScheduleEntry, cancel: threading.Event) -> Future[SweepSummary]:
        spec = service.spec(
            names[entry.name], requester=f"schedule {entry.name}", time_limit=entry.time_limit
        )
        return service.submit(spec, cancel=cancel)

    return entries, start


__all__ = [
    "ACTION",
    "REACHABLE",
    "CheckAction",
    "CheckCatalogue",
    "CheckDef",
    "CheckError",
    "CheckResult",
    "CheckService",
    "Finding",
    "Status",
    "SweepSummary",
    "Threshold",
    "Trend",
    "check_action",
    "load_checks",
    "schedule_entries",
    "scheduled_sweeps",
]
