"""Tickets: the unit of record. Every change to a ticket is a timeline entry: who, when, why.

Statuses follow a service desk's path, and a move the desk would not make is refused::

    new ─▶ acknowledged ─▶ in_progress ─▶ resolved ─▶ closed
      ╰──────────┴──────────────┴─▶ escalated, waiting_on_customer ─▶ back to work
    resolved, closed ─▶ in_progress | escalated (reopened)

Any open status may go straight to resolved or closed (automation resolves what it fixed; an
external ITSM may close at any point). What automation does to a ticket (escalate, work on
it, resolve) is allowed from every status, so that a run, a rule or a check never fails on a
ticket a person closed: it reopens it, or leaves it closed when it would resolve it. Every
method is one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql import Select

from automator.errors import AutomatorError, TicketNotFound
from automator.store import Run, Store, Ticket, TicketHost, TimelineEntry, utcnow

E = TypeVar("E", bound=StrEnum)
MAX_LIST = 1000  # tickets per page of ``list``
MAX_TEXT = 20_000  # characters of a comment, note, reason or analysis
MAX_OWNER = 200  # the width of tickets.owner


class TicketKind(StrEnum):
    INCIDENT = "incident"
    CHANGE = "change"
    PROBLEM = "problem"
    REQUEST = "request"
    DRILL = "drill"
    COMPLAINT = "complaint"


class TicketStatus(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    CLOSED = "closed"

    @property
    def is_open(self) -> bool:
        return self not in (TicketStatus.RESOLVED, TicketStatus.CLOSED)


class Priority(StrEnum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"


_S = TicketStatus
_DONE = (_S.RESOLVED, _S.CLOSED)
TRANSITIONS: Mapping[TicketStatus, tuple[TicketStatus, ...]] = {
    _S.NEW: (_S.ACKNOWLEDGED, _S.IN_PROGRESS, _S.WAITING_ON_CUSTOMER, _S.ESCALATED, *_DONE),
    _S.ACKNOWLEDGED: (_S.IN_PROGRESS, _S.WAITING_ON_CUSTOMER, _S.ESCALATED, *_DONE),
    _S.IN_PROGRESS: (_S.WAITING_ON_CUSTOMER, _S.ESCALATED, *_DONE),
    _S.WAITING_ON_CUSTOMER: (_S.IN_PROGRESS, _S.ESCALATED, *_DONE),
    # whoever the escalation reached takes it on
    _S.ESCALATED: (_S.ACKNOWLEDGED, _S.IN_PROGRESS, _S.WAITING_ON_CUSTOMER, *_DONE),
    # reopened: the fix did not hold, the customer says it is not fixed, a run or an
    # escalation comes to a ticket a person had closed
    _S.RESOLVED: (_S.IN_PROGRESS, _S.ESCALATED, _S.CLOSED),
    _S.CLOSED: (_S.IN_PROGRESS, _S.ESCALATED),
}
"""Where each status may go next. Moving to the status a ticket already has changes nothing;
so does resolving a closed ticket (it was resolved when it was closed)."""

# kinds whose tickets carry an analysis: a complaint's, a problem's root cause
ANALYSED_KINDS = (TicketKind.COMPLAINT, TicketKind.PROBLEM)


class TicketInputError(AutomatorError):
    """A value a ticket cannot take: an unknown status, kind or priority, a rating outside
    1-5, an empty comment."""


class TicketStateError(AutomatorError):
    """The ticket's status does not allow the operation: a move the desk would not make
    (closed → acknowledged), a rating of a ticket not yet resolved."""


class TicketService:
    """Open, read and write tickets. ``clock`` stamps every change (tests set the time)."""

    def __init__(self, store: Store, clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.clock = clock

    # -- opening and the timeline ----------------------------------------------------------

    def open(
        self,
        *,
        kind: TicketKind,
        title: str,
        actor: str,
        priority: Priority = Priority.P3,
        hosts: Iterable[str] = (),
        owner: str | None = None,
        tenant: str | None = None,
        message: str | None = None,
    ) -> int:
        now = self.clock()
        with self.store.session() as session:
            ticket = Ticket(
                kind=kind.value,
                status=TicketStatus.NEW.value,
                priority=priority.value,
                title=title,
                owner=owner,
                tenant=tenant,
                opened_by=actor,
                created_at=now,
                updated_at=now,
                hosts=[TicketHost(host=host) for host in sorted(set(hosts))],
            )
            session.add(ticket)
            session.flush()
            self._entry(session, ticket, "opened", actor, message or title, at=now)
            return ticket.id

    def exists(self, ticket_id: int) -> bool:
        with self.store.session() as session:
            return session.get(Ticket, ticket_id) is not None

    def require(self, ticket_id: int) -> None:
        """Raise TicketNotFound unless the ticket exists."""
        with self.store.session() as session:
            if session.get(Ticket, ticket_id) is None:
                raise TicketNotFound(ticket_id)

    def add_entry(
        self,
        ticket_id: int,
        kind: str,
        actor: str,
        message: str,
        data: dict[str, Any] | None = None,
        run_id: int | None = None,
    ) -> None:
        with self.store.session() as session:
            ticket = _get(session, ticket_id)
            self._entry(session, ticket, kind, actor, message, data, run_id)

    def add_hosts(self, ticket_id: int, hosts: Iterable[str], actor: str) -> None:
        with self.store.session() as session:
            ticket = _get(session, ticket_id, with_hosts=True)
            known = {row.host for row in ticket.hosts}
            new = sorted(set(hosts) - known)
            if new:
                ticket.hosts.extend(TicketHost(host=host) for host in new)
                self._entry(session, ticket, "hosts", actor, f"hosts added: {', '.join(new)}")

    def comment(self, ticket_id: int, actor: str, text: str, source: str | None = None) -> int:
        """A comment on the timeline; returns its entry id. ``source`` names where it came
        from (``redmine`` for one pulled from Redmine), so a sync does not send it back."""
        text = _text("comment", text)
        with self.store.session() as session:
            ticket = _get(session, ticket_id)
            entry = self._entry(session, ticket, "comment", actor, text, _source(source))
            session.flush()
            return entry.id

    # -- status ----------------------------------------------------------------------------

    def set_status(
        self,
        ticket_id: int,
        status: TicketStatus | str,
        actor: str,
        why: str,
        *,
        source: str | None = None,
    ) -> None:
        """Move the ticket (see ``TRANSITIONS``); a timeline entry ``status`` with data
        ``{"from", "to"}`` (and ``source`` when given) says who moved it and why. Raises
        TicketStateError for a move the desk would not make."""
        target = _member(TicketStatus, status, "status")
        with self.store.session() as session:
            ticket = _get(session, ticket_id)
            self._move(session, ticket, target, actor, why, source)

    def acknowledge(
        self, ticket_id: int, actor: str, note: str | None = None, *, source: str | None = None
    ) -> None:
        """The first response: new (or escalated) → acknowledged; ``acknowledged_at`` keeps
        the first time, which MTTA measures."""
        self.set_status(
            ticket_id, TicketStatus.ACKNOWLEDGED, actor, note or "acknowledged", source=source
        )

    def resolve(self, ticket_id: int, actor: str, why: str, *, source: str | None = None) -> None:
        self.set_status(ticket_id, TicketStatus.RESOLVED, actor, _text("why", why), source=source)

    def close(self, ticket_id: int, actor: str, why: str, *, source: str | None = None) -> None:
        """Close (``closed_at``): done with; only reopening moves it again."""
        self.set_status(ticket_id, TicketStatus.CLOSED, actor, _text("why", why), source=source)

    # -- people ----------------------------------------------------------------------------

    def assign(self, ticket_id: int, owner: str | None, actor: str, why: str | None = None) -> None:
        """Hand the ticket to ``owner`` (None: to nobody); entry ``assign`` with data
        ``{"from", "to"}``. Giving it to its owner changes nothing."""
        new = (owner or "").strip() or None
        if new is not None and len(new) > MAX_OWNER:
            raise TicketInputError(f"owner: longer than {MAX_OWNER} characters")
        with self.store.session() as session:
            ticket = _get(session, ticket_id)
            old = ticket.owner
            if old == new:
                return
            ticket.owner = new
            said = f"assigned to {new}" if new else f"unassigned (was {old})"
            self._entry(
                session,
                ticket,
                "assign",
                actor,
                f"{said}: {why}" if why else said,
                {"from": old, "to": new},
            )

    def rate(self, ticket_id: int, score: int, actor: str, note: str | None = None) -> None:
        """The customer's satisfaction, 1 (poor) to 5 (excellent), with a resolved or closed
        ticket; rating again replaces the score (the timeline keeps both)."""
        if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
            raise TicketInputError(f"score: must be a whole number from 1 to 5, not {score!r}")
        note = _text("note", note) if note is not None else None
        with self.store.session() as session:
            ticket = _get(session, ticket_id)
            if TicketStatus(ticket.status).is_open:
                raise TicketStateError(
                    f"ticket #{ticket_id} is {ticket.status}: only a resolved or closed ticket "
                    "is rated"
                )
            previous = ticket.satisfaction
            ticket.satisfaction, ticket.satisfaction_note = score, note
            self._entry(
                session,
                ticket,
                "rating",
                actor,
                f"satisfaction {score}/5" + (f": {note}" if note else ""),
                {"score": score, "previous": previous},
            )

    def analyse(self, ticket_id: int, actor: str, text: str) -> None:
        """The analysis of a complaint (what went wrong, what changes) or of a problem (its
        root cause); a new analysis replaces the last, the timeline keeps each."""
        text = _text("analysis", text)
        with self.store.session() as session:
            ticket = _get(session, ticket_id)
            if ticket.kind not in ANALYSED_KINDS:
                kinds = " and ".join(k.value for k in ANALYSED_KINDS)
                raise TicketInputError(
                    f"ticket #{ticket_id} is a {ticket.kind}: only {kinds} tickets take an analysis"
                )
            ticket.analysis = text
            self._entry(session, ticket, "analysis", actor, text)

    # -- reading ---------------------------------------------------------------------------

    def get(self, ticket_id: int) -> Ticket:
        """The ticket with its hosts, timeline, runs and their per-host results loaded."""
        with self.store.session() as session:
            ticket = session.scalar(
                select(Ticket)
                .where(Ticket.id == ticket_id)
                .options(
                    selectinload(Ticket.hosts),
                    selectinload(Ticket.entries),
                    selectinload(Ticket.runs).selectinload(Run.host_results),
                    selectinload(Ticket.runs).selectinload(Run.job),
                )
            )
            if ticket is None:
                raise TicketNotFound(ticket_id)
            return ticket

    def list(
        self,
        *,
        status: Sequence[str] = (),
        kind: Sequence[str] = (),
        priority: Sequence[str] = (),
        host: str | None = None,
        tenant: str | None = None,
        owner: str | None = None,
        text: str | None = None,
        before_id: int | None = None,
        limit: int = 50,
    ) -> list[Ticket]:
        """Tickets newest first (with their hosts), every filter given applied: ``status``,
        ``kind`` and ``priority`` match any of their values; ``text`` is a case-insensitive
        part of the title. The next page: ``before_id`` = the last id of this one."""
        if not 1 <= limit <= MAX_LIST:
            raise TicketInputError(f"limit: must be from 1 to {MAX_LIST}, not {limit}")
        query = _filtered(
            select(Ticket.id),
            status=[_member(TicketStatus, value, "status").value for value in status],
            kind=[_member(TicketKind, value, "kind").value for value in kind],
            priority=[_member(Priority, value, "priority").value for value in priority],
            host=host,
            tenant=tenant,
            owner=owner,
            text=text,
            before_id=before_id,
            like_ignores_case=self.store.dialect == "sqlite",
        )
        with self.store.session() as session:
            if text and self.store.dialect == "sqlite":
                candidates = _title_matches(session, text)
                if candidates is not None:
                    query = query.where(Ticket.id.in_(candidates))
            ids = list(session.scalars(query.order_by(Ticket.id.desc()).limit(limit)))
            found = session.scalars(
                select(Ticket).where(Ticket.id.in_(ids)).options(selectinload(Ticket.hosts))
            )
            return sorted(found, key=lambda ticket: -ticket.id)

    def count(self) -> int:
        with self.store.session() as session:
            return session.scalar(select(func.count(Ticket.id))) or 0

    # -- writing ---------------------------------------------------------------------------

    def _move(
        self,
        session: Session,
        ticket: Ticket,
        target: TicketStatus,
        actor: str,
        why: str,
        source: str | None,
    ) -> None:
        current = TicketStatus(ticket.status)
        if current is target or (current is TicketStatus.CLOSED and target is _S.RESOLVED):
            return
        allowed = TRANSITIONS[current]
        if target not in allowed:
            raise TicketStateError(
                f"ticket #{ticket.id} is {current}: it cannot move to {target} "
                f"(from {current} it may go to {', '.join(allowed)})"
            )
        now = self.clock()
        ticket.status = target.value
        if target is TicketStatus.ACKNOWLEDGED and ticket.acknowledged_at is None:
            ticket.acknowledged_at = now
        ticket.resolved_at = None if target.is_open else (ticket.resolved_at or now)
        ticket.closed_at = now if target is TicketStatus.CLOSED else None
        self._entry(
            session,
            ticket,
            "status",
            actor,
            f"{current} → {target}: {why}",
            {"from": current.value, "to": target.value, **_source(source)},
            at=now,
        )

    def _entry(
        self,
        session: Session,
        ticket: Ticket,
        kind: str,
        actor: str,
        message: str,
        data: dict[str, Any] | None = None,
        run_id: int | None = None,
        at: datetime | None = None,
    ) -> TimelineEntry:
        now = at or self.clock()
        ticket.updated_at = now
        entry = TimelineEntry(
            ticket_id=ticket.id,
            at=now,
            kind=kind,
            actor=actor,
            message=message,
            data=data or {},
            run_id=run_id,
        )
        session.add(entry)
        return entry


def _filtered(
    query: Select[tuple[int]],
    *,
    status: Sequence[str],
    kind: Sequence[str],
    priority: Sequence[str],
    host: str | None,
    tenant: str | None,
    owner: str | None,
    text: str | None,
    before_id: int | None,
    like_ignores_case: bool,
) -> Select[tuple[int]]:
    chosen = ((Ticket.status, status), (Ticket.kind, kind), (Ticket.priority, priority))
    for column, values in chosen:
        if values:
            query = query.where(column.in_(values))
    if tenant:
        query = query.where(Ticket.tenant == tenant)
    if owner:
        query = query.where(Ticket.owner == owner)
    if host:
        query = query.where(
            Ticket.id.in_(select(TicketHost.ticket_id).where(TicketHost.host == host))
        )
    if text:
        # SQLite's LIKE ignores case by itself: lower() on every title would double the
        # cost of a search that reads the whole table
        contains = Ticket.title.contains if like_ignores_case else Ticket.title.icontains
        query = query.where(contains(text, autoescape=True))
    if before_id is not None:
        query = query.where(Ticket.id < before_id)
    return query


# A title search takes its candidates from the trigram index when they are few (a rare word):
# the LIKE over them is then instant. A common word keeps the plain LIKE, which finds the
# newest matches quickly by reading titles from the newest down.
_INDEXED_CANDIDATES = 5000


def _title_matches(session: Session, text: str) -> list[int] | None:
    """The ids of titles that contain ``text``, from the FTS5 trigram index (migration
    0010); None when the index cannot say (a text under 3 characters, too many matches)."""
    if len(text) < 3:
        return None
    phrase = '"' + text.replace('"', '""') + '"'
    rows = session.execute(
        sql_text(
            "SELECT rowid FROM tickets_title_fts WHERE tickets_title_fts MATCH :phrase "
            "ORDER BY rowid DESC LIMIT :most"
        ),
        {"phrase": phrase, "most": _INDEXED_CANDIDATES + 1},
    ).all()
    if len(rows) > _INDEXED_CANDIDATES:
        return None
    return [row[0] for row in rows]


def _member(enum: type[E], value: str, name: str) -> E:
    try:
        return enum(value)
    except ValueError:
        known = ", ".join(member.value for member in enum)
        raise TicketInputError(f"unknown ticket {name} {value!r} (known: {known})") from None


def _text(name: str, value: str) -> str:
    text = value.strip()
    if not text:
        raise TicketInputError(f"{name}: must not be empty")
    if len(text) > MAX_TEXT:
        raise TicketInputError(f"{name}: longer than {MAX_TEXT} characters")
    return text


def _source(source: str | None) -> dict[str, Any]:
    return {"source": source} if source else {}


def _get(session: Session, ticket_id: int, with_hosts: bool = False) -> Ticket:
    query = select(Ticket).where(Ticket.id == ticket_id)
    if with_hosts:
        query = query.options(selectinload(Ticket.hosts))
    ticket = session.scalar(query)
    if ticket is None:
        raise TicketNotFound(ticket_id)
    return ticket
