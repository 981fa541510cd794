"""Backups through the pipeline, and what their results lead to.

::

    automator backup / schedule / rule (config-change event, debounced)
      ─▶ JobSpec(kind=backup, action=backup) ─▶ Pipeline ─▶ BackupRunner (fetch, check, scrub)
      ─▶ finisher BackupService.record ─▶ BackupStore.save: one git commit per run (changed
         devices only) + the version index ─▶ drift: each changed device's diff goes on the
         approved change ticket that covers it, or opens an "unauthorised change" incident

    automator backup restore HOST --version V
      ─▶ JobSpec(action=backup-restore, a change; approval when the host's criticality asks)
      ─▶ RestoreRunner (push the lines that restore V, save) ─▶ verify: backup-verify backs
         the device up again (recorded as a version) and must match V, else escalate
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select

from automator.backups._plan import BackupPlan
from automator.guardrails import GuardrailPolicy, Step
from automator.inventory import Criticality, Inventory
from automator.jobs import JobKind, JobSpec, Pipeline, RunSummary
from automator.runners import Outcome, Timeouts
from automator.store import Approval, Run, Store, Ticket, TicketHost, utcnow
from automator.tickets import Priority, TicketKind, TicketService, TicketStatus

if TYPE_CHECKING:
    from automator.backups._store import BackupStore, Saved
    from automator.schedule import ScheduleEntry, StartJob

ACTOR = "backups"
BACKUP, VERIFY, RESTORE = "backup", "backup-verify", "backup-restore"
_DIFF_SHOWN = 20_000  # characters of a diff written on a ticket
# a change ticket in one of these states has been taken on by a person (or a run)
_TAKEN_ON = (
    TicketStatus.ACKNOWLEDGED.value,
    TicketStatus.IN_PROGRESS.value,
    TicketStatus.RESOLVED.value,
    TicketStatus.CLOSED.value,
)

_EXECUTED = ("running", "succeeded", "partial", "failed", "timed_out", "cancelled", "interrupted")


@dataclass
class Drift:
    host: str
    version: int
    ticket_id: int
    authorised: bool


@dataclass
class BackupRecord:
    """What one backup run stored."""

    run_id: int
    commit: str | None
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    drift: list[Drift] = field(default_factory=list)


class BackupService:
    def __init__(
        self,
        store: Store,
        pipeline: Pipeline,
        backups: BackupStore,
        inventory: Inventory,
        plan: BackupPlan,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.pipeline = pipeline
        self.backups = backups
        self.inventory = inventory
        self.plan = plan
        self.clock = clock
        self.tickets = TicketService(store)

    # -- jobs ------------------------------------------------------------------------------

    def spec(
        self,
        limit: str | None = None,
        requester: str = ACTOR,
        forks: int = 20,
        ticket_id: int | None = None,
        time_limit: float = 1800.0,
    ) -> JobSpec:
        return JobSpec(
            kind=JobKind.BACKUP,
            action=BACKUP,
            requester=requester,
            limit=limit,
            ticket_id=ticket_id,
            timeouts=Timeouts(connect=10.0, command=60.0, job=time_limit),
            forks=forks,
        )

    def restore_spec(self, host: str, version: int | None, requester: str) -> JobSpec:
        """A change: push ``version`` (default: the one before the latest) back, then back
        up and verify. Hosts of high or critical criticality wait for an approval."""
        target = self.inventory.get(host)
        if version is None:
            history = self.backups.history(host, limit=2)
            version = history[-1].version if history else None
        stored = self.backups.get(host, version)
        config = self.backups.content(stored)
        approval = target.criticality in (Criticality.HIGH, Criticality.CRITICAL)
        return JobSpec(
            kind=JobKind.BACKUP,
            action=RESTORE,
            requester=requester,
            limit=host,
            params={"version": stored.version, "config": config},
            policy=GuardrailPolicy(
                approval=approval,
                verify=Step(VERIFY, params={"expected_sha256": stored.sha256}),
            ),
        )

    def schedule(self) -> tuple[ScheduleEntry, StartJob]:
        """The nightly backup of every device (``schedule`` of backups.yaml) for serve's
        scheduler, and how it starts."""
        entry = schedule_entry(self.plan)

        def start(due: ScheduleEntry, cancel: threading.Event) -> Future[RunSummary]:
            spec = self.spec(requester="schedule backup", time_limit=due.time_limit)
            return self.pipeline.submit(spec, cancel=cancel)

        return entry, start

    # -- after a run -----------------------------------------------------------------------

    def record(self, run: RunSummary) -> BackupRecord:
        """Store what the run fetched (one commit), then reconcile each change with the
        change tickets."""
        now = self.clock()
        configs = {
            host: result.transient["config"]
            for host, result in run.results.items()
            if result.outcome is Outcome.OK and "config" in result.transient
        }
        latest = self.backups.latest_all()
        previous = {host: latest.get(host) for host in configs}
        ticket = f" (ticket #{run.ticket_id})" if run.ticket_id else ""
        saved: Saved = self.backups.save(configs, run.run_id, run.ticket_id, now)
        record = BackupRecord(
            run.run_id,
            saved.commit,
            saved.changed,
            saved.unchanged,
            {
                host: result.error or result.outcome.value
                for host, result in run.results.items()
                if result.outcome.is_problem
            },
        )
        for host in saved.changed:
            before = previous.get(host)
            if before is None:
                continue  # the first backup of a device is not a change
            version = saved.versions[host]
            diff = self.backups.diff(host, before.version, version.version)
            record.drift.append(self._drift(host, before.at, now, version.version, diff, run))
        if run.ticket_id is not None and (saved.changed or record.failed):
            self.tickets.add_entry(
                run.ticket_id,
                "backup",
                ACTOR,
                f"backup run #{run.run_id}{ticket}: {len(saved.changed)} changed, "
                f"{len(saved.unchanged)} unchanged, {len(record.failed)} not backed up"
                + (f"; commit {saved.commit[:12]}" if saved.commit else ""),
                {"changed": saved.changed, "failed": record.failed, "commit": saved.commit},
                run_id=run.run_id,
            )
        return record

    def _drift(
        self,
        host: str,
        since: datetime,
        now: datetime,
        version: int,
        diff: str,
        run: RunSummary,
    ) -> Drift:
        shown = diff if len(diff) <= _DIFF_SHOWN else diff[:_DIFF_SHOWN] + "\n… (diff cut)"
        covering = self.covering_change(host, since, now)
        data: dict[str, Any] = {"host": host, "version": version, "diff": shown}
        if covering is not None:
            self.tickets.add_entry(
                covering,
                "drift",
                ACTOR,
                f"configuration of {host} changed (version {version}), as this change "
                f"planned:\n{shown}",
                data,
                run_id=run.run_id,
            )
            return Drift(host, version, covering, authorised=True)
        device = self.inventory.hosts.get(host)
        ticket_id = self.tickets.open(
            kind=TicketKind.INCIDENT,
            title=f"unauthorised change on {host}: configuration changed with no change ticket",
            actor=ACTOR,
            priority=Priority.P2,
            hosts=[host],
            owner=device.owner if device else None,
            tenant=device.tenant if device else None,
            message=f"the configuration of {host} changed between {since:%Y-%m-%d %H:%M} and "
            f"{now:%Y-%m-%d %H:%M} UTC (version {version}) and no approved change ticket "
            f"covers {host} in that time",
        )
        self.tickets.add_entry(ticket_id, "drift", ACTOR, shown, data, run_id=run.run_id)
        return Drift(host, version, ticket_id, authorised=False)

    def covering_change(self, host: str, since: datetime, until: datetime) -> int | None:
        """The approved change ticket that covers ``host`` between ``since`` and ``until``:
        a change naming the host, open at some time in that interval, with no approval of it
        denied, and either taken on by a person (acknowledged, in progress, resolved, closed)
        or carried out by automator (a run of it got past the gate: its approval, windows
        and locks)."""
        with self.store.session() as session:
            denied = select(Approval.ticket_id).where(Approval.decision == "denied")
            executed = select(Run.ticket_id).where(
                Run.ticket_id.is_not(None), Run.status.in_(_EXECUTED)
            )
            rows = session.execute(
                select(Ticket.id)
                .join(TicketHost, TicketHost.ticket_id == Ticket.id)
                .where(
                    TicketHost.host == host,
                    Ticket.kind == TicketKind.CHANGE.value,
                    or_(Ticket.status.in_(_TAKEN_ON), Ticket.id.in_(executed)),
                    Ticket.created_at <= until,
                    or_(Ticket.resolved_at.is_(None), Ticket.resolved_at >= since),
                    Ticket.id.not_in(denied),
                )
                .order_by(Ticket.id.desc())
                .limit(1)
            ).first()
        return None if rows is None else int(rows[0])


def schedule_entry(plan: BackupPlan) -> ScheduleEntry:
    """The nightly backup as a schedule entry (``automator schedule list`` shows it)."""
    from automator.schedule import ScheduleEntry

    return ScheduleEntry(
        name="backup",
        cron=plan.schedule,
        description="configuration backup of every device",
        time_limit=3600.0,
        kind="backup",
    )
