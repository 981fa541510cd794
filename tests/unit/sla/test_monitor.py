"""The SLA monitor on a real store: rows kept, each warning and breach recorded once on the
row and the ticket and handed to the escalation, pauses, late answers, and ticks that only
look at what changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from automator.sla import Contracts, SlaMonitor, load_contracts
from automator.store import Store, Ticket, TicketSla, TimelineEntry
from automator.tickets import Priority, TicketKind, TicketService

CONTRACT = """\
timezone: UTC
targets:
  P1: {response: 30m, resolution: 4h, hours: 24x7}
  P2: {response: 1h, resolution: 8h, hours: 24x7}
  P3: {response: 4h, resolution: 24h, hours: 24x7}
  P4: {response: 8h, resolution: 48h, hours: 24x7}
warn_at: 0.75
"""
T0 = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)


class Recorder:
    """The escalation's side of the monitor: what it was handed."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, str, str]] = []

    def escalate(
        self, session: Session, ticket: Ticket, reason: str, now: datetime, detail: str
    ) -> None:
        self.calls.append((ticket.id, reason, detail))


@pytest.fixture
def contracts(tmp_path: Path) -> Contracts:
    folder = tmp_path / "contracts"
    folder.mkdir()
    (folder / "default.yaml").write_text(CONTRACT)
    (folder / "strict.yaml").write_text(
        "tenants: [strict]\nkinds: [incident]\n" + CONTRACT.replace("30m", "10m")
    )
    return load_contracts(folder)


def open_ticket(
    store: Store,
    at: datetime,
    priority: Priority = Priority.P1,
    kind: TicketKind = TicketKind.INCIDENT,
    tenant: str | None = None,
) -> int:
    ticket_id = TicketService(store).open(
        kind=kind, title="core switch down", actor="test", priority=priority, tenant=tenant
    )
    with store.session() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        ticket.created_at = at
    return ticket_id


def set_status(store: Store, ticket_id: int, status: str, at: datetime, actor: str = "ann") -> None:
    """What TicketService.set_status does, at a chosen time."""
    with store.session() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        old, ticket.status = ticket.status, status
        ticket.resolved_at = at if status in ("resolved", "closed") else None
        session.add(
            TimelineEntry(
                ticket_id=ticket_id,
                at=at,
                kind="status",
                actor=actor,
                message=f"{old} -> {status}",
                data={"from": old, "to": status},
            )
        )


def sla_row(store: Store, ticket_id: int) -> TicketSla | None:
    with store.session() as session:
        return session.get(TicketSla, ticket_id)


def sla_entries(store: Store, ticket_id: int) -> list[TimelineEntry]:
    with store.session() as session:
        return list(
            session.scalars(
                select(TimelineEntry)
                .where(TimelineEntry.ticket_id == ticket_id, TimelineEntry.kind == "sla")
                .order_by(TimelineEntry.id)
            )
        )


def test_warning_then_breach_each_once(store: Store, contracts: Contracts) -> None:
    ticket_id = open_ticket(store, T0)
    recorder = Recorder()
    monitor = SlaMonitor(store, contracts, escalation=recorder)

    first = monitor.tick(T0 + timedelta(minutes=20))
    assert (first.checked, first.warnings, first.breaches) == (1, 0, 0)
    row = sla_row(store, ticket_id)
    assert row is not None and row.contract == "default"
    assert row.response_due == T0 + timedelta(minutes=30)
    assert row.resolution_due == T0 + timedelta(hours=4)
    assert row.response_target_s == 1800 and row.resolution_target_s == 4 * 3600
    assert monitor.next_due() == T0 + timedelta(minutes=22, seconds=30)

    warned = monitor.tick(T0 + timedelta(minutes=25))
    assert (warned.warnings, warned.breaches) == (1, 0)
    assert [e.message for e in sla_entries(store, ticket_id)] == [
        "response due in 5 min at 09:30 UTC (83 % used)"
    ]
    assert monitor.tick(T0 + timedelta(minutes=26)).warnings == 0

    breached = monitor.tick(T0 + timedelta(minutes=31))
    assert (breached.warnings, breached.breaches) == (0, 1)
    row = sla_row(store, ticket_id)
    assert row is not None
    assert row.response_warned_at == T0 + timedelta(minutes=25)
    assert row.response_breached_at == T0 + timedelta(minutes=30)
    entries = sla_entries(store, ticket_id)
    assert entries[-1].message == "response breached at 09:30 UTC"
    assert entries[-1].data["event"] == "breach" and entries[-1].data["clock"] == "response"
    assert monitor.tick(T0 + timedelta(minutes=40)).breaches == 0
    # a second monitor on the same database (a restart) records nothing again
    again = SlaMonitor(store, contracts, escalation=recorder).tick(T0 + timedelta(minutes=41))
    assert (again.warnings, again.breaches) == (0, 0)
    assert recorder.calls == [
        (ticket_id, "response_warning", "response due in 5 min at 09:30 UTC (83 % used)"),
        (ticket_id, "response_breach", "response breached at 09:30 UTC"),
    ]
    with store.session() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.contract == "default"


def test_an_answer_stops_the_response_clock(store: Store, contracts: Contracts) -> None:
    ticket_id = open_ticket(store, T0)
    monitor = SlaMonitor(store, contracts)
    monitor.tick(T0 + timedelta(minutes=1))
    set_status(store, ticket_id, "acknowledged", T0 + timedelta(minutes=10))
    result = monitor.tick(T0 + timedelta(hours=1))
    assert (result.checked, result.warnings, result.breaches) == (1, 0, 0)
    row = sla_row(store, ticket_id)
    assert row is not None and row.responded_at == T0 + timedelta(minutes=10)
    assert row.response_warned_at is None and row.response_breached_at is None
    # the resolution clock still runs: warned at 3 h, breached at 4 h
    assert monitor.tick(T0 + timedelta(hours=3, minutes=5)).warnings == 1
    assert monitor.tick(T0 + timedelta(hours=4, minutes=5)).breaches == 1


