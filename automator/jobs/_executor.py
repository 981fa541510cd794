"""Executors: where a job's work runs. The embedded default is a local thread pool; the
scale-out executor (Celery) will implement the same ``submit``."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol, TypeVar

T = TypeVar("T")


class Executor(Protocol):
    def submit(self, fn: Callable[[], T]) -> Future[T]: ...

    def shutdown(self) -> None: ...


class LocalExecutor:
    """Runs jobs on a pool of local threads (each job runs its own per-host workers)."""

    def __init__(self, max_jobs: int = 4) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_jobs, thread_name_prefix="job")

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        return self._pool.submit(fn)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)
