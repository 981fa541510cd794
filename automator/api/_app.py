"""The app: the hooks (``POST /hooks/{alertmanager,zabbix,grafana}``,
``/hooks/generic/{name}``) and ``GET /healthz``.

A hook request goes: hook known? (404) → JSON content type (415) → declared length within
the limit (413) → body read, still within the limit (413) → token or signature (401, logged)
→ JSON (400) → normalised (422, with the JSON path) → committed (503 if the store cannot) →
202 with the number of alerts and their ids. Nothing is answered 2xx before it is committed.

The hooks are a bare ASGI app, and the app hands ``/hooks/...`` requests to it before
FastAPI's middleware stack and router see them: those cost more than everything else a
single-alert request does (measured on this project's machine: 395 µs a request for an empty
FastAPI route, 275 µs for bare ASGI, both under uvicorn; FastAPI 0.165 puts seven layers of
middleware in front of a mounted app: a one-alert request took 63 µs through them and the
mount, 25 µs handed over directly, commit aside). Other routes (``/healthz``, approvals,
whatever the API grows) are FastAPI's.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
import orjson
from fastapi import FastAPI, Response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import Receive, Scope, Send

from automator.api._auth import Credentials
from automator.api._config import HooksConfig, HookSettings, load_hooks_config
from automator.api._writer import IntakeWriter, OnIngested
from automator.config import Settings
from automator.errors import StoreError
from automator.events import (
    Event,
    EventIntake,
    PayloadError,
    from_alertmanager,
    from_grafana,
    from_zabbix,
)
from automator.store import Store

log = logging.getLogger("automator.api")

_NORMALISERS: dict[str, Callable[[Any], list[Event]]] = {
    "alertmanager": from_alertmanager,
    "zabbix": from_zabbix,
    "grafana": from_grafana,
}
_RETRY_AFTER_SECONDS = b"5"
_JSON = (b"content-type", b"application/json")


def create_app(
    config: Settings | HooksConfig,
    store: Store,
    on_ingested: OnIngested | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> FastAPI:
    """The app. ``config`` is a HooksConfig, or Settings whose project folder may hold
    ``hooks.yaml``. Secrets are read from ``environ`` (default: the process environment) now.
    ``on_ingested(ids)`` is called on the writer thread after each commit, before the senders
    are answered: keep it quick (wake the rule engine, do not decide)."""
    hooks_config = (
        config
        if isinstance(config, HooksConfig)
        else load_hooks_config(config.project_dir / "hooks.yaml")
    )
    env = os.environ if environ is None else environ
    hooks = {source: _Hook(settings, env) for source, settings in hooks_config.hooks.items()}
    for hook in hooks.values():
        creds = hook.credentials
        if not creds.open and creds.token is None and creds.hmac_key is None:
            log.warning("hook %s refuses every request: %s", hook.source, creds.unconfigured)
    writer = IntakeWriter(EventIntake(store), on_ingested)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        writer.stop()

    hooks_app = HooksApp(hooks, writer)
    app = _App(hooks_app, title="automator", lifespan=lifespan)
    app.mount("/hooks", hooks_app)  # what the shortcut does not take (a root_path) goes here

    async def healthz() -> Response:
        """200 when the store answers, else 503 (for load balancers and monitoring)."""
        try:
            await anyio.to_thread.run_sync(_ping, store)
        except SQLAlchemyError as exc:
            log.error("healthz: the store does not answer: %s", exc)
            return Response(b'{"status":"store unavailable"}', 503, media_type="application/json")
        return Response(b'{"status":"ok"}', 200, media_type="application/json")

    app.add_api_route("/healthz", healthz, methods=["GET"])
    return app


class _App(FastAPI):
    """FastAPI, with ``/hooks/...`` served straight by the hooks app (the module docstring
    says why), with the ``root_path`` FastAPI's mount would set: all the hooks app reads."""

    def __init__(self, hooks: HooksApp, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._hooks = hooks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and not scope.get("root_path")
            and scope["path"].startswith("/hooks/")
        ):
            await self._hooks({**scope, "root_path": "/hooks"}, receive, send)
            return
        await super().__call__(scope, receive, send)


