"""Escalation: who hears about a ticket that needs a person, and who hears next when nobody
answers.

Four things escalate a ticket along its chain (from its contract: per site and priority; a
complaint's own chain): an SLA warning or breach (the SLA monitor hands them over), a failed
remediation (the ticket's status becomes ``escalated``: the pipeline sets it when a fix did not
verify) and a complaint being opened. ``Escalator.tick`` finds the last two in the timeline.

Escalating writes the notifications of every level at once, each due when its level comes:
the first level now, the next one ``wait`` later, and so on. Before a notification's first
attempt, the notifier asks ``acknowledged``: once a person has acted on the ticket since the
escalation began (acknowledged it, commented, assigned it, changed its status, or ran
``automator sla ack``) or the ticket is resolved, the levels still to come are cancelled, and
recorded so. A new escalation of a ticket whose last one nobody acknowledged goes on from the
highest level already reached rather than starting over with the owner, and cancels what the
old one still had queued.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from automator.errors import TicketNotFound
from automator.notify._channels import Channel
from automator.sla import (
    NOTIFY_ACTOR,
    OWNER,
    Chain,
    Contract,
    Contracts,
    Person,
    add_entry,
    local_time,
)
from automator.store import Notification, Store, Ticket, TimelineEntry, utcnow
from automator.tickets import Priority, TicketKind, TicketStatus

log = logging.getLogger(__name__)

REASONS = {
    "response_warning": "response SLA warning",
    "response_breach": "response SLA breached",
    "resolution_warning": "resolution SLA warning",
    "resolution_breach": "resolution SLA breached",
    "remediation_failed": "remediation failed",
    "complaint": "complaint",
}
# actors that are automator itself: their entries are not a person acknowledging
SYSTEM_ACTORS = frozenset({"automator", "rules", "checks", "backups", "sla", "notify"})
_PEOPLE_KINDS = ("comment", "assign", "status", "sla")
_DONE = (TicketStatus.RESOLVED.value, TicketStatus.CLOSED.value)
_OPEN = tuple(s.value for s in TicketStatus if s.is_open)


@dataclass(frozen=True)
class HostFacts:
    """What the inventory says about a ticket's hosts: their sites and owners."""

    sites: frozenset[str] = frozenset()
    owners: tuple[str, ...] = ()


HostDirectory = Callable[[Sequence[str]], HostFacts]


def no_hosts(_hosts: Sequence[str]) -> HostFacts:
    return HostFacts()


def acknowledged(session: Session, ticket: Ticket, since: datetime) -> str | None:
    """Why an escalation begun at ``since`` needs to go no further (None: nobody answered)."""
    if ticket.status in _DONE:
        return f"ticket {ticket.status}"
    if ticket.acknowledged_at is not None and ticket.acknowledged_at >= since:
        return "ticket acknowledged"
    entries = session.execute(
        select(TimelineEntry.kind, TimelineEntry.actor, TimelineEntry.data)
        .where(
            TimelineEntry.ticket_id == ticket.id,
            TimelineEntry.at >= since,
            TimelineEntry.kind.in_(_PEOPLE_KINDS),
        )
        .order_by(TimelineEntry.id)
    )
    for kind, actor, data in entries:
        facts = data or {}
        if kind == "sla":
            if facts.get("event") == "ack":
                return f"acknowledged by {actor}"
        elif actor not in SYSTEM_ACTORS and facts.get("to") != TicketStatus.ESCALATED.value:
            return f"{kind} by {actor}"
    return None


