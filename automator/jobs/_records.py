"""What the pipeline writes to the store about jobs and runs, one transaction per step."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update

from automator.jobs._model import JobSpec, RunStatus, count_outcomes
from automator.jobs._owner import owner_is_alive, process_owner
from automator.runners import HostResult, Outcome
from automator.store import Approval, HostResultRow, Job, Run, Store, utcnow

PIPELINE = "automator"


@dataclass(frozen=True)
class Recorded:
    """What ``record`` wrote for a job: the ids the later steps write against."""

    run_id: int
    job_id: int
    ticket_id: int | None
    ticket_opened: bool


class RunRecords:
    def __init__(self, store: Store, clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        # the pipeline's clock, so that budgets and windows see one notion of now
        self.clock = clock

    def record(
        self,
        spec: JobSpec,
        action: str,
        hosts: list[str],
        params: Mapping[str, Any],
        ticket_id: int | None,
        ticket_opened: bool,
    ) -> Recorded:
        with self.store.session() as session:
            job = Job(
                kind=spec.kind.value,
                action=action,
                limit_expr=spec.limit,
                targets=hosts,
                params=dict(params),
                check_mode=spec.check_mode,
                ticket_id=ticket_id,
                requester=spec.requester,
                idempotency_key=spec.idempotency_key,
                rule=spec.rule,
                policy={**spec.policy.to_json(), "resolve_ticket": spec.resolve_ticket},
            )
            session.add(job)
            session.flush()
            run = Run(
                job_id=job.id,
                ticket_id=ticket_id,
                status=RunStatus.PENDING.value,
                owner=process_owner(),
            )
            session.add(run)
            session.flush()
            return Recorded(run.id, job.id, ticket_id, ticket_opened)

    def by_idempotency_key(self, key: str) -> tuple[Job, Run] | None:
        with self.store.session() as session:
            job = session.scalar(select(Job).where(Job.idempotency_key == key))
            if job is None or not job.runs:
                return None
            run = job.runs[-1]
            run.host_results  # noqa: B018 - load them while the session is open
            return job, run

    def set_status(self, run_id: int, status: RunStatus, error: str | None = None) -> None:
        with self.store.session() as session:
            run = session.get_one(Run, run_id)
            run.status = status.value
            if error is not None:
                run.error = error
            if status.finished:
                run.finished_at = self.clock()

    def set_running(self, run_id: int, artifacts: Path) -> None:
        with self.store.session() as session:
            run = session.get_one(Run, run_id)
            run.status = RunStatus.RUNNING.value
            run.started_at = run.started_at or self.clock()
            run.artifacts_dir = str(artifacts)
            run.owner = process_owner()
            run.waiting_for = None

    def wait(
        self,
        run_id: int,
        waiting_for: str,
        not_before: datetime | None,
        ticket_id: int | None,
        expires_at: datetime | None = None,
    ) -> None:
        with self.store.session() as session:
            run = session.get_one(Run, run_id)
            run.status = RunStatus.WAITING.value
            run.waiting_for = waiting_for
            run.not_before = not_before
            if waiting_for == "approval":
                # an approval is asked for on a ticket: only changes wait for one, and a
                # change always has its ticket
                assert ticket_id is not None
                session.add(Approval(ticket_id=ticket_id, run_id=run_id, expires_at=expires_at))

    def finish(
        self,
        run_id: int,
        status: RunStatus,
        results: dict[str, HostResult],
        error: str | None,
        artifacts: Path,
        extra_counts: Mapping[str, int],
    ) -> dict[str, int]:
        counts = {**count_outcomes(results.values()), **extra_counts}
        with self.store.session() as session:
            run = session.get_one(Run, run_id)
            run.status = status.value
            run.finished_at = self.clock()
            run.error = error
            run.counts = counts
            # a held run's files have moved from the folder it started in to this one
            run.artifacts_dir = str(artifacts)
            if results:
                # one executemany, not an ORM object per host (a 300-device backup: 60 ms)
                session.execute(
                    insert(HostResultRow),
                    [
                        {
                            "run_id": run_id,
                            "host": r.host,
                            "outcome": r.outcome.value,
                            "error": r.error,
                            "output": r.output,
                            "data": r.data,
                            "duration": r.duration,
                            "started_at": r.started_at,
                        }
                        for r in results.values()
                    ],
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
                    for name, r in results.items()
                },
                indent=2,
                default=str,
            )
        )
        return counts

    def add_counts(self, run_id: int, extra: Mapping[str, int]) -> None:
        with self.store.session() as session:
            run = session.get_one(Run, run_id)
            run.counts = {**(run.counts or {}), **extra}

    def artifacts_in_use(self, folders: Iterable[Path]) -> set[str]:
        """Those of ``folders`` that a run records as its artifacts folder."""
        names = [str(folder) for folder in folders]
        with self.store.session() as session:
            return set(
                session.scalars(select(Run.artifacts_dir).where(Run.artifacts_dir.in_(names)))
            )

    def interrupted(self) -> list[Run]:
        """Runs left pending or running by a process that is gone, now marked interrupted."""
        with self.store.session() as session:
            stuck = session.scalars(
                select(Run).where(Run.status.in_([RunStatus.PENDING, RunStatus.RUNNING]))
            ).all()
            dead = [run for run in stuck if not owner_is_alive(run.owner)]
            for run in dead:
                run.status = RunStatus.INTERRUPTED.value
                run.finished_at = self.clock()
                run.error = f"the process running it ({run.owner}) ended before it finished"
            return dead

    def waiting(self, waiting_for: str, ticket_id: int | None = None) -> list[tuple[Job, Run]]:
        with self.store.session() as session:
            query = (
                select(Job, Run)
                .join(Run, Run.job_id == Job.id)
                .where(Run.status == RunStatus.WAITING.value, Run.waiting_for == waiting_for)
            )
            if ticket_id is not None:
                query = query.where(Run.ticket_id == ticket_id)
            return [(job, run) for job, run in session.execute(query.order_by(Run.id))]

    def claim(self, run_id: int) -> tuple[Job, Run] | None:
        """Take a waiting run to start it: waiting → pending in one statement, so that two
        callers (the engine's clock, a person's approval) can never start it twice."""
        with self.store.session() as session:
            claimed = session.execute(
                update(Run)
                .where(Run.id == run_id, Run.status == RunStatus.WAITING.value)
                .values(status=RunStatus.PENDING.value, waiting_for=None, owner=process_owner())
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return None
            run = session.get_one(Run, run_id)
            return session.get_one(Job, run.job_id), run

    def pending_approvals(self, ticket_id: int | None = None) -> list[Approval]:
        with self.store.session() as session:
            query = select(Approval).where(Approval.decision.is_(None))
            if ticket_id is not None:
                query = query.where(Approval.ticket_id == ticket_id)
            return list(session.scalars(query.order_by(Approval.id)))

    def decide(self, approval_id: int, decision: str, actor: str, reason: str | None) -> None:
        with self.store.session() as session:
            approval = session.get_one(Approval, approval_id)
            approval.decision = decision
            approval.decided_by = actor
            approval.decided_at = self.clock()
            approval.reason = reason


def skipped_results(skipped: Mapping[str, str]) -> dict[str, HostResult]:
    return {
        host: HostResult(host, Outcome.SKIPPED, error=reason) for host, reason in skipped.items()
    }


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


def hosts_with(results: Iterable[HostResult], *outcomes: Outcome) -> list[str]:
    return sorted(r.host for r in results if r.outcome in outcomes)
