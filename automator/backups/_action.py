"""The backup jobs as pipeline actions: ``backup`` (fetch, scrub, store), ``backup-verify``
(the same, and the configuration must be a given version) and ``backup-restore`` (a change:
push a stored version back)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from automator.backups._plan import BackupPlan
from automator.backups._restore import RestoreRunner
from automator.backups._runner import BackupRunner
from automator.backups._service import BACKUP, RESTORE, VERIFY
from automator.errors import ConfigError
from automator.inventory import Inventory
from automator.runbooks import Action
from automator.runners import Runner

_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class BackupAction(Action):
    plan: BackupPlan | None = None

    def runner(self, inventory: Inventory) -> Runner:
        assert self.plan is not None
        if self.name == RESTORE:
            return RestoreRunner(BackupRunner(self.plan))
        return BackupRunner(self.plan)  # backup-verify: its expected_sha256 parameter

    def bind(self, given: Mapping[str, object]) -> dict[str, Any]:
        allowed = {BACKUP: set(), VERIFY: {"expected_sha256"}, RESTORE: {"version", "config"}}
        unknown = sorted(set(given) - allowed[self.name])
        if unknown:
            raise ConfigError(f"{self.name} takes no parameter {unknown[0]!r}")
        if self.name == VERIFY and not _SHA256.fullmatch(str(given.get("expected_sha256", ""))):
            raise ConfigError(f"{self.name}: expected_sha256 must be a SHA-256 in hex")
        if self.name == RESTORE and not isinstance(given.get("config"), str):
            raise ConfigError(f"{self.name}: give the stored configuration to restore")
        return dict(given)


def backup_actions(plan: BackupPlan, source: Any) -> dict[str, Any]:
    """The catalogue's built-in backup actions, by name (each made on demand)."""

    def make(name: str, description: str, changes: bool) -> Any:
        return lambda: BackupAction(
            name=name, description=description, source=source, changes=changes, plan=plan
        )

    return {
        BACKUP: make(BACKUP, "back up configurations", False),
        VERIFY: make(VERIFY, "back up, and check the configuration is a given version", False),
        RESTORE: make(RESTORE, "push a stored configuration back", True),
    }