class _Hook:
    """One hook as served: its credentials, body limit and normaliser."""

    def __init__(self, settings: HookSettings, environ: Mapping[str, str]) -> None:
        self.source = settings.source
        self.max_body_bytes = settings.max_body_bytes
        self.credentials = Credentials.for_hook(settings, environ)
        mapping = settings.mapping
        self.normalise = mapping.normalise if mapping else _NORMALISERS[settings.source]


class _Refused(Exception):
    """Ends a request with an error answer; ``detail`` goes into the JSON body."""

    def __init__(self, status: int, error: str, **detail: Any) -> None:
        self.status = status
        self.error = error
        self.detail = detail


class _ClientGone(Exception):
    """The client disconnected before its body was read: nobody to answer."""


class HooksApp:
    """``/hooks/<source>`` as bare ASGI (see the module docstring for why)."""

    def __init__(self, hooks: Mapping[str, _Hook], writer: IntakeWriter) -> None:
        self.hooks = hooks
        self.writer = writer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        root = scope.get("root_path", "")
        path: str = scope["path"]
        source = path[len(root) :].strip("/") if path.startswith(root) else path
        extra: list[tuple[bytes, bytes]] = []
        try:
            status, answer = await self._handle(scope, receive, source)
        except _ClientGone:
            return
        except _Refused as refused:
            status, answer = refused.status, {"error": refused.error, **refused.detail}
            if status == 401:
                extra.append((b"www-authenticate", b"Bearer"))
            elif status == 405:
                extra.append((b"allow", b"POST"))
        except StoreError as exc:
            log.error("hook %s: answered 503, the store refused: %s", source, exc)
            status, answer = 503, {"error": "the store cannot take alerts now; send them again"}
            extra.append((b"retry-after", _RETRY_AFTER_SECONDS))
        body = orjson.dumps(answer)
        headers = [_JSON, (b"content-length", str(len(body)).encode()), *extra]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _handle(
        self, scope: Scope, receive: Receive, source: str
    ) -> tuple[int, dict[str, Any]]:
        hook = self.hooks.get(source)
        if hook is None:
            raise _Refused(404, f"no hook named {source[:100]!r}")
        if scope["method"] != "POST":
            raise _Refused(405, "hooks take POST")
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        media_type = headers.get("content-type", "").partition(";")[0].strip().lower()
        if media_type != "application/json" and not media_type.endswith("+json"):
            raise _Refused(415, "the body must be JSON (Content-Type: application/json)")
        limit = hook.max_body_bytes
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                raise _Refused(400, "Content-Length is not a number")
            if int(declared) > limit:
                raise _Refused(413, f"the body is over the limit of {limit} bytes")
        credentials = hook.credentials
        body = await _read_body(receive, limit) if credentials.needs_body else b""
        reason = credentials.check(headers, body)
        if reason is not None:
            client = scope.get("client")
            log.warning("hook %s: 401 for %s: %s", source, client[0] if client else "?", reason)
            raise _Refused(401, "not authorised")
        if not credentials.needs_body:
            body = await _read_body(receive, limit)
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise _Refused(400, f"malformed JSON: {exc}") from None
        try:
            events = hook.normalise(document)
        except PayloadError as exc:
            log.info("hook %s: 422 at %s", source, exc.path)
            raise _Refused(422, str(exc), path=exc.path) from None
        ids = await self.writer.submit(events)
        if not ids:
            return 202, {"accepted": 0}
        return 202, {"accepted": len(ids), "first_id": ids[0], "last_id": ids[-1]}


async def _read_body(receive: Receive, limit: int) -> bytes:
    """The body, refused (413) as soon as it grows over ``limit`` (a body sent without a
    Content-Length, or longer than it said)."""
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _Refused(413, f"the body is over the limit of {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _ping(store: Store) -> None:
    """Reach the events table itself: a database that answers but lost it is not healthy."""
    with store.engine.connect() as connection:
        connection.execute(text("SELECT 1 FROM events LIMIT 1"))
