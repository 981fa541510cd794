"""What the rule engine remembers between events, behind one protocol.

``MemoryRuleState`` is for tests and replays; ``StoreRuleState`` keeps the same facts in the
store (``automator.store._rules``) so that a restart neither repeats a remediation nor forgets
an incident. Neither is thread-safe: one engine, deciding one event at a time, owns a state.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    and_,
    bindparam,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.dml import UpdateBase

from automator.errors import StoreError
from automator.store import Base, Store
from automator.store._rules import (
    RuleAlert,
    RuleFired,
    RuleHit,
    RuleIncident,
    RuleIncidentMember,
    RulePending,
)


@dataclass(frozen=True)
class TrackedAlert:
    """A firing alert a rule has decided about, remembered until it resolves."""

    rule: str
    fingerprint: str
    host: str | None
    key: str  # the rule's throttle group key for this alert
    since: datetime


@dataclass(frozen=True)
class Pending:
    """A ``once_after`` wait for one group: acted on at ``due_at`` unless every alert in
    ``firing`` resolved first. The action's host and vars come from the first alert."""

    rule: str
    key: str
    first_seen: datetime
    due_at: datetime
    fingerprint: str
    event_id: int | None
    host: str | None
    vars: Mapping[str, Any]
    incident_id: int | None
    firing: frozenset[str]


@dataclass(frozen=True)
class Incident:
    """Correlated alerts of one rule: every host, and how many alerts still fire."""

    id: int
    rule: str
    key: str
    opened_at: datetime
    last_seen_at: datetime
    resolved_at: datetime | None
    hosts: tuple[str, ...]
    firing: int

    @property
    def resolved(self) -> bool:
        return self.resolved_at is not None


class RuleState(Protocol):
    """The facts throttles and correlation decide on. Keys are rule names and group keys
    (see ``group_key``); times are timezone-aware."""

    def batch(self) -> AbstractContextManager[Connection | None]:
        """Make the calls inside one unit (one transaction for a store). It gives the
        transaction's connection (None in memory), for writes that must commit with the
        state: the engine records its decisions on their events in it."""

    def track(self, alert: TrackedAlert) -> bool:
        """Remember a firing alert under its rule; False if it was already remembered."""

    def untrack(self, fingerprint: str) -> list[TrackedAlert]:
        """Forget a resolved alert under every rule; return what was remembered."""

    def last_fired(self, rule: str, key: str) -> datetime | None: ...

    def set_fired(self, rule: str, key: str, at: datetime) -> None: ...

    def count_hit(self, rule: str, key: str, at: datetime, since: datetime) -> int:
        """Count an alert at ``at``, forget those before ``since``; return how many remain."""

    def reset_hits(self, rule: str, key: str) -> None: ...

    def pending(self, rule: str, key: str) -> Pending | None: ...

    def put_pending(self, pending: Pending) -> None: ...

    def drop_pending(self, rule: str, key: str) -> None: ...

    def due(self, now: datetime) -> list[Pending]:
        """Waits whose time has come, earliest first (they stay until dropped)."""

    def current_incident(self, rule: str, key: str) -> Incident | None:
        """The newest unresolved incident of the rule for this correlation key."""

    def incident(self, incident_id: int) -> Incident | None: ...

    def open_incident(self, rule: str, key: str, at: datetime) -> Incident: ...

    def host_firing(self, incident_id: int, host: str) -> bool:
        """Does the host have an alert still firing in the incident?"""

    def join_incident(
        self, incident_id: int, fingerprint: str, host: str, at: datetime
    ) -> Incident: ...

    def leave_incident(self, rule: str, fingerprint: str, at: datetime) -> Incident | None:
        """Mark the alert resolved in the rule's incident that holds it firing (None if
        none does); the incident is resolved when none of its alerts fire any more."""


# -- in memory --------------------------------------------------------------------------------


