"""Escalation: which chain, which level, who is told when, what counts as an answer, and the
escalations the timeline asks for (a failed remediation, a complaint), each started once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from automator.notify import (
    Escalator,
    HostFacts,
    acknowledge_escalation,
    acknowledged,
    build_channels,
)
from automator.sla import Contracts
from automator.store import Notification, Store, Ticket, TimelineEntry
from automator.tickets import Priority, TicketKind, TicketService, TicketStatus

T0 = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)


def hosts(names: Sequence[str]) -> HostFacts:
    """The inventory's answer: sw1 is in dc1 (owned by net@), web1 in dc2."""
    sites = {"sw1": "dc1", "web1": "dc2"}
    owners = {"sw1": "net@example.net", "web1": "web@example.net"}
    return HostFacts(
        frozenset(sites[n] for n in names if n in sites),
        tuple(owners[n] for n in names if n in owners),
    )


@pytest.fixture
def escalator(store: Store, contracts: Contracts) -> Escalator:
    return Escalator(store, contracts, build_channels(contracts), hosts)


def open_ticket(
    store: Store,
    priority: Priority = Priority.P1,
    host: str = "sw1",
    kind: TicketKind = TicketKind.INCIDENT,
    owner: str | None = None,
    tenant: str | None = None,
) -> int:
    return TicketService(store).open(
        kind=kind,
        title="uplink down",
        actor="test",
        priority=priority,
        hosts=[host],
        owner=owner,
        tenant=tenant,
    )


def escalate(escalator: Escalator, ticket_id: int, reason: str, now: datetime) -> list[int]:
    with escalator.store.session() as session:
        ticket = session.scalar(
            select(Ticket).where(Ticket.id == ticket_id).options(selectinload(Ticket.hosts))
        )
        assert ticket is not None
        return escalator.escalate(session, ticket, reason, now, "resolution breached at 13:00")


def rows(store: Store, ticket_id: int) -> list[Notification]:
    with store.session() as session:
        return list(
            session.scalars(
                select(Notification)
                .where(Notification.ticket_id == ticket_id)
                .order_by(Notification.id)
            )
        )


def entries(store: Store, ticket_id: int, kind: str = "notification") -> list[TimelineEntry]:
    with store.session() as session:
        return list(
            session.scalars(
                select(TimelineEntry)
                .where(TimelineEntry.ticket_id == ticket_id, TimelineEntry.kind == kind)
                .order_by(TimelineEntry.id)
            )
        )


def test_every_level_is_queued_at_its_time(store: Store, escalator: Escalator) -> None:
    ticket_id = open_ticket(store)
    queued = escalate(escalator, ticket_id, "resolution_breach", T0)
    found = rows(store, ticket_id)
    assert [row.id for row in found] == queued
    plan = [(r.level, r.channel, r.target, r.next_attempt_at) for r in found]
    assert plan == [
        (1, "mail", "net@example.net", T0),  # the owner: the host's owner in the inventory
        (2, "mail", "noc@example.net", T0 + timedelta(minutes=15)),
        (2, "chat", "U0NOC", T0 + timedelta(minutes=15)),
        (3, "mail", "boss@example.net", T0 + timedelta(minutes=45)),
    ]
    first = found[0]
    assert first.subject == "[resolution SLA breached] #1 P1 uplink down"
    assert "Why: resolution SLA breached: resolution breached at 13:00" in first.body
    assert "Escalation level 1 of 3 (default contract)." in first.body
    assert "level 2 is notified at 09:15 UTC" in first.body
    assert "automator sla ack 1" in first.body
    assert all(row.status == "pending" and row.reason == "resolution_breach" for row in found)
    messages = [entry.message for entry in entries(store, ticket_id)]
    assert messages == [
        "resolution SLA breached: level 1 of 3: net@example.net by mail",
        "resolution SLA breached: level 2 of 3: noc@example.net by mail, U0NOC by chat "
        "at 09:15 UTC unless someone acknowledges",
        "resolution SLA breached: level 3 of 3: boss@example.net by mail "
        "at 09:45 UTC unless someone acknowledges",
    ]
    assert entries(store, ticket_id)[0].data["chain"] == "dc1-major"


def test_the_chain_follows_site_priority_and_kind(store: Store, escalator: Escalator) -> None:
    other_site = open_ticket(store, host="web1", owner="boss")
    escalate(escalator, other_site, "response_warning", T0)
    assert [(r.level, r.target) for r in rows(store, other_site)] == [
        (1, "boss@example.net"),  # the owner named by a people key
        (2, "boss@example.net"),
    ]
    complaint = open_ticket(store, Priority.P3, kind=TicketKind.COMPLAINT, tenant="acme")
    escalate(escalator, complaint, "complaint", T0)  # acme has no chains: default's
    assert [(r.level, r.target) for r in rows(store, complaint)] == [
        (1, "care@example.net"),
        (2, "boss@example.net"),
    ]


def test_a_level_with_nobody_is_skipped_at_once(store: Store, escalator: Escalator) -> None:
    ticket_id = open_ticket(store, Priority.P2, host="nowhere")  # no owner known
    escalate(escalator, ticket_id, "response_breach", T0)
    assert [(r.level, r.target, r.next_attempt_at) for r in rows(store, ticket_id)] == [
        (2, "boss@example.net", T0)
    ]
    assert "nobody to notify (no owner)" in entries(store, ticket_id)[0].message


