"""Generic JSON sources read through a field mapping."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from automator.events import EventStatus, FieldPath, GenericMapping, PayloadError, Severity


def mapping(**kwargs: object) -> GenericMapping:
    paths = {"status": "/heartbeat/status", "alert_name": "monitor.name"} | kwargs
    fields = {
        key: FieldPath.parse(value) if isinstance(value, str) else value
        for key, value in paths.items()
    }
    return GenericMapping(name="kuma", **fields)  # type: ignore[arg-type]


KUMA = {
    "heartbeats": [
        {
            "heartbeat": {"status": 0, "time": 1764223200},
            "monitor": {"id": 17, "name": "shop", "hostname": "web3", "tags": {"team": "blue"}},
            "msg": {"text": "timeout"},
        },
        {
            "heartbeat": {"status": 1, "time": "2026-11-27T06:05:00Z"},
            "monitor": {"id": 17, "name": "shop", "hostname": "web3", "tags": {}},
            "msg": {"text": "up"},
        },
    ]
}


def test_a_batch_through_a_full_mapping():
    full = mapping(
        alerts="/heartbeats",
        fingerprint="monitor.id",
        host="/monitor/hostname",
        labels="monitor.tags",
        annotations="msg",
        starts_at="heartbeat.time",
        status_map={"0": EventStatus.FIRING, "1": EventStatus.RESOLVED},
        severity=FieldPath.parse("/heartbeat/status"),
        severity_map={"0": Severity.CRITICAL},
    )
    down, up = full.normalise(KUMA)
    assert down.source == "generic/kuma"
    assert (down.fingerprint, down.status, down.name, down.host) == ("17", "firing", "shop", "web3")
    assert down.severity is Severity.CRITICAL
    assert down.labels == {"team": "blue"}
    assert down.annotations == {"text": "timeout"}
    assert down.starts_at == datetime(2025, 11, 27, 6, 0, tzinfo=UTC)
    assert (up.status, up.severity, up.fingerprint) == ("resolved", Severity.UNKNOWN, "17")
    assert up.starts_at == datetime(2026, 11, 27, 6, 5, tzinfo=UTC)


def test_a_single_alert_body_and_a_computed_fingerprint():
    body = {"heartbeat": {"status": "firing"}, "monitor": {"name": "disk"}}
    (event,) = mapping().normalise(body)
    assert event.status is EventStatus.FIRING
    assert len(event.fingerprint) == 32
    assert mapping().normalise(body)[0].fingerprint == event.fingerprint


@pytest.mark.parametrize(
    ("path", "steps"),
    [("/a/b~1c/0", ("a", "b/c", "0")), ("a.b.0", ("a", "b", "0")), ("/", ())],
)
def test_paths(path, steps):
    assert FieldPath.parse(path).steps == steps


@pytest.mark.parametrize("path", ["", "a..b", "/a//b"])
def test_bad_paths(path):
    with pytest.raises(ValueError, match="empty"):
        FieldPath.parse(path)


@pytest.mark.parametrize(
    ("body", "path", "reason"),
    [
        ({"heartbeats": {}}, "heartbeats", "must be a JSON array"),
        ({}, "heartbeats", "is required"),
        ({"heartbeats": [{"monitor": {"name": "n"}}]}, "heartbeats[0].heartbeat", "is required"),
        (
            {"heartbeats": [{"heartbeat": {"status": "odd"}, "monitor": {"name": "n"}}]},
            "heartbeats[0].heartbeat.status",
            "'odd' is neither firing nor resolved",
        ),
        (
            {"heartbeats": [{"heartbeat": {"status": [1]}, "monitor": {"name": "n"}}]},
            "heartbeats[0].heartbeat.status",
            "must be a string, a number or a boolean",
        ),
        (
            {"heartbeats": [{"heartbeat": {"status": "firing"}, "monitor": {"name": 5}}]},
            "heartbeats[0].monitor.name",
            "must be a string",
        ),
        (
            {"heartbeats": [{"heartbeat": {"status": "firing"}, "monitor": ["x"]}]},
            "heartbeats[0].monitor.name",
            "is required",
        ),
    ],
)
def test_generic_payload_errors_name_the_json_path(body, path, reason):
    with pytest.raises(PayloadError) as caught:
        mapping(alerts="heartbeats").normalise(body)
    assert caught.value.path == path
    assert reason in caught.value.reason