@dataclass
class _MemoryIncident:
    id: int
    rule: str
    key: str
    opened_at: datetime
    last_seen_at: datetime
    resolved_at: datetime | None = None
    members: dict[str, tuple[str, bool]] = field(default_factory=dict)  # fp -> host, firing
    hosts: set[str] = field(default_factory=set)
    # Kept as counts so that a storm's thousandth alert costs no more than its first.
    firing: int = 0
    firing_hosts: Counter[str] = field(default_factory=Counter)

    def set_member(self, fingerprint: str, host: str, firing: bool) -> None:
        before = self.members.get(fingerprint)
        if before is not None and before[1]:
            self.firing -= 1
            self.firing_hosts[before[0]] -= 1
        self.members[fingerprint] = (host, firing)
        self.hosts.add(host)
        if firing:
            self.firing += 1
            self.firing_hosts[host] += 1

    def snapshot(self) -> Incident:
        return Incident(
            id=self.id,
            rule=self.rule,
            key=self.key,
            opened_at=self.opened_at,
            last_seen_at=self.last_seen_at,
            resolved_at=self.resolved_at,
            hosts=tuple(sorted(self.hosts)),
            firing=self.firing,
        )


class MemoryRuleState:
    """Rule state in dictionaries: for tests and ``automator rules test``, and the working
    copy of ``StoreRuleState``. Resolved incidents are let go: nothing decides on them."""

    def __init__(self) -> None:
        self._forget()

    def _forget(self) -> None:
        # fingerprint -> rule -> alert: a resolved alert is found without a scan of them all
        self._alerts: dict[str, dict[str, TrackedAlert]] = {}
        self._fired: dict[tuple[str, str], datetime] = {}
        self._hits: dict[tuple[str, str], list[datetime]] = {}
        self._pending: dict[tuple[str, str], Pending] = {}
        self._incidents: dict[int, _MemoryIncident] = {}  # unresolved ones, oldest first
        self._ids = itertools.count(1)

    def batch(self) -> AbstractContextManager[Connection | None]:
        return nullcontext()

    def track(self, alert: TrackedAlert) -> bool:
        rules = self._alerts.setdefault(alert.fingerprint, {})
        if alert.rule in rules:
            return False
        rules[alert.rule] = alert
        return True

    def untrack(self, fingerprint: str) -> list[TrackedAlert]:
        return list(self._alerts.pop(fingerprint, {}).values())

    def last_fired(self, rule: str, key: str) -> datetime | None:
        return self._fired.get((rule, key))

    def set_fired(self, rule: str, key: str, at: datetime) -> None:
        self._fired[rule, key] = at

    def count_hit(self, rule: str, key: str, at: datetime, since: datetime) -> int:
        hits = [hit for hit in self._hits.get((rule, key), []) if hit >= since]
        hits.append(at)
        self._hits[rule, key] = hits
        return len(hits)

    def reset_hits(self, rule: str, key: str) -> None:
        self._hits.pop((rule, key), None)

    def pending(self, rule: str, key: str) -> Pending | None:
        return self._pending.get((rule, key))

    def put_pending(self, pending: Pending) -> None:
        self._pending[pending.rule, pending.key] = pending

    def drop_pending(self, rule: str, key: str) -> None:
        self._pending.pop((rule, key), None)

    def due(self, now: datetime) -> list[Pending]:
        return sorted(
            (p for p in self._pending.values() if p.due_at <= now), key=lambda p: p.due_at
        )

    def current_incident(self, rule: str, key: str) -> Incident | None:
        for incident in reversed(self._incidents.values()):
            if incident.rule == rule and incident.key == key:
                return incident.snapshot()
        return None

    def incident(self, incident_id: int) -> Incident | None:
        found = self._incidents.get(incident_id)
        return found.snapshot() if found else None

    def open_incident(self, rule: str, key: str, at: datetime) -> Incident:
        incident_id = self._new_incident(rule, key, at)
        incident = _MemoryIncident(incident_id, rule, key, opened_at=at, last_seen_at=at)
        self._incidents[incident_id] = incident
        return incident.snapshot()

    def _new_incident(self, rule: str, key: str, at: datetime) -> int:
        return next(self._ids)

    def host_firing(self, incident_id: int, host: str) -> bool:
        return self._incidents[incident_id].firing_hosts[host] > 0

    def join_incident(
        self, incident_id: int, fingerprint: str, host: str, at: datetime
    ) -> Incident:
        incident = self._incidents[incident_id]
        incident.set_member(fingerprint, host, firing=True)
        incident.last_seen_at = at
        return incident.snapshot()

    def leave_incident(self, rule: str, fingerprint: str, at: datetime) -> Incident | None:
        for incident in self._incidents.values():
            member = incident.members.get(fingerprint)
            if incident.rule == rule and member is not None and member[1]:
                incident.set_member(fingerprint, member[0], firing=False)
                if incident.firing == 0:
                    incident.resolved_at = at
                    del self._incidents[incident.id]
                return incident.snapshot()
        return None


