"""Durable intake: ids in order, resolved linked to firing, the rule engine's queue."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Row, create_engine, text

from automator.errors import StoreError
from automator.events import (
    Event,
    EventIntake,
    EventNotFound,
    EventStatus,
    Severity,
    from_alertmanager,
)
from automator.store import Store


def event(fingerprint: str, status: str = "firing", **kwargs: object) -> Event:
    fields: dict[str, object] = {
        "source": "alertmanager",
        "fingerprint": fingerprint,
        "status": EventStatus(status),
        "name": "DiskFull",
        "host": "web1",
        "severity": Severity.WARNING,
        "labels": {"alertname": "DiskFull", "cmd": "$(reboot)"},
        "annotations": {"summary": "{{ 7*7 }}"},
        "starts_at": datetime(2026, 11, 27, 6, 0, 0, 123456, tzinfo=UTC),
        "raw": {"fingerprint": fingerprint, "nested": [1, {"a": None}]},
    }
    return Event(**(fields | kwargs))  # type: ignore[arg-type]


def test_ids_in_order_and_every_field_round_trips(store):
    intake = EventIntake(store)
    ids = intake.ingest([event("a"), event("b", host=None), event("c")])
    assert ids == sorted(ids) and len(set(ids)) == 3
    stored = {e.id: e for e in intake.undecided()}
    first = stored[ids[0]]
    assert first.fingerprint == "a"
    assert first.labels == {"alertname": "DiskFull", "cmd": "$(reboot)"}
    assert first.annotations == {"summary": "{{ 7*7 }}"}
    assert first.raw == {"fingerprint": "a", "nested": [1, {"a": None}]}
    assert first.starts_at == datetime(2026, 11, 27, 6, 0, 0, 123456, tzinfo=UTC)
    assert first.ends_at is None
    assert first.received_at is not None and first.received_at.tzinfo is not None
    assert stored[ids[1]].host is None


def test_resolved_links_to_the_latest_firing_of_its_source_and_fingerprint(store):
    intake = EventIntake(store)
    [old] = intake.ingest([event("fp")])
    [latest, other_source] = intake.ingest([event("fp"), event("fp", source="grafana")])
    [resolved, unknown] = intake.ingest([event("fp", "resolved"), event("never", "resolved")])
    links = {r.event.id: r.firing_event_id for r in intake.list_events()}
    assert links[resolved] == latest != old
    assert links[unknown] is None
    assert links[other_source] is None


def test_resolved_links_to_a_firing_event_of_the_same_call(store):
    intake = EventIntake(store)
    firing, resolved, again, resolved_again = intake.ingest(
        [event("x"), event("x", "resolved"), event("x"), event("x", "resolved")]
    )
    links = {r.event.id: r.firing_event_id for r in intake.list_events()}
    assert links[resolved] == firing
    assert links[resolved_again] == again


def test_fast_path_stores_what_sqlalchemy_would(store):
    """The SQLite fast path writes the same text as SQLAlchemy's own types would."""
    fast = EventIntake(store)
    generic = EventIntake(store)
    generic._sqlite = False  # the path every other database takes
    body = {
        "alerts": [
            {
                "status": "resolved",
                "labels": {"alertname": "A", "instance": "h:1", "x": "é ü \u2603"},
                "annotations": {"s": "t"},
                "startsAt": "2026-11-27T06:00:00.5+02:00",
                "endsAt": "2026-11-27T06:05:00Z",
                "fingerprint": "f",
            }
        ]
    }
    (one,) = from_alertmanager(body)
    [fast_id] = fast.ingest([one])
    [generic_id] = generic.ingest([one])
    columns = (
        "source, fingerprint, status, name, host, severity, labels, annotations, "
        "starts_at, ends_at, raw"
    )
    with store.engine.connect() as connection:
        fast_row, generic_row = connection.execute(
            text(f"SELECT {columns} FROM events WHERE id IN (:a, :b) ORDER BY id"),
            {"a": fast_id, "b": generic_id},
        ).all()
    # JSON is compared as data: SQLAlchemy's encoder puts spaces where orjson puts none.
    assert _as_data(fast_row) == _as_data(generic_row)
    assert fast_row.starts_at == generic_row.starts_at == "2026-11-27 04:00:00.500000"


def _as_data(row: Row[Any]) -> list[object]:
    return [json.loads(v) if isinstance(v, str) and v[:1] in "{[" else v for v in row]


