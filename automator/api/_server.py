"""Serve an app with uvicorn: quiet logs, no access log unless asked."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI


def server(
    app: FastAPI, host: str = "127.0.0.1", port: int = 8080, *, access_log: bool = False
) -> uvicorn.Server:
    """A uvicorn server for ``app``, not yet running: ``.run()`` blocks (and handles SIGINT and
    SIGTERM in the main thread); set ``.should_exit`` from another thread to stop it."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        # automator configures logging itself; uvicorn's own config would replace it.
        log_config=None,
        log_level="warning",
        access_log=access_log,
        server_header=False,
        date_header=False,
    )
    return uvicorn.Server(config)


def serve(
    app: FastAPI, host: str = "127.0.0.1", port: int = 8080, *, access_log: bool = False
) -> None:
    """Run ``app`` until interrupted."""
    server(app, host, port, access_log=access_log).run()
