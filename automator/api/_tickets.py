"""The tickets over HTTP: the same reads and changes as ``automator tickets``.

::

    GET  /api/tickets?status=&kind=&priority=&host=&tenant=&owner=&text=&before_id=&limit=
    GET  /api/tickets/{id}                     with hosts, timeline and runs
    POST /api/tickets/{id}/ack                 {"by", "note"?}
    POST /api/tickets/{id}/comment             {"by", "text", "source"?}        201
    POST /api/tickets/{id}/assign              {"by", "owner" (null: nobody), "why"?}
    POST /api/tickets/{id}/status              {"by", "status", "why"}
    POST /api/tickets/{id}/resolve | close     {"by", "why"}
    POST /api/tickets/{id}/rate                {"by", "score" 1-5, "note"?}
    POST /api/tickets/{id}/analysis            {"by", "text"}

Every call needs ``Authorization: Bearer <token>``, the token of the approvals API
(``AUTOMATOR_API_TOKEN``; none set: every call is refused with 401). Errors are JSON
``{"detail": ...}``: 404 a ticket that does not exist, 422 bad input, 409 a move the service
desk would not make (closed → acknowledged, a rating before the ticket is resolved), 503
the store cannot be reached. The actor on the timeline is ``<by> (api)``.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query
from pydantic import BaseModel, Field

from automator.api._approvals import TOKEN_ENV
from automator.errors import StoreError, TicketNotFound
from automator.store import Store, Ticket
from automator.tickets import (
    MAX_LIST,
    TicketInputError,
    TicketService,
    TicketStateError,
    TicketStatus,
)

log = logging.getLogger(__name__)

By = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(min_length=1, max_length=20_000)]
Auth = Annotated[str | None, Header()]


class Ack(BaseModel):
    by: By
    note: Text | None = None


class Comment(BaseModel):
    by: By
    text: Text
    source: Annotated[str, Field(min_length=1, max_length=50)] | None = None


class Assign(BaseModel):
    by: By
    owner: Annotated[str, Field(max_length=200)] | None
    why: Text | None = None


class Move(BaseModel):
    by: By
    status: TicketStatus
    why: Text


class Reason(BaseModel):
    by: By
    why: Text


class Rating(BaseModel):
    by: By
    score: Annotated[int, Field(ge=1, le=5, strict=True)]
    note: Text | None = None


class Analysis(BaseModel):
    by: By
    text: Text


def ticket_routes(store: Store, environ: Mapping[str, str] | None = None) -> APIRouter:
    """The routes under ``/api/tickets``; the token is read from ``environ`` (default: the
    process environment) now."""
    token = (os.environ if environ is None else environ).get(TOKEN_ENV) or None
    service = TicketService(store)
    router = APIRouter(prefix="/api/tickets")

    def authorise(authorization: str | None) -> None:
        given = (authorization or "").removeprefix("Bearer ").strip()
        if token is None or not hmac.compare_digest(given.encode(), token.encode()):
            log.warning(
                "tickets API: refused a call with %s credentials", "no" if not given else "wrong"
            )
            raise HTTPException(401, "a valid bearer token is required")

    @router.get("")
    def list_tickets(
        authorization: Auth = None,
        status: Annotated[list[str], Query()] = [],  # noqa: B006 - FastAPI copies defaults
        kind: Annotated[list[str], Query()] = [],  # noqa: B006
        priority: Annotated[list[str], Query()] = [],  # noqa: B006
        host: str | None = None,
        tenant: str | None = None,
        owner: str | None = None,
        text: str | None = None,
        before_id: Annotated[int | None, Query(ge=1)] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIST)] = 50,
    ) -> dict[str, Any]:
        authorise(authorization)
        with _answers():
            found = service.list(
                status=status,
                kind=kind,
                priority=priority,
                host=host,
                tenant=tenant,
                owner=owner,
                text=text,
                before_id=before_id,
                limit=limit,
            )
        return {
            "tickets": [_summary(ticket) for ticket in found],
            "next_before_id": found[-1].id if len(found) == limit else None,
        }

    @router.get("/{ticket_id}")
    def show(ticket_id: int, authorization: Auth = None) -> dict[str, Any]:
        authorise(authorization)
        with _answers():
            return _detail(service.get(ticket_id))

    def change(
        ticket_id: int, authorization: str | None, act: Callable[[], object]
    ) -> dict[str, Any]:
        authorise(authorization)
        with _answers():
            act()
            return _summary(service.get(ticket_id))

    @router.post("/{ticket_id}/ack")
    def ack(ticket_id: int, body: Ack, authorization: Auth = None) -> dict[str, Any]:
        return change(
            ticket_id,
            authorization,
            lambda: service.acknowledge(ticket_id, _actor(body.by), body.note),
        )

    @router.post("/{ticket_id}/comment", status_code=201)
    def comment(ticket_id: int, body: Comment, authorization: Auth = None) -> dict[str, Any]:
        authorise(authorization)
        with _answers():
            entry = service.comment(ticket_id, _actor(body.by), body.text, body.source)
        return {"ticket": ticket_id, "entry": entry}

    @router.post("/{ticket_id}/assign")
    def assign(ticket_id: int, body: Assign, authorization: Auth = None) -> dict[str, Any]:
        return change(
            ticket_id,
            authorization,
            lambda: service.assign(ticket_id, body.owner, _actor(body.by), body.why),
        )

    @router.post("/{ticket_id}/status")
    def status_(ticket_id: int, body: Move, authorization: Auth = None) -> dict[str, Any]:
        return change(
            ticket_id,
            authorization,
            lambda: service.set_status(ticket_id, body.status, _actor(body.by), body.why),
        )

    @router.post("/{ticket_id}/resolve")
    def resolve(ticket_id: int, body: Reason, authorization: Auth = None) -> dict[str, Any]:
        return change(
            ticket_id, authorization, lambda: service.resolve(ticket_id, _actor(body.by), body.why)
        )

    @router.post("/{ticket_id}/close")
    def close(ticket_id: int, body: Reason, authorization: Auth = None) -> dict[str, Any]:
        return change(
            ticket_id, authorization, lambda: service.close(ticket_id, _actor(body.by), body.why)
        )

    @router.post("/{ticket_id}/rate")
    def rate(ticket_id: int, body: Rating, authorization: Auth = None) -> dict[str, Any]:
        return change(
            ticket_id,
            authorization,
            lambda: service.rate(ticket_id, body.score, _actor(body.by), body.note),
        )

    @router.post("/{ticket_id}/analysis")
    def analysis(ticket_id: int, body: Analysis, authorization: Auth = None) -> dict[str, Any]:
        return change(
            ticket_id, authorization, lambda: service.analyse(ticket_id, _actor(body.by), body.text)
        )

    return router


@contextmanager
def _answers() -> Iterator[None]:
    """The service's errors as HTTP answers."""
    try:
        yield
    except TicketNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except TicketInputError as exc:
        raise HTTPException(422, str(exc)) from None
    except TicketStateError as exc:
        raise HTTPException(409, str(exc)) from None
    except StoreError as exc:
        log.warning("tickets API: %s", exc)
        raise HTTPException(503, "the store cannot be reached; try again") from None


