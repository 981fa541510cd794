"""Helpers shared by the rules tests: a project on disk, events, a clock that tests move."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from automator.events import Event, EventStatus, Severity

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)

PROJECT_FILES = {
    "runbooks/restart-service.yaml": """\
description: Restart a service on servers and check it runs
task: playbook
playbook: service-restart.yml
params:
  service: {type: str, required: true, pattern: "^[a-zA-Z0-9_.@-]{1,64}$"}
""",
    "runbooks/tune.yaml": """\
description: Every parameter type
task: playbook
playbook: tune.yml
params:
  note: {type: str}
  count: {type: int}
  force: {type: bool}
  mode: {type: choice, choices: [fast, safe], default: safe}
""",
    "playbooks/service-restart.yml": "- name: Restart a service\n  hosts: all\n",
    "playbooks/tune.yml": "- name: Tune\n  hosts: all\n",
    "playbooks/labsvc-health.yml": "- name: Lab service health\n  hosts: all\n",
}


def make_project(root: Path) -> Path:
    for name, text in PROJECT_FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / "remediations").mkdir(exist_ok=True)
    return root


class FakeClock:
    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def event(
    fingerprint: str = "fp1",
    host: str | None = "web1",
    status: str = "firing",
    name: str = "LabsvcDown",
    source: str = "alertmanager",
    severity: str = "critical",
    event_id: int | None = 1,
    **labels: Any,
) -> Event:
    base = {"alertname": name, "site": "dc1", "service": "labsvc", "severity": severity}
    base.update(labels)
    return Event(
        source=source,
        fingerprint=fingerprint,
        status=EventStatus(status),
        name=name,
        host=host,
        severity=Severity(severity),
        labels={k: v for k, v in base.items() if v is not None},
        annotations={"summary": "labsvc is down"},
        starts_at=T0,
        id=event_id,
    )
