"""The ticket service on a real SQLite store: the moves between statuses, the timeline entry
of every change, customer relations (ratings, analyses), and listing with filters and pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from automator.errors import TicketNotFound
from automator.store import Store, Ticket
from automator.tickets import (
    TRANSITIONS,
    Priority,
    TicketInputError,
    TicketKind,
    TicketService,
    TicketStateError,
    TicketStatus,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def tickets(store: Store, clock: Clock) -> TicketService:
    return TicketService(store, clock)


def incident(tickets: TicketService, **fields) -> int:
    values = {"kind": TicketKind.INCIDENT, "title": "disk full on web1", "actor": "checks"}
    return tickets.open(**{**values, **fields})


def last_entry(tickets: TicketService, ticket_id: int):
    return tickets.get(ticket_id).entries[-1]


# -- statuses ---------------------------------------------------------------------------------


def test_the_desk_path_records_who_when_and_why(tickets: TicketService, clock: Clock) -> None:
    ticket_id = incident(tickets)
    clock.advance(minutes=12)
    tickets.acknowledge(ticket_id, "alice", "looking at it")
    clock.advance(minutes=30)
    tickets.set_status(ticket_id, TicketStatus.IN_PROGRESS, "alice", "cleaning /var")
    clock.advance(hours=1)
    tickets.resolve(ticket_id, "alice", "old logs removed")
    clock.advance(days=2)
    tickets.close(ticket_id, "bob", "customer confirmed")

    ticket = tickets.get(ticket_id)
    assert ticket.status == "closed"
    assert ticket.created_at == T0
    assert ticket.acknowledged_at == T0 + timedelta(minutes=12)
    assert ticket.resolved_at == T0 + timedelta(minutes=102)
    assert ticket.closed_at == T0 + timedelta(days=2, minutes=102)
    story = [(e.kind, e.actor, e.message, e.data, e.at) for e in ticket.entries]
    assert story == [
        ("opened", "checks", "disk full on web1", {}, T0),
        ("status", "alice", "new → acknowledged: looking at it",
         {"from": "new", "to": "acknowledged"}, T0 + timedelta(minutes=12)),
        ("status", "alice", "acknowledged → in_progress: cleaning /var",
         {"from": "acknowledged", "to": "in_progress"}, T0 + timedelta(minutes=42)),
        ("status", "alice", "in_progress → resolved: old logs removed",
         {"from": "in_progress", "to": "resolved"}, T0 + timedelta(minutes=102)),
        ("status", "bob", "resolved → closed: customer confirmed",
         {"from": "resolved", "to": "closed"}, T0 + timedelta(days=2, minutes=102)),
    ]  # fmt: skip
    assert ticket.updated_at == ticket.closed_at


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        (["closed"], "acknowledged"),
        (["closed"], "waiting_on_customer"),
        (["closed"], "new"),
        (["acknowledged", "in_progress"], "acknowledged"),
        (["resolved"], "acknowledged"),
        (["resolved"], "waiting_on_customer"),
        (["acknowledged"], "new"),
    ],
)
def test_moves_a_service_desk_would_not_make_are_refused(
    tickets: TicketService, path: list[str], refused: str
) -> None:
    ticket_id = incident(tickets)
    for status in path:
        tickets.set_status(ticket_id, status, "alice", "step")
    before = tickets.get(ticket_id)
    with pytest.raises(TicketStateError, match=f"ticket #{ticket_id} is {path[-1]}: it cannot"):
        tickets.set_status(ticket_id, refused, "alice", "nonsense")
    after = tickets.get(ticket_id)
    assert after.status == path[-1]
    assert len(after.entries) == len(before.entries)


def test_a_refused_move_says_where_the_ticket_may_go(tickets: TicketService) -> None:
    ticket_id = incident(tickets)
    tickets.close(ticket_id, "bob", "duplicate of #1")
    with pytest.raises(TicketStateError) as caught:
        tickets.acknowledge(ticket_id, "alice")
    assert str(caught.value) == (
        f"ticket #{ticket_id} is closed: it cannot move to acknowledged "
        "(from closed it may go to in_progress, escalated)"
    )


@pytest.mark.parametrize("status", list(TicketStatus))
def test_what_automation_does_never_fails_on_a_ticket(
    tickets: TicketService, status: TicketStatus
) -> None:
    """The pipeline, the engine and the checks escalate, work on and resolve tickets in
    whatever status a person left them: none of it may raise."""
    for target in (TicketStatus.ESCALATED, TicketStatus.IN_PROGRESS, TicketStatus.RESOLVED):
        ticket_id = incident(tickets)
        if status is not TicketStatus.NEW:  # every status is one move from new
            tickets.set_status(ticket_id, status, "alice", "there")
        tickets.set_status(ticket_id, target, "pipeline", "run finished")
        stays_closed = status is TicketStatus.CLOSED and target is TicketStatus.RESOLVED
        assert tickets.get(ticket_id).status == ("closed" if stays_closed else target)


def test_every_status_may_be_left_as_the_table_says(tickets: TicketService) -> None:
    """Each allowed move works from each status (reached by an allowed path)."""
    reach = {
        "new": [],
        "acknowledged": ["acknowledged"],
        "in_progress": ["in_progress"],
        "waiting_on_customer": ["waiting_on_customer"],
        "escalated": ["escalated"],
        "resolved": ["resolved"],
        "closed": ["closed"],
    }
    for source, targets in TRANSITIONS.items():
        for target in targets:
            ticket_id = incident(tickets)
            for status in reach[source.value]:
                tickets.set_status(ticket_id, status, "alice", "on the way")
            tickets.set_status(ticket_id, target, "alice", "allowed")
            assert tickets.get(ticket_id).status == target.value
    assert set(TRANSITIONS) == set(TicketStatus)
    assert all(TicketStatus.NEW not in targets for targets in TRANSITIONS.values())


def test_reopening_a_resolved_ticket_clears_its_resolution(
    tickets: TicketService, clock: Clock
) -> None:
    ticket_id = incident(tickets)
    tickets.resolve(ticket_id, "pipeline", "fixed by restart-web")
    clock.advance(hours=2)
    tickets.set_status(ticket_id, TicketStatus.IN_PROGRESS, "carol", "the customer says no")
    assert tickets.get(ticket_id).resolved_at is None
    clock.advance(hours=1)
    tickets.resolve(ticket_id, "carol", "config fixed")
    assert tickets.get(ticket_id).resolved_at == T0 + timedelta(hours=3)


def test_reopening_a_closed_ticket_clears_its_closing(tickets: TicketService) -> None:
    ticket_id = incident(tickets)
    tickets.close(ticket_id, "bob", "no answer from the customer")
    assert tickets.get(ticket_id).closed_at is not None
    tickets.set_status(ticket_id, TicketStatus.ESCALATED, "pipeline", "approval timed out")
    ticket = tickets.get(ticket_id)
    assert (ticket.status, ticket.closed_at, ticket.resolved_at) == ("escalated", None, None)
    assert ticket.entries[-1].message == "closed → escalated: approval timed out"


def test_the_first_acknowledgement_is_kept(tickets: TicketService, clock: Clock) -> None:
    ticket_id = incident(tickets)
    clock.advance(minutes=5)
    tickets.acknowledge(ticket_id, "alice")
    clock.advance(minutes=5)
    tickets.set_status(ticket_id, TicketStatus.ESCALATED, "sla", "resolution at risk")
    clock.advance(minutes=5)
    tickets.acknowledge(ticket_id, "manager", "taking it")
    ticket = tickets.get(ticket_id)
    assert ticket.status == "acknowledged"
    assert ticket.acknowledged_at == T0 + timedelta(minutes=5)
    assert ticket.entries[-1].message == "escalated → acknowledged: taking it"


def test_the_same_status_again_and_resolving_a_closed_ticket_change_nothing(
    tickets: TicketService,
) -> None:
    ticket_id = incident(tickets)
    tickets.acknowledge(ticket_id, "alice")
    tickets.acknowledge(ticket_id, "alice")
    tickets.close(ticket_id, "alice", "done")
    tickets.resolve(ticket_id, "checks", "passes again")  # automation, late: harmless
    ticket = tickets.get(ticket_id)
    assert ticket.status == "closed"
    assert [e.kind for e in ticket.entries] == ["opened", "status", "status"]


def test_a_status_change_names_its_source(tickets: TicketService) -> None:
    ticket_id = incident(tickets)
    tickets.close(ticket_id, "jdoe (redmine)", "closed in Redmine", source="redmine")
    assert last_entry(tickets, ticket_id).data == {
        "from": "new",
        "to": "closed",
        "source": "redmine",
    }
    other = incident(tickets)
    tickets.set_status(other, "escalated", "sla", "breach", source="sla")
    assert last_entry(tickets, other).data["source"] == "sla"


def test_bad_values_are_clear_errors(tickets: TicketService) -> None:
    ticket_id = incident(tickets)
    with pytest.raises(TicketInputError, match="unknown ticket status 'done' \\(known: new, "):
        tickets.set_status(ticket_id, "done", "alice", "x")
    with pytest.raises(TicketInputError, match="why: must not be empty"):
        tickets.resolve(ticket_id, "alice", "   ")
    with pytest.raises(TicketInputError, match="comment: must not be empty"):
        tickets.comment(ticket_id, "alice", "")


@pytest.mark.parametrize(
    "call",
    [
        lambda t: t.acknowledge(999, "a"),
        lambda t: t.comment(999, "a", "hello"),
        lambda t: t.assign(999, "bob", "a"),
        lambda t: t.resolve(999, "a", "fixed"),
        lambda t: t.close(999, "a", "done"),
        lambda t: t.set_status(999, "escalated", "a", "x"),
        lambda t: t.rate(999, 5, "a"),
        lambda t: t.analyse(999, "a", "why"),
        lambda t: t.get(999),
        lambda t: t.require(999),
    ],
)
def test_a_ticket_that_does_not_exist(tickets: TicketService, call) -> None:
    with pytest.raises(TicketNotFound, match="ticket #999 does not exist"):
        call(tickets)


# -- comments and people ---------------------------------------------------------------------


def test_a_comment_returns_its_entry_and_keeps_its_source(tickets: TicketService) -> None:
    ticket_id = incident(tickets)
    mine = tickets.comment(ticket_id, "alice", "  graphs attached  ")
    pulled = tickets.comment(ticket_id, "jdoe (redmine)", "seen on our side", source="redmine")
    entries = {e.id: e for e in tickets.get(ticket_id).entries}
    assert pulled > mine
    assert (entries[mine].kind, entries[mine].message, entries[mine].data) == (
        "comment",
        "graphs attached",
        {},
    )
    assert entries[pulled].data == {"source": "redmine"}


def test_assigning_records_from_and_to(tickets: TicketService) -> None:
    ticket_id = incident(tickets, owner="alice@example.net")
    tickets.assign(ticket_id, "bob@example.net", "alice", "night shift")
    tickets.assign(ticket_id, "bob@example.net", "alice")  # already his: nothing
    tickets.assign(ticket_id, None, "bob", "back to the queue")
    ticket = tickets.get(ticket_id)
    assert ticket.owner is None
    assigned = [(e.message, e.data) for e in ticket.entries if e.kind == "assign"]
    assert assigned == [
        ("assigned to bob@example.net: night shift",
         {"from": "alice@example.net", "to": "bob@example.net"}),
        ("unassigned (was bob@example.net): back to the queue",
         {"from": "bob@example.net", "to": None}),
    ]  # fmt: skip


# -- customer relations ---------------------------------------------------------------------


def test_a_resolved_ticket_is_rated_and_may_be_rated_again(tickets: TicketService) -> None:
    ticket_id = incident(tickets)
    with pytest.raises(TicketStateError, match="is new: only a resolved or closed ticket"):
        tickets.rate(ticket_id, 4, "service-desk")
    tickets.resolve(ticket_id, "alice", "fixed")
    tickets.rate(ticket_id, 2, "service-desk", "took too long")
    tickets.close(ticket_id, "alice", "done")
    tickets.rate(ticket_id, 4, "service-desk", "the follow-up call helped")
    ticket = tickets.get(ticket_id)
    assert (ticket.satisfaction, ticket.satisfaction_note) == (4, "the follow-up call helped")
    ratings = [(e.message, e.data) for e in ticket.entries if e.kind == "rating"]
    assert ratings == [
        ("satisfaction 2/5: took too long", {"score": 2, "previous": None}),
        ("satisfaction 4/5: the follow-up call helped", {"score": 4, "previous": 2}),
    ]


@pytest.mark.parametrize("score", [0, 6, -1, True, 3.5, "5"])
def test_a_rating_is_a_whole_number_from_1_to_5(tickets: TicketService, score) -> None:
    ticket_id = incident(tickets)
    tickets.resolve(ticket_id, "alice", "fixed")
    with pytest.raises(TicketInputError, match="score: must be a whole number from 1 to 5"):
        tickets.rate(ticket_id, score, "service-desk")
    assert tickets.get(ticket_id).satisfaction is None


def test_a_complaint_takes_an_analysis(tickets: TicketService) -> None:
    complaint = tickets.open(
        kind=TicketKind.COMPLAINT,
        title="engineer arrived after 14 hours",
        actor="service-desk",
        priority=Priority.P2,
        tenant="acme",
    )
    tickets.analyse(complaint, "manager", "rota gap on a holiday")
    tickets.analyse(complaint, "manager", "rota gap on a holiday; second on-call added")
    ticket = tickets.get(complaint)
    assert ticket.analysis == "rota gap on a holiday; second on-call added"
    assert [e.message for e in ticket.entries if e.kind == "analysis"] == [
        "rota gap on a holiday",
        "rota gap on a holiday; second on-call added",
    ]
    with pytest.raises(TicketInputError, match="is a incident: only complaint and problem"):
        tickets.analyse(incident(tickets), "manager", "why")
    with pytest.raises(TicketInputError, match="analysis: must not be empty"):
        tickets.analyse(complaint, "manager", " \n")


# -- listing --------------------------------------------------------------------------------


@pytest.fixture
def desk(tickets: TicketService) -> dict[str, int]:
    """Seven tickets of two tenants, three owners, some hosts."""
    made = {
        "disk": incident(tickets, hosts=["web1"], tenant="acme", owner="alice",
                         priority=Priority.P2),
        "load": incident(tickets, title="load HIGH on web2", hosts=["web2"], tenant="acme",
                         owner="bob"),
        "patch": tickets.open(kind=TicketKind.CHANGE, title="patch web tier", actor="bob",
                              hosts=["web1", "web2"], tenant="acme", owner="bob"),
        "core": incident(tickets, title="100% cpu on sw1_core", hosts=["sw1"], tenant="globex",
                         priority=Priority.P1),
        "drill": tickets.open(kind=TicketKind.DRILL, title="failover drill", actor="carol",
                              tenant="globex", owner="carol"),
        "complaint": tickets.open(kind=TicketKind.COMPLAINT, title="slow answers", actor="desk",
                                  tenant="globex", priority=Priority.P2),
        "old": incident(tickets, title="ntp drift on web1", hosts=["web1"], tenant="acme"),
    }  # fmt: skip
    tickets.resolve(made["old"], "checks", "passes again")
    tickets.acknowledge(made["load"], "bob")
    tickets.set_status(made["core"], TicketStatus.ESCALATED, "engine", "fix failed")
    return made


def ids(found) -> list[int]:
    return [ticket.id for ticket in found]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ["old", "complaint", "drill", "core", "patch", "load", "disk"]),
        ({"status": ["new"]}, ["complaint", "drill", "patch", "disk"]),
        ({"status": ["acknowledged", "escalated"]}, ["core", "load"]),
        ({"kind": ["incident"]}, ["old", "core", "load", "disk"]),
        ({"kind": ["change", "drill"]}, ["drill", "patch"]),
        ({"priority": ["P1", "P2"]}, ["complaint", "core", "disk"]),
        ({"host": "web1"}, ["old", "patch", "disk"]),
        ({"host": "nowhere"}, []),
        ({"tenant": "globex"}, ["complaint", "drill", "core"]),
        ({"owner": "bob"}, ["patch", "load"]),
        ({"tenant": "acme", "status": ["new"]}, ["patch", "disk"]),
        ({"tenant": "acme", "host": "web2", "kind": ["incident"]}, ["load"]),
        ({"text": "web"}, ["old", "patch", "load", "disk"]),
        ({"text": "high"}, ["load"]),  # any case
        ({"text": "DRIFT"}, ["old"]),
        ({"text": "100%"}, ["core"]),  # % and _ are plain characters, not wildcards
        ({"text": "%"}, ["core"]),
        ({"text": "sw1_"}, ["core"]),
        ({"text": "w_b"}, []),
        ({"text": "web", "owner": "alice"}, ["disk"]),
    ],
)
def test_list_filters(tickets: TicketService, desk: dict[str, int], filters, expected) -> None:
    assert ids(tickets.list(**filters)) == [desk[name] for name in expected]


def test_list_pages_newest_first(tickets: TicketService, desk: dict[str, int]) -> None:
    first = tickets.list(limit=3)
    assert ids(first) == [desk["old"], desk["complaint"], desk["drill"]]
    second = tickets.list(limit=3, before_id=first[-1].id)
    assert ids(second) == [desk["core"], desk["patch"], desk["load"]]
    third = tickets.list(limit=3, before_id=second[-1].id)
    assert ids(third) == [desk["disk"]]
    assert ids(tickets.list(kind=["incident"], before_id=desk["core"])) == [
        desk["load"],
        desk["disk"],
    ]
    assert [h.host for h in tickets.list(kind=["change"])[0].hosts] == ["web1", "web2"]


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"status": ["opened"]}, "unknown ticket status 'opened'"),
        ({"kind": ["bug"]}, "unknown ticket kind 'bug'"),
        ({"priority": ["P5"]}, "unknown ticket priority 'P5'"),
        ({"limit": 0}, "limit: must be from 1 to 1000, not 0"),
        ({"limit": 1001}, "limit: must be from 1 to 1000, not 1001"),
    ],
)
def test_list_refuses_unknown_values(tickets: TicketService, filters, message) -> None:
    with pytest.raises(TicketInputError, match=message):
        tickets.list(**filters)


def test_title_search_uses_the_trigram_index_and_follows_renames(
    tickets: TicketService, store: Store
) -> None:
    first = incident(tickets, title="Kernel panic on db1")
    incident(tickets, title="disk full on web2")
    quoted = incident(tickets, title='says "hello" on sw1')
    assert [t.id for t in tickets.list(text="kernel PANIC")] == [first]
    assert [t.id for t in tickets.list(text='"hello"')] == [quoted]
    assert [t.id for t in tickets.list(text="on")] == [quoted, first + 1, first]  # 2 letters
    assert tickets.list(text="no such words") == []
    with store.session() as session:  # the index follows a title that changes
        session.get_one(Ticket, first).title = "renamed"
    assert tickets.list(text="kernel") == []
    assert [t.id for t in tickets.list(text="renamed")] == [first]
