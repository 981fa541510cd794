"""Tickets: the unit of record. Every change to a ticket is a timeline entry."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from automator.errors import AutomatorError, TicketNotFound
from automator.store import Run, Store, Ticket, TicketHost, TimelineEntry, utcnow


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


class TicketService:
    """Open, read and write tickets. Each method is one transaction."""

    def __init__(self, store: Store) -> None:
        self.store = store

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
        with self.store.session() as session:
            ticket = Ticket(
                kind=kind.value,
                status=TicketStatus.NEW.value,
                priority=priority.value,
                title=title,
                owner=owner,
                tenant=tenant,
                opened_by=actor,
                hosts=[TicketHost(host=host) for host in sorted(set(hosts))],
            )
            session.add(ticket)
            session.flush()
            _entry(session, ticket, "opened", actor, message or title)
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
            _entry(session, ticket, kind, actor, message, data, run_id)

    def add_hosts(self, ticket_id: int, hosts: Iterable[str], actor: str) -> None:
        with self.store.session() as session:
            ticket = _get(session, ticket_id, with_hosts=True)
            known = {row.host for row in ticket.hosts}
            new = sorted(set(hosts) - known)
            if new:
                ticket.hosts.extend(TicketHost(host=host) for host in new)
                _entry(session, ticket, "hosts", actor, f"hosts added: {', '.join(new)}")

    def set_status(self, ticket_id: int, status: TicketStatus, actor: str, why: str) -> None:
        with self.store.session() as session:
            ticket = _get(session, ticket_id)
            if ticket.status == status.value:
                return
            old = ticket.status
            ticket.status = status.value
            ticket.resolved_at = None if status.is_open else (ticket.resolved_at or utcnow())
            _entry(
                session,
                ticket,
                "status",
                actor,
                f"{old} → {status.value}: {why}",
                {"from": old, "to": status.value},
            )

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
        host: str | None = None,
        limit: int = 50,
    ) -> list[Ticket]:
        _check_values("status", status, TicketStatus)
        _check_values("kind", kind, TicketKind)
        query = select(Ticket).options(selectinload(Ticket.hosts)).order_by(Ticket.id.desc())
        if status:
            query = query.where(Ticket.status.in_(status))
        if kind:
            query = query.where(Ticket.kind.in_(kind))
        if host:
            query = query.where(
                Ticket.id.in_(select(TicketHost.ticket_id).where(TicketHost.host == host))
            )
        with self.store.session() as session:
            return list(session.scalars(query.limit(limit)))

    def count(self) -> int:
        with self.store.session() as session:
            return session.scalar(select(func.count(Ticket.id))) or 0


def _check_values(name: str, values: Sequence[str], enum: type[StrEnum]) -> None:
    known = [member.value for member in enum]
    for value in values:
        if value not in known:
            raise AutomatorError(f"unknown ticket {name} {value!r} (known: {', '.join(known)})")


def _get(session: Session, ticket_id: int, with_hosts: bool = False) -> Ticket:
    query = select(Ticket).where(Ticket.id == ticket_id)
    if with_hosts:
        query = query.options(selectinload(Ticket.hosts))
    ticket = session.scalar(query)
    if ticket is None:
        raise TicketNotFound(ticket_id)
    return ticket


def _entry(
    session: Session,
    ticket: Ticket,
    kind: str,
    actor: str,
    message: str,
    data: dict[str, Any] | None = None,
    run_id: int | None = None,
) -> None:
    now = utcnow()
    ticket.updated_at = now
    session.add(
        TimelineEntry(
            ticket_id=ticket.id,
            at=now,
            kind=kind,
            actor=actor,
            message=message,
            data=data or {},
            run_id=run_id,
        )
    )
