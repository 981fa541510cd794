"""The real Prometheus Alertmanager posting to automator's hook.

Alertmanager and our server both start from this process, so they share its loopback (the
machine's, or the lab controller's once the session's ``lab`` fixture has moved the process;
these tests do not need the lab). Every process and thread started here is stopped here.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import uvicorn

from automator.api import HooksConfig, create_app, server
from automator.events import EventIntake, EventRecord, EventStatus
from automator.store import Store

ALERTMANAGER = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"
TOKEN = "am-integration-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


class HooksServer:
    """Our app under uvicorn in a thread, stoppable and startable again on the same port."""

    def __init__(self, store: Store, port: int) -> None:
        environ = {"AUTOMATOR_HOOK_TOKEN_ALERTMANAGER": TOKEN}
        self.app = create_app(HooksConfig.default(), store, environ=environ)
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._server = server(self.app, "127.0.0.1", self.port)
        self._thread = threading.Thread(target=self._server.run, name="test-hooks-server")
        self._thread.start()
        wait_until(lambda: self._server is not None and self._server.started, 10, "uvicorn")

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(15)
            assert not self._thread.is_alive(), "uvicorn did not stop"
        self._server = self._thread = None


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    the_store = Store.open(f"sqlite:///{tmp_path / 'automator.db'}")
    yield the_store
    the_store.dispose()


@pytest.fixture
def hooks(store: Store) -> Iterator[HooksServer]:
    hooks_server = HooksServer(store, free_port())
    hooks_server.start()
    yield hooks_server
    hooks_server.stop()
    # The lab fixture refuses to start while any thread runs: leave none of ours behind.
    ours = ("test-hooks-server", "automator-intake", "automator-checkpoint")
    left = [t.name for t in threading.enumerate() if t.name in ours]
    assert left == [], f"threads left running: {left}"


@pytest.fixture
def alertmanager(tmp_path: Path, hooks: HooksServer) -> Iterator[str]:
    """A real Alertmanager whose one receiver is our hook, with the bearer token."""
    if not Path(ALERTMANAGER).exists():
        pytest.fail(
            "prometheus-alertmanager is not installed (apt install prometheus-alertmanager)"
        )
    port = free_port()
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        f"""\
route:
  receiver: automator
  group_by: [alertname, host]
  group_wait: 100ms
  group_interval: 100ms
  repeat_interval: 24h
receivers:
  - name: automator
    webhook_configs:
      - url: http://127.0.0.1:{hooks.port}/hooks/alertmanager
        send_resolved: true
        http_config:
          authorization:
            credentials: {TOKEN}
"""
    )
    log = (tmp_path / "alertmanager.log").open("w")
    process = subprocess.Popen(
        [
            ALERTMANAGER,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _ready(url), 15, "Alertmanager to be ready")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        log.close()


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/-/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def post_alerts(url: str, *alerts: dict[str, object]) -> None:
    answer = httpx.post(f"{url}/api/v2/alerts", json=list(alerts), timeout=5)
    assert answer.status_code == 200, answer.text


def alert(host: str, name: str = "DiskFull", ends_at: datetime | None = None) -> dict[str, object]:
    body: dict[str, object] = {
        "labels": {"alertname": name, "host": host, "severity": "critical"},
        "annotations": {"summary": f"/var is full on {host}"},
    }
    if ends_at is not None:
        body["endsAt"] = ends_at.isoformat()
    return body


def stored(store: Store, status: EventStatus | None = None) -> list[EventRecord]:
    records = EventIntake(store).list_events(limit=1000)
    return [r for r in records if status is None or r.event.status is status]


def test_firing_then_resolved_arrive_linked_by_fingerprint(alertmanager, store):
    post_alerts(alertmanager, alert("web1"))
    wait_until(lambda: stored(store, EventStatus.FIRING), 15, "the firing alert")
    (firing,) = stored(store, EventStatus.FIRING)
    assert (firing.event.name, firing.event.host) == ("DiskFull", "web1")
    assert firing.event.labels["severity"] == "critical"
    assert firing.event.raw["fingerprint"] == firing.event.fingerprint

    post_alerts(alertmanager, alert("web1", ends_at=datetime.now(UTC)))
    wait_until(lambda: stored(store, EventStatus.RESOLVED), 15, "the resolved alert")
    (resolved,) = stored(store, EventStatus.RESOLVED)
    assert resolved.event.fingerprint == firing.event.fingerprint
    assert resolved.firing_event_id == firing.event.id
    assert resolved.event.ends_at is not None


def test_alertmanager_retries_while_automator_is_down_and_nothing_is_lost(
    alertmanager, hooks, store
):
    hosts = [f"db{n}" for n in range(5)]
    hooks.stop()
    post_alerts(alertmanager, *(alert(host) for host in hosts))
    time.sleep(1.5)  # Alertmanager fails to deliver a few times meanwhile
    assert stored(store) == []
    hooks.start()
    wait_until(
        lambda: {r.event.host for r in stored(store)} == set(hosts),
        30,
        "every alert sent while automator was down",
    )
