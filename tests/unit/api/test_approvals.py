"""Approve and deny over HTTP: the same decisions as the CLI, behind a bearer token."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from automator.api import approval_routes
from automator.guardrails import GuardrailPolicy
from automator.inventory import Host
from automator.jobs import JobKind, JobSpec, Pipeline, RunStatus
from automator.runbooks import Catalogue
from automator.runners import HostResult, Outcome, RunContext, RunReport
from automator.tickets import TicketService

TOKEN = "approvals-token-9f8e"


class _Changed:
    def run(self, hosts: Sequence[Host], context: RunContext) -> RunReport:
        return RunReport({h.name: HostResult(h.name, Outcome.CHANGED) for h in hosts})


@pytest.fixture
def setup(tmp_path: Path, store, small_inventory):
    runbooks = tmp_path / "runbooks"
    runbooks.mkdir()
    (runbooks / "fix.yaml").write_text("task: commands\nchanges: true\ncommands: {server: [x]}\n")
    pipeline = Pipeline(
        store,
        small_inventory,
        Catalogue(runbooks, tmp_path / "p"),
        tmp_path / "artifacts",
        runner_for=lambda action, inv: _Changed(),
    )
    app = FastAPI()
    app.include_router(approval_routes(pipeline, environ={"AUTOMATOR_API_TOKEN": TOKEN}))
    waiting = pipeline.run(
        JobSpec(
            kind=JobKind.REMEDIATION,
            action="fix",
            requester="rule",
            limit="web1",
            policy=GuardrailPolicy(approval=True),
        )
    )
    assert waiting.status is RunStatus.WAITING
    with TestClient(app) as client:
        yield client, pipeline, waiting


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_approve_over_http_runs_the_change(setup):
    client, pipeline, waiting = setup
    answer = client.post(
        f"/api/tickets/{waiting.ticket_id}/approve",
        headers=auth(),
        json={"by": "carol", "reason": "change board ok"},
    )
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"ticket": waiting.ticket_id, "approved": 1}
    pipeline.executor.shutdown()  # wait for the approved run
    ticket = TicketService(pipeline.store).get(waiting.ticket_id)
    assert "run #1 approved: change board ok" in [e.message for e in ticket.entries]
    assert any(e.actor == "carol (api)" for e in ticket.entries)
    assert ticket.runs[0].status == "succeeded"
    again = client.post(
        f"/api/tickets/{waiting.ticket_id}/approve", headers=auth(), json={"by": "carol"}
    )
    assert again.status_code == 409


def test_deny_needs_a_reason_and_refuses_the_change(setup):
    client, pipeline, waiting = setup
    url = f"/api/tickets/{waiting.ticket_id}/deny"
    assert client.post(url, headers=auth(), json={"by": "dan"}).status_code == 422
    answer = client.post(url, headers=auth(), json={"by": "dan", "reason": "freeze"})
    assert answer.json() == {"ticket": waiting.ticket_id, "denied_runs": [waiting.run_id]}
    ticket = TicketService(pipeline.store).get(waiting.ticket_id)
    assert ticket.runs[0].status == "blocked"


@pytest.mark.parametrize("headers", [{}, auth("wrong"), {"Authorization": "Basic x"}])
def test_calls_without_the_token_are_refused(setup, headers):
    client, _, waiting = setup
    answer = client.post(
        f"/api/tickets/{waiting.ticket_id}/approve", headers=headers, json={"by": "mallory"}
    )
    assert answer.status_code == 401


def test_unknown_ticket_and_bad_bodies(setup):
    client, _, _ = setup
    assert (
        client.post("/api/tickets/999/approve", headers=auth(), json={"by": "x"}).status_code == 404
    )
    assert client.post("/api/tickets/1/approve", headers=auth(), json={}).status_code == 422
    assert (
        client.post("/api/tickets/abc/approve", headers=auth(), json={"by": "x"}).status_code == 422
    )