def test_ticks_look_only_at_what_changed(store: Store, contracts: Contracts) -> None:
    ids = [open_ticket(store, T0, Priority.P4) for _ in range(30)]
    monitor = SlaMonitor(store, contracts, batch=7, resync=timedelta(days=1))
    assert monitor.tick(T0 + timedelta(minutes=1)).checked == 30
    assert monitor.tick(T0 + timedelta(minutes=2)).checked == 0
    set_status(store, ids[3], "in_progress", T0 + timedelta(minutes=2))
    TicketService(store).add_entry(ids[4], "comment", "ann", "looking")
    assert monitor.tick(T0 + timedelta(minutes=3)).checked == 2
    # due times come from the schedule, not a scan: the 29 unanswered ones warn at 6 h
    warned = monitor.tick(T0 + timedelta(hours=6, minutes=1))
    assert (warned.checked, warned.warnings) == (29, 29)
    assert monitor.tick(T0 + timedelta(hours=6, minutes=2)).checked == 0
    with store.session() as session:
        assert session.query(TicketSla).count() == 30


def test_a_paused_ticket_neither_warns_nor_breaches(store: Store, contracts: Contracts) -> None:
    ticket_id = open_ticket(store, T0, Priority.P2)
    monitor = SlaMonitor(store, contracts)
    set_status(store, ticket_id, "in_progress", T0 + timedelta(minutes=5))
    set_status(store, ticket_id, "waiting_on_customer", T0 + timedelta(hours=1))
    result = monitor.tick(T0 + timedelta(hours=20))
    assert (result.warnings, result.breaches) == (0, 0)
    row = sla_row(store, ticket_id)
    assert row is not None and row.paused_since == T0 + timedelta(hours=1)
    assert row.resolution_due == T0 + timedelta(hours=8)  # as if it ran on at the pause
    set_status(store, ticket_id, "in_progress", T0 + timedelta(hours=21))
    monitor.tick(T0 + timedelta(hours=21))
    row = sla_row(store, ticket_id)
    assert row is not None and row.paused_since is None
    assert row.paused_s == 20 * 3600
    assert row.resolution_due == T0 + timedelta(hours=28)  # pushed back by the 20 h wait
    assert monitor.tick(T0 + timedelta(hours=28)).breaches == 1


def test_late_and_old_breaches_are_recorded_but_not_escalated(
    store: Store, contracts: Contracts
) -> None:
    late = open_ticket(store, T0)
    old = open_ticket(store, T0 - timedelta(days=3), Priority.P3)
    recent = open_ticket(store, T0 + timedelta(hours=4))
    set_status(store, late, "resolved", T0 + timedelta(hours=5))  # 1 h over, never seen open
    recorder = Recorder()
    result = SlaMonitor(store, contracts, escalation=recorder).tick(T0 + timedelta(hours=6))
    assert result.breaches == 5  # late and old: response and resolution; recent: response
    late_row, old_row = sla_row(store, late), sla_row(store, old)
    assert late_row is not None and old_row is not None
    assert late_row.resolution_breached_at == T0 + timedelta(hours=4)
    assert [e.message for e in sla_entries(store, late)] == [
        "response breached at 09:30 UTC (responded 14:00 UTC)",
        "resolution breached at 13:00 UTC (resolved 14:00 UTC)",
    ]
    assert old_row.resolution_breached_at == T0 - timedelta(days=2)
    assert [e.message for e in sla_entries(store, old)][-1] == (
        "resolution breached at 2026-03-02 09:00 UTC"
    )
    # answered late: nothing to escalate; days old: recorded for the report, nobody paged
    assert recorder.calls == [(recent, "response_breach", "response breached at 13:30 UTC")]


def test_which_tickets_run_clocks(store: Store, contracts: Contracts) -> None:
    change = open_ticket(store, T0, kind=TicketKind.CHANGE)
    strict_request = open_ticket(store, T0, kind=TicketKind.REQUEST, tenant="strict")
    strict_incident = open_ticket(store, T0, tenant="strict")
    SlaMonitor(store, contracts).tick(T0 + timedelta(minutes=1))
    assert sla_row(store, change) is None  # changes run no clock by default
    assert sla_row(store, strict_request) is None  # strict.yaml covers incidents only
    row = sla_row(store, strict_incident)
    assert row is not None and row.contract == "strict"
    assert row.response_due == T0 + timedelta(minutes=10)


def test_no_contracts_no_work(store: Store) -> None:
    open_ticket(store, T0)
    assert SlaMonitor(store, Contracts({}, {})).tick(T0).checked == 0


def test_a_full_resync_finds_what_the_cursor_missed(store: Store, contracts: Contracts) -> None:
    monitor = SlaMonitor(store, contracts, resync=timedelta(minutes=30))
    monitor.tick(T0)
    ticket_id = open_ticket(store, T0)
    # an entry the cursor has passed (committed out of order on another backend)
    monitor._cursor = 10**9
    assert monitor.tick(T0 + timedelta(minutes=1)).checked == 0
    assert monitor.tick(T0 + timedelta(minutes=31)).checked == 1
    assert sla_row(store, ticket_id) is not None