# -- in the store -----------------------------------------------------------------------------


class StoreRuleState(MemoryRuleState):
    """Rule state kept in the store's ``rule_*`` tables and decided on from memory: it is read
    once when made, and every change is written when its transaction ends, so deciding costs
    no queries. Outside ``batch()`` each change is its own transaction; inside, the changes
    share one (a body of 100 alerts commits once, in a few statements).

    The tables have one writer: the process that decides (the leader). If a transaction
    fails, the working copy is read again from the store before the next batch.
    """

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self._connection: Connection | None = None
        self._writes: list[tuple[_Change, dict[str, Any]]] = []
        self._sqlite = store.dialect == "sqlite"
        self._driver_forms: dict[tuple[int, tuple[str, ...]], _DriverForm | None] = {}
        self._stale = True
        self._load()

    @contextmanager
    def batch(self) -> Iterator[Connection | None]:
        with self._transaction() as connection:
            yield connection

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        if self._connection is not None:
            yield self._connection
            return
        if self._stale:
            self._load()
        try:
            with self.store.engine.begin() as connection:
                self._connection = connection
                yield connection
                self._flush(connection)
        except SQLAlchemyError as exc:
            self._stale = True
            raise StoreError(f"cannot record rule state: {_reason(exc)}") from None
        except BaseException:
            self._stale = True
            raise
        finally:
            self._connection = None
            self._writes = []

    def _write(self, change: _Change, **parameters: Any) -> None:
        """Queue a change for the end of the transaction (outside one, in one of its own)."""
        if self._connection is not None:  # inside batch(): the common case, kept cheap
            self._writes.append((change, parameters))
            return
        with self._transaction():
            self._writes.append((change, parameters))

    def _flush(self, connection: Connection) -> None:
        """Run the queued changes, table by table in the order of their foreign keys, each
        table's in the order they were made; runs of one statement go as one executemany,
        which is what lets a storm of alerts commit in a few round trips."""
        writes = sorted(self._writes, key=lambda write: write[0].order)
        # a change's parameters come in its call site's order: no sorting of names per row
        for (change, keys), group in itertools.groupby(writes, key=lambda w: (w[0], tuple(w[1]))):
            rows = [parameters for _, parameters in group]
            form = self._driver_form(connection, change, keys)
            if form is None:
                connection.execute(change.statement, rows)
                continue
            sql, names, processors = form
            connection.exec_driver_sql(sql, _driver_rows(rows, names, processors))

    def _driver_form(
        self, connection: Connection, change: _Change, keys: tuple[str, ...]
    ) -> _DriverForm | None:
        """On SQLite, a change as the driver's SQL and the columns' own bind processors, so
        that a batch's rows skip SQLAlchemy's per-row work (measured: 11 µs a row of the
        engine's ~50 µs an alert through ``execute``, 2 µs this way). None (the statement
        through SQLAlchemy) elsewhere, or when the statement binds anything the change does
        not give (a default computed at execution)."""
        if not self._sqlite:
            return None
        cache_key = (id(change), keys)
        if cache_key in self._driver_forms:
            return self._driver_forms[cache_key]
        dialect = connection.dialect
        compiled = change.statement.compile(dialect=dialect, column_keys=list(keys))
        names = tuple(compiled.positiontup or ())
        form: _DriverForm | None = None
        if names and set(names) <= set(keys):
            processors = tuple(
                compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
                for name in names
            )
            form = (compiled.string, names, processors)
        self._driver_forms[cache_key] = form
        return form

    def _load(self) -> None:
        self._forget()
        try:
            with self.store.engine.connect() as connection:
                for alert in connection.execute(select(_ALERTS)):
                    self._alerts.setdefault(alert.fingerprint, {})[alert.rule] = TrackedAlert(
                        alert.rule, alert.fingerprint, alert.host, alert.group_key, alert.since
                    )
                for fired in connection.execute(select(_FIRED)):
                    self._fired[fired.rule, fired.group_key] = fired.at
                hits = select(_HITS).order_by(_HITS.c.at)
                for hit in connection.execute(hits):
                    self._hits.setdefault((hit.rule, hit.group_key), []).append(hit.at)
                for row in connection.execute(select(_PENDING)):
                    self._pending[row.rule, row.group_key] = Pending(
                        rule=row.rule,
                        key=row.group_key,
                        first_seen=row.first_seen,
                        due_at=row.due_at,
                        fingerprint=row.fingerprint,
                        event_id=row.event_id,
                        host=row.host,
                        vars=dict(row.vars),
                        incident_id=row.incident_id,
                        firing=frozenset(row.firing),
                    )
                self._load_incidents(connection)
        except SQLAlchemyError as exc:
            self._stale = True
            raise StoreError(f"cannot read rule state: {_reason(exc)}") from None
        self._stale = False

    def _load_incidents(self, connection: Connection) -> None:
        open_ids = select(_INCIDENTS.c.id).where(_INCIDENTS.c.resolved_at.is_(None))
        unresolved = select(_INCIDENTS).where(_INCIDENTS.c.id.in_(open_ids))
        for row in connection.execute(unresolved.order_by(_INCIDENTS.c.id)):
            self._incidents[row.id] = _MemoryIncident(
                row.id,
                row.rule,
                row.correlation_key,
                opened_at=row.opened_at,
                last_seen_at=row.last_seen_at,
            )
        members = select(_MEMBERS).where(_MEMBERS.c.incident_id.in_(open_ids))
        for member in connection.execute(members):
            self._incidents[member.incident_id].set_member(
                member.fingerprint, member.host, member.firing
            )

    def track(self, alert: TrackedAlert) -> bool:
        if not super().track(alert):
            return False
        self._write(
            _INSERT_ALERT,
            rule=alert.rule,
            fingerprint=alert.fingerprint,
            host=alert.host,
            group_key=alert.key,
            since=alert.since,
        )
        return True

    def untrack(self, fingerprint: str) -> list[TrackedAlert]:
        found = super().untrack(fingerprint)
        if found:
            self._write(_DELETE_ALERTS, k_fingerprint=fingerprint)
        return found

    def set_fired(self, rule: str, key: str, at: datetime) -> None:
        known = self.last_fired(rule, key) is not None
        super().set_fired(rule, key, at)
        if known:
            self._write(_UPDATE_FIRED, k_rule=rule, k_key=key, at=at)
        else:
            self._write(_INSERT_FIRED, rule=rule, group_key=key, at=at)

    def count_hit(self, rule: str, key: str, at: datetime, since: datetime) -> int:
        count = super().count_hit(rule, key, at, since)
        self._write(_DELETE_OLD_HITS, k_rule=rule, k_key=key, k_since=since)
        self._write(_INSERT_HIT, rule=rule, group_key=key, at=at)
        return count

    def reset_hits(self, rule: str, key: str) -> None:
        super().reset_hits(rule, key)
        self._write(_DELETE_HITS, k_rule=rule, k_key=key)

    def put_pending(self, pending: Pending) -> None:
        known = self.pending(pending.rule, pending.key) is not None
        super().put_pending(pending)
        values = {
            "first_seen": pending.first_seen,
            "due_at": pending.due_at,
            "fingerprint": pending.fingerprint,
            "event_id": pending.event_id,
            "host": pending.host,
            "vars": dict(pending.vars),
            "incident_id": pending.incident_id,
            "firing": sorted(pending.firing),
        }
        if known:
            self._write(_UPDATE_PENDING, k_rule=pending.rule, k_key=pending.key, **values)
        else:
            self._write(_INSERT_PENDING, rule=pending.rule, group_key=pending.key, **values)

    def drop_pending(self, rule: str, key: str) -> None:
        super().drop_pending(rule, key)
        self._write(_DELETE_PENDING, k_rule=rule, k_key=key)

    def _new_incident(self, rule: str, key: str, at: datetime) -> int:
        with self._transaction() as connection:  # at once: the id is needed now
            result = connection.execute(
                _INSERT_INCIDENT,
                {"rule": rule, "correlation_key": key, "opened_at": at, "last_seen_at": at},
            )
            return int(result.scalar_one())

    def join_incident(
        self, incident_id: int, fingerprint: str, host: str, at: datetime
    ) -> Incident:
        known = fingerprint in self._incidents[incident_id].members
        incident = super().join_incident(incident_id, fingerprint, host, at)
        if known:
            self._write(
                _UPDATE_MEMBER, k_id=incident_id, k_fingerprint=fingerprint, host=host, firing=True
            )
        else:
            self._write(
                _INSERT_MEMBER,
                incident_id=incident_id,
                fingerprint=fingerprint,
                host=host,
                firing=True,
                joined_at=at,
            )
        self._write(_UPDATE_INCIDENT, k_id=incident_id, last_seen_at=at)
        return incident

    def leave_incident(self, rule: str, fingerprint: str, at: datetime) -> Incident | None:
        incident = super().leave_incident(rule, fingerprint, at)
        if incident is not None:
            self._write(_UPDATE_MEMBER, k_id=incident.id, k_fingerprint=fingerprint, firing=False)
            if incident.resolved_at is not None:
                self._write(_UPDATE_INCIDENT, k_id=incident.id, resolved_at=incident.resolved_at)
        return incident


