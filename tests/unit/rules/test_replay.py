"""Replay: reading recorded events, and decisions in time order with deadlines and batches."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from automator.errors import ProblemsError
from automator.rules import load_rulebook, read_events, replay

LINE = {
    "source": "alertmanager",
    "fingerprint": "a",
    "status": "firing",
    "name": "LabsvcDown",
    "host": "web1",
    "severity": "critical",
    "labels": {"service": "labsvc", "severity": "critical"},
    "annotations": {},
    "starts_at": "2026-11-27T10:00:00Z",
}


def recording(tmp_path, *events, extra: str = ""):
    path = tmp_path / "recorded.jsonl"
    path.write_text("\n".join(json.dumps({**LINE, **e}) for e in events) + "\n" + extra)
    return path


def test_read_events(tmp_path):
    (event,) = read_events(recording(tmp_path, {"host": None, "id": 7}))
    assert event.id == 7 and event.host is None and event.labels["service"] == "labsvc"
    assert (
        event.starts_at is not None and event.starts_at.isoformat() == "2026-11-27T10:00:00+00:00"
    )
    (numbered,) = read_events(recording(tmp_path, {}))
    assert numbered.id == 1  # the line number, when the recording has no ids


def test_every_bad_line_is_named(tmp_path):
    path = recording(
        tmp_path,
        {"status": "burning", "colour": "red"},
        {"labels": {"a": 1}, "starts_at": "yesterday"},
        {"fingerprint": "", "severity": "high", "starts_at": None},
        extra='{"not json"\n\n[1, 2]\n',
    )
    with pytest.raises(ProblemsError) as raised:
        read_events(path)
    assert [str(p).removeprefix(f"{tmp_path}/") for p in raised.value.problems] == [
        "recorded.jsonl:1: colour: unknown field (allowed: id, source, fingerprint, status, "
        "name, host, severity, labels, annotations, starts_at, ends_at, received_at)",
        "recorded.jsonl:1: status: must be one of firing, resolved",
        "recorded.jsonl:2: labels: must be an object of strings",
        "recorded.jsonl:2: starts_at: must be an RFC 3339 time with its zone, "
        "e.g. 2026-11-27T10:00:00Z",
        "recorded.jsonl:3: fingerprint: must be a non-empty string",
        "recorded.jsonl:3: severity: must be one of critical, warning, info, unknown",
        "recorded.jsonl:4: json: column 12: Expecting ':' delimiter",
        "recorded.jsonl:6: event: must be a JSON object",
    ]
    assert str(raised.value).startswith("recording has 8 problems:")


def test_a_time_is_required(tmp_path):
    with pytest.raises(ProblemsError, match="starts_at: is required"):
        read_events(recording(tmp_path, {"starts_at": None}))


def test_replay_follows_the_recorded_times(project, catalogue, tmp_path):
    (project / "remediations" / "rules.yaml").write_text(
        """\
- name: restart
  when: name == "LabsvcDown"
  action: {runbook: restart-service, vars: {service: labels.service}}
  coalesce: 5s
- name: slow
  when: name == "LabsvcSlow"
  action: {runbook: labsvc-health}
  throttle: {once_after: 2m}
"""
    )
    rulebook = load_rulebook(project / "remediations", catalogue)
    events = read_events(
        recording(
            tmp_path,
            {"fingerprint": "a"},
            {"fingerprint": "b", "host": "web2", "starts_at": "2026-11-27T10:00:02Z"},
            {"fingerprint": "s", "name": "LabsvcSlow", "starts_at": "2026-11-27T10:00:03Z"},
            # out of order in the file: the clock does not go back
            {"fingerprint": "c", "host": "web3", "starts_at": "2026-11-27T09:00:00Z"},
            {"fingerprint": "d", "starts_at": "2026-11-27T10:05:00Z"},
        )
    )
    steps = list(replay(rulebook, events))
    summary = [
        (
            step.at.strftime("%H:%M:%S"),
            step.event.fingerprint if step.event else None,
            [d.outcome.value for d in step.decisions],
            [b.hosts for b in step.batches],
        )
        for step in steps
    ]
    assert summary == [
        ("10:00:00", "a", ["run"], []),
        ("10:00:02", "b", ["run"], []),
        ("10:00:03", "s", ["waiting"], []),
        ("10:00:03", "c", ["run"], []),  # recorded earlier than the clock: decided at its time
        ("10:00:05", None, [], [("web1", "web2", "web3")]),
        ("10:02:03", None, ["run"], [("web1",)]),  # the once_after deadline, run at once
        ("10:05:00", "d", ["run"], []),
        ("10:05:05", None, [], [("web1",)]),  # the batch left open at the end
    ]
    assert steps[5].decisions[0].rule == "slow" and steps[5].decisions[0].at == steps[5].at
    assert steps[-1].batches[0].due_at - steps[-1].batches[0].opened_at == timedelta(seconds=5)
