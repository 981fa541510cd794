"""Check sweeps through the pipeline, and what their results lead to.

::

    CheckService.submit ─▶ JobSpec(kind=check, action=checks) ─▶ Pipeline ─▶ CheckRunner
        ─▶ RunSummary ─▶ record: results + measurements ─▶ trends ─▶ states
                                 ─▶ tickets (one incident per host and check) ─▶ events

A failing check (warning, critical or unknown) opens one incident for its host and check,
for the host's owner (else the check's), at the check's priority (a warning one lower). While
it keeps failing the same ticket gets the news; when it passes, the ticket says so and is
resolved. A host that cannot be reached at all gets one incident of its own (``reachable``)
rather than one per check. Every change of a (host, check) status is also an Event of source
``checks`` on the path monitoring alerts take, so that rules in ``remediations/`` act on data
as they act on alerts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import insert, select, update

from automator.checks._action import ACTION
from automator.checks._judge import trend_finding
from automator.checks._loader import CheckCatalogue
from automator.checks._model import CheckDef, CheckResult, Finding, Status
from automator.events import Event, EventIntake, EventStatus, Severity
from automator.inventory import Inventory
from automator.jobs import JobKind, JobSpec, Pipeline, RunSummary
from automator.runners import Outcome, ProgressCallback, Timeouts
from automator.store import (
    CheckResultRow,
    CheckState,
    Measurement,
    Store,
    Ticket,
    TimelineEntry,
    utcnow,
)
from automator.tickets import Priority, TicketKind, TicketService, TicketStatus

ACTOR = "checks"
REACHABLE = "reachable"  # the pseudo-check of a host that could not be checked at all
_LOWER = {Priority.P1: Priority.P2, Priority.P2: Priority.P3, Priority.P3: Priority.P4}


@dataclass
class SweepSummary:
    """A finished sweep: the run, every result, and the tickets it touched."""

    run: RunSummary
    results: list[CheckResult]
    opened: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    events: int = 0

    @property
    def status(self) -> str:
        """The run's status (what a schedule records of the sweep)."""
        return self.run.status.value

    @property
    def run_id(self) -> int:
        return self.run.run_id

    def counts(self) -> dict[str, int]:
        counts = {status.value: 0 for status in Status}
        for result in self.results:
            counts[result.status.value] += 1
        return counts


