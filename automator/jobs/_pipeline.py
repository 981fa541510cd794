"""The one pipeline every trigger goes through.

::

    JobSpec ─▶ prepare ─▶ record ─▶ gate ─────────▶ locks ─▶ runner ─▶ finish ─▶ follow-up
               action,    job, run,  breaker,        per      nornir /  results,  verify,
               hosts,     ticket     windows,        host     ansible   ticket    rollback,
               params                budget,                                      escalate,
                                     approval ─▶ waiting run ─▶ approve/deny, window end ─▶ resume

``prepare`` refuses bad input before anything is recorded. From ``record`` on, every step is
written to the store first, so a crash leaves a run marked ``running`` that the next start
turns into ``interrupted`` (see :meth:`Pipeline.recover`); a waiting run survives restarts and
is picked up by :meth:`Pipeline.resume_due` or a person's :meth:`Pipeline.approve`.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from datetime import datetime
from pathlib import Path
from typing import Any

from automator.errors import AutomatorError, LockConflict
from automator.guardrails import Gate, GuardrailPolicy, Step, WindowAction
from automator.inventory import Host, Inventory
from automator.jobs._executor import Executor, LocalExecutor
from automator.jobs._locks import HostLocks
from automator.jobs._model import JobKind, JobSpec, RunStatus, RunSummary, run_status
from automator.jobs._owner import owner_is_alive
from automator.jobs._prepared import STARTING, PreparedJob, held_folder_owner, resolve
from automator.jobs._records import (
    PIPELINE,
    Recorded,
    RunRecords,
    hosts_with,
    results_of,
    skipped_results,
)
from automator.runbooks import Action, Catalogue
from automator.runners import (
    HeldRun,
    HostResult,
    Outcome,
    ProgressCallback,
    Runner,
    RunReport,
)
from automator.store import Approval, Job, Run, Store, utcnow
from automator.tickets import Priority, TicketKind, TicketService, TicketStatus

log = logging.getLogger(__name__)


class Pipeline:
    def __init__(
        self,
        store: Store,
        inventory: Inventory,
        catalogue: Catalogue,
        artifacts_dir: Path,
        executor: Executor | None = None,
        runner_for: Callable[[Action, Inventory], Runner] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.inventory = inventory
        self.catalogue = catalogue
        self.artifacts_dir = artifacts_dir
        self.executor = executor or LocalExecutor()
        # Tests of the pipeline's own logic swap the runner, never the libraries under it.
        self.runner_for = runner_for or _own_runner
        self.clock = clock
        self.tickets = TicketService(store)
        self.locks = HostLocks(store)
        self.records = RunRecords(store, clock)
        self.gate = Gate(store)
        # action name -> what records its runs' results beyond the run itself (backups file
        # their configurations); called wherever the run came from: an operator, a schedule,
        # a rule, a verify step, an approval
        self.finishers: dict[str, Callable[[RunSummary], Any]] = {}

    # -- starting work ---------------------------------------------------------------------

    def prepare(self, spec: JobSpec) -> PreparedJob:
        """Resolve the action, hosts, parameters and ticket, or raise: nothing is recorded."""
        job = resolve(spec, self.catalogue, self.inventory)
        if spec.ticket_id is not None:
            self.tickets.require(spec.ticket_id)
        return job

    def submit(
        self,
        spec: JobSpec,
        on_progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
        held: HeldRun | None = None,
    ) -> Future[RunSummary]:
        """Prepare and record the job now; run it on the executor. Setting ``cancel`` stops
        the run: unfinished hosts fail as cancelled and the run ends ``cancelled``.

        ``held``: the job's run, started early (``start_held``); it goes on if the gate admits
        exactly its hosts, else it is abandoned and the admitted hosts run as usual.
        """
        job = self.prepare(spec)
        if spec.idempotency_key is not None:
            existing = self.records.by_idempotency_key(spec.idempotency_key)
            if existing is not None:
                done: Future[RunSummary] = Future()
                done.set_result(_summary_of(*existing))
                return done
        recorded = self._record(job)
        stop = cancel or threading.Event()

        def execute() -> RunSummary:
            try:
                return self._execute(job, recorded, on_progress, stop, held=held)
            finally:
                if held is not None:
                    held.abandon()  # refused, waiting or failed before it ran; no-op once it has

        return self.executor.submit(execute)

    def run(self, spec: JobSpec, on_progress: ProgressCallback | None = None) -> RunSummary:
        return self.submit(spec, on_progress).result()

    # -- waiting runs: approvals and windows ------------------------------------------------

    def approve(
        self, ticket_id: int, actor: str, reason: str | None = None
    ) -> list[Future[RunSummary]]:
        """Approve every change waiting on the ticket; their runs start on the executor."""
        started = []
        for approval in self._pending(ticket_id):
            self.records.decide(approval.id, "approved", actor, reason)
            self.tickets.add_entry(
                ticket_id,
                "approval",
                actor,
                f"run #{approval.run_id} approved" + _because(reason),
                {"decision": "approved"},
                run_id=approval.run_id,
            )
            started.append(self.resume(approval.run_id, approved=True))
        return started

    def deny(self, ticket_id: int, actor: str, reason: str | None = None) -> list[int]:
        """Deny every change waiting on the ticket; return the refused run ids."""
        refused = []
        for approval in self._pending(ticket_id):
            self.records.decide(approval.id, "denied", actor, reason)
            why = f"denied by {actor}" + _because(reason)
            self.records.set_status(approval.run_id, RunStatus.BLOCKED, error=why)
            self.tickets.add_entry(
                ticket_id,
                "approval",
                actor,
                f"run #{approval.run_id} {why}",
                {"decision": "denied"},
                run_id=approval.run_id,
            )
            refused.append(approval.run_id)
        return refused

    def expire_approvals(self) -> list[int]:
        """Approvals past their time limit: refuse the run and escalate the ticket."""
        now = self.clock()
        expired = []
        for approval in self.records.pending_approvals():
            if approval.expires_at is None or approval.expires_at > now:
                continue
            self.records.decide(approval.id, "expired", PIPELINE, "no decision in time")
            self.records.set_status(approval.run_id, RunStatus.BLOCKED, error="approval timed out")
            self.tickets.set_status(
                approval.ticket_id,
                TicketStatus.ESCALATED,
                PIPELINE,
                f"run #{approval.run_id}: approval timed out",
            )
            expired.append(approval.run_id)
        return expired

    def resume_due(self) -> list[Future[RunSummary]]:
        """Start the jobs that waited for a window to close, once it has."""
        now = self.clock()
        return [
            self.resume(run.id)
            for _, run in self.records.waiting("window")
            if run.not_before is None or run.not_before <= now
        ]

    def resume(self, run_id: int, approved: bool = False) -> Future[RunSummary]:
        """Start a waiting run on the executor, through the gate again (approval aside when
        given)."""
        claimed = self.records.claim(run_id)
        if claimed is None:
            raise AutomatorError(f"run #{run_id} is not waiting")
        job_row, run = claimed
        recorded = Recorded(run.id, job_row.id, run.ticket_id, ticket_opened=False)
        try:
            job = self._prepared_from(job_row)
        except AutomatorError as exc:
            refused: Future[RunSummary] = Future()
            refused.set_result(self._refuse(recorded, f"cannot resume: {exc}"))
            return refused
        return self.executor.submit(
            lambda: self._execute(job, recorded, None, threading.Event(), approved=approved)
        )

    def recover(self) -> list[int]:
        """Mark runs whose process died as interrupted, free their locks, remove the folders
        of held runs it started and never ran; return the interrupted runs' ids."""
        self._sweep_held_folders()
        dead = self.records.interrupted()
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
        return [run.id for run in dead]

    def _sweep_held_folders(self) -> None:
        starting = self.artifacts_dir / STARTING
        if not starting.is_dir():
            return
        orphans = [f for f in starting.iterdir() if not owner_is_alive(held_folder_owner(f))]
        if orphans:
            # a run that had proceeded keeps its folder: its record points there
            kept = self.records.artifacts_in_use(orphans)
            for folder in orphans:
                if str(folder) not in kept:
                    shutil.rmtree(folder, ignore_errors=True)

    # -- the steps -------------------------------------------------------------------------

    def _record(self, job: PreparedJob) -> Recorded:
        spec, action = job.spec, job.action
        names = [host.name for host in job.hosts]
        ticket_id, opened = spec.ticket_id, spec.ticket_id is None and spec.open_ticket
        if opened:
            ticket_id = self.tickets.open(
                kind=TicketKind.CHANGE if job.changes else TicketKind.REQUEST,
                title=f"{_what(spec.kind.value, action.name)} on {_plural(len(names), 'host')}",
                actor=spec.requester,
                priority=Priority.P3 if job.changes else Priority.P4,
                hosts=names,
                owner=_common(host.owner for host in job.hosts),
                tenant=_common(host.tenant for host in job.hosts),
                message=f"opened for {spec.kind.value} {action.name} requested by {spec.requester}",
            )
        elif ticket_id is not None:
            self.tickets.add_hosts(ticket_id, names, PIPELINE)
        recorded = self.records.record(spec, action.name, names, job.params, ticket_id, opened)
        mode = " in check mode" if spec.check_mode else ""
        rule = f" (rule {spec.rule})" if spec.rule else ""
        self._log(
            recorded,
            "job",
            spec.requester,
            f"job #{recorded.job_id}: {action.kind} {action.name}{mode}{rule} on "
            f"{', '.join(names)}",
            {
                "job_id": recorded.job_id,
                "action": action.name,
                "hosts": names,
                "params": sorted(job.params),
                "check_mode": spec.check_mode,
                "rule": spec.rule,
            },
            run_id=recorded.run_id,
        )
        return recorded

    def _execute(
        self,
        job: PreparedJob,
        recorded: Recorded,
        on_progress: ProgressCallback | None,
        cancel: threading.Event,
        approved: bool = False,
        follow_up: bool = True,
        held: HeldRun | None = None,
    ) -> RunSummary:
        """``follow_up`` is off for verify and rollback runs: the fix they belong to decides
        what happens to the ticket."""
        spec = job.spec
        admission = self.gate.admit(job.hosts, spec.policy, spec.rule, self.clock(), job.changes)
        for note in admission.notes:
            self._log(recorded, "gate", PIPELINE, note, run_id=recorded.run_id)
        if admission.refused:
            if admission.refused.startswith("circuit breaker"):
                self._set_status(recorded, TicketStatus.ESCALATED, PIPELINE, admission.refused)
            return self._refuse(recorded, admission.refused)
        if admission.wait_until is not None:
            return self._wait(recorded, "window", admission.wait_until)
        if job.changes and spec.policy.approval and not approved:
            timeout = spec.policy.approval_timeout
            return self._wait(
                recorded, "approval", None, self.clock() + timeout if timeout else None
            )
        skipped = skipped_results(admission.skipped)
        if not admission.hosts:
            return self._finish(job, recorded, RunReport(results=skipped), None, cancel)
        names = [host.name for host in admission.hosts]
        try:
            if job.changes:
                self.locks.acquire(recorded.job_id, names)
        except LockConflict as exc:
            return self._refuse(recorded, str(exc))
        try:
            artifacts = self._run_folder(recorded)
            artifacts.mkdir(parents=True, exist_ok=True)
            if held is not None and set(held.hosts) != set(names):
                held.abandon()  # started for other hosts than the gate let through
                held = None
            # a held run's files are in its own folder until it has finished
            self.records.set_running(recorded.run_id, held.folder if held else artifacts)
            self._log(
                recorded,
                "run",
                spec.requester,
                f"run #{recorded.run_id} started",
                {"status": RunStatus.RUNNING.value},
                run_id=recorded.run_id,
            )
            report = self._run_runner(
                job, admission.hosts, artifacts, on_progress, cancel, recorded.run_id, held
            )
            report.results.update(skipped)
            summary = self._finish(job, recorded, report, artifacts, cancel)
        finally:
            if job.changes:
                self.locks.release(recorded.job_id)
        return self._follow_up(job, recorded, summary, cancel) if follow_up else summary

    def _run_runner(
        self,
        job: PreparedJob,
        hosts: list[Host],
        artifacts: Path,
        on_progress: ProgressCallback | None,
        cancel: threading.Event,
        run_id: int,
        held: HeldRun | None = None,
    ) -> RunReport:
        context = job.context(artifacts, f"run-{run_id}", on_progress, cancel)
        try:
            if held is not None:
                return held.proceed(context)
            return self.runner_for(job.action, self.inventory).run(hosts, context)
        except Exception as exc:
            log.exception("run #%s: the runner crashed", run_id)
            return RunReport(
                results={
                    h.name: HostResult(h.name, Outcome.FAILED, error="internal error")
                    for h in hosts
                },
                error=f"internal error: {type(exc).__name__}: {exc}",
            )

    def _finish(
        self,
        job: PreparedJob,
        recorded: Recorded,
        report: RunReport,
        artifacts: Path | None,
        cancel: threading.Event,
    ) -> RunSummary:
        status = run_status(report.results, report.timed_out, report.error, cancel.is_set())
        folder = artifacts or (self._run_folder(recorded))
        folder.mkdir(parents=True, exist_ok=True)
        counts = self.records.finish(
            recorded.run_id, status, report.results, report.error, folder, {}
        )
        summary_line = ", ".join(f"{n} {outcome}" for outcome, n in counts.items() if n)
        self._log(
            recorded,
            "run",
            PIPELINE,
            f"run #{recorded.run_id} {status.value}: {summary_line or 'no host'}"
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
            run_id=recorded.run_id,
        )
        summary = RunSummary(
            recorded.run_id,
            recorded.job_id,
            recorded.ticket_id,
            status,
            report.results,
            artifacts_dir=report.artifacts_dir or folder,
            error=report.error,
            ticket_opened=recorded.ticket_opened,
        )
        finisher = self.finishers.get(job.action.name)
        if finisher is not None:
            try:
                summary.recorded = finisher(summary)
            except Exception as exc:
                log.exception("run #%s: recording its results failed", recorded.run_id)
                self._log(
                    recorded,
                    "run",
                    PIPELINE,
                    f"run #{recorded.run_id}: its results could not be recorded: "
                    f"{type(exc).__name__}: {exc}",
                    run_id=recorded.run_id,
                )
        return summary

    def _follow_up(
        self, job: PreparedJob, recorded: Recorded, summary: RunSummary, cancel: threading.Event
    ) -> RunSummary:
        """Verify the fix, roll back what does not verify, escalate, or close the ticket."""
        spec, ticket_id = job.spec, recorded.ticket_id
        if ticket_id is None:  # verify, rollback and escalation need a ticket to act on
            return summary
        if spec.check_mode or summary.status in (RunStatus.CANCELLED, RunStatus.TIMED_OUT):
            self._settle_ticket(recorded, spec, summary, verified=False)
            return summary
        failed = hosts_with(summary.results.values(), Outcome.FAILED, Outcome.UNREACHABLE)
        acted = hosts_with(summary.results.values(), Outcome.OK, Outcome.CHANGED)
        unverified: list[str] = []
        if spec.policy.verify is not None and acted:
            step = spec.policy.verify
            self.tickets.add_entry(
                ticket_id,
                "verify",
                PIPELINE,
                f"verifying {', '.join(acted)} with {step.runbook}"
                + (f" in {step.delay.total_seconds():g} s" if step.delay else ""),
            )
            if cancel.wait(step.delay.total_seconds()):
                return summary
            verify = self._step(step, acted, ticket_id, spec)
            unverified = hosts_with(
                verify.results.values(), Outcome.FAILED, Outcome.UNREACHABLE, Outcome.SKIPPED
            )
            self.records.add_counts(
                recorded.run_id,
                {"verified": len(acted) - len(unverified), "verify_failed": len(unverified)},
            )
            if unverified:
                self.tickets.add_entry(
                    ticket_id,
                    "verify",
                    PIPELINE,
                    f"verification failed on {', '.join(unverified)}",
                    {"hosts": unverified},
                    run_id=verify.run_id,
                )
                if spec.policy.rollback is not None:
                    rollback = self._step(spec.policy.rollback, unverified, ticket_id, spec)
                    self.tickets.add_entry(
                        ticket_id,
                        "rollback",
                        PIPELINE,
                        f"rolled back {', '.join(unverified)}: "
                        f"run #{rollback.run_id} {rollback.status.value}",
                        run_id=rollback.run_id,
                    )
            else:
                self.tickets.add_entry(
                    ticket_id,
                    "verify",
                    PIPELINE,
                    f"verified on {', '.join(acted)}",
                    run_id=verify.run_id,
                )
        problems = failed + unverified
        if problems and (spec.rule is not None or spec.policy.verify is not None):
            self.tickets.set_status(
                ticket_id,
                TicketStatus.ESCALATED,
                PIPELINE,
                f"not fixed on {', '.join(sorted(problems))}",
            )
            return summary
        self._settle_ticket(recorded, spec, summary, verified=spec.policy.verify is not None)
        return summary

    def _settle_ticket(
        self, recorded: Recorded, spec: JobSpec, summary: RunSummary, verified: bool
    ) -> None:
        """Resolve a ticket the run opened (or a rule's incident) when the run succeeded;
        otherwise the ticket stays in progress for a person."""
        if summary.status is RunStatus.SUCCEEDED and (
            recorded.ticket_opened or spec.resolve_ticket
        ):
            why = "verified on every host" if verified else "completed on every host"
            self._set_status(recorded, TicketStatus.RESOLVED, PIPELINE, why)
        elif summary.status is RunStatus.SUCCEEDED:
            self._set_status(
                recorded,
                TicketStatus.IN_PROGRESS,
                PIPELINE,
                "run completed on every host",
            )
        else:
            self._set_status(
                recorded,
                TicketStatus.IN_PROGRESS,
                PIPELINE,
                "run finished with hosts that need attention",
            )

    def _step(self, step: Step, hosts: list[str], ticket_id: int, parent: JobSpec) -> RunSummary:
        """A verify or rollback run on the same ticket, through the same pipeline. The hosts
        were admitted with the fix, so windows do not hold it back; it counts against no
        rule's budget."""
        spec = JobSpec(
            kind=parent.kind,
            action=step.runbook,
            requester=PIPELINE,
            limit=",".join(hosts),
            params=step.params,
            ticket_id=ticket_id,
            timeouts=parent.timeouts,
            forks=parent.forks,
            policy=GuardrailPolicy(window=WindowAction.RUN),
        )
        job = self.prepare(spec)
        return self._execute(job, self._record(job), None, threading.Event(), follow_up=False)

    def _log(
        self,
        recorded: Recorded,
        kind: str,
        actor: str,
        message: str,
        data: dict[str, Any] | None = None,
        run_id: int | None = None,
    ) -> None:
        """A timeline entry on the run's ticket; a job without a ticket (a check sweep: its
        findings open tickets of their own) keeps its record in the run alone."""
        if recorded.ticket_id is not None:
            self.tickets.add_entry(recorded.ticket_id, kind, actor, message, data, run_id=run_id)

    def _set_status(self, recorded: Recorded, status: TicketStatus, actor: str, why: str) -> None:
        if recorded.ticket_id is not None:
            self.tickets.set_status(recorded.ticket_id, status, actor, why)

    def _run_folder(self, recorded: Recorded) -> Path:
        owner = f"tickets/{recorded.ticket_id}" if recorded.ticket_id is not None else "runs"
        return self.artifacts_dir / owner / f"run-{recorded.run_id}"

    def _refuse(self, recorded: Recorded, why: str) -> RunSummary:
        self.records.set_status(recorded.run_id, RunStatus.BLOCKED, error=why)
        self._log(
            recorded,
            "gate",
            PIPELINE,
            f"run #{recorded.run_id} refused: {why}",
            {"status": RunStatus.BLOCKED.value},
            run_id=recorded.run_id,
        )
        return RunSummary(
            recorded.run_id,
            recorded.job_id,
            recorded.ticket_id,
            RunStatus.BLOCKED,
            {},
            error=why,
            ticket_opened=recorded.ticket_opened,
        )

    def _wait(
        self,
        recorded: Recorded,
        waiting_for: str,
        until: datetime | None,
        expires: datetime | None = None,
    ) -> RunSummary:
        self.records.wait(recorded.run_id, waiting_for, until, recorded.ticket_id, expires)
        if waiting_for == "approval":
            message = (
                f"run #{recorded.run_id} waits for approval: automator approve "
                f"{recorded.ticket_id} | automator deny {recorded.ticket_id}"
            )
            if expires is not None:
                message += f" (escalates at {expires:%Y-%m-%d %H:%M} UTC)"
        else:
            message = f"run #{recorded.run_id} waits until {until:%Y-%m-%d %H:%M %Z}"
        self._log(
            recorded,
            "gate",
            PIPELINE,
            message,
            {"status": RunStatus.WAITING.value, "waiting_for": waiting_for},
            run_id=recorded.run_id,
        )
        return RunSummary(
            recorded.run_id,
            recorded.job_id,
            recorded.ticket_id,
            RunStatus.WAITING,
            {},
            error=message,
            ticket_opened=recorded.ticket_opened,
        )

    def _pending(self, ticket_id: int) -> list[Approval]:
        self.tickets.require(ticket_id)
        pending = self.records.pending_approvals(ticket_id)
        if not pending:
            raise AutomatorError(f"ticket #{ticket_id} has no change waiting for approval")
        return pending

    def _prepared_from(self, job: Job) -> PreparedJob:
        action = self.catalogue.get(job.action)
        hosts = [self.inventory.get(name) for name in job.targets]
        options = job.policy or {}
        spec = JobSpec(
            kind=JobKind(job.kind),
            action=job.action,
            requester=job.requester,
            limit=job.limit_expr,
            check_mode=job.check_mode,
            ticket_id=job.ticket_id,
            policy=GuardrailPolicy.from_json(options),
            rule=job.rule,
            resolve_ticket=bool(options.get("resolve_ticket")),
        )
        return PreparedJob(spec=spec, action=action, hosts=hosts, params=dict(job.params))


def _own_runner(action: Action, inventory: Inventory) -> Runner:
    return action.runner(inventory)


def _summary_of(job: Job, run: Run) -> RunSummary:
    return RunSummary(
        run_id=run.id,
        job_id=job.id,
        ticket_id=run.ticket_id,
        status=RunStatus(run.status),
        results=results_of(run),
        error=run.error,
    )


def _what(kind: str, action: str) -> str:
    """``runbook restart-service``; ``backup`` rather than ``backup backup``."""
    return action if action.startswith(kind) else f"{kind} {action}"


def _because(reason: str | None) -> str:
    return f": {reason}" if reason else ""


def _common(values: Iterable[str | None]) -> str | None:
    distinct = {value for value in values if value}
    return distinct.pop() if len(distinct) == 1 else None


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
