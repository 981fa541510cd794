"""Config backups: fetch, scrub secrets and volatile lines, store in git with an index,
reconcile drift with change tickets, restore.

* ``_plan``: what to fetch per platform (``backups.yaml``);
* ``_runner``: ``BackupRunner`` fetches with the one-pass collection, checks the output is a
  whole configuration and scrubs it (nothing unscrubbed leaves it);
* ``_filters``: the secret and volatile filters per platform;
* ``_store``: ``BackupStore``, one git commit per run and an index of every version;
* ``_service``: ``BackupService``, the pipeline finisher that stores a run's configurations
  and reconciles each change with the approved change tickets (or opens an incident);
* ``_restore``: the lines that take a device back to a stored version.

May import inventory, runners, store, tickets, guardrails, runbooks and jobs.
"""

from __future__ import annotations

from automator.backups._action import BackupAction, backup_actions
from automator.backups._filters import PLATFORMS, SECRET_MARK, ScrubResult, find_secrets, scrub
from automator.backups._plan import BackupPlan, BackupPlanError, Fetch, load_plan
from automator.backups._runner import BackupRunner
from automator.backups._service import (
    BACKUP,
    RESTORE,
    VERIFY,
    BackupRecord,
    BackupService,
    Drift,
    schedule_entry,
)
from automator.backups._store import (
    BackupError,
    BackupNotFound,
    BackupStore,
    PruneResult,
    RetentionPolicy,
    Saved,
    Version,
    check_host_name,
)

__all__ = [
    "BACKUP",
    "PLATFORMS",
    "RESTORE",
    "SECRET_MARK",
    "VERIFY",
    "BackupAction",
    "BackupError",
    "BackupNotFound",
    "BackupPlan",
    "BackupPlanError",
    "BackupRecord",
    "BackupRunner",
    "BackupService",
    "BackupStore",
    "Drift",
    "Fetch",
    "PruneResult",
    "RetentionPolicy",
    "Saved",
    "ScrubResult",
    "Version",
    "backup_actions",
    "check_host_name",
    "find_secrets",
    "load_plan",
    "schedule_entry",
    "scrub",
]
