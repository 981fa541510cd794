"""The one pipeline every trigger goes through.

::

    JobSpec ─▶ prepare ─▶ record ─▶ gate ─▶ executor ─▶ runner ─▶ Run + HostResults ─▶ ticket
               action,    job, run,  host     local pool  nornir /    stored before      timeline,
               hosts,     ticket     locks    (Celery)    ansible     anything else      status
               params

``prepare`` refuses bad input before anything is recorded. From ``record`` on, every step is
written to the store first, so a crash leaves a run marked ``running`` that the next start
turns into ``interrupted`` (see :meth:`Pipeline.recover`).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from automator.errors import LockConflict
from automator.inventory import Host, Inventory
from automator.jobs._executor import Executor, LocalExecutor
from automator.jobs._locks import HostLocks, owner_is_alive, process_owner
from automator.jobs._model import JobSpec, RunStatus, RunSummary, count_outcomes, run_status
from automator.runbooks import Action, Catalogue
from automator.runners import (
    HostResult,
    Outcome,
    ProgressCallback,
    RunContext,
    Runner,
    RunReport,
    Timeouts,
)
from automator.store import HostResultRow, Job, Run, Store, utcnow
from automator.tickets import Priority, TicketKind, TicketService, TicketStatus

log = logging.getLogger(__name__)
PIPELINE = "automator"


@dataclass(frozen=True)
class PreparedJob:
    spec: JobSpec
    action: Action
    hosts: list[Host]
    params: dict[str, object]


@dataclass(frozen=True)
class _Recorded:
    """What ``record`` wrote for a job: the ids the later steps write against."""

    run_id: int
    job_id: int
    ticket_id: int
    ticket_opened: bool


class Pipeline:
    def __init__(
        self,
        store: Store,
        inventory: Inventory,
        catalogue: Catalogue,
        artifacts_dir: Path,
        executor: Executor | None = None,
        runner_for: Callable[[Action, Inventory], Runner] | None = None,
    ) -> None:
        self.store = store
        self.inventory = inventory
        self.catalogue = catalogue
        self.artifacts_dir = artifacts_dir
        self.executor = executor or LocalExecutor()
        # Tests of the pipeline's own logic swap the runner, never the libraries under it.
        self.runner_for = runner_for or Action.runner
        self.tickets = TicketService(store)
        self.locks = HostLocks(store)

    # -- the steps -------------------------------------------------------------------------

    def prepare(self, spec: JobSpec) -> PreparedJob:
        """Resolve the action, hosts, parameters and ticket, or raise: nothing is recorded."""
        action = self.catalogue.get(spec.action)
        params = action.bind(spec.params)
        hosts = self.inventory.select(spec.limit or action.default_limit)
        if spec.ticket_id is not None:
            self.tickets.require(spec.ticket_id)
        return PreparedJob(spec=spec, action=action, hosts=hosts, params=params)

    def submit(
        self,
        spec: JobSpec,
        on_progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> Future[RunSummary]:
        """Prepare and record the job now; run it on the executor. Setting ``cancel`` stops
        the run: unfinished hosts fail as cancelled and the run ends ``cancelled``."""
        job = self.prepare(spec)
        existing = self._existing(spec)
        if existing is not None:
            done: Future[RunSummary] = Future()
            done.set_result(existing)
            return done
        recorded = self._record(job)
        stop = cancel or threading.Event()
        return self.executor.submit(lambda: self._execute(job, recorded, on_progress, stop))

    def run(self, spec: JobSpec, on_progress: ProgressCallback | None = None) -> RunSummary:
        return self.submit(spec, on_progress).result()

    def recover(self) -> list[int]:
        """Mark runs whose process died as interrupted, free their locks; return their ids."""
        recovered: list[int] = []
        with self.store.session() as session:
            stuck = session.scalars(
                select(Run).where(Run.status.in_([RunStatus.PENDING, RunStatus.RUNNING]))
            ).all()
            dead = [run for run in stuck if not owner_is_alive(run.owner)]
            for run in dead:
                run.status = RunStatus.INTERRUPTED.value
                run.finished_at = utcnow()
                run.error = f"the process running it ({run.owner}) ended before it finished"
                recovered.append(run.id)
        for run in dead:
            self.locks.release(run.job_id)
            if run.ticket_id is not None:
                self.tickets.add_entry(
                    run.ticket_id,
                    "run",
                    PIPELINE,
                    f"run #{run.id} interrupted: {run.error}; hosts may be half-changed",
                    {"status": RunStatus.INTERRUPTED.value},
                    run_id=run.id,
                )
        return recovered

    # -- internals -------------------------------------------------------------------------

    def _existing(self, spec: JobSpec) -> RunSummary | None:
        if spec.idempotency_key is None:
            return None
        with self.store.session() as session:
            job = session.scalar(select(Job).where(Job.idempotency_key == spec.idempotency_key))
            if job is None or not job.runs:
                return None
            run = job.runs[-1]
            return RunSummary(
                run_id=run.id,
                job_id=job.id,
                ticket_id=run.ticket_id or 0,
                status=RunStatus(run.status),
                results=results_of(run),
                error=run.error,
            )

    def _record(self, job: PreparedJob) -> _Recorded:
        spec, action = job.spec, job.action
        names = [host.name for host in job.hosts]
        ticket_id = spec.ticket_id
        opened = ticket_id is None
        if ticket_id is None:
            changes = action.changes and not spec.check_mode
            ticket_id = self.tickets.open(
                kind=TicketKind.CHANGE if changes else TicketKind.REQUEST,
                title=f"{spec.kind.value} {action.name} on {_plural(len(names), 'host')}",
                actor=spec.requester,
                priority=Priority.P3 if changes else Priority.P4,
                hosts=names,
                owner=_common(host.owner for host in job.hosts),
                tenant=_common(host.tenant for host in job.hosts),
                message=f"opened for {spec.kind.value} {action.name} requested by {spec.requester}",
            )
        else:
            self.tickets.add_hosts(ticket_id, names, PIPELINE)
        with self.store.session() as session:
            row = Job(
                kind=spec.kind.value,
                action=action.name,
                limit_expr=spec.limit,
                targets=names,
                params=dict(job.params),
                check_mode=spec.check_mode,
                ticket_id=ticket_id,
                requester=spec.requester,
                idempotency_key=spec.idempotency_key,
            )
            session.add(row)
            session.flush()
            run = Run(
                job_id=row.id,
                ticket_id=ticket_id,
                status=RunStatus.PENDING.value,
                owner=process_owner(),
            )
            session.add(run)
            session.flush()
            run_id, job_id = run.id, row.id
        mode = " in check mode" if spec.check_mode else ""
        self.tickets.add_entry(
            ticket_id,
            "job",
            spec.requester,
            f"job #{job_id}: {action.kind} {action.name}{mode} on {', '.join(names)}",
            {
                "job_id": job_id,
                "action": action.name,
                "hosts": names,
                "params": sorted(job.params),
                "check_mode": spec.check_mode,
            },
            run_id=run_id,
        )
        return _Recorded(run_id, job_id, ticket_id, opened)

    def _execute(
        self,
        job: PreparedJob,
        recorded: _Recorded,
        on_progress: ProgressCallback | None,
        cancel: threading.Event,
    ) -> RunSummary:
        spec, action = job.spec, job.action
        run_id, job_id, ticket_id = recorded.run_id, recorded.job_id, recorded.ticket_id
        names = [host.name for host in job.hosts]
        takes_locks = action.changes and not spec.check_mode
        try:
            if takes_locks:
                self.locks.acquire(job_id, names)
        except LockConflict as exc:
            return self._refuse(recorded, str(exc))
        artifacts = self.artifacts_dir / "tickets" / str(ticket_id) / f"run-{run_id}"
        artifacts.mkdir(parents=True, exist_ok=True)
        try:
            self._set_running(run_id, artifacts, ticket_id, spec.requester)
            timeouts = spec.timeouts or Timeouts()
            if action.timeout is not None and spec.timeouts is None:
                timeouts = Timeouts(timeouts.connect, timeouts.command, action.timeout)
            context = RunContext(
                ident=f"run-{run_id}",
                artifacts_dir=artifacts,
                check_mode=spec.check_mode,
                params=job.params,
                timeouts=timeouts,
                forks=spec.forks,
                on_progress=on_progress,
                cancel=cancel,
            )
            try:
                report = self.runner_for(action, self.inventory).run(job.hosts, context)
            except Exception as exc:
                log.exception("run #%s: the runner crashed", run_id)
                report = RunReport(
                    results={
                        name: HostResult(name, Outcome.FAILED, error="internal error")
                        for name in names
                    },
                    error=f"internal error: {type(exc).__name__}: {exc}",
                )
            return self._finish(job, recorded, report, artifacts, cancel.is_set())
        finally:
            if takes_locks:
                self.locks.release(job_id)

    def _refuse(self, recorded: _Recorded, why: str) -> RunSummary:
        run_id, ticket_id = recorded.run_id, recorded.ticket_id
        with self.store.session() as session:
            run = session.get_one(Run, run_id)
            run.status = RunStatus.BLOCKED.value
            run.error = why
            run.finished_at = utcnow()
        self.tickets.add_entry(
            ticket_id,
            "gate",
            PIPELINE,
            f"run #{run_id} refused: {why}",
            {"status": RunStatus.BLOCKED.value},
            run_id=run_id,
        )
        return RunSummary(
            run_id,
            recorded.job_id,
            ticket_id,
            RunStatus.BLOCKED,
            {},
            error=why,
            ticket_opened=recorded.ticket_opened,
        )

    def _set_running(self, run_id: int, artifacts: Path, ticket_id: int, actor: str) -> None:
        with self.store.session() as session:
            run = session.get_one(Run, run_id)
            run.status = RunStatus.RUNNING.value
            run.started_at = utcnow()
            run.artifacts_dir = str(artifacts)
        self.tickets.add_entry(
            ticket_id,
            "run",
            actor,
            f"run #{run_id} started",
            {"status": RunStatus.RUNNING.value},
            run_id=run_id,
        )

    def _finish(
        self,
        job: PreparedJob,
        recorded: _Recorded,
        report: RunReport,
        artifacts: Path,
        cancelled: bool,
    ) -> RunSummary:
        run_id, ticket_id = recorded.run_id, recorded.ticket_id
        status = run_status(report.results, report.timed_out, report.error, cancelled)
        counts = count_outcomes(report.results.values())
        with self.store.session() as session:
            run = session.get_one(Run, run_id)
            run.status = status.value
            run.finished_at = utcnow()
            run.error = report.error
            run.counts = counts
            session.add_all(
                HostResultRow(
                    run_id=run_id,
                    host=r.host,
                    outcome=r.outcome.value,
                    error=r.error,
                    output=r.output,
                    data=r.data,
                    duration=r.duration,
                    started_at=r.started_at,
                )
                for r in report.results.values()
            )
        (artifacts / "results.json").write_text(
            json.dumps(
                {
                    name: {
                        "outcome": r.outcome.value,
                        "error": r.error,
                        "data": r.data,
                        "duration": round(r.duration, 3),
                    }
                    for name, r in report.results.items()
                },
                indent=2,
                default=str,
            )
        )
        summary = ", ".join(f"{n} {outcome}" for outcome, n in counts.items() if n)
        self.tickets.add_entry(
            ticket_id,
            "run",
            PIPELINE,
            f"run #{run_id} {status.value}: {summary}"
            + (f" ({report.error})" if report.error else ""),
            {
                "status": status.value,
                "counts": counts,
                "problems": {
                    r.host: f"{r.outcome.value}: {r.error}"
                    for r in report.results.values()
                    if r.outcome.is_problem
                },
            },
            run_id=run_id,
        )
        self._update_ticket(ticket_id, recorded.ticket_opened, status, job.spec.check_mode)
        return RunSummary(
            run_id,
            recorded.job_id,
            ticket_id,
            status,
            report.results,
            artifacts_dir=report.artifacts_dir or artifacts,
            error=report.error,
            ticket_opened=recorded.ticket_opened,
        )

    def _update_ticket(
        self, ticket_id: int, opened: bool, status: RunStatus, check_mode: bool
    ) -> None:
        if opened and status is RunStatus.SUCCEEDED:
            why = "check mode run found no problem" if check_mode else "completed on every host"
            self.tickets.set_status(ticket_id, TicketStatus.RESOLVED, PIPELINE, why)
        else:
            why = "run finished with hosts that need attention"
            if status is RunStatus.SUCCEEDED:
                why = "run completed on every host"
            self.tickets.set_status(ticket_id, TicketStatus.IN_PROGRESS, PIPELINE, why)


def results_of(run: Run) -> dict[str, HostResult]:
    """A stored run's per-host results, as runners return them."""
    return {
        row.host: HostResult(
            row.host,
            Outcome(row.outcome),
            row.output,
            row.data,
            row.error,
            row.duration,
            row.started_at,
        )
        for row in run.host_results
    }


def _common(values: Iterable[str | None]) -> str | None:
    distinct = {value for value in values if value}
    return distinct.pop() if len(distinct) == 1 else None


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