class Escalator:
    """Queues the notifications of an escalation, and finds the escalations the timeline asks
    for (failed remediations, complaints)."""

    def __init__(
        self,
        store: Store,
        contracts: Contracts,
        channels: Mapping[str, Channel],
        hosts: HostDirectory = no_hosts,
        clock: Callable[[], datetime] = utcnow,
        *,
        catch_up: timedelta = timedelta(hours=24),
        batch: int = 1000,
    ) -> None:
        self.store = store
        self.contracts = contracts
        self.channels = channels
        self.hosts = hosts
        self.clock = clock
        self.catch_up = catch_up
        self.batch = batch
        self._entry_cursor: int | None = None
        self._ticket_cursor = 0

    # --- escalating ---------------------------------------------------------------------

    def escalate(
        self, session: Session, ticket: Ticket, reason: str, now: datetime, detail: str
    ) -> list[int]:
        """Queue the notifications of ``ticket``'s chain for ``reason`` (a key of REASONS), in
        the caller's transaction; the ids queued."""
        contract = self.contracts.for_ticket(ticket.tenant, ticket.contract)
        facts = self.hosts([row.host for row in ticket.hosts])
        chain = None
        if contract is not None:
            chain = self.contracts.chain(
                contract,
                facts.sites,
                Priority(ticket.priority),
                complaint=ticket.kind == TicketKind.COMPLAINT.value,
            )
        if contract is None or chain is None:
            where = ", ".join(sorted(facts.sites)) or "no site"
            why = "no contract" if contract is None else f"no chain for {where}, {ticket.priority}"
            _note(
                session,
                ticket,
                now,
                f"{REASONS[reason]}: nobody notified ({why})",
                {"event": "no_chain", "reason": reason},
            )
            return []
        start = self._start_level(session, ticket, now, chain, reason)
        return self._queue(session, ticket, reason, now, detail, contract, chain, start, facts)

    def _start_level(
        self, session: Session, ticket: Ticket, now: datetime, chain: Chain, reason: str
    ) -> int:
        """Where this escalation starts: the first level, or, when the ticket's last
        escalation is unanswered, the highest level it reached (its unsent levels are
        cancelled: this escalation replaces them)."""
        last = session.scalars(
            select(Notification)
            .where(Notification.ticket_id == ticket.id, Notification.reason.in_(REASONS))
            .order_by(Notification.id.desc())
            .limit(1)
        ).first()
        if last is None or acknowledged(session, ticket, last.created_at) is not None:
            return 0
        rows = session.scalars(
            select(Notification).where(
                Notification.ticket_id == ticket.id,
                Notification.reason == last.reason,
                Notification.created_at == last.created_at,
            )
        ).all()
        reached = [row.level for row in rows if row.attempts > 0 or row.status == "sent"]
        level = max(reached) if reached else min(row.level for row in rows)
        superseded = [row for row in rows if row.status == "pending" and row.attempts == 0]
        for row in superseded:
            row.status = "cancelled"
            row.last_error = f"superseded by {REASONS[reason]}"
        if superseded:
            _note(
                session,
                ticket,
                now,
                f"{len(superseded)} queued notification(s) of the {REASONS[last.reason]} "
                f"escalation cancelled: superseded by {REASONS[reason]}",
                {
                    "event": "cancelled",
                    "reason": last.reason,
                    "notifications": [row.id for row in superseded],
                },
            )
        return min(max(level - 1, 0), len(chain.levels) - 1)

    def _queue(
        self,
        session: Session,
        ticket: Ticket,
        reason: str,
        now: datetime,
        detail: str,
        contract: Contract,
        chain: Chain,
        start: int,
        facts: HostFacts,
    ) -> list[int]:
        queued: list[int] = []
        when = now
        count = len(chain.levels)
        for index in range(start, count):
            level = chain.levels[index]
            nxt = when + level.wait if level.wait is not None and index + 1 < count else None
            people = self._recipients(contract, level.who, ticket, facts)
            rows, skipped = self._rows(ticket, reason, index + 1, people, level.channels)
            subject = f"[{REASONS[reason]}] #{ticket.id} {ticket.priority} {ticket.title}"
            for row in rows:
                row.subject = subject
                row.body = _body(ticket, reason, detail, index + 1, count, nxt, contract, now)
                row.next_attempt_at = when
                row.created_at = now
            session.add_all(rows)
            session.flush()
            queued += [row.id for row in rows]
            _note(
                session,
                ticket,
                now,
                _queued_message(reason, index + 1, count, rows, skipped, when, now, contract),
                {
                    "event": "queued",
                    "reason": reason,
                    "level": index + 1,
                    "chain": chain.name,
                    "at": when.isoformat(),
                    "notifications": [row.id for row in rows],
                },
            )
            if rows and nxt is not None:  # a level with nobody to tell is no reason to wait
                when = nxt
        return queued

    def _recipients(
        self, contract: Contract, who: Sequence[str], ticket: Ticket, facts: HostFacts
    ) -> list[Person]:
        people: list[Person] = []
        for key in who:
            if key != OWNER:
                person = self.contracts.person(contract, key)
                if person is not None:
                    people.append(person)
                continue
            owners = [ticket.owner] if ticket.owner else list(facts.owners)
            for owner in owners:
                known = self.contracts.person(contract, owner)
                email = owner if "@" in owner else None
                people.append(known or Person(key=owner, name=owner, email=email))
        return list({person.key: person for person in people}.values())

    def _rows(
        self,
        ticket: Ticket,
        reason: str,
        level: int,
        people: Sequence[Person],
        channel_names: Sequence[str],
    ) -> tuple[list[Notification], list[str]]:
        rows: list[Notification] = []
        skipped: list[str] = []
        if not people:
            skipped.append("nobody to notify (no owner)")
        for person in people:
            for name in channel_names:
                channel = self.channels.get(name)
                address = channel.address(person) if channel is not None else None
                if address is None:
                    skipped.append(f"{person.name} has no address on {name}")
                    continue
                rows.append(
                    Notification(
                        ticket_id=ticket.id,
                        channel=name,
                        target=address[:300],
                        reason=reason,
                        level=level,
                        subject="",
                        body="",
                        status="pending",
                        attempts=0,
                    )
                )
        return rows, skipped

    # --- what the timeline asks for -----------------------------------------------------

    def tick(self, now: datetime | None = None) -> int:
        """Escalate tickets that became ``escalated`` and complaints opened since the last
        tick (the first tick: those of the last ``catch_up``); the number escalated."""
        now = now or self.clock()
        with self.store.session() as session:
            if self._entry_cursor is None:
                return self._catch_up(session, now)
            entries = session.execute(
                select(TimelineEntry.id, TimelineEntry.ticket_id, TimelineEntry.data)
                .where(TimelineEntry.id > self._entry_cursor, TimelineEntry.kind == "status")
                .order_by(TimelineEntry.id)
                .limit(self.batch)
            ).all()
            if entries:
                self._entry_cursor = entries[-1][0]
            triggers = [
                (ticket_id, "remediation_failed", entry_id)
                for entry_id, ticket_id, data in entries
                if (data or {}).get("to") == TicketStatus.ESCALATED.value
            ]
            complaints = session.scalars(
                select(Ticket.id)
                .where(Ticket.id > self._ticket_cursor, Ticket.kind == TicketKind.COMPLAINT.value)
                .order_by(Ticket.id)
                .limit(self.batch)
            ).all()
            if complaints:
                self._ticket_cursor = complaints[-1]
            triggers += [(ticket_id, "complaint", 0) for ticket_id in complaints]
            return self._trigger(session, triggers, now)

    def _catch_up(self, session: Session, now: datetime) -> int:
        """The first tick: start the cursors at the end, and escalate what happened within
        ``catch_up`` and nobody was told about (a restart must neither miss nor repeat)."""
        self._entry_cursor = session.scalar(select(func.max(TimelineEntry.id))) or 0
        self._ticket_cursor = session.scalar(select(func.max(Ticket.id))) or 0
        since = now - self.catch_up
        escalated = session.execute(
            select(TimelineEntry.ticket_id, func.max(TimelineEntry.id))
            .join(Ticket, Ticket.id == TimelineEntry.ticket_id)
            .where(
                Ticket.status == TicketStatus.ESCALATED.value,
                TimelineEntry.kind == "status",
                TimelineEntry.at >= since,
            )
            .group_by(TimelineEntry.ticket_id)
        ).all()
        complaints = session.scalars(
            select(Ticket.id).where(
                Ticket.kind == TicketKind.COMPLAINT.value,
                Ticket.status.in_(_OPEN),
                Ticket.created_at >= since,
            )
        ).all()
        triggers = [(tid, "remediation_failed", entry_id) for tid, entry_id in escalated]
        triggers += [(tid, "complaint", 0) for tid in complaints]
        return self._trigger(session, triggers, now)

    def _trigger(
        self, session: Session, triggers: Sequence[tuple[int, str, int]], now: datetime
    ) -> int:
        """Escalate each (ticket, reason, timeline entry that asked for it) not yet escalated
        (a complaint is asked for by its opening: entry 0)."""
        started = 0
        for ticket_id, reason, entry_id in triggers:
            ticket = session.scalar(
                select(Ticket).where(Ticket.id == ticket_id).options(selectinload(Ticket.hosts))
            )
            if ticket is None or _already(session, ticket_id, reason, entry_id):
                continue
            detail = (
                f"complaint opened: {ticket.title}"
                if reason == "complaint"
                else f"a fix did not work: the ticket is {ticket.status}"
            )
            self.escalate(session, ticket, reason, now, detail)
            started += 1
        return started


