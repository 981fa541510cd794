"""Two-way sync of tickets with an external ITSM, through an outbox.

Push. Each tick reads the timeline entries after the sync's cursor, for the tickets the mirror
policy selects, and turns each into one outbox row (``dedupe_key`` ``entry:<id>``; a
ticket's first row creates its issue, ``create:<ticket>``). The cursor is the entry of the
newest outbox row, so queueing and moving the cursor are one transaction. The outbox then
drains in order per ticket: only the oldest pending row of a ticket is ever sent, so a create
lands before its notes and a status never overtakes the comment before it. An unavailable
ITSM stops the drain for the tick and backs the row off; a refused row is recorded on the
ticket (timeline kind ``itsm``) and the ticket's next row goes. A row is claimed (attempts + 1,
next attempt after its backoff) before it is sent, so one whose answer was lost is checked
against the ITSM (``find``, ``has_note``) before it is sent again: nothing is lost or
duplicated.

Pull. Changes made in the ITSM by anyone but the sync flow back as comments and status moves
with ``source`` = the system's name, which the push never sends back. ``ItsmLink`` remembers
the last change applied per issue and the ITSM's update stamp it has read up to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from automator.errors import AutomatorError
from automator.itsm._adapter import ItsmAdapter, NewIssue, Note, RemoteChange, issue_key
from automator.itsm._errors import ItsmError, ItsmRejected, ItsmUnavailable
from automator.store import ItsmLink, ItsmOutbox, Store, Ticket, TimelineEntry, utcnow
from automator.tickets import TicketService

# timeline kinds pushed as notes unless itsm.yaml says otherwise; "opened", "status" and
# "assign" are always pushed (as the create, status and assignee), "itsm" never
NOTE_KINDS = frozenset(
    {"comment", "run", "verify", "rollback", "approval", "drift", "sla", "analysis", "rating"}
)
ALWAYS_KINDS = frozenset({"opened", "status", "assign"})


class Operation(StrEnum):
    CREATE = "create"
    COMMENT = "comment"
    STATUS = "status"
    ASSIGN = "assign"
    CLOSE = "close"


class RowStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    REJECTED = "rejected"


@dataclass(frozen=True)
class MirrorPolicy:
    """Which tickets are mirrored (an empty set: all) and which timeline kinds become notes."""

    kinds: frozenset[str] = frozenset()
    tenants: frozenset[str] = frozenset()
    since: datetime | None = None
    notes: frozenset[str] = NOTE_KINDS


@dataclass(frozen=True)
class SyncPolicy:
    """How often and how much: ``batch`` bounds each tick's entries read, rows sent and
    issues pulled; a row that could not be sent waits ``retry_first`` seconds, doubling up
    to ``retry_max``."""

    interval: float = 30.0
    batch: int = 100
    retry_first: float = 10.0
    retry_max: float = 600.0

    def backoff(self, attempts: int) -> timedelta:
        return timedelta(seconds=min(self.retry_first * 2 ** max(attempts - 1, 0), self.retry_max))


@dataclass
class TickResult:
    """What one tick did; ``error`` says why the ITSM was not reached (the work waits)."""

    queued: int = 0
    sent: int = 0
    rejected: int = 0
    pulled: int = 0
    error: str | None = None

    @property
    def idle(self) -> bool:
        return not (self.queued or self.sent or self.rejected or self.pulled or self.error)


@dataclass(frozen=True)
class RowError:
    """The most recent failure of an outbox row."""

    row_id: int
    ticket_id: int
    operation: str
    status: str
    attempts: int
    error: str


@dataclass(frozen=True)
class SyncStatus:
    system: str
    pending: int
    due: int
    rejected: int
    done: int
    oldest_pending: datetime | None
    links: int
    unlinked: int
    push_cursor: int
    pull_cursor: str | None
    last_error: RowError | None


@dataclass(frozen=True)
class _Claimed:
    row_id: int
    ticket_id: int
    operation: Operation
    payload: dict[str, Any]
    external_id: str | None
    retry: bool


@dataclass
class _Queue:
    """The rows one queueing pass adds, and the tickets that have a link."""

    linked: set[int]
    rows: list[ItsmOutbox] = field(default_factory=list)


class ItsmSync:
    """The sync of one external ITSM (``system``). ``tick`` does a bounded amount of work and
    never raises for a failure of the ITSM."""

    def __init__(
        self,
        store: Store,
        adapter: ItsmAdapter,
        system: str = "redmine",
        clock: Callable[[], datetime] = utcnow,
        mirror: MirrorPolicy | None = None,
        policy: SyncPolicy | None = None,
    ) -> None:
        self.store = store
        self.adapter = adapter
        self.system = system
        self.clock = clock
        self.mirror = mirror or MirrorPolicy()
        self.policy = policy or SyncPolicy()
        self.tickets = TicketService(store, clock=clock)

    def dispose(self) -> None:
        """Release the adapter's connections (the store is the caller's)."""
        self.adapter.dispose()

    def tick(self, now: datetime | None = None) -> TickResult:
        """Queue new timeline entries, drain the outbox, pull the ITSM's changes."""
        now = now or self.clock()
        result = TickResult(queued=self.queue(now))
        self._drain(now, result)
        if result.error is None:  # the ITSM just failed: asking again would only wait again
            self._pull(now, result)
        return result

    # -- push: timeline → outbox -----------------------------------------------------------

    def queue(self, now: datetime) -> int:
        """Turn the next batch of timeline entries into outbox rows; the number added."""
        try:
            with self.store.session() as session:
                cursor = _push_cursor(session, self.system)
                entries = session.execute(self._entries_query(cursor)).all()
                tickets = {ticket.id for _, ticket in entries}
                queue = _Queue(linked=set(self._linked(session, tickets)))
                for entry, ticket in entries:
                    self._queue_entry(session, queue, entry, ticket, now)
                session.add_all(queue.rows)
                return len(queue.rows)
        except IntegrityError:  # another sync process queued the same entries first
            return 0

    def _entries_query(self, cursor: int) -> Any:
        kinds = ALWAYS_KINDS | self.mirror.notes
        source = func.coalesce(TimelineEntry.data["source"].as_string(), "")
        query = (
            select(TimelineEntry, Ticket)
            .join(Ticket, Ticket.id == TimelineEntry.ticket_id)
            .where(TimelineEntry.id > cursor, TimelineEntry.kind.in_(kinds))
            .where(source != self.system)
        )
        if self.mirror.kinds:
            query = query.where(Ticket.kind.in_(self.mirror.kinds))
        if self.mirror.tenants:
            query = query.where(Ticket.tenant.in_(self.mirror.tenants))
        if self.mirror.since is not None:
            query = query.where(Ticket.created_at >= self.mirror.since)
        return query.order_by(TimelineEntry.id).limit(self.policy.batch)

    def _linked(self, session: Session, tickets: Iterable[int]) -> Iterable[int]:
        return session.scalars(
            select(ItsmLink.ticket_id).where(
                ItsmLink.system == self.system, ItsmLink.ticket_id.in_(list(tickets))
            )
        )

    def _queue_entry(
        self, session: Session, queue: _Queue, entry: TimelineEntry, ticket: Ticket, now: datetime
    ) -> None:
        if ticket.id not in queue.linked:  # the ticket's first entry here: create its issue
            session.add(ItsmLink(ticket_id=ticket.id, system=self.system, created_at=now))
            queue.linked.add(ticket.id)
            create = _create_payload(ticket, entry)
            queue.rows.append(
                self._row(ticket.id, Operation.CREATE, create, f"create:{ticket.id}", now)
            )
            if entry.kind == "opened":
                return
        operation, payload = _entry_payload(entry)
        queue.rows.append(self._row(ticket.id, operation, payload, f"entry:{entry.id}", now))

    def _row(
        self, ticket_id: int, operation: Operation, payload: dict[str, Any], key: str, now: datetime
    ) -> ItsmOutbox:
        return ItsmOutbox(
            ticket_id=ticket_id,
            system=self.system,
            operation=operation.value,
            payload=payload,
            dedupe_key=key,
            status=RowStatus.PENDING.value,
            created_at=now,
        )

    # -- push: outbox → ITSM ---------------------------------------------------------------

    def _drain(self, now: datetime, result: TickResult) -> None:
        budget = self.policy.batch
        while budget > 0:
            heads = self._due_heads(now, budget)
            if not heads:
                return
            for row_id in heads:
                budget -= 1
                try:
                    outcome = self._deliver(row_id, now)
                except ItsmUnavailable as exc:
                    result.error = str(exc)
                    return
                if outcome is RowStatus.DONE:
                    result.sent += 1
                elif outcome is RowStatus.REJECTED:
                    result.rejected += 1

    def _due_heads(self, now: datetime, limit: int) -> list[int]:
        """The oldest pending row of each ticket, where that row is due: a ticket whose
        oldest row waits holds back all its others."""
        pending = (ItsmOutbox.system == self.system) & (
            ItsmOutbox.status == RowStatus.PENDING.value
        )
        heads = select(func.min(ItsmOutbox.id)).where(pending).group_by(ItsmOutbox.ticket_id)
        due = (ItsmOutbox.next_attempt_at.is_(None)) | (ItsmOutbox.next_attempt_at <= now)
        with self.store.session() as session:
            return list(
                session.scalars(
                    select(ItsmOutbox.id)
                    .where(ItsmOutbox.id.in_(heads), due)
                    .order_by(ItsmOutbox.id)
                    .limit(limit)
                )
            )

    def _deliver(self, row_id: int, now: datetime) -> RowStatus | None:
        """Send one row: DONE when the ITSM took it, REJECTED when it refused it (recorded),
        None when another sync process claimed it first. Raises ItsmUnavailable (recorded
        on the row, which waits its backoff)."""
        claimed = self._claim(row_id, now)
        if claimed is None:
            return None
        if claimed.operation is not Operation.CREATE and claimed.external_id is None:
            error = "the ticket has no issue: its create was refused"
            self._finish(claimed, RowStatus.REJECTED, now, error=error)
            return RowStatus.REJECTED
        try:
            external_id = self._send(claimed)
        except ItsmRejected as exc:
            self._finish(claimed, RowStatus.REJECTED, now, error=str(exc))
            self._record_refusal(claimed, exc)
            return RowStatus.REJECTED
        except ItsmUnavailable as exc:
            with self.store.session() as session:
                row = session.get_one(ItsmOutbox, row_id)
                row.last_error = str(exc)
            raise
        self._finish(claimed, RowStatus.DONE, now, external_id=external_id)
        return RowStatus.DONE

    def _claim(self, row_id: int, now: datetime) -> _Claimed | None:
        """Count the attempt and set the next one after the backoff, before sending: a
        crash mid-send leaves a row that is retried (and checked) later. The update is
        conditional on the attempts read, so two sync processes never send one row."""
        with self.store.session() as session:
            row = session.get_one(ItsmOutbox, row_id)
            link = session.get(ItsmLink, (row.ticket_id, self.system))
            attempts = row.attempts + 1
            claimed = session.execute(
                update(ItsmOutbox)
                .where(
                    ItsmOutbox.id == row_id,
                    ItsmOutbox.attempts == row.attempts,
                    ItsmOutbox.status == RowStatus.PENDING.value,
                )
                .values(attempts=attempts, next_attempt_at=now + self.policy.backoff(attempts))
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return None
            return _Claimed(
                row_id=row.id,
                ticket_id=row.ticket_id,
                operation=Operation(row.operation),
                payload=dict(row.payload),
                external_id=link.external_id if link else None,
                retry=attempts > 1,
            )

    def _send(self, row: _Claimed) -> str:
        """Apply the row in the ITSM; the issue's id. A retry first asks whether the last
        attempt landed after all."""
        payload = row.payload
        if row.operation is Operation.CREATE:
            found = self.adapter.find(payload["key"]) if row.retry else None
            return found or self.adapter.create(
                NewIssue(
                    key=payload["key"],
                    title=payload["title"],
                    description=payload["description"],
                    kind=payload["kind"],
                    priority=payload["priority"],
                )
            )
        assert row.external_id is not None
        note = Note(payload["text"], payload["note_key"])
        if row.retry and self.adapter.has_note(row.external_id, note.key):
            return row.external_id
        if row.operation is Operation.COMMENT:
            self.adapter.comment(row.external_id, note)
        elif row.operation is Operation.STATUS:
            self.adapter.set_status(row.external_id, payload["status"], note)
        elif row.operation is Operation.ASSIGN:
            self.adapter.assign(row.external_id, payload["assignee"], note)
        else:
            self.adapter.close(row.external_id, note)
        return row.external_id

    def _finish(
        self,
        row: _Claimed,
        status: RowStatus,
        now: datetime,
        *,
        external_id: str | None = None,
        error: str | None = None,
    ) -> None:
        with self.store.session() as session:
            stored = session.get_one(ItsmOutbox, row.row_id)
            stored.status = status.value
            stored.done_at = now
            stored.next_attempt_at = None
            stored.last_error = error
            if status is RowStatus.DONE:
                link = session.get_one(ItsmLink, (row.ticket_id, self.system))
                link.external_id = link.external_id or external_id
                link.last_pushed_at = now

    def _record_refusal(self, row: _Claimed, exc: ItsmRejected) -> None:
        self.tickets.add_entry(
            row.ticket_id,
            "itsm",
            f"itsm:{self.system}",
            f"{self.system} refused the {row.operation.value} (HTTP {exc.status}): "
            f"{'; '.join(exc.errors)}",
            {
                "system": self.system,
                "operation": row.operation.value,
                "outbox_id": row.row_id,
                "http_status": exc.status,
                "errors": exc.errors,
            },
        )

    # -- pull: ITSM → tickets --------------------------------------------------------------

    def _pull(self, now: datetime, result: TickResult) -> None:
        mine = ItsmLink.system == self.system
        with self.store.session() as session:
            cursor = session.scalar(select(func.max(ItsmLink.remote_updated_on)).where(mine))
        try:
            batch = self.adapter.changes_since(cursor, self.policy.batch, self._seen)
        except ItsmError as exc:
            result.error = str(exc)
            return
        issues = set(batch.updated) | {change.external_id for change in batch.changes}
        with self.store.session() as session:
            links = {
                link.external_id: (link.ticket_id, link.last_journal_id)
                for link in session.scalars(
                    select(ItsmLink).where(mine, ItsmLink.external_id.in_(list(issues)))
                )
            }
        for change in batch.changes:
            ticket_id, last = links.get(change.external_id, (None, 0))
            if ticket_id is None or change.change_id <= last:
                continue
            self._apply(ticket_id, change)
            links[change.external_id] = (ticket_id, change.change_id)
            self._set_link(ticket_id, last_journal_id=change.change_id, last_pulled_at=now)
            result.pulled += 1
        with self.store.session() as session:
            for external_id, stamp in batch.updated.items():
                if external_id in links:
                    session.execute(
                        update(ItsmLink)
                        .where(mine, ItsmLink.external_id == external_id)
                        .values(remote_updated_on=stamp, last_pulled_at=now)
                    )

    def _seen(self, external_ids: Iterable[str]) -> dict[str, str]:
        with self.store.session() as session:
            return {
                link.external_id: link.remote_updated_on
                for link in session.scalars(
                    select(ItsmLink).where(
                        ItsmLink.system == self.system,
                        ItsmLink.external_id.in_(list(external_ids)),
                    )
                )
                if link.external_id and link.remote_updated_on
            }

    def _apply(self, ticket_id: int, change: RemoteChange) -> None:
        """The change on the ticket, as a comment and a status move from ``system``; one the
        ticket cannot take (a closed ticket reopened) is recorded instead."""
        actor = f"{self.system}:{change.author}"
        try:
            if change.note:
                self.tickets.comment(ticket_id, actor, change.note, source=self.system)
            if change.status and self._status(ticket_id) not in {
                change.status,
                *change.same_statuses,
            }:
                self.tickets.set_status(
                    ticket_id,
                    change.status,
                    actor,
                    f"set to {change.remote_status} in {self.system}",
                    source=self.system,
                )
        except AutomatorError as exc:
            self.tickets.add_entry(
                ticket_id,
                "itsm",
                actor,
                f"a change made in {self.system} was not applied: {exc}",
                {"system": self.system, "change": change.change_id, "source": self.system},
            )

    def _status(self, ticket_id: int) -> str:
        with self.store.session() as session:
            return session.get_one(Ticket, ticket_id).status

    def _set_link(self, ticket_id: int, **values: Any) -> None:
        with self.store.session() as session:
            session.execute(
                update(ItsmLink)
                .where(ItsmLink.ticket_id == ticket_id, ItsmLink.system == self.system)
                .values(**values)
            )

    def status(self, now: datetime | None = None) -> SyncStatus:
        return sync_status(self.store, self.system, now or self.clock())

    def links(self, limit: int = 50) -> list[ItsmLink]:
        return sync_links(self.store, self.system, limit)


def sync_status(store: Store, system: str, now: datetime) -> SyncStatus:
    """The outbox, the links and the cursors of ``system``, from the store alone."""
    mine = ItsmOutbox.system == system
    pending = mine & (ItsmOutbox.status == RowStatus.PENDING.value)
    links = select(func.count()).select_from(ItsmLink).where(ItsmLink.system == system)
    with store.session() as session:
        counts: dict[str, int] = {
            status: count
            for status, count in session.execute(
                select(ItsmOutbox.status, func.count()).where(mine).group_by(ItsmOutbox.status)
            )
        }
        due = session.scalar(
            select(func.count()).where(
                pending, ItsmOutbox.next_attempt_at.is_(None) | (ItsmOutbox.next_attempt_at <= now)
            )
        )
        failed = session.scalar(
            select(ItsmOutbox)
            .where(mine, ItsmOutbox.last_error.is_not(None))
            .order_by(ItsmOutbox.id.desc())
            .limit(1)
        )
        return SyncStatus(
            system=system,
            pending=counts.get(RowStatus.PENDING.value, 0),
            due=due or 0,
            rejected=counts.get(RowStatus.REJECTED.value, 0),
            done=counts.get(RowStatus.DONE.value, 0),
            oldest_pending=session.scalar(select(func.min(ItsmOutbox.created_at)).where(pending)),
            links=session.scalar(links) or 0,
            unlinked=session.scalar(links.where(ItsmLink.external_id.is_(None))) or 0,
            push_cursor=_push_cursor(session, system),
            pull_cursor=session.scalar(
                select(func.max(ItsmLink.remote_updated_on)).where(ItsmLink.system == system)
            ),
            last_error=None if failed is None else _row_error(failed),
        )


def sync_links(store: Store, system: str, limit: int = 50) -> list[ItsmLink]:
    """The newest links of ``system``, ticket ↔ issue."""
    with store.session() as session:
        return list(
            session.scalars(
                select(ItsmLink)
                .where(ItsmLink.system == system)
                .order_by(ItsmLink.ticket_id.desc())
                .limit(limit)
            )
        )


def _push_cursor(session: Session, system: str) -> int:
    """The entry of the newest outbox row: every timeline entry up to it has been looked at."""
    payload = session.scalar(
        select(ItsmOutbox.payload)
        .where(ItsmOutbox.system == system)
        .order_by(ItsmOutbox.id.desc())
        .limit(1)
    )
    return int(payload["entry"]) if payload else 0


def _row_error(row: ItsmOutbox) -> RowError:
    return RowError(
        row_id=row.id,
        ticket_id=row.ticket_id,
        operation=row.operation,
        status=row.status,
        attempts=row.attempts,
        error=row.last_error or "",
    )


def _create_payload(ticket: Ticket, entry: TimelineEntry) -> dict[str, Any]:
    opened = entry.message if entry.kind == "opened" else None
    facts = [f"automator ticket #{ticket.id}", ticket.kind, ticket.priority]
    if ticket.tenant:
        facts.append(f"tenant {ticket.tenant}")
    lines = [opened] if opened and opened != ticket.title else []
    lines += [
        " · ".join(facts),
        f"opened by {ticket.opened_by} at {ticket.created_at:%Y-%m-%d %H:%M} UTC",
    ]
    return {
        "entry": entry.id,
        "key": issue_key(ticket.id),
        "title": ticket.title,
        "description": "\n\n".join(lines),
        "kind": ticket.kind,
        "priority": ticket.priority,
    }


def _entry_payload(entry: TimelineEntry) -> tuple[Operation, dict[str, Any]]:
    """The operation and payload one timeline entry becomes."""
    actor = " ".join(entry.actor.split())
    payload: dict[str, Any] = {
        "entry": entry.id,
        "text": entry.message,
        "note_key": f"— {actor} · automator #{entry.ticket_id} entry {entry.id}",
    }
    if entry.kind == "status":
        target = str(entry.data.get("to"))
        if target == "closed":
            return Operation.CLOSE, payload
        return Operation.STATUS, {**payload, "status": target}
    if entry.kind == "assign":
        return Operation.ASSIGN, {**payload, "assignee": entry.data.get("to")}
    if entry.kind != "comment":
        payload["text"] = f"[{entry.kind}] {entry.message}"
    return Operation.COMMENT, payload
