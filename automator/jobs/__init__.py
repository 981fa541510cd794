"""Jobs: the one pipeline from a trigger to a ticket.

Owns Job and Run, the gate (per-host locks), the executor (a local thread pool by default,
Celery for scale-out) and crash recovery. May import runners, runbooks, tickets, store and
inventory.
"""

from automator.jobs._executor import Executor, LocalExecutor
from automator.jobs._locks import HostLocks
from automator.jobs._model import JobKind, JobSpec, RunStatus, RunSummary, run_status
from automator.jobs._pipeline import Pipeline, PreparedJob
from automator.jobs._records import results_of

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
    "results_of",
    "run_status",
]
