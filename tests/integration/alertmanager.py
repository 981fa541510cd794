"""The real Prometheus Alertmanager for integration tests, and our server beside it."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

import yaml
from fastapi import FastAPI

from automator.api import server

BINARY = "/usr/bin/prometheus-alertmanager"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_server(app: FastAPI) -> Iterator[int]:
    """Our app on a free loopback port, in a thread; yields the port."""
    port = free_port()
    uvicorn_server = server(app, "127.0.0.1", port)
    thread = threading.Thread(target=uvicorn_server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uvicorn_server.started:
        if time.monotonic() > deadline:
            raise TimeoutError("the API server did not start")
        time.sleep(0.02)
    try:
        yield port
    finally:
        uvicorn_server.should_exit = True
        thread.join(10)


@contextlib.contextmanager
def running_alertmanager(workdir: Path, webhook_url: str, token: str) -> Iterator[str]:
    """Alertmanager posting every alert on its own (group_by ...) to ``webhook_url`` with a
    bearer token, fast group timers; yields its base URL."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = {
        "route": {
            "receiver": "automator",
            "group_by": ["..."],
            "group_wait": "100ms",
            "group_interval": "100ms",
            "repeat_interval": "1h",
        },
        "receivers": [
            {
                "name": "automator",
                "webhook_configs": [
                    {
                        "url": webhook_url,
                        "send_resolved": True,
                        "http_config": {"authorization": {"type": "Bearer", "credentials": token}},
                    }
                ],
            }
        ],
    }
    (workdir / "alertmanager.yml").write_text(yaml.safe_dump(config))
    log = (workdir / "alertmanager.log").open("w")
    process = subprocess.Popen(
        [
            BINARY,
            f"--config.file={workdir / 'alertmanager.yml'}",
            f"--storage.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(10)
        log.close()


def fire(url: str, labels: Mapping[str, str], resolved: bool = False) -> None:
    """Post one alert to Alertmanager, firing or (with an end time now) resolved."""
    fire_many(url, [labels], resolved)


def fire_many(url: str, alerts: list[Mapping[str, str]], resolved: bool = False) -> None:
    """Post alerts (label sets) to Alertmanager in one request."""
    ends = {"endsAt": datetime.now(UTC).isoformat()} if resolved else {}
    body = [
        {"labels": dict(labels), "annotations": {"summary": "from the test"}, **ends}
        for labels in alerts
    ]
    request = urllib.request.Request(
        f"{url}/api/v2/alerts",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200


def _wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"alertmanager exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError("alertmanager did not become ready")
