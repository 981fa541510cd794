#!/usr/bin/python3
"""Tiny stand-in service for lab hosts: an HTTP health endpoint and a heartbeat file.

``GET /health`` answers 200 ``ok pid=<pid> started=<epoch> mode=<mode>``, or 503 when the
configuration says ``mode=broken``. The heartbeat file ``/var/log/labsvc/heartbeat`` is rewritten
every 2 s. SIGTERM stops it cleanly.

The configuration ``/srv/labsvc/labsvc.conf`` (``key=value`` lines, keys ``port`` and ``mode``)
is read once at start: a crash is fixed by a restart, a bad configuration is not — the two
kinds of fault a remediation has to tell apart.
"""

from __future__ import annotations

import http.server
import os
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType

CONF = Path("/srv/labsvc/labsvc.conf")
LOG_DIR = Path("/var/log/labsvc")


def read_conf() -> dict[str, str]:
    conf = {"port": "8080", "mode": "normal"}
    if CONF.exists():
        for line in CONF.read_text().splitlines():
            key, sep, value = line.strip().partition("=")
            if sep:
                conf[key] = value
    return conf


class Health(http.server.BaseHTTPRequestHandler):
    conf: dict[str, str] = {}
    started = 0.0

    def do_GET(self) -> None:
        mode = self.conf["mode"]
        if self.path == "/health" and mode != "broken":
            body = f"ok pid={os.getpid()} started={self.started:.0f} mode={mode}\n".encode()
            self.send_response(200)
        else:
            body = b"unhealthy\n"
            self.send_response(503)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet: health checks would flood the daemon log."""


def heartbeat() -> None:
    while True:
        (LOG_DIR / "heartbeat").write_text(f"{time.time():.0f}\n")
        time.sleep(2)


def stop(_signum: int, _frame: FrameType | None) -> None:
    sys.exit(0)


def main() -> None:
    Health.conf = read_conf()
    Health.started = time.time()
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, stop)
    threading.Thread(target=heartbeat, daemon=True).start()
    # All addresses of the host's own network namespace, which only the lab can reach.
    address = ("0.0.0.0", int(Health.conf["port"]))  # noqa: S104
    http.server.ThreadingHTTPServer(address, Health).serve_forever()


if __name__ == "__main__":
    main()