def _already(session: Session, ticket_id: int, reason: str, after: int) -> bool:
    """Whether an escalation for ``reason`` was started on the ticket after timeline entry
    ``after`` (ids, not times: they order what one database wrote whatever the clocks say)."""
    rows = session.scalars(
        select(TimelineEntry.data).where(
            TimelineEntry.ticket_id == ticket_id,
            TimelineEntry.kind == "notification",
            TimelineEntry.id > after,
        )
    )
    return any(
        (data or {}).get("reason") == reason and (data or {}).get("event") in ("queued", "no_chain")
        for data in rows
    )


def _queued_message(
    reason: str,
    level: int,
    count: int,
    rows: Sequence[Notification],
    skipped: Sequence[str],
    when: datetime,
    now: datetime,
    contract: Contract,
) -> str:
    whom = ", ".join(f"{row.target} by {row.channel}" for row in rows) or "nobody"
    text = f"{REASONS[reason]}: level {level} of {count}: {whom}"
    if when > now:
        text += f" at {local_time(when, contract.timezone, now)} unless someone acknowledges"
    if skipped:
        text += f" ({'; '.join(skipped)})"
    return text


def _body(
    ticket: Ticket,
    reason: str,
    detail: str,
    level: int,
    count: int,
    nxt: datetime | None,
    contract: Contract,
    now: datetime,
) -> str:
    hosts = ", ".join(row.host for row in ticket.hosts) or "none"
    lines = [
        f"Ticket #{ticket.id}: {ticket.title}",
        f"{ticket.priority} {ticket.kind}, {ticket.status}; tenant {ticket.tenant or '-'}; "
        f"owner {ticket.owner or '-'}; hosts {hosts}",
        "",
        f"Why: {REASONS[reason]}: {detail}",
        f"Escalation level {level} of {count} ({contract.name} contract).",
    ]
    if nxt is not None:
        lines.append(
            f"Unless someone acknowledges, level {level + 1} is notified at "
            f"{local_time(nxt, contract.timezone, now)}."
        )
    lines += [
        "",
        f"Acknowledge: automator sla ack {ticket.id} (or comment on, assign or update the ticket).",
    ]
    return "\n".join(lines)


