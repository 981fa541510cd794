"""Durable intake: events are committed to the store before any sender hears "accepted".

Built for the request path: SQLAlchemy Core, one multi-row INSERT per request (no ORM object
per alert), one indexed query to link resolved events to their firing ones.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Row, bindparam, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from automator.errors import StoreError
from automator.events._errors import EventNotFound
from automator.events._model import Event, EventStatus, Severity, built_event
from automator.store import Base, Store, utcnow

# Bound parameters per IN (...) list: under every backend's limit.
_CHUNK = 500
# Rows per INSERT on SQLite: 13 values each, well under its 32,766 parameters.
_SQLITE_ROWS = 500
_COLUMNS = (
    "source",
    "fingerprint",
    "status",
    "name",
    "host",
    "severity",
    "labels",
    "annotations",
    "starts_at",
    "ends_at",
    "received_at",
    "firing_event_id",
    "raw",
)


_SQLITE_UNDECIDED = (
    "SELECT id, source, fingerprint, status, name, host, severity, labels, annotations, "
    "starts_at, ends_at, received_at, {raw} FROM events "
    "WHERE decided_at IS NULL AND id > ? ORDER BY id LIMIT ?"
)
_SQLITE_UNDECIDED_RAW = _SQLITE_UNDECIDED.format(raw="raw")
_SQLITE_UNDECIDED_BARE = _SQLITE_UNDECIDED.format(raw="NULL")
_SQLITE_DECIDE = "UPDATE events SET decided_at = ?, decision = ? WHERE id = ?"
_STATUS = {status.value: status for status in EventStatus}
_SEVERITY = {severity.value: severity for severity in Severity}


@dataclass(frozen=True)
class EventRecord:
    """A stored event with what the store knows beyond the event itself."""

    event: Event
    firing_event_id: int | None
    decided_at: datetime | None
    decision: Mapping[str, Any] | None


class EventIntake:
    """The ``events`` table: ingest, the rule engine's queue of undecided events, listing."""

    def __init__(self, store: Store) -> None:
        self.store = store
        table = self._table = Base.metadata.tables["events"]
        # Statements are built once: building one per request cost a third of a small
        # request's time (SQLAlchemy's cache key and coercions).
        self._sqlite = store.dialect == "sqlite"
        self._sqlite_inserts: dict[int, str] = {}
        self._insert_statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        self._latest_firing_statement = (
            select(table.c.fingerprint, func.max(table.c.id))
            .where(
                table.c.source == bindparam("source"),
                table.c.fingerprint.in_(bindparam("fingerprints", expanding=True)),
                table.c.status == EventStatus.FIRING.value,
            )
            .group_by(table.c.fingerprint)
        )
        self._link_statement = (
            update(table)
            .where(table.c.id == bindparam("event_id"))
            .values(firing_event_id=bindparam("firing"))
        )
        self._decide_statement = (
            update(table)
            .where(table.c.id == bindparam("event_id"))
            .values(decided_at=bindparam("at"), decision=bindparam("what"))
        )

    def ingest(self, events: Sequence[Event], connection: Connection | None = None) -> list[int]:
        """Store ``events`` in one transaction and return their ids, in order. A resolved
        event is linked to the latest firing event of its source and fingerprint, stored
        before or earlier in ``events``. Raises StoreError when nothing was stored.

        ``connection`` is one the caller keeps open between calls (the hooks' writer does:
        taking one from the pool costs as much as writing a small request)."""
        if not events:
            return []
        received_at = utcnow()
        try:
            if connection is None:
                with self.store.engine.connect() as own:
                    return self._ingest(own, events, received_at)
            return self._ingest(connection, events, received_at)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot store {len(events)} events: {_reason(exc)}") from None

    def _ingest(
        self, connection: Connection, events: Sequence[Event], received_at: datetime
    ) -> list[int]:
        with connection.begin():
            firing = self._latest_firing(connection, events)
            if self._sqlite:
                ids = self._insert_sqlite(connection, events, received_at, firing)
            else:
                rows = [_row(event, received_at, firing) for event in events]
                ids = list(connection.scalars(self._insert_statement, rows))
            self._link_within(connection, events, ids)
        return ids

    def undecided(self, after_id: int = 0, limit: int = 1000, *, raw: bool = True) -> list[Event]:
        """Events no rule decision has been recorded for, oldest first, with ids > after_id.
        ``raw=False`` leaves each event's ``raw`` empty: the rule engine's read, since rules
        see only the normalised fields (reading and decoding the sender's whole alert again
        was a fifth of the read)."""
        if self._sqlite:
            return self._undecided_sqlite(after_id, limit, raw)
        table = self._table
        columns = table.c if raw else [c for c in table.c if c.name != "raw"]
        query = (
            select(*columns)
            .where(table.c.decided_at.is_(None), table.c.id > after_id)
            .order_by(table.c.id)
            .limit(limit)
        )
        return [_event(row, raw) for row in self._rows(query)]

    def mark_decided(self, event_id: int, decision: Mapping[str, Any]) -> None:
        """Record the rule engine's decision on one event."""
        self.mark_many_decided({event_id: decision})

    def mark_many_decided(
        self,
        decisions: Mapping[int, Mapping[str, Any]],
        connection: Connection | None = None,
    ) -> None:
        """Record decisions on many events in one transaction (the engine decides in batches,
        and one commit per event would cap it at the disk's pace). ``connection``: a
        transaction the caller has begun and commits (the engine's, which holds the rule
        state its decisions changed); without it, one of its own."""
        if not decisions:
            return
        try:
            if connection is not None:
                self._mark_decided(connection, decisions, utcnow())
                return
            with self.store.engine.connect() as own, own.begin():
                self._mark_decided(own, decisions, utcnow())
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot record decisions: {_reason(exc)}") from None

    def _undecided_sqlite(self, after_id: int, limit: int, raw: bool) -> list[Event]:
        """The rule engine's read on the default store, as plain SQL on the driver's
        connection: SQLAlchemy's row and type processing cost more than the rest (measured
        here: about 30 µs an event through SQLAlchemy, 12 µs this way)."""
        try:
            with self.store.engine.connect() as connection:
                driver = connection.connection.driver_connection
                sql = _SQLITE_UNDECIDED_RAW if raw else _SQLITE_UNDECIDED_BARE
                rows: Sequence[Sequence[Any]] = (
                    driver.execute(sql, (after_id, limit)).fetchall()
                    if isinstance(driver, sqlite3.Connection)  # the standard driver: no Rows
                    else connection.exec_driver_sql(sql, (after_id, limit)).all()
                )
        except (SQLAlchemyError, sqlite3.Error) as exc:
            raise StoreError(f"cannot read events: {_reason(exc)}") from None
        return list(_decode_sqlite(rows))

    def _mark_decided(
        self, connection: Connection, decisions: Mapping[int, Mapping[str, Any]], at: datetime
    ) -> None:
        if self._sqlite:
            self._mark_decided_sqlite(connection, decisions, at)
            return
        params = [
            {"event_id": event_id, "at": at, "what": dict(decision)}
            for event_id, decision in decisions.items()
        ]
        self._require(connection, list(decisions))
        connection.execute(self._decide_statement, params)

    def _mark_decided_sqlite(
        self, connection: Connection, decisions: Mapping[int, Mapping[str, Any]], at: datetime
    ) -> None:
        """``_mark_decided`` on the default store: the values already in the form
        SQLAlchemy's types would store (as ``_insert_sqlite`` does), and the check that every
        event exists read from the count of rows updated (one query instead of two)."""
        stamp = _sqlite_time(at)
        dumps = orjson.dumps
        params = [
            (stamp, dumps(dict(decision)).decode(), event_id)
            for event_id, decision in decisions.items()
        ]
        updated = connection.exec_driver_sql(_SQLITE_DECIDE, params).rowcount
        if updated != len(params):
            self._require(connection, list(decisions))  # raises: nothing is kept

    def _require(self, connection: Connection, ids: list[int]) -> None:
        """Raise EventNotFound for the first of ``ids`` not in the table."""
        table = self._table
        found: set[int] = set()
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            found.update(connection.scalars(select(table.c.id).where(table.c.id.in_(chunk))))
        missing = sorted(set(ids) - found)
        if missing:
            raise EventNotFound(missing[0])

    def list_events(
        self,
        since: datetime | None = None,
        host: str | None = None,
        source: str | None = None,
        limit: int = 50,
    ) -> list[EventRecord]:
        """Stored events, newest first."""
        table = self._table
        query = select(table).order_by(table.c.id.desc()).limit(limit)
        if since is not None:
            query = query.where(table.c.received_at >= since)
        if host is not None:
            query = query.where(table.c.host == host)
        if source is not None:
            query = query.where(table.c.source == source)
        return [
            EventRecord(
                event=_event(row),
                firing_event_id=row.firing_event_id,
                decided_at=row.decided_at,
                decision=row.decision,
            )
            for row in self._rows(query)
        ]

    def _rows(self, query: Any) -> list[Row[Any]]:
        try:
            with self.store.engine.connect() as connection:
                return list(connection.execute(query))
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read events: {_reason(exc)}") from None

    def _latest_firing(
        self, connection: Connection, events: Sequence[Event]
    ) -> dict[tuple[str, str], int]:
        """(source, fingerprint) → id of the latest stored firing event, for the resolved
        events among ``events``."""
        wanted: dict[str, set[str]] = {}
        for event in events:
            if event.status is EventStatus.RESOLVED:
                wanted.setdefault(event.source, set()).add(event.fingerprint)
        found: dict[tuple[str, str], int] = {}
        for source, fingerprints in wanted.items():
            for chunk in _chunks(sorted(fingerprints)):
                params = {"source": source, "fingerprints": chunk}
                for fingerprint, event_id in connection.execute(
                    self._latest_firing_statement, params
                ):
                    found[source, fingerprint] = event_id
        return found

    def _insert_sqlite(
        self,
        connection: Connection,
        events: Sequence[Event],
        received_at: datetime,
        firing: Mapping[tuple[str, str], int],
    ) -> list[int]:
        """The default store's fast path: multi-row INSERTs with the values already in the
        form SQLAlchemy's types would store (JSON text, UTC times as SQLite text), which
        spares its per-value processing: 40 % of the writer's time, measured. SQLite gives
        rowids in VALUES order, so the sorted RETURNING ids are the events' ids in order.
        ``test_fast_path_stores_what_sqlalchemy_would`` keeps the two forms equal."""
        stamp = _sqlite_time(received_at)
        # the alerts of one group often start together: each distinct time is formatted once
        times: dict[datetime | None, str | None] = {None: None}

        def when(value: datetime | None) -> str | None:
            text_ = times.get(value)
            if text_ is None and value is not None:
                text_ = times[value] = _sqlite_time(value)
            return text_

        ids: list[int] = []
        for start in range(0, len(events), _SQLITE_ROWS):
            chunk = events[start : start + _SQLITE_ROWS]
            params: list[Any] = []
            for event in chunk:
                resolved = event.status is EventStatus.RESOLVED
                key = (event.source, event.fingerprint)
                params += (
                    event.source,
                    event.fingerprint,
                    event.status.value,
                    event.name,
                    event.host,
                    event.severity.value,
                    orjson.dumps(event.labels).decode(),
                    orjson.dumps(event.annotations).decode(),
                    when(event.starts_at),
                    when(event.ends_at),
                    stamp,
                    firing.get(key) if resolved else None,
                    orjson.dumps(event.raw).decode(),
                )
            result = connection.exec_driver_sql(self._sqlite_insert(len(chunk)), tuple(params))
            ids += sorted(row[0] for row in result)
        return ids

    def _sqlite_insert(self, rows: int) -> str:
        sql = self._sqlite_inserts.get(rows)
        if sql is None:
            values = ",".join([f"({','.join('?' * len(_COLUMNS))})"] * rows)
            # Only constant column names and placeholders: every value is a bound parameter.
            columns = ",".join(_COLUMNS)
            sql = f"INSERT INTO events ({columns}) VALUES {values} RETURNING id"  # noqa: S608
            self._sqlite_inserts[rows] = sql
        return sql

    def _link_within(self, connection: Connection, events: Sequence[Event], ids: list[int]) -> None:
        """Link resolved events to firing ones stored in the same call (rare: only a source
        that batches a problem and its recovery together)."""
        if not any(event.status is EventStatus.RESOLVED for event in events):
            return
        latest: dict[tuple[str, str], int] = {}
        links = []
        for event, event_id in zip(events, ids, strict=True):
            key = (event.source, event.fingerprint)
            if event.status is EventStatus.FIRING:
                latest[key] = event_id
            elif key in latest:
                links.append({"event_id": event_id, "firing": latest[key]})
        if links:
            connection.execute(self._link_statement, links)


