"""Tickets mirrored both ways with a real Redmine (Debian's package, sqlite, WEBrick).

One Redmine for the session (``scripts/redmine start`` on a free port); each test gets a
project of its own, so no test sees another's issues and Redmine never restarts between
tests. The outage test stops and starts the real server in the middle.
"""

from __future__ import annotations

import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from automator.itsm import ItsmSync, RedmineAdapter, RedmineSettings, SyncPolicy
from automator.store import ItsmOutbox, Store, utcnow
from automator.tickets import Priority, TicketKind, TicketService

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "redmine"
DEVELOPER_ROLE = "Developer"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redmine_script(*args: str) -> str:
    done = subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, f"scripts/redmine {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


@dataclass
class Redmine:
    """The running server: its port, the admin's client, and a project member's."""

    port: int
    key_file: Path
    admin: httpx.Client
    member: httpx.Client
    member_id: int
    member_mail: str
    outsider_mail: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        redmine_script("stop", str(self.port))

    def start(self) -> None:
        redmine_script("start", str(self.port))


def call(client: httpx.Client, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    response = client.request(method, path, **kwargs)
    assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
    return response.json() if response.content else {}


def make_user(admin: httpx.Client, name: str) -> tuple[int, str, str]:
    """A Redmine user (id, mail, API key) with a login unique to this session."""
    login = f"{name}-{uuid.uuid4().hex[:8]}"
    user = call(
        admin,
        "POST",
        "/users.json",
        json={
            "user": {
                "login": login,
                "firstname": name.title(),
                "lastname": "Ops",
                "mail": f"{login}@example.net",
                "password": uuid.uuid4().hex,
            }
        },
    )["user"]
    return int(user["id"]), str(user["mail"]), str(user["api_key"])


@pytest.fixture(scope="session")
def redmine() -> Iterator[Redmine]:
    port = free_port()
    redmine_script("start", str(port))
    key_file = Path(redmine_script("key"))
    url = f"http://127.0.0.1:{port}"
    admin = httpx.Client(
        base_url=url, headers={"X-Redmine-API-Key": key_file.read_text().strip()}, timeout=30
    )
    member_id, member_mail, member_key = make_user(admin, "alice")
    _, outsider_mail, _ = make_user(admin, "olaf")  # in Redmine, in no project
    member = httpx.Client(base_url=url, headers={"X-Redmine-API-Key": member_key}, timeout=30)
    try:
        yield Redmine(port, key_file, admin, member, member_id, member_mail, outsider_mail)
    finally:
        admin.close()
        member.close()
        redmine_script("stop", str(port))


@pytest.fixture
def project(redmine: Redmine) -> str:
    """A fresh Redmine project with every tracker, whose member is the session's user."""
    identifier = f"t-{uuid.uuid4().hex[:12]}"
    trackers = [t["id"] for t in call(redmine.admin, "GET", "/trackers.json")["trackers"]]
    call(
        redmine.admin,
        "POST",
        "/projects.json",
        json={
            "project": {
                "name": identifier,
                "identifier": identifier,
                "tracker_ids": trackers,
                "enabled_module_names": ["issue_tracking"],
            }
        },
    )
    roles = call(redmine.admin, "GET", "/roles.json")["roles"]
    developer = next(role["id"] for role in roles if role["name"] == DEVELOPER_ROLE)
    call(
        redmine.admin,
        "POST",
        f"/projects/{identifier}/memberships.json",
        json={"membership": {"user_id": redmine.member_id, "role_ids": [developer]}},
    )
    return identifier


@pytest.fixture
def sync(redmine: Redmine, project: str, store: Store) -> Iterator[ItsmSync]:
    settings = RedmineSettings(
        url=redmine.url, project=project, api_key_file=redmine.key_file, timeout=5
    )
    adapter = RedmineAdapter(settings, settings.api_key(environ={}))
    yield ItsmSync(store, adapter, policy=SyncPolicy(batch=100, retry_first=5, retry_max=60))
    adapter.dispose()


@pytest.fixture
def tickets(store: Store) -> TicketService:
    return TicketService(store)


def issue(redmine: Redmine, sync: ItsmSync, ticket_id: int) -> dict[str, Any]:
    (link,) = [link for link in sync.links() if link.ticket_id == ticket_id]
    assert link.external_id is not None
    path = f"/issues/{link.external_id}.json"
    found: dict[str, Any] = call(redmine.admin, "GET", path, params={"include": "journals"})
    return found["issue"]


def notes(found: dict[str, Any]) -> list[str]:
    """Each journal's note without its key line."""
    return [j["notes"].split("\n\n— ")[0] for j in found["journals"] if j["notes"]]


def test_a_ticket_and_its_changes_are_mirrored(redmine, sync, tickets):
    ticket = tickets.open(
        kind=TicketKind.INCIDENT,
        title="disk full on web1",
        actor="alice",
        priority=Priority.P1,
        tenant="acme",
    )
    tickets.acknowledge(ticket, "alice")
    tickets.comment(ticket, "alice", "cleaning /var/log")
    tickets.assign(ticket, redmine.member_mail, "alice")
    tickets.assign(ticket, "nobody@example.net", "alice")
    tickets.resolve(ticket, "alice", "disk at 40%")
    tickets.close(ticket, "alice", "confirmed by the customer")

    result = sync.tick()
    assert (result.queued, result.sent, result.rejected, result.error) == (7, 7, 0, None)

    found = issue(redmine, sync, ticket)
    assert found["subject"] == f"[automator #{ticket}] disk full on web1"
    assert (found["tracker"]["name"], found["priority"]["name"]) == ("Bug", "Immediate")
    assert found["status"]["name"] == "Closed"
    assert found["assigned_to"]["id"] == redmine.member_id  # the unknown mail changed nothing
    assert "tenant acme" in found["description"]
    assert notes(found) == [
        "new → acknowledged: acknowledged",
        "cleaning /var/log",
        f"assigned to {redmine.member_mail}",
        "assigned to nobody@example.net\n"
        "(No Redmine user has the mail nobody@example.net: the assignee is unchanged.)",
        "acknowledged → resolved: disk at 40%",
        "resolved → closed: confirmed by the customer",
    ]
    statuses = [d["new_value"] for j in found["journals"] for d in j["details"]]
    assert len(statuses) == 4  # In Progress, the assignee, Resolved, Closed

    again = sync.tick()  # idempotent: nothing new to send, nothing pulled from our own notes
    assert (again.queued, again.sent, again.pulled) == (0, 0, 0)
    assert len(issue(redmine, sync, ticket)["journals"]) == 6


def test_a_comment_and_a_close_made_in_redmine_flow_back(redmine, sync, tickets):
    ticket = tickets.open(kind=TicketKind.REQUEST, title="open port 443", actor="alice")
    sync.tick()
    external = issue(redmine, sync, ticket)["id"]
    closed = next(
        s["id"]
        for s in call(redmine.admin, "GET", "/issue_statuses.json")["issue_statuses"]
        if s["name"] == "Closed"
    )
    call(redmine.member, "PUT", f"/issues/{external}.json", json={"issue": {"notes": "done in fw"}})
    call(redmine.member, "PUT", f"/issues/{external}.json", json={"issue": {"status_id": closed}})

    assert sync.tick().pulled == 2
    got = tickets.get(ticket)
    assert got.status == "closed" and got.closed_at is not None
    pulled = [(e.kind, e.actor, e.message, e.data.get("source")) for e in got.entries[1:]]
    assert pulled == [
        ("comment", "redmine:Alice Ops", "done in fw", "redmine"),
        ("status", "redmine:Alice Ops", "new → closed: set to Closed in redmine", "redmine"),
    ]

    again = sync.tick()  # pulled once; and nothing goes back to Redmine
    assert (again.pulled, again.queued, again.sent) == (0, 0, 0)
    assert len(issue(redmine, sync, ticket)["journals"]) == 2
    assert len(tickets.get(ticket).entries) == 3


def test_an_outage_in_the_middle_loses_nothing_and_duplicates_nothing(
    redmine, sync, tickets, store
):
    first = tickets.open(kind=TicketKind.INCIDENT, title="web1 down", actor="alice")
    sync.tick()
    redmine.stop()
    try:
        tickets.comment(first, "alice", "one")
        tickets.acknowledge(first, "bob")
        second = tickets.open(kind=TicketKind.INCIDENT, title="web2 down", actor="alice")
        tickets.comment(first, "alice", "two")
        tickets.comment(second, "alice", "three")
        tickets.resolve(first, "bob", "restarted")
        now = utcnow()
        down = sync.tick(now)
        assert down.error is not None and "cannot reach" in down.error
        assert (down.queued, down.sent) == (6, 0)
        assert sync.status(now).pending == 6
        assert sync.tick(now + timedelta(seconds=1)).sent == 0  # still down
    finally:
        redmine.start()

    caught_up = sync.tick(now + timedelta(minutes=5))
    assert (caught_up.sent, caught_up.rejected, caught_up.error) == (6, 0, None)
    assert notes(issue(redmine, sync, first)) == [
        "one",
        "new → acknowledged: acknowledged",
        "two",
        "acknowledged → resolved: restarted",
    ]
    assert notes(issue(redmine, sync, second)) == ["three"]
    assert issue(redmine, sync, first)["status"]["name"] == "Resolved"
    with store.session() as session:
        attempts = [row.attempts for row in session.scalars(select(ItsmOutbox))]
    assert max(attempts) == 2  # each row was tried at most once while Redmine was down

    assert sync.tick(now + timedelta(minutes=10)).sent == 0
    assert len(issue(redmine, sync, first)["journals"]) == 4


def test_an_error_answer_is_recorded_and_not_retried(redmine, sync, tickets):
    ticket = tickets.open(kind=TicketKind.CHANGE, title="new vlan", actor="alice")
    sync.tick()
    tickets.assign(ticket, redmine.outsider_mail, "alice")  # in Redmine, not in the project
    tickets.comment(ticket, "alice", "planned for tonight")

    result = sync.tick()
    assert (result.sent, result.rejected) == (1, 1)
    refusal = [e for e in tickets.get(ticket).entries if e.kind == "itsm"]
    assert len(refusal) == 1
    assert refusal[0].message == "redmine refused the assign (HTTP 422): Assignee is invalid"
    assert notes(issue(redmine, sync, ticket)) == ["planned for tonight"]
    assert sync.status().rejected == 1

    later = sync.tick(utcnow() + timedelta(hours=1))
    assert (later.sent, later.rejected, later.queued) == (0, 0, 0)
    assert len(issue(redmine, sync, ticket)["journals"]) == 1


class CountingTransport(httpx.HTTPTransport):
    """The real transport, counting the requests it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(f"{request.method} {request.url.path}")
        return super().handle_request(request)


def test_an_idle_round_asks_redmine_one_question(redmine, project, store, tickets):
    settings = RedmineSettings(url=redmine.url, project=project, api_key_file=redmine.key_file)
    transport = CountingTransport()
    sync = ItsmSync(store, RedmineAdapter(settings, settings.api_key(environ={}), transport))
    for n in range(3):
        ticket = tickets.open(kind=TicketKind.INCIDENT, title=f"t{n}", actor="alice")
        tickets.comment(ticket, "alice", "hello")
    assert sync.tick().sent == 6
    time.sleep(1.1)  # the issues' update stamps are now of a past second: settled
    sync.tick()  # reads what it could not be sure of yet
    transport.sent.clear()
    assert sync.tick().idle
    sync.dispose()
    assert transport.sent == ["GET /issues.json"]


def test_a_wrong_api_key_keeps_the_changes_waiting(redmine, project, store, tickets):
    settings = RedmineSettings(url=redmine.url, project=project)
    sync = ItsmSync(store, RedmineAdapter(settings, "0" * 40))
    tickets.open(kind=TicketKind.INCIDENT, title="disk full", actor="alice")
    result = sync.tick()
    sync.dispose()
    assert result.error is not None and "refused the API key (HTTP 401)" in result.error
    assert "0" * 40 not in result.error
    status = sync.status()
    assert (status.pending, status.rejected) == (1, 0)
