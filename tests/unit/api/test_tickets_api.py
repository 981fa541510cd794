"""The tickets over HTTP: the same reads and changes as the CLI, behind the API's bearer
token, with JSON errors (401, 404, 409, 422)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from automator.api._tickets import ticket_routes
from automator.store import Job, Run, Store
from automator.tickets import Priority, TicketKind, TicketService

TOKEN = "tickets-token-51c2"


@pytest.fixture
def client(store: Store):
    app = FastAPI()
    app.include_router(ticket_routes(store, environ={"AUTOMATOR_API_TOKEN": TOKEN}))
    with TestClient(app) as client:
        yield client


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_ticket_is_worked_over_http(client: TestClient, store: Store) -> None:
    tickets = TicketService(store)
    ticket_id = tickets.open(
        kind=TicketKind.INCIDENT, title="disk full", actor="checks", hosts=["web1"], tenant="acme"
    )
    url = f"/api/tickets/{ticket_id}"
    answer = client.post(f"{url}/ack", headers=auth(), json={"by": "alice", "note": "on it"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "acknowledged"
    assert answer.json()["acknowledged_at"] is not None
    answer = client.post(
        f"{url}/comment",
        headers=auth(),
        json={"by": "jdoe", "text": "seen in Redmine", "source": "redmine"},
    )
    assert answer.status_code == 201
    entry = answer.json()["entry"]
    answer = client.post(f"{url}/assign", headers=auth(), json={"by": "alice", "owner": "bob"})
    assert answer.json()["owner"] == "bob"
    moved = {"by": "bob", "status": "waiting_on_customer", "why": "asked for logs"}
    assert client.post(f"{url}/status", headers=auth(), json=moved).json()["status"] == (
        "waiting_on_customer"
    )
    answer = client.post(f"{url}/resolve", headers=auth(), json={"by": "bob", "why": "cleaned"})
    assert (answer.json()["status"], answer.json()["resolved_at"] is not None) == (
        "resolved",
        True,
    )
    answer = client.post(f"{url}/rate", headers=auth(), json={"by": "desk", "score": 5})
    assert answer.json()["satisfaction"] == 5
    answer = client.post(f"{url}/close", headers=auth(), json={"by": "bob", "why": "confirmed"})
    assert answer.json()["status"] == "closed"

    detail = client.get(url, headers=auth()).json()
    assert detail["hosts"] == ["web1"] and detail["tenant"] == "acme"
    timeline = [(e["kind"], e["actor"], e["message"]) for e in detail["timeline"]]
    assert timeline[1:] == [
        ("status", "alice (api)", "new → acknowledged: on it"),
        ("comment", "jdoe (api)", "seen in Redmine"),
        ("assign", "alice (api)", "assigned to bob"),
        ("status", "bob (api)", "acknowledged → waiting_on_customer: asked for logs"),
        ("status", "bob (api)", "waiting_on_customer → resolved: cleaned"),
        ("rating", "desk (api)", "satisfaction 5/5"),
        ("status", "bob (api)", "resolved → closed: confirmed"),
    ]
    comment = next(e for e in detail["timeline"] if e["id"] == entry)
    assert comment["data"] == {"source": "redmine"}


def test_list_filters_pages_and_runs(client: TestClient, store: Store) -> None:
    tickets = TicketService(store)
    made = [
        tickets.open(
            kind=TicketKind.COMPLAINT if n == 2 else TicketKind.INCIDENT,
            title=f"ticket {n}",
            actor="checks",
            priority=Priority.P1 if n == 1 else Priority.P3,
            hosts=[f"web{n % 2}"],
            tenant="acme" if n < 2 else "globex",
            owner="bob" if n == 3 else None,
        )
        for n in range(4)
    ]
    tickets.acknowledge(made[0], "alice")

    def listed(**params) -> list[int]:
        answer = client.get("/api/tickets", headers=auth(), params=params)
        assert answer.status_code == 200, answer.text
        return [t["id"] for t in answer.json()["tickets"]]

    assert listed() == made[::-1]
    assert listed(status=["new"], tenant="acme") == [made[1]]
    assert listed(status=["new", "acknowledged"], host="web0") == [made[2], made[0]]
    assert listed(kind="complaint") == [made[2]]
    assert listed(priority="P1") == [made[1]]
    assert listed(owner="bob") == [made[3]]
    assert listed(text="TICKET 3") == [made[3]]
    page = client.get("/api/tickets", headers=auth(), params={"limit": 2}).json()
    assert page["next_before_id"] == made[2]
    rest = client.get("/api/tickets", headers=auth(), params={"limit": 2, "before_id": made[2]})
    assert [t["id"] for t in rest.json()["tickets"]] == [made[1], made[0]]
    assert rest.json()["next_before_id"] == made[0]  # a full page: there may be more
    last = client.get("/api/tickets", headers=auth(), params={"limit": 2, "before_id": made[0]})
    assert last.json() == {"tickets": [], "next_before_id": None}

    with store.session() as session:
        job = Job(kind="remediation", action="clean-tmp", requester="rule", ticket_id=made[0])
        session.add(Run(job=job, ticket_id=made[0], status="succeeded", owner="t:1"))
    [run] = client.get(f"/api/tickets/{made[0]}", headers=auth()).json()["runs"]
    assert (run["kind"], run["action"], run["status"]) == ("remediation", "clean-tmp", "succeeded")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/tickets", None),
        ("get", "/api/tickets/1", None),
        ("post", "/api/tickets/1/ack", {"by": "mallory"}),
        ("post", "/api/tickets/1/close", {"by": "mallory", "why": "x"}),
    ],
)
@pytest.mark.parametrize("headers", [{}, auth("wrong"), {"Authorization": "Basic x"}])
def test_calls_without_the_token_are_refused(
    client: TestClient, store: Store, method, path, body, headers
) -> None:
    TicketService(store).open(kind=TicketKind.INCIDENT, title="x", actor="checks")
    answer = client.request(method, path, headers=headers, json=body)
    assert answer.status_code == 401
    assert answer.json() == {"detail": "a valid bearer token is required"}
    assert TicketService(store).get(1).status == "new"


def test_no_token_configured_refuses_everything(store: Store) -> None:
    app = FastAPI()
    app.include_router(ticket_routes(store, environ={}))
    with TestClient(app) as client:
        assert client.get("/api/tickets", headers=auth("")).status_code == 401


def test_errors_are_json_with_the_right_status(client: TestClient, store: Store) -> None:
    tickets = TicketService(store)
    ticket_id = tickets.open(kind=TicketKind.INCIDENT, title="x", actor="checks")

    def post(action: str, body: dict, target: int = ticket_id):
        return client.post(f"/api/tickets/{target}/{action}", headers=auth(), json=body)

    missing = client.get("/api/tickets/999", headers=auth())
    assert (missing.status_code, missing.json()) == (404, {"detail": "ticket #999 does not exist"})
    assert post("ack", {"by": "a"}, 999).status_code == 404
    # bad input: 422
    assert post("rate", {"by": "a", "score": 6}).status_code == 422
    assert post("rate", {"by": "a", "score": "5"}).status_code == 422
    assert post("resolve", {"by": "a"}).status_code == 422
    assert post("resolve", {"by": "", "why": "x"}).status_code == 422
    assert post("status", {"by": "a", "status": "done", "why": "x"}).status_code == 422
    assert post("analysis", {"by": "a", "text": "why"}).json() == {
        "detail": f"ticket #{ticket_id} is a incident: only complaint and problem tickets take "
        "an analysis"
    }
    assert client.get("/api/tickets/abc", headers=auth()).status_code == 422
    for params in ({"status": "opened"}, {"limit": 0}, {"limit": 5000}, {"before_id": 0}):
        assert client.get("/api/tickets", headers=auth(), params=params).status_code == 422
    # a move the desk would not make, a rating too early: 409
    early = post("rate", {"by": "a", "score": 4})
    assert early.status_code == 409 and "only a resolved or closed ticket" in early.json()["detail"]
    assert post("close", {"by": "a", "why": "dup"}).status_code == 200
    refused = post("ack", {"by": "a"})
    assert refused.status_code == 409
    assert refused.json()["detail"].startswith(f"ticket #{ticket_id} is closed: it cannot move")
    assert [e.kind for e in tickets.get(ticket_id).entries] == ["opened", "status"]
