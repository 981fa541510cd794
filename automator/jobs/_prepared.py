"""A job resolved from its spec before anything is recorded, and a run started early for it.

``resolve`` turns a JobSpec into its action, hosts and bound parameters, or refuses it: it reads
the catalogue and the inventory, never the store. ``start_held`` starts the runner of a
resolved job before the pipeline has recorded it or asked the gate, held before its first host,
so that ansible-playbook's start-up (~0.5 s) overlaps with automator's; the pipeline lets it go
on only if the gate admits exactly its hosts (``Pipeline.submit(..., held=)``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from automator.inventory import Host, Inventory
from automator.jobs._model import JobSpec
from automator.jobs._owner import process_owner
from automator.runbooks import Action, Catalogue
from automator.runners import HeldRun, HoldingRunner, ProgressCallback, RunContext, Timeouts

STARTING = "starting"  # under the artifacts folder: held runs' folders until they end


@dataclass(frozen=True)
class PreparedJob:
    spec: JobSpec
    action: Action
    hosts: list[Host]
    params: dict[str, Any]

    @property
    def changes(self) -> bool:
        return self.action.changes and not self.spec.check_mode

    def context(
        self,
        artifacts_dir: Path,
        ident: str,
        on_progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> RunContext:
        """What the runner is given: the spec's limits, else the action's time limit."""
        spec = self.spec
        timeouts = spec.timeouts or Timeouts()
        if self.action.timeout is not None and spec.timeouts is None:
            timeouts = Timeouts(timeouts.connect, timeouts.command, self.action.timeout)
        return RunContext(
            ident=ident,
            artifacts_dir=artifacts_dir,
            check_mode=spec.check_mode,
            params=self.params,
            timeouts=timeouts,
            forks=spec.forks,
            on_progress=on_progress,
            cancel=cancel or threading.Event(),
        )


def resolve(spec: JobSpec, catalogue: Catalogue, inventory: Inventory) -> PreparedJob:
    """The action, hosts and parameters of ``spec``, or an AutomatorError saying what is wrong."""
    action = catalogue.get(spec.action)
    params = action.bind(spec.params)
    hosts = inventory.select(spec.limit or action.default_limit)
    return PreparedJob(spec=spec, action=action, hosts=hosts, params=params)


def start_held(job: PreparedJob, inventory: Inventory, artifacts_dir: Path) -> HeldRun | None:
    """Start ``job``'s runner now, held before its first host, its files in a folder of its
    own under ``artifacts_dir/starting`` named by time and owner (``Pipeline.recover`` removes
    those a dead process left); None when its runner cannot hold (Nornir tasks, which start
    in milliseconds anyway)."""
    runner = job.action.runner(inventory)
    if not isinstance(runner, HoldingRunner):
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%f")
    # no colon in the name: ansible-runner joins some of its paths into colon-separated lists
    owner = process_owner().replace(":", "_")
    folder = artifacts_dir / STARTING / f"{stamp}_{owner}"
    return runner.start(job.hosts, job.context(folder, "held"))


def held_folder_owner(folder: Path) -> str:
    """The ``host:pid`` that started the held run of ``folder`` (``<stamp>_<host>_<pid>``)."""
    host, _, pid = folder.name.partition("_")[2].rpartition("_")
    return f"{host}:{pid}"