class CheckService:
    def __init__(
        self,
        store: Store,
        pipeline: Pipeline,
        catalogue: CheckCatalogue,
        inventory: Inventory,
        intake: EventIntake | None = None,
        clock: Callable[[], datetime] = utcnow,
        on_events: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.pipeline = pipeline
        self.catalogue = catalogue
        self.inventory = inventory
        self.intake = intake or EventIntake(store)
        self.clock = clock
        self.on_events = on_events  # the remediation engine's wake-up
        self.tickets = TicketService(store)
        catalogue.validate_inventory(inventory)

    def spec(
        self,
        names: Sequence[str] = (),
        limit: str | None = None,
        requester: str = ACTOR,
        time_limit: float | None = None,
        forks: int = 20,
    ) -> JobSpec:
        checks = self.catalogue.select(list(names))
        command_timeout = max((check.timeout for check in checks), default=60.0)
        return JobSpec(
            kind=JobKind.CHECK,
            action=ACTION,
            requester=requester,
            limit=limit,
            params={"checks": list(names)},
            timeouts=Timeouts(
                connect=10.0, command=command_timeout, job=time_limit or max(600.0, command_timeout)
            ),
            forks=forks,
            open_ticket=False,
        )

    def submit(
        self,
        spec: JobSpec,
        on_progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> Future[SweepSummary]:
        """Run the sweep on the pipeline's executor; the future's result is recorded."""
        run = self.pipeline.submit(spec, on_progress, cancel)
        done: Future[SweepSummary] = Future()

        def record(finished: Future[RunSummary]) -> None:
            try:
                done.set_result(self.record(finished.result()))
            except BaseException as exc:
                done.set_exception(exc)

        run.add_done_callback(record)
        return done

    def run(self, spec: JobSpec, on_progress: ProgressCallback | None = None) -> SweepSummary:
        return self.submit(spec, on_progress).result()

    # -- after the run ---------------------------------------------------------------------

    def record(self, run: RunSummary) -> SweepSummary:
        """Keep the results and values, apply trends, then move states, tickets and events.

        Written in a few set-wise transactions (a sweep of hundreds of hosts gives thousands
        of results); only tickets that open, change or resolve cost one each."""
        now = self.clock()
        results: list[CheckResult] = []
        unreachable: dict[str, str] = {}
        for host, host_result in sorted(run.results.items()):
            raws = host_result.transient.get("raw", {})
            for name, data in host_result.data.get("checks", {}).items():
                results.append(CheckResult.from_json(name, host, data, raws.get(name, "")))
            if host_result.outcome is Outcome.UNREACHABLE:
                unreachable[host] = host_result.error or "unreachable"
        values = [
            {
                "at": now,
                "host": result.host,
                "check": result.check,
                "metric": finding.metric,
                "item": finding.item,
                "value": finding.value,
            }
            for result in results
            for finding in result.findings
            if finding.value is not None and not finding.trend
        ]
        if values:
            with self.store.session() as session:
                session.execute(insert(Measurement), values)
        self._trends(results, now)
        summary = SweepSummary(run, results)
        reachability = [
            CheckResult(
                REACHABLE,
                host,
                Status.CRITICAL if host in unreachable else Status.OK,
                summary=unreachable.get(host, "reachable"),
            )
            for host in sorted({result.host for result in results})
        ]
        events = self._transitions([*reachability, *results], unreachable, run.run_id, now, summary)
        if events:
            self.intake.ingest(events)
            if self.on_events is not None:
                self.on_events()
        summary.events = len(events)
        return summary

    def _trends(self, results: list[CheckResult], now: datetime) -> None:
        """Add trend findings; one query per trended value over every host of the sweep."""
        by_check: dict[str, list[CheckResult]] = {}
        for result in results:
            if result.status is not Status.UNKNOWN:
                by_check.setdefault(result.check, []).append(result)
        for name, checked in by_check.items():
            check = self.catalogue.checks.get(name)
            if check is None:
                continue
            for trend in check.trends:
                series = self._series(name, trend.metric, now - trend.window)
                unit = check.metrics[trend.metric].unit
                for result in checked:
                    items = sorted(
                        {
                            f.item
                            for f in result.findings
                            if f.metric == trend.metric and not f.trend
                        }
                    )
                    for item in items:
                        points = series.get((result.host, item), [])
                        finding = trend_finding(trend, item, points, now, unit)
                        if finding is not None:
                            result.add_trend(finding)

    def _series(
        self, check: str, metric: str, since: datetime
    ) -> dict[tuple[str, str], list[tuple[datetime, float]]]:
        series: dict[tuple[str, str], list[tuple[datetime, float]]] = {}
        with self.store.session() as session:
            rows = session.execute(
                select(Measurement.host, Measurement.item, Measurement.at, Measurement.value)
                .where(
                    Measurement.check == check,
                    Measurement.metric == metric,
                    Measurement.at >= since,
                )
                .order_by(Measurement.at)
            )
            for host, item, at, value in rows:
                series.setdefault((host, item), []).append((at, value))
        return series

    def _transitions(
        self,
        results: list[CheckResult],
        unreachable: dict[str, str],
        run_id: int,
        now: datetime,
        summary: SweepSummary,
    ) -> list[Event]:
        """Move every (host, check) state and open, update or resolve its ticket; return
        the events of the statuses that changed. The checks of an unreachable host are
        ``unknown`` without tickets of their own: its ``reachable`` ticket speaks for them.

        One transaction holds the states, the results and the entries of tickets that keep
        failing (most of a night's news); only a ticket that opens or resolves costs one of
        its own, made while this one has written nothing yet."""
        hosts = sorted({result.host for result in results})
        events: list[Event] = []
        with self.store.session() as session, session.no_autoflush:
            states = {
                (state.host, state.check): state
                for state in session.scalars(select(CheckState).where(CheckState.host.in_(hosts)))
            }
            open_tickets = set(
                session.scalars(
                    select(Ticket.id).where(
                        Ticket.id.in_([s.ticket_id for s in states.values() if s.ticket_id]),
                        Ticket.status.not_in(
                            [TicketStatus.RESOLVED.value, TicketStatus.CLOSED.value]
                        ),
                    )
                )
            )
            updated: list[TimelineEntry] = []
            for result in results:
                state = states.get((result.host, result.check))
                previous = Status(state.status) if state is not None else Status.OK
                changed = state is None or previous is not result.status
                if state is None:
                    state = CheckState(host=result.host, check=result.check, since=now, streak=0)
                    states[(result.host, result.check)] = state
                    session.add(state)
                if changed:
                    state.since, state.streak = now, 0
                state.status, state.checked_at, state.run_id = result.status.value, now, run_id
                state.summary, state.streak = result.summary, (state.streak or 0) + 1
                # a ticket a person resolved or closed is done with: the next failure opens
                # another
                ticket_id = state.ticket_id if state.ticket_id in open_tickets else None
                failing = result.status.failing
                if result.check != REACHABLE and result.host in unreachable:
                    state.ticket_id = ticket_id
                    continue
                if failing and ticket_id is None:
                    ticket_id = self._open(result, run_id)
                    summary.opened.append(ticket_id)
                elif failing and ticket_id is not None:
                    what = "now" if changed else "still"
                    updated.append(
                        TimelineEntry(
                            ticket_id=ticket_id,
                            at=now,
                            kind="check",
                            actor=ACTOR,
                            message=f"{result.check} {what} {result.status.value} on "
                            f"{result.host} ({state.streak} in a row): {result.summary}",
                            data=_entry_data(result),
                            run_id=run_id,
                        )
                    )
                    summary.updated.append(ticket_id)
                elif ticket_id is not None:
                    self.tickets.add_entry(
                        ticket_id,
                        "check",
                        ACTOR,
                        f"{result.check} passes again on {result.host}: {result.summary}",
                        _entry_data(result),
                        run_id=run_id,
                    )
                    self.tickets.set_status(
                        ticket_id, TicketStatus.RESOLVED, ACTOR, f"{result.check} passes again"
                    )
                    summary.resolved.append(ticket_id)
                    ticket_id = None
                state.ticket_id = ticket_id
                if changed and (failing or previous.failing):
                    events.append(_event(result, now, firing=failing, ticket_id=ticket_id))
            session.add_all(updated)
            if updated:
                session.execute(
                    update(Ticket)
                    .where(Ticket.id.in_({entry.ticket_id for entry in updated}))
                    .values(updated_at=now)
                )
            session.execute(
                insert(CheckResultRow),
                [
                    {
                        "run_id": run_id,
                        "at": now,
                        "host": result.host,
                        "check": result.check,
                        "status": result.status.value,
                        "summary": result.summary,
                        "findings": [finding.to_json() for finding in result.findings],
                        "raw": result.raw,
                    }
                    for result in results
                ],
            )
        return events

    def _open(self, result: CheckResult, run_id: int) -> int:
        check = self.catalogue.checks.get(result.check)
        host = self.inventory.hosts.get(result.host)
        priority = check.priority if check is not None else Priority.P2
        if result.status is Status.WARNING:
            priority = _LOWER.get(priority, Priority.P4)
        owner = (host.owner if host else None) or (check.owner if check else None)
        title = f"{result.check} {result.status.value} on {result.host}: {result.summary}"
        ticket_id = self.tickets.open(
            kind=TicketKind.INCIDENT,
            title=title[:200],
            actor=ACTOR,
            priority=priority,
            hosts=[result.host],
            owner=owner,
            tenant=host.tenant if host else None,
            message=_opening(result, check),
        )
        self.tickets.add_entry(
            ticket_id, "check", ACTOR, result.summary, _entry_data(result), run_id=run_id
        )
        return ticket_id


def _opening(result: CheckResult, check: CheckDef | None) -> str:
    lines = [f"check {result.check} is {result.status.value} on {result.host}"]
    if check is not None and check.description:
        lines.append(check.description)
    lines += [f.message for f in result.findings if f.status.failing]
    return "\n".join(lines)


def _entry_data(result: CheckResult) -> dict[str, object]:
    return {
        "check": result.check,
        "status": result.status.value,
        "findings": [f.to_json() for f in result.findings if f.status.failing],
    }


def _event(result: CheckResult, now: datetime, firing: bool, ticket_id: int | None) -> Event:
    severity = {
        Status.CRITICAL: Severity.CRITICAL,
        Status.WARNING: Severity.WARNING,
        Status.UNKNOWN: Severity.UNKNOWN,
    }.get(result.status, Severity.INFO)
    worst_finding: Finding | None = next(
        (f for f in result.findings if f.status is result.status), None
    )
    labels = {
        "alertname": f"check_{result.check}",
        "check": result.check,
        "host": result.host,
        "status": result.status.value,
    }
    if worst_finding is not None:
        labels["metric"] = worst_finding.metric
        if worst_finding.item:
            labels["item"] = worst_finding.item
        if worst_finding.value is not None:
            labels["value"] = f"{worst_finding.value:g}"
        labels["trend"] = "true" if worst_finding.trend else "false"
    if ticket_id is not None:
        labels["ticket"] = str(ticket_id)
    return Event(
        source="checks",
        fingerprint=f"{result.host}/{result.check}",
        status=EventStatus.FIRING if firing else EventStatus.RESOLVED,
        name=f"check_{result.check}",
        host=result.host,
        severity=severity,
        labels=labels,
        annotations={"summary": result.summary[:1000]},
        starts_at=now if firing else None,
        ends_at=None if firing else now,
    )