# Built once: the engine runs these for every event, and building a statement costs more
# than running it. Parameters named k_* select rows; the others are the values written.
_ALERTS = Base.metadata.tables[RuleAlert.__tablename__]
_FIRED = Base.metadata.tables[RuleFired.__tablename__]
_HITS = Base.metadata.tables[RuleHit.__tablename__]
_PENDING = Base.metadata.tables[RulePending.__tablename__]
_INCIDENTS = Base.metadata.tables[RuleIncident.__tablename__]
_MEMBERS = Base.metadata.tables[RuleIncidentMember.__tablename__]


def _by_key(table: Table) -> ColumnElement[bool]:
    return and_(table.c.rule == bindparam("k_rule"), table.c.group_key == bindparam("k_key"))


def _driver_rows(
    rows: list[dict[str, Any]],
    names: tuple[str, ...],
    processors: tuple[Callable[[Any], Any] | None, ...],
) -> list[tuple[Any, ...]]:
    """``rows`` as the driver takes them: the values in ``names`` order, taken in one call
    (``itemgetter``), and only the columns with a bind processor converted. The times of a
    batch repeat (its decisions share one): each distinct one is converted once."""
    convert = [(index, process) for index, process in enumerate(processors) if process]
    take = itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],)
    if not convert:
        return [take(row) for row in rows]
    times: dict[datetime, Any] = {}
    result = []
    for row in rows:
        values = list(take(row))
        for index, process in convert:
            value = values[index]
            if type(value) is datetime:
                converted = times.get(value)
                if converted is None:
                    converted = times[value] = process(value)
                values[index] = converted
            else:
                values[index] = process(value)
        result.append(tuple(values))
    return result


