"""The sync against an ITSM in memory: what each timeline entry becomes, the outbox's order
per ticket through outages and refusals, replays, and the changes that flow back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from automator.itsm import (
    ItsmRejected,
    ItsmSync,
    MirrorPolicy,
    RowStatus,
    SyncPolicy,
)
from automator.store import ItsmLink, ItsmOutbox, Store, utcnow
from automator.tickets import Priority, TicketKind, TicketService, TicketStatus
from tests.unit.itsm.fake import FakeItsm

POLICY = SyncPolicy(batch=50, retry_first=10, retry_max=60)


@pytest.fixture
def itsm() -> FakeItsm:
    return FakeItsm(users={"bob@example.net"})


@pytest.fixture
def tickets(store: Store) -> TicketService:
    return TicketService(store)


def make_sync(store: Store, itsm: FakeItsm, **mirror: Any) -> ItsmSync:
    return ItsmSync(store, itsm, mirror=MirrorPolicy(**mirror), policy=POLICY)


def incident(tickets: TicketService, title: str = "disk full on web1", **fields: Any) -> int:
    return tickets.open(kind=TicketKind.INCIDENT, title=title, actor="alice", **fields)


def rows(store: Store) -> list[ItsmOutbox]:
    with store.session() as session:
        return list(session.scalars(select(ItsmOutbox).order_by(ItsmOutbox.id)))


def entry_kinds(tickets: TicketService, ticket_id: int) -> list[str]:
    return [entry.kind for entry in tickets.get(ticket_id).entries]


def test_every_change_is_mirrored_in_order(store, tickets, itsm):
    ticket = incident(tickets, priority=Priority.P1, tenant="acme")
    tickets.acknowledge(ticket, "alice")
    tickets.comment(ticket, "alice", "looking at it")
    tickets.assign(ticket, "bob@example.net", "alice")
    tickets.add_entry(ticket, "run", "automator", "run #3 ok: 1 changed")
    tickets.resolve(ticket, "bob", "disk cleaned")
    tickets.close(ticket, "bob", "confirmed")

    result = make_sync(store, itsm).tick()

    assert (result.queued, result.sent, result.rejected, result.error) == (7, 7, 0, None)
    assert itsm.writes() == [
        ("create", f"[automator #{ticket}]"),
        ("status", "100", "acknowledged"),
        ("comment", "100", "looking at it"),
        ("assign", "100", "bob@example.net"),
        ("comment", "100", "[run] run #3 ok: 1 changed"),
        ("status", "100", "resolved"),
        ("close", "100"),
    ]
    issue = itsm.issues["100"]
    assert (issue.kind, issue.priority, issue.status, issue.assignee) == (
        "incident",
        "P1",
        "closed",
        "bob@example.net",
    )
    # each note names who wrote it in automator and the entry it comes from
    assert issue.notes[1].key.startswith("— alice · automator #")
    with store.session() as session:
        link = session.get_one(ItsmLink, (ticket, "redmine"))
        assert link.external_id == "100"
    assert {row.status for row in rows(store)} == {RowStatus.DONE.value}


def test_ticking_again_sends_nothing_twice(store, tickets, itsm):
    ticket = incident(tickets)
    tickets.comment(ticket, "alice", "first")
    sync = make_sync(store, itsm)
    sync.tick()
    again = sync.tick()
    assert (again.queued, again.sent) == (0, 0)
    tickets.comment(ticket, "alice", "second")
    assert sync.tick().sent == 1
    assert [call[2] for call in itsm.writes() if call[0] == "comment"] == ["first", "second"]
    assert len(rows(store)) == 3


def test_changes_pulled_from_the_itsm_are_never_sent_back(store, tickets, itsm):
    ticket = incident(tickets)
    sync = make_sync(store, itsm)
    sync.tick()
    tickets.comment(ticket, "redmine:Alice Ops", "fixed the mount", source="redmine")
    tickets.set_status(ticket, TicketStatus.RESOLVED, "redmine:Alice Ops", "x", source="redmine")
    assert sync.tick().queued == 0
    assert [call[0] for call in itsm.writes()] == ["create"]


def test_the_mirror_policy_chooses_tickets_by_kind_tenant_and_age(store, tickets, itsm):
    chosen = incident(tickets, tenant="acme")
    incident(tickets, tenant="globex")
    tickets.open(kind=TicketKind.REQUEST, title="new vlan", actor="alice", tenant="acme")
    make_sync(store, itsm, kinds=frozenset({"incident"}), tenants=frozenset({"acme"})).tick()
    assert itsm.writes() == [("create", f"[automator #{chosen}]")]

    later = FakeItsm()
    make_sync(store, later, since=utcnow() + timedelta(days=1)).tick()
    assert later.writes() == []


def test_only_the_chosen_kinds_become_notes(store, tickets, itsm):
    ticket = incident(tickets)
    tickets.add_entry(ticket, "run", "automator", "run #1 ok")
    tickets.add_entry(ticket, "gate", "automator", "waiting for approval")
    make_sync(store, itsm, notes=frozenset({"gate"})).tick()
    assert [call[-1] for call in itsm.writes()[1:]] == ["[gate] waiting for approval"]


def test_a_ticket_seen_first_after_it_opened_gets_its_issue_first(store, tickets, itsm):
    ticket = incident(tickets, tenant="acme")
    sync = make_sync(store, itsm, kinds=frozenset({"problem"}))
    sync.tick()  # not mirrored: nothing queued, the cursor is not moved
    sync.mirror = MirrorPolicy(kinds=frozenset({"incident"}))
    tickets.comment(ticket, "alice", "still full")
    sync.tick()
    assert [call[0] for call in itsm.writes()] == ["create", "comment"]


def test_an_outage_grows_the_outbox_and_it_drains_in_order(store, tickets, itsm):
    t0 = datetime(2030, 1, 1, tzinfo=UTC)
    first, second = incident(tickets, "one"), incident(tickets, "two")
    sync = make_sync(store, itsm)
    itsm.down = True
    result = sync.tick(t0)
    assert result.error == "the fake ITSM is down"
    assert (result.queued, result.sent) == (2, 0)
    for n in range(3):
        tickets.comment(first, "alice", f"one-{n}")
        tickets.comment(second, "alice", f"two-{n}")
    # the first ticket's create waits its backoff; the second's is tried (once) and waits too
    assert sync.tick(t0 + timedelta(seconds=1)).queued == 6
    assert sync.status(t0).pending == 8
    assert [row.attempts for row in rows(store)] == [1, 1, 0, 0, 0, 0, 0, 0]

    itsm.down = False
    assert sync.tick(t0 + timedelta(seconds=2)).sent == 0  # nothing is due yet
    assert sync.tick(t0 + timedelta(seconds=11)).sent == 8
    per_issue = {"100": [], "101": []}
    for call in itsm.writes():
        if call[0] == "comment":
            per_issue[call[1]].append(call[2])
    assert per_issue == {"100": ["one-0", "one-1", "one-2"], "101": ["two-0", "two-1", "two-2"]}
    assert sync.status(t0 + timedelta(seconds=11)).pending == 0


def test_a_row_that_waits_holds_back_the_rest_of_its_ticket_only(store, tickets, itsm):
    t0 = datetime(2030, 1, 1, tzinfo=UTC)
    first = incident(tickets, "one")
    sync = make_sync(store, itsm)
    sync.tick(t0)
    itsm.down = True
    tickets.comment(first, "alice", "a")
    sync.tick(t0)
    itsm.down = False
    tickets.comment(first, "alice", "b")
    second = incident(tickets, "two")
    sync.tick(t0 + timedelta(seconds=1))  # "a" waits until t0+10s: so does "b"
    assert [call[0] for call in itsm.writes()] == ["create", "create"]
    assert itsm.issues["101"].key == f"[automator #{second}]"
    sync.tick(t0 + timedelta(seconds=10))
    assert [call[2] for call in itsm.writes() if call[0] == "comment"] == ["a", "b"]


def test_backoff_doubles_up_to_its_limit(store, tickets, itsm):
    t0 = datetime(2030, 1, 1, tzinfo=UTC)
    incident(tickets)
    sync = make_sync(store, itsm)
    itsm.down = True
    waits = []
    now = t0
    for _ in range(5):
        sync.tick(now)
        (row,) = rows(store)
        assert row.next_attempt_at is not None
        waits.append((row.next_attempt_at - now).total_seconds())
        now = row.next_attempt_at
    assert waits == [10, 20, 40, 60, 60]
    assert "down" in (rows(store)[0].last_error or "")


def test_a_lost_answer_is_not_sent_twice(store, tickets, itsm):
    t0 = datetime(2030, 1, 1, tzinfo=UTC)
    ticket = incident(tickets)
    sync = make_sync(store, itsm)
    itsm.lose_next_answer = True  # the create lands, its answer does not
    assert sync.tick(t0).error == "the answer was lost"
    tickets.comment(ticket, "alice", "hello")
    sync.tick(t0 + timedelta(seconds=10))
    itsm.lose_next_answer = True  # the comment lands, its answer does not
    tickets.comment(ticket, "alice", "again")
    sync.tick(t0 + timedelta(seconds=10))
    sync.tick(t0 + timedelta(seconds=30))
    assert len(itsm.issues) == 1
    assert [call for call in itsm.writes() if call[0] == "comment"] == [
        ("comment", "100", "hello"),
        ("comment", "100", "again"),
    ]
    assert [row.status for row in rows(store)] == ["done"] * 3


def test_a_refusal_is_recorded_on_the_ticket_and_not_retried(store, tickets, itsm):
    t0 = datetime(2030, 1, 1, tzinfo=UTC)
    ticket = incident(tickets)
    sync = make_sync(store, itsm)
    sync.tick(t0)
    itsm.refuse["assign"] = ItsmRejected(
        "HTTP 422: Assignee is invalid", 422, ["Assignee is invalid"]
    )
    tickets.assign(ticket, "carol@example.net", "alice")
    tickets.comment(ticket, "alice", "after the assign")
    result = sync.tick(t0)
    assert (result.sent, result.rejected) == (1, 1)
    assert [call[0] for call in itsm.writes()] == ["create", "comment"]
    refusal = tickets.get(ticket).entries[-1]
    assert refusal.kind == "itsm"
    assert refusal.message == "redmine refused the assign (HTTP 422): Assignee is invalid"
    assert refusal.data["errors"] == ["Assignee is invalid"]
    later = sync.tick(t0 + timedelta(hours=1))
    assert (later.queued, later.sent, later.rejected) == (0, 0, 0)  # the itsm entry is not sent
    status = sync.status(t0)
    assert (status.rejected, status.pending) == (1, 0)
    assert status.last_error is not None and "Assignee is invalid" in status.last_error.error


def test_a_refused_create_leaves_the_ticket_unmirrored(store, tickets, itsm):
    ticket = incident(tickets)
    tickets.comment(ticket, "alice", "one")
    itsm.refuse["create"] = ItsmRejected("HTTP 422", 422, ["Subject cannot be blank"])
    result = make_sync(store, itsm).tick()
    assert (result.sent, result.rejected) == (0, 2)
    assert entry_kinds(tickets, ticket).count("itsm") == 1  # the refusal, not one per row
    assert [row.last_error for row in rows(store)][1] == (
        "the ticket has no issue: its create was refused"
    )


def test_comments_and_status_changes_made_in_the_itsm_flow_back(store, tickets, itsm):
    ticket = incident(tickets)
    sync = make_sync(store, itsm)
    sync.tick()
    itsm.change_remotely("100", 7, note="rebooted the host")
    itsm.change_remotely("100", 8, status="in_progress", same=frozenset({"in_progress"}))
    itsm.change_remotely("100", 9, note="done", status="closed", same=frozenset({"closed"}))
    assert sync.tick().pulled == 3

    got = tickets.get(ticket)
    assert got.status == "closed"
    pulled = [(e.kind, e.actor, e.message, e.data.get("source")) for e in got.entries[1:]]
    assert pulled == [
        ("comment", "redmine:Alice Ops", "rebooted the host", "redmine"),
        (
            "status",
            "redmine:Alice Ops",
            "new → in_progress: set to in_progress in redmine",
            "redmine",
        ),
        ("comment", "redmine:Alice Ops", "done", "redmine"),
        (
            "status",
            "redmine:Alice Ops",
            "in_progress → closed: set to closed in redmine",
            "redmine",
        ),
    ]
    again = sync.tick()
    assert (again.pulled, again.queued) == (0, 0)  # idempotent, and nothing echoed back
    assert [call[0] for call in itsm.writes()] == ["create"]
    with store.session() as session:
        assert session.get_one(ItsmLink, (ticket, "redmine")).last_journal_id == 9


def test_a_status_the_ticket_already_shows_as_changes_nothing(store, tickets, itsm):
    ticket = incident(tickets)
    tickets.acknowledge(ticket, "alice")
    sync = make_sync(store, itsm)
    sync.tick()
    # "In Progress" in Redmine is what acknowledged shows as: the ticket stays acknowledged
    itsm.change_remotely("100", 3, status="in_progress", same=frozenset({"acknowledged"}))
    sync.tick()
    assert tickets.get(ticket).status == "acknowledged"


def test_a_remote_change_the_ticket_cannot_take_is_recorded(store, tickets, itsm):
    ticket = incident(tickets)
    tickets.close(ticket, "alice", "gone")
    sync = make_sync(store, itsm)
    sync.tick()
    # a closed ticket may be reopened (in progress, escalated), not taken back to waiting
    itsm.change_remotely("100", 4, status="waiting_on_customer")
    assert sync.tick().pulled == 1
    last = tickets.get(ticket).entries[-1]
    assert (last.kind, last.actor) == ("itsm", "redmine:Alice Ops")
    assert "was not applied" in last.message and "closed" in last.message
    assert tickets.get(ticket).status == "closed"