def _row(
    event: Event, received_at: datetime, firing: Mapping[tuple[str, str], int]
) -> dict[str, Any]:
    resolved = event.status is EventStatus.RESOLVED
    return {
        "source": event.source,
        "fingerprint": event.fingerprint,
        "status": event.status.value,
        "name": event.name,
        "host": event.host,
        "severity": event.severity.value,
        "labels": event.labels,
        "annotations": event.annotations,
        "starts_at": event.starts_at,
        "ends_at": event.ends_at,
        "received_at": received_at,
        "firing_event_id": firing.get((event.source, event.fingerprint)) if resolved else None,
        "raw": event.raw,
    }


def _event(row: Row[Any], raw: bool = True) -> Event:
    return Event(
        source=row.source,
        fingerprint=row.fingerprint,
        status=EventStatus(row.status),
        name=row.name,
        host=row.host,
        severity=Severity(row.severity),
        labels=row.labels,
        annotations=row.annotations,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        received_at=row.received_at,
        id=row.id,
        raw=row.raw if raw else {},
    )


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _reason(exc: Exception) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]


def _decode_sqlite(rows: Iterable[Sequence[Any]]) -> Iterable[Event]:
    """Events from rows of ``_SQLITE_UNDECIDED``. Times repeat (one ``received_at`` per
    commit, one ``starts_at`` per alert group): each distinct text is parsed once."""
    loads, status, severity = orjson.loads, _STATUS, _SEVERITY
    times: dict[str | None, datetime | None] = {None: None}
    for (
        event_id,
        source,
        fingerprint,
        status_text,
        name,
        host,
        severity_text,
        labels_json,
        annotations_json,
        starts_at,
        ends_at,
        received_at,
        raw_json,
    ) in rows:
        for text_ in (starts_at, ends_at, received_at):
            if text_ not in times:
                times[text_] = _sqlite_read_time(text_)
        yield built_event(
            source=source,
            fingerprint=fingerprint,
            status=status[status_text],
            name=name,
            host=host,
            severity=severity[severity_text],
            labels=loads(labels_json),
            annotations=loads(annotations_json),
            starts_at=times[starts_at],
            ends_at=times[ends_at],
            received_at=times[received_at],
            id=event_id,
            raw={} if raw_json is None else loads(raw_json),
        )


def _sqlite_read_time(value: str | None) -> datetime | None:
    """A time as stored by ``_sqlite_time`` (or SQLAlchemy), read back as UTC."""
    if value is None:
        return None
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _sqlite_time(value: datetime | None) -> str | None:
    """A time as SQLAlchemy stores a UTC DateTime in SQLite: ``YYYY-MM-DD HH:MM:SS.ffffff``."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
