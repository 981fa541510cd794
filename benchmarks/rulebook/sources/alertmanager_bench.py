"""A minimal Alertmanager webhook source for ansible-rulebook, for benchmarks/events.py.

The ansible.eda collection's ``alertmanager`` source cannot be installed here (Galaxy is out of
reach), so this does what it does: an aiohttp server that takes a webhook v4 body on any path
and puts each alert of it on the rulebook's queue as ``{"alert": ..., "meta": {...}}``, then
answers 202. ansible-rulebook's queue holds one event at a time, so the answer waits until the
rule engine has taken every alert of the body (its back-pressure, as upstream).

Arguments: ``host`` (default 127.0.0.1), ``port`` (default 5000), ``token`` (a bearer token
the request must carry; none: no check; automator's hooks check one, so the benchmark does).
"""

from __future__ import annotations

import asyncio
import hmac
from typing import Any

from aiohttp import web


def _host(alert: dict[str, Any]) -> list[str]:
    """The alert's host, as upstream's ``data_host_path: labels.instance`` finds it."""
    labels = alert.get("labels") or {}
    host = labels.get("host") or labels.get("instance")
    if not isinstance(host, str) or not host:
        return []
    return [host.rsplit(":", 1)[0] if host.count(":") == 1 else host]


async def main(queue: asyncio.Queue[Any], args: dict[str, Any]) -> None:
    token = str(args["token"]).encode() if args.get("token") else None

    async def webhook(request: web.Request) -> web.Response:
        if token is not None:
            given = request.headers.get("Authorization", "").removeprefix("Bearer ").encode()
            if not hmac.compare_digest(given, token):
                return web.Response(status=401, text="not authorised")
        try:
            payload = await request.json()
        except ValueError:
            return web.Response(status=400, text="malformed JSON")
        endpoint = request.match_info["endpoint"]
        for alert in payload.get("alerts", []):
            await queue.put({"alert": alert, "meta": {"endpoint": endpoint, "hosts": _host(alert)}})
        return web.Response(status=202, text="Received")

    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_post("/{endpoint:.*}", webhook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, args.get("host", "127.0.0.1"), int(args.get("port", 5000)))
    await site.start()
    try:
        await asyncio.Future()
    finally:
        await runner.cleanup()
