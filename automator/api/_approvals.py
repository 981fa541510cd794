"""Approve or deny a waiting change over HTTP: the same decision as ``automator approve|deny``.

``POST /api/tickets/{id}/approve`` and ``/deny`` with ``Authorization: Bearer <token>``, the
token read from ``AUTOMATOR_API_TOKEN`` (none set: every call is refused). The body names who
decides (``by``) and why (``reason``, required to deny); both go on the ticket's timeline.
Roles scoped per tenant replace the single token when the REST API arrives.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Mapping

from fastapi import APIRouter, Header, HTTPException
from pydantic import BaseModel, Field

from automator.errors import AutomatorError, TicketNotFound
from automator.jobs import Pipeline

log = logging.getLogger(__name__)
TOKEN_ENV = "AUTOMATOR_API_TOKEN"  # noqa: S105 - the name of the variable, not a secret


class Decision(BaseModel):
    by: str = Field(min_length=1, max_length=200)
    reason: str | None = Field(default=None, max_length=2000)


def approval_routes(pipeline: Pipeline, environ: Mapping[str, str] | None = None) -> APIRouter:
    token = (os.environ if environ is None else environ).get(TOKEN_ENV) or None
    router = APIRouter(prefix="/api/tickets")

    def authorise(authorization: str | None) -> None:
        given = (authorization or "").removeprefix("Bearer ").strip()
        if token is None or not hmac.compare_digest(given.encode(), token.encode()):
            log.warning(
                "approvals API: refused a call with %s credentials", "no" if not given else "wrong"
            )
            raise HTTPException(401, "a valid bearer token is required")

    @router.post("/{ticket_id}/approve", status_code=202)
    def approve(
        ticket_id: int, decision: Decision, authorization: str | None = Header(default=None)
    ) -> dict[str, object]:
        authorise(authorization)
        try:
            started = pipeline.approve(ticket_id, f"{decision.by} (api)", decision.reason)
        except TicketNotFound as exc:
            raise HTTPException(404, str(exc)) from None
        except AutomatorError as exc:
            raise HTTPException(409, str(exc)) from None
        return {"ticket": ticket_id, "approved": len(started)}

    @router.post("/{ticket_id}/deny")
    def deny(
        ticket_id: int, decision: Decision, authorization: str | None = Header(default=None)
    ) -> dict[str, object]:
        authorise(authorization)
        if not decision.reason:
            raise HTTPException(422, "reason: required to deny")
        try:
            refused = pipeline.deny(ticket_id, f"{decision.by} (api)", decision.reason)
        except TicketNotFound as exc:
            raise HTTPException(404, str(exc)) from None
        except AutomatorError as exc:
            raise HTTPException(409, str(exc)) from None
        return {"ticket": ticket_id, "denied_runs": refused}

    return router
