"""The HTTP edge: the monitoring hooks on FastAPI, served by uvicorn.

Owns the routes (``/hooks/...``, ``/healthz``), hooks.yaml (per-hook auth, limits, generic
mappings), authentication (bearer token or HMAC-SHA256 of the body) and the writer thread that
commits every accepted alert before answering. May import ``automator.events``,
``automator.store``, ``automator.config``, ``automator.errors``, and (for approvals over HTTP)
``automator.jobs``.
"""

from automator.api._app import create_app
from automator.api._approvals import approval_routes
from automator.api._auth import Credentials
from automator.api._config import (
    BUILTIN_SOURCES,
    DEFAULT_MAX_BODY_BYTES,
    HooksConfig,
    HooksConfigError,
    HookSettings,
    env_suffix,
    load_hooks_config,
)
from automator.api._server import serve, server
from automator.api._tickets import ticket_routes
from automator.api._writer import IntakeWriter, OnIngested

__all__ = [
    "BUILTIN_SOURCES",
    "DEFAULT_MAX_BODY_BYTES",
    "Credentials",
    "HookSettings",
    "HooksConfig",
    "HooksConfigError",
    "IntakeWriter",
    "OnIngested",
    "approval_routes",
    "create_app",
    "env_suffix",
    "load_hooks_config",
    "serve",
    "server",
    "ticket_routes",
]
