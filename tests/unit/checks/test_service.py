"""What a sweep's results lead to: states, time series, trends, one incident per host and
check, updates while it keeps failing, resolution when it passes, and events on status
changes. The runner is scripted (the real one is tested on the lab); the pipeline, the store
and the tickets are real."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from textwrap import dedent

from sqlalchemy import func, select

from automator.checks import CheckService, check_action, load_checks
from automator.checks._model import CheckResult, Finding, Status
from automator.events import EventIntake
from automator.inventory import Host, Inventory
from automator.jobs import Pipeline, RunStatus
from automator.runbooks import Catalogue
from automator.runners import HostResult, Outcome, RunContext, RunReport
from automator.store import CheckResultRow, Measurement, Store, Ticket
from automator.tickets import TicketService, TicketStatus

DISK = """\
description: disk
applies_to: server
commands: {server: "df -P -k"}
parse: df
values:
  used_pct: {warning: 85, critical: 95, unit: "%"}
trends:
  used_pct: {reaches: 100, within: 7d, window: 7d}
priority: P2
owner: storage@example.net
"""


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class ScriptedChecks:
    """Each host's disk use as the test sets it; None makes the host unreachable."""

    def __init__(self) -> None:
        self.used: dict[str, float | None] = {}

    def run(self, hosts: Sequence[Host], context: RunContext) -> RunReport:
        results = {}
        for host in hosts:
            if host.kind != "server":
                results[host.name] = HostResult(host.name, Outcome.SKIPPED)
                continue
            used = self.used.get(host.name, 40.0)
            if used is None:
                result = CheckResult("disk", host.name, Status.UNKNOWN, summary="unreachable")
                results[host.name] = HostResult(
                    host.name,
                    Outcome.UNREACHABLE,
                    error="connection refused",
                    data={"checks": {"disk": result.to_json()}},
                )
                continue
            status = Status.CRITICAL if used >= 95 else Status.WARNING if used >= 85 else Status.OK
            finding = Finding("used_pct", "/srv", used, status, f"used_pct[/srv] {used:g}%")
            result = CheckResult("disk", host.name, status, [finding], finding.message, "raw")
            results[host.name] = HostResult(
                host.name,
                Outcome.FAILED if status is Status.CRITICAL else Outcome.OK,
                data={"checks": {"disk": result.to_json()}},
            )
        return RunReport(results=results)


def service(
    tmp_path: Path, store: Store, inventory: Inventory
) -> tuple[CheckService, ScriptedChecks, Clock]:
    checks_dir = tmp_path / "checks"
    checks_dir.mkdir()
    (checks_dir / "disk.yaml").write_text(dedent(DISK))
    catalogue = load_checks(checks_dir)
    runner = ScriptedChecks()
    clock = Clock()
    pipeline = Pipeline(
        store,
        inventory,
        Catalogue(
            tmp_path / "rb", tmp_path / "pb", builtins={"checks": lambda: check_action(catalogue)}
        ),
        tmp_path / "artifacts",
        runner_for=lambda action, inv: runner,
    )
    return CheckService(store, pipeline, catalogue, inventory, clock=clock), runner, clock


def tickets(store: Store) -> list[Ticket]:
    with store.session() as session:
        return list(session.scalars(select(Ticket).order_by(Ticket.id)))


def test_a_failure_opens_one_incident_updates_it_then_resolves_it(tmp_path, store, small_inventory):
    checks, runner, clock = service(tmp_path, store, small_inventory)
    runner.used = {"web1": 97.0}

    first = checks.run(checks.spec())
    assert first.run.status is RunStatus.PARTIAL
    assert first.run.ticket_id is None  # a sweep files no ticket of its own
    assert first.counts()["critical"] == 1
    [incident] = tickets(store)
    assert (incident.kind, incident.priority, incident.owner) == (
        "incident",
        "P2",
        "alice@example.net",
    )
    assert incident.title.startswith("disk critical on web1: used_pct[/srv] 97%")
    assert first.opened == [incident.id]

    clock.now += timedelta(hours=1)
    second = checks.run(checks.spec())
    assert second.opened == [] and second.updated == [incident.id]
    assert len(tickets(store)) == 1
    timeline = [e.message for e in TicketService(store).get(incident.id).entries]
    assert any("disk still critical on web1 (2 in a row)" in m for m in timeline)

    clock.now += timedelta(hours=1)
    runner.used = {"web1": 50.0}
    third = checks.run(checks.spec())
    assert third.resolved == [incident.id]
    assert TicketService(store).get(incident.id).status == "resolved"

    intake = EventIntake(store)
    events = [record.event for record in intake.list_events(limit=10)]
    assert [(e.status.value, e.host, e.labels["check"]) for e in reversed(events)] == [
        ("firing", "web1", "disk"),
        ("resolved", "web1", "disk"),
    ]
    assert events[-1].labels["ticket"] == str(incident.id)  # the firing one names its incident


def test_a_warning_opens_at_one_priority_lower_and_a_closed_ticket_is_not_reused(
    tmp_path, store, small_inventory
):
    checks, runner, clock = service(tmp_path, store, small_inventory)
    runner.used = {"web2": 90.0}
    checks.run(checks.spec())
    [warning] = tickets(store)
    assert warning.priority == "P3"
    TicketService(store).set_status(warning.id, TicketStatus.CLOSED, "alice", "known")
    clock.now += timedelta(hours=1)
    again = checks.run(checks.spec())
    assert len(again.opened) == 1 and again.opened[0] != warning.id


def test_an_unreachable_host_gets_one_ticket_not_one_per_check(tmp_path, store, small_inventory):
    checks, runner, _ = service(tmp_path, store, small_inventory)
    runner.used = {"web1": None}
    summary = checks.run(checks.spec())
    [ticket] = tickets(store)
    assert ticket.title.startswith("reachable critical on web1")
    assert summary.counts()["unknown"] == 1


def test_values_are_kept_and_a_filling_disk_warns_before_its_threshold(
    tmp_path, store, small_inventory
):
    checks, runner, clock = service(tmp_path, store, small_inventory)
    for day, used in enumerate((60.0, 65.0, 70.0, 75.0)):
        clock.now = datetime(2026, 11, 1 + day, 2, 0, tzinfo=UTC)
        runner.used = {"web1": used}
        summary = checks.run(checks.spec())
    [web1] = [r for r in summary.results if r.host == "web1"]
    assert web1.status is Status.WARNING  # 75 % is under 85 %: the trend speaks
    trend = [f for f in web1.findings if f.trend]
    assert trend and "reaches 100% in 5.0 days" in trend[0].message
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(Measurement)) == 8
        stored = session.scalars(
            select(CheckResultRow)
            .where(CheckResultRow.host == "web1")
            .order_by(CheckResultRow.id.desc())
        ).first()
        assert stored is not None and stored.status == "warning"