def test_no_chain_is_recorded(store: Store, contracts: Contracts) -> None:
    contracts.contracts["default"] = contracts.contracts["default"].__class__(
        **{**contracts.contracts["default"].__dict__, "chains": (), "complaints": None}
    )
    escalator = Escalator(store, contracts, build_channels(contracts), hosts)
    ticket_id = open_ticket(store)
    assert escalate(escalator, ticket_id, "response_breach", T0) == []
    assert entries(store, ticket_id)[0].message == (
        "response SLA breached: nobody notified (no chain for dc1, P1)"
    )


def test_what_counts_as_an_answer(store: Store) -> None:
    service = TicketService(store)
    ticket_id = open_ticket(store)

    def answer(since: datetime) -> str | None:
        with store.session() as session:
            ticket = session.get(Ticket, ticket_id)
            assert ticket is not None
            return acknowledged(session, ticket, since)

    since = datetime.now(UTC) - timedelta(seconds=1)
    # automator's own entries are no answer, nor a person escalating further
    service.set_status(ticket_id, TicketStatus.IN_PROGRESS, "automator", "running the fix")
    service.add_entry(ticket_id, "sla", "sla", "response breached", {"event": "breach"})
    service.set_status(ticket_id, TicketStatus.ESCALATED, "ann", "needs the vendor")
    assert answer(since) is None
    service.add_entry(ticket_id, "comment", "bob", "on it")
    assert answer(since) == "comment by bob"
    assert answer(datetime.now(UTC) + timedelta(seconds=5)) is None
    service.set_status(ticket_id, TicketStatus.RESOLVED, "automator", "fixed")
    assert answer(datetime.now(UTC) + timedelta(seconds=5)) == "ticket resolved"


def test_an_unanswered_escalation_goes_on_from_its_level(
    store: Store, escalator: Escalator
) -> None:
    ticket_id = open_ticket(store)
    escalate(escalator, ticket_id, "response_warning", T0)
    with store.session() as session:  # level 1 went out, level 2 is being retried
        for row in session.scalars(select(Notification).where(Notification.level <= 2)):
            row.attempts = 1
            row.status = "sent" if row.level == 1 else "pending"
    escalate(escalator, ticket_id, "response_breach", T0 + timedelta(minutes=20))
    found = rows(store, ticket_id)
    old = [(r.level, r.status) for r in found if r.reason == "response_warning"]
    assert old == [(1, "sent"), (2, "pending"), (2, "pending"), (3, "cancelled")]
    new = [(r.level, r.next_attempt_at) for r in found if r.reason == "response_breach"]
    later = T0 + timedelta(minutes=20)
    assert new == [(2, later), (2, later), (3, later + timedelta(minutes=30))]
    assert "1 queued notification(s) of the response SLA warning escalation cancelled" in (
        entries(store, ticket_id)[3].message
    )
    # once someone answers, the next escalation starts with the first level again
    acknowledge_escalation(store, ticket_id, "carol", "looking", datetime.now(UTC))
    escalate(escalator, ticket_id, "resolution_warning", datetime.now(UTC) + timedelta(hours=1))
    fresh = [r.level for r in rows(store, ticket_id) if r.reason == "resolution_warning"]
    assert fresh == [1, 2, 2, 3]


def test_acknowledging_cancels_what_is_queued(store: Store, escalator: Escalator) -> None:
    ticket_id = open_ticket(store)
    escalate(escalator, ticket_id, "response_breach", T0)
    assert acknowledge_escalation(store, ticket_id, "carol", None, T0 + timedelta(minutes=1)) == 4
    assert {row.status for row in rows(store, ticket_id)} == {"cancelled"}
    assert entries(store, ticket_id, "sla")[-1].message == "escalation acknowledged"
    assert entries(store, ticket_id)[-1].message == (
        "4 queued notification(s) cancelled: acknowledged by carol"
    )


def test_the_timeline_asks_for_escalations_once(store: Store, escalator: Escalator) -> None:
    service = TicketService(store)
    before = open_ticket(store, Priority.P2, host="web1")
    service.set_status(before, TicketStatus.ESCALATED, "automator", "not fixed on web1")
    now = datetime.now(UTC)
    assert escalator.tick(now) == 1  # the first tick catches up on the last day
    assert escalator.tick(now) == 0

    failed = open_ticket(store, Priority.P2, host="web1")
    service.set_status(failed, TicketStatus.IN_PROGRESS, "automator", "running the fix")
    service.set_status(failed, TicketStatus.ESCALATED, "automator", "not fixed on web1")
    complaint = open_ticket(store, Priority.P3, kind=TicketKind.COMPLAINT)
    assert escalator.tick(now) == 2
    assert escalator.tick(now) == 0
    assert {r.reason for r in rows(store, failed)} == {"remediation_failed"}
    assert {r.reason for r in rows(store, complaint)} == {"complaint"}
    assert "a fix did not work: the ticket is escalated" in rows(store, failed)[0].body
    # a restarted escalator repeats nothing
    again = Escalator(store, escalator.contracts, escalator.channels, hosts)
    assert again.tick(now) == 0
    assert len(rows(store, before)) == 2