# SQL with positional parameters, their names in order, and each one's bind processor
_DriverForm = tuple[str, tuple[str, ...], tuple[Callable[[Any], Any] | None, ...]]


@dataclass(frozen=True)
class _Change:
    statement: UpdateBase
    order: int  # tables are written in the order of their foreign keys


_INSERT_INCIDENT = insert(_INCIDENTS).returning(_INCIDENTS.c.id)
_UPDATE_INCIDENT = _Change(update(_INCIDENTS).where(_INCIDENTS.c.id == bindparam("k_id")), 0)
_INSERT_MEMBER = _Change(insert(_MEMBERS), 1)
_UPDATE_MEMBER = _Change(
    update(_MEMBERS).where(
        _MEMBERS.c.incident_id == bindparam("k_id"),
        _MEMBERS.c.fingerprint == bindparam("k_fingerprint"),
    ),
    1,
)
_INSERT_PENDING = _Change(insert(_PENDING), 1)
_UPDATE_PENDING = _Change(update(_PENDING).where(_by_key(_PENDING)), 1)
_DELETE_PENDING = _Change(delete(_PENDING).where(_by_key(_PENDING)), 1)
_INSERT_ALERT = _Change(insert(_ALERTS), 2)
_DELETE_ALERTS = _Change(
    delete(_ALERTS).where(_ALERTS.c.fingerprint == bindparam("k_fingerprint")), 2
)
_INSERT_FIRED = _Change(insert(_FIRED), 2)
_UPDATE_FIRED = _Change(update(_FIRED).where(_by_key(_FIRED)), 2)
_INSERT_HIT = _Change(insert(_HITS), 2)
_DELETE_HITS = _Change(delete(_HITS).where(_by_key(_HITS)), 2)
_DELETE_OLD_HITS = _Change(
    delete(_HITS).where(_by_key(_HITS), _HITS.c.at < bindparam("k_since")), 2
)


def _reason(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig or exc).strip().splitlines()[0]