def acknowledge_escalation(
    store: Store, ticket_id: int, actor: str, note: str | None, now: datetime
) -> int:
    """A person answers the ticket's escalation (``automator sla ack``): recorded on the
    ticket, and its levels still queued are cancelled; the number cancelled."""
    with store.session() as session:
        ticket = session.get(Ticket, ticket_id)
        if ticket is None:
            raise TicketNotFound(ticket_id)
        add_entry(
            session,
            ticket,
            now,
            "sla",
            actor,
            f"escalation acknowledged{f': {note}' if note else ''}",
            {"event": "ack", "note": note},
        )
        pending = session.scalars(
            select(Notification).where(
                Notification.ticket_id == ticket_id,
                Notification.status == "pending",
                Notification.attempts == 0,
                Notification.reason.in_(REASONS),
            )
        ).all()
        for row in pending:
            row.status = "cancelled"
            row.last_error = f"acknowledged by {actor}"
        if pending:
            _note(
                session,
                ticket,
                now,
                f"{len(pending)} queued notification(s) cancelled: acknowledged by {actor}",
                {"event": "cancelled", "notifications": [row.id for row in pending]},
            )
        return len(pending)


def _note(
    session: Session, ticket: Ticket, now: datetime, message: str, data: dict[str, Any]
) -> None:
    """An escalation's news on the ticket's timeline."""
    add_entry(session, ticket, now, "notification", NOTIFY_ACTOR, message, data)
