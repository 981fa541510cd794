"""The check sweep as a pipeline action: ``checks`` with parameter ``checks`` (names; none =
the whole catalogue), run by :class:`CheckRunner`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from automator.checks._loader import CheckCatalogue
from automator.checks._runner import CheckRunner
from automator.errors import ConfigError
from automator.inventory import Inventory
from automator.runbooks import Action
from automator.runners import Runner
from automator.store import utcnow

ACTION = "checks"


@dataclass(frozen=True)
class CheckAction(Action):
    catalogue: CheckCatalogue | None = None
    clock: Callable[[], datetime] = utcnow

    def runner(self, inventory: Inventory) -> Runner:
        assert self.catalogue is not None
        return CheckRunner(list(self.catalogue.checks.values()), self.clock, inventory)

    def bind(self, given: Mapping[str, object]) -> dict[str, Any]:
        assert self.catalogue is not None
        unknown = sorted(set(given) - {"checks"})
        if unknown:
            raise ConfigError(f"the check sweep takes no parameter {unknown[0]!r}")
        names = given.get("checks") or []
        if not isinstance(names, list | tuple) or not all(isinstance(n, str) for n in names):
            raise ConfigError("checks: must be a list of check names")
        for name in names:
            self.catalogue.get(name)
        return {"checks": list(names)}


def check_action(catalogue: CheckCatalogue, clock: Callable[[], datetime] = utcnow) -> CheckAction:
    return CheckAction(
        name=ACTION,
        description="health checks",
        source=catalogue.directory,
        changes=False,
        catalogue=catalogue,
        clock=clock,
    )