def _actor(by: str) -> str:
    return f"{by} (api)"


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _summary(ticket: Ticket) -> dict[str, Any]:
    return {
        "id": ticket.id,
        "kind": ticket.kind,
        "status": ticket.status,
        "priority": ticket.priority,
        "title": ticket.title,
        "owner": ticket.owner,
        "tenant": ticket.tenant,
        "opened_by": ticket.opened_by,
        "hosts": [row.host for row in ticket.hosts],
        "contract": ticket.contract,
        "created_at": _when(ticket.created_at),
        "updated_at": _when(ticket.updated_at),
        "acknowledged_at": _when(ticket.acknowledged_at),
        "resolved_at": _when(ticket.resolved_at),
        "closed_at": _when(ticket.closed_at),
        "satisfaction": ticket.satisfaction,
        "satisfaction_note": ticket.satisfaction_note,
        "analysis": ticket.analysis,
    }


def _detail(ticket: Ticket) -> dict[str, Any]:
    return {
        **_summary(ticket),
        "timeline": [
            {
                "id": entry.id,
                "at": _when(entry.at),
                "kind": entry.kind,
                "actor": entry.actor,
                "message": entry.message,
                "data": entry.data,
                "run_id": entry.run_id,
            }
            for entry in ticket.entries
        ],
        "runs": [
            {
                "id": run.id,
                "job_id": run.job_id,
                "kind": run.job.kind,
                "action": run.job.action,
                "status": run.status,
                "created_at": _when(run.created_at),
                "finished_at": _when(run.finished_at),
                "counts": run.counts,
                "error": run.error,
            }
            for run in ticket.runs
        ],
    }
