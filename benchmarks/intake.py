"""Alerts accepted durably per second over real HTTP, and webhook latency.

    .venv/bin/python benchmarks/intake.py [--seconds 10] [--runs 100x4,1x16@2500] [--db URL]

The hooks app runs under uvicorn in its own process (as ``automator serve`` would) on
loopback, with the default store (SQLite, WAL) in a temporary folder. This process plays
Alertmanager: a few keep-alive connections, each posting webhook v4 bodies one after another
(half firing, half resolving the same alerts, so resolved ones are linked), first with 100
alerts per body, then with 1. The client speaks raw HTTP/1.1 so that it costs little of the
machine's two cores. At the end every accepted alert is counted in the database.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson

TOKEN = "bench-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_server(db_url: str, port: int) -> None:
    from automator.api import HooksConfig, create_app, serve
    from automator.store import Store

    store = Store.open(db_url)
    environ = {"AUTOMATOR_HOOK_TOKEN_ALERTMANAGER": TOKEN}
    serve(create_app(HooksConfig.default(), store, environ=environ), "127.0.0.1", port)


def bodies(alerts_per_body: int, count: int, offset: int) -> list[bytes]:
    """``count`` bodies in rounds of 50 firing bodies, then 50 resolving the same alerts."""
    result = []
    for index in range(count):
        round_, position = divmod(index, 100)
        group = offset + round_ * 50 + position % 50
        status = "firing" if position < 50 else "resolved"
        alerts = [
            {
                "status": status,
                "labels": {
                    "alertname": "HighCPU",
                    "instance": f"web{group}-{n}:9100",
                    "job": "node",
                    "severity": "critical",
                },
                "annotations": {"summary": f"CPU above 90% on web{group}-{n} for 5 minutes"},
                "startsAt": "2026-11-27T06:00:00.123456789Z",
                "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-11-27T06:05:00Z",
                "generatorURL": "http://prometheus:9090/graph?g0.expr=cpu",
                "fingerprint": f"{group:08x}{n:08x}",
            }
            for n in range(alerts_per_body)
        ]
        body = {
            "version": "4",
            "status": status,
            "receiver": "automator",
            "groupKey": f'{{}}:{{alertname="HighCPU", group="{group}"}}',
            "truncatedAlerts": 0,
            "groupLabels": {"alertname": "HighCPU"},
            "commonLabels": {"alertname": "HighCPU", "job": "node"},
            "commonAnnotations": {},
            "externalURL": "http://alertmanager:9093",
            "alerts": alerts,
        }
        result.append(orjson.dumps(body))
    return result


def request(port: int, body: bytes) -> bytes:
    head = (
        "POST /hooks/alertmanager HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        "Content-Type: application/json\r\n"
        f"Authorization: Bearer {TOKEN}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def connection(
    port: int,
    requests: list[bytes],
    deadline: float,
    latencies: list[float],
    interval: float | None,
) -> int:
    """Send requests one after another until ``deadline``: back to back, or one every
    ``interval`` seconds. Latency runs from when a request was due, so a slow answer that
    delays the next request is counted against the server, not hidden."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    sent = 0
    due = time.perf_counter()
    try:
        while due < deadline:
            if interval is not None:
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
            else:
                due = time.perf_counter()
            writer.write(requests[sent % len(requests)])
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - due)
            if b" 202 " not in status_line:
                raise SystemExit(f"unexpected answer: {status_line!r}")
            sent += 1
            if interval is not None:
                due += interval
    finally:
        writer.close()
    return sent


async def scenario(
    port: int, alerts_per_body: int, seconds: float, connections: int, rate: float | None
) -> dict[str, float]:
    """One run; ``rate`` (alerts/s, spread over the connections) or as fast as answered."""
    per_connection = 400
    latencies: list[float] = []
    interval = None if rate is None else connections * alerts_per_body / rate
    began = time.perf_counter()
    deadline = began + seconds
    sent = await asyncio.gather(
        *(
            connection(
                port,
                [
                    request(port, body)
                    for body in bodies(
                        alerts_per_body, per_connection, (n + 1) * 10_000_000 + int(began)
                    )
                ],
                deadline,
                latencies,
                interval,
            )
            for n in range(connections)
        )
    )
    elapsed = time.perf_counter() - began
    latencies.sort()
    total = sum(sent) * alerts_per_body
    return {
        "alerts_per_body": alerts_per_body,
        "connections": connections,
        "offered": rate or 0,
        "requests": sum(sent),
        "alerts": total,
        "alerts_per_s": total / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


def wait_for(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the server did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per run")
    parser.add_argument(
        "--runs",
        default="100x4,100x4@10000,1x16,1x16@2500",
        help="runs as ALERTS_PER_BODYxCONNECTIONS[@ALERTS_PER_SECOND]; without a rate, as "
        "fast as the server answers",
    )
    parser.add_argument("--db", help="database URL (default: SQLite in a temporary folder)")
    args = parser.parse_args()
    runs = []
    for spec in args.runs.split(","):
        shape, _, rate = spec.partition("@")
        size, _, connections = shape.partition("x")
        runs.append((int(size), int(connections), float(rate) if rate else None))
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    with tempfile.TemporaryDirectory() as tmp:
        db_url = args.db or f"sqlite:///{tmp}/automator.db"
        port = free_port()
        server = multiprocessing.get_context("spawn").Process(
            target=run_server, args=(db_url, port), daemon=True
        )
        server.start()
        try:
            wait_for(port)
            results = [
                asyncio.run(scenario(port, size, args.seconds, connections, rate))
                for size, connections, rate in runs
            ]
        finally:
            server.terminate()
            server.join(10)
        from sqlalchemy import create_engine, text

        engine = create_engine(db_url)
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT count(*) FROM events")).scalar()
            linked = conn.execute(
                text("SELECT count(*) FROM events WHERE firing_event_id IS NOT NULL")
            ).scalar()
        engine.dispose()
    try:
        import httptools  # noqa: F401

        parser_name = "httptools"
    except ImportError:
        parser_name = "h11"
    print(f"cpus: {os.cpu_count()}  http parser: {parser_name}  database: {args.db or 'SQLite'}")
    print("| alerts/body | connections | offered alerts/s | alerts/s | p50 ms | p99 ms |")
    print("|---|---|---|---|---|---|")
    for r in results:
        offered = f"{r['offered']:,.0f}" if r["offered"] else "as fast as answered"
        print(
            f"| {r['alerts_per_body']} | {r['connections']} | {offered} "
            f"| {r['alerts_per_s']:,.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} |"
        )
    accepted = sum(r["alerts"] for r in results)
    print(f"accepted {accepted} alerts, stored {stored} ({linked} resolved linked to firing)")
    return 0 if stored == accepted else 1


if __name__ == "__main__":
    sys.exit(main())