def test_undecided_queue_and_decisions(store):
    intake = EventIntake(store)
    ids = intake.ingest([event(str(n)) for n in range(5)])
    assert [e.id for e in intake.undecided(limit=2)] == ids[:2]
    assert [e.id for e in intake.undecided(after_id=ids[2])] == ids[3:]
    intake.mark_decided(ids[0], {"rule": "restart-nginx", "action": "run"})
    intake.mark_many_decided({ids[1]: {"rule": None}, ids[3]: {"skipped": "throttled"}})
    assert [e.id for e in intake.undecided()] == [ids[2], ids[4]]
    decided = {r.event.id: r for r in intake.list_events()}
    assert decided[ids[0]].decision == {"rule": "restart-nginx", "action": "run"}
    assert decided[ids[0]].decided_at is not None
    with pytest.raises(EventNotFound, match="event #999999 does not exist"):
        intake.mark_decided(999999, {})


def test_list_events_filters_newest_first(store):
    intake = EventIntake(store)
    a, b = intake.ingest([event("a", host="web1"), event("b", host="web2", source="zabbix")])
    assert [r.event.id for r in intake.list_events()] == [b, a]
    assert [r.event.id for r in intake.list_events(host="web1")] == [a]
    assert [r.event.id for r in intake.list_events(source="zabbix")] == [b]
    assert [r.event.id for r in intake.list_events(limit=1)] == [b]
    future = datetime.now(UTC) + timedelta(minutes=1)
    assert intake.list_events(since=future) == []
    assert len(intake.list_events(since=future - timedelta(hours=1))) == 2


def test_a_store_that_cannot_write_is_a_store_error_and_keeps_nothing(store):
    intake = EventIntake(store)
    with store.engine.begin() as connection:
        connection.execute(text("DROP TABLE events"))
    with pytest.raises(StoreError, match="cannot store 1 events: no such table: events"):
        intake.ingest([event("a")])


@pytest.mark.postgres
def test_intake_on_postgresql():
    name = f"automator_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        "postgresql+psycopg://postgres@/postgres?host=/var/run/postgresql",
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        store = Store.open(f"postgresql://postgres@/{name}?host=/var/run/postgresql")
        intake = EventIntake(store)
        ids = intake.ingest([event(str(n)) for n in range(700)])
        assert ids == sorted(ids) and len(ids) == 700
        [resolved] = intake.ingest([event("5", "resolved")])
        records = {r.event.id: r for r in intake.list_events(limit=1000)}
        assert records[resolved].firing_event_id == ids[5]
        assert records[ids[0]].event.labels["cmd"] == "$(reboot)"
        intake.mark_decided(ids[0], {"rule": "r"})
        assert intake.undecided(limit=1)[0].id == ids[1]
        store.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def test_fast_read_and_mark_paths_match_the_generic_ones(store):
    """The SQLite fast paths of undecided() and mark_many_decided() give what the
    SQLAlchemy paths (every other database) give."""
    fast = EventIntake(store)
    generic = EventIntake(store)
    generic._sqlite = False
    body = {
        "alerts": [
            {
                "status": status,
                "labels": {"alertname": "A", "host": f"h{i}", "x": "é \u2603"},
                "annotations": {"s": "$(id) {{ 7*7 }}"},
                "startsAt": "2026-11-27T06:00:00.5+02:00",
                "fingerprint": f"f{i}",
            }
            for i, status in enumerate(["firing", "firing", "resolved"])
        ]
    }
    ids = fast.ingest(from_alertmanager(body))
    assert fast.undecided() == generic.undecided()
    assert [e.id for e in fast.undecided(after_id=ids[0], limit=1)] == [ids[1]]
    fast.mark_many_decided({ids[0]: {"decisions": []}})
    generic.mark_many_decided({ids[1]: {"decisions": []}})
    assert [e.id for e in fast.undecided()] == [ids[2]] == [e.id for e in generic.undecided()]
    decided = {r.event.id: r.decision for r in fast.list_events() if r.decided_at}
    assert decided == {ids[0]: {"decisions": []}, ids[1]: {"decisions": []}}


def test_events_built_for_speed_are_whole_dataclasses(store):
    """The engine's read and the normaliser's fast path build events without the
    dataclass's __init__: each must hold exactly its fields and equal an ordinary one."""
    intake = EventIntake(store)
    intake.ingest([event(str(n)) for n in range(3)])
    names = [f.name for f in dataclasses.fields(Event)]
    built = intake.undecided() + from_alertmanager(
        {"alerts": [{"status": "firing", "labels": {"alertname": "A"}, "fingerprint": "f"}]}
    )
    for one in built:
        assert list(vars(one)) == names
        assert one == Event(**{name: getattr(one, name) for name in names})
