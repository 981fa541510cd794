"""Jobs: the one pipeline from a trigger to a ticket.

Owns Job and Run, the gate (per-host locks), the executor (a local thread pool by default,
Celery for scale-out) and crash recovery. May import runners, runbooks, tickets, store and
inventory.

What needs the store (the pipeline, the locks, the records) loads on first use: ``automator
run`` resolves its job and starts ansible-playbook before it pays for SQLAlchemy.
"""

from typing import TYPE_CHECKING

from automator._lazy import lazy_attributes
from automator.jobs._executor import Executor, LocalExecutor
from automator.jobs._model import JobKind, JobSpec, RunStatus, RunSummary, run_status
from automator.jobs._prepared import PreparedJob, resolve, start_held

if TYPE_CHECKING:
    from automator.jobs._locks import HostLocks
    from automator.jobs._pipeline import Pipeline
    from automator.jobs._records import results_of

__getattr__ = lazy_attributes(
    __name__, {"HostLocks": "_locks", "Pipeline": "_pipeline", "results_of": "_records"}
)

__all__ = [
    "Executor",
    "HostLocks",
    "JobKind",
    "JobSpec",
    "LocalExecutor",
    "Pipeline",
    "PreparedJob",
    "RunStatus",
    "RunSummary",
    "resolve",
    "results_of",
    "run_status",
    "start_held",
]
