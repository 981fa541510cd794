"""The SLA monitor: keeps every open ticket's ``ticket_sla`` row up to date, and records each
warning and breach once, on the row and on the ticket, handing it to the escalation.

A tick looks only at tickets whose clocks could have changed: those with a timeline entry
since the last tick (a status change, a new ticket) and those whose next warning or due time
has come (kept in memory, earliest first). The first tick, and one every ``resync`` after,
reads every open ticket and every ticket among the last ``lookback`` timeline entries: it
builds that schedule, and it catches what a restart (a ticket resolved meanwhile) or an entry
committed out of order would otherwise hide.

Warnings and breaches are written with a conditional UPDATE (``... WHERE warned_at IS NULL``):
each is recorded once even if two monitors share a database. One found long after the fact (the
monitor was down, or the ticket is older than its contract) is recorded but not escalated
when it is older than ``catch_up``: a restart must not page everyone for last month's tickets.
"""

from __future__ import annotations

import heapq
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from automator.sla._clock import Clock, SlaClocks, StatusChange, TicketFacts, sla_clocks
from automator.sla._contract import Contract, Contracts
from automator.sla._entries import OWN_KINDS, SLA_ACTOR, add_entry, local_time, span
from automator.store import Store, Ticket, TicketSla, TimelineEntry, utcnow
from automator.tickets import Priority, TicketStatus

log = logging.getLogger(__name__)

OPEN = tuple(status.value for status in TicketStatus if status.is_open)
_COLUMNS = {
    ("response", "warning"): TicketSla.response_warned_at,
    ("response", "breach"): TicketSla.response_breached_at,
    ("resolution", "warning"): TicketSla.resolution_warned_at,
    ("resolution", "breach"): TicketSla.resolution_breached_at,
}


class Escalation(Protocol):
    """Where warnings and breaches go (``automator.notify.Escalator``), in the monitor's
    transaction."""

    def escalate(
        self, session: Session, ticket: Ticket, reason: str, now: datetime, detail: str
    ) -> object: ...


@dataclass
class SlaTick:
    """What one tick did."""

    checked: int = 0
    warnings: int = 0
    breaches: int = 0


class SlaMonitor:
    """Keeps ``ticket_sla`` rows, warnings and breaches of open tickets up to date."""

    def __init__(
        self,
        store: Store,
        contracts: Contracts,
        clock: Callable[[], datetime] = utcnow,
        escalation: Escalation | None = None,
        *,
        catch_up: timedelta = timedelta(hours=24),
        resync: timedelta = timedelta(hours=1),
        batch: int = 500,
        lookback: int = 10_000,
    ) -> None:
        self.store = store
        self.contracts = contracts
        self.clock = clock
        self.escalation = escalation
        self.catch_up = catch_up
        self.resync = resync
        self.batch = batch
        self.lookback = lookback
        self._cursor: int | None = None
        self._next_sync: datetime | None = None
        self._queue: list[tuple[datetime, int]] = []
        self._next: dict[int, datetime] = {}

    def tick(self, now: datetime | None = None) -> SlaTick:
        now = now or self.clock()
        result = SlaTick()
        if not self.contracts:
            return result
        ids = self._to_check(now)
        chunk: list[int] = []
        for ticket_id in sorted(ids):
            chunk.append(ticket_id)
            if len(chunk) == self.batch:
                self._check(chunk, now, result)
                chunk = []
        if chunk:
            self._check(chunk, now, result)
        return result

    def next_due(self) -> datetime | None:
        """The earliest warning or due time known (for a caller that sleeps until then)."""
        return self._queue[0][0] if self._queue else None

    def _to_check(self, now: datetime) -> set[int]:
        with self.store.session() as session:
            if self._cursor is None or self._next_sync is None or now >= self._next_sync:
                self._cursor = session.scalar(select(func.max(TimelineEntry.id))) or 0
                self._queue.clear()
                self._next.clear()
                self._next_sync = now + self.resync
                # open tickets, and those touched lately (resolved while no monitor ran)
                recent = select(TimelineEntry.ticket_id).where(
                    TimelineEntry.id > self._cursor - self.lookback
                )
                return set(session.scalars(select(Ticket.id).where(Ticket.status.in_(OPEN)))) | set(
                    session.scalars(recent)
                )
            rows = session.execute(
                select(TimelineEntry.id, TimelineEntry.ticket_id, TimelineEntry.kind)
                .where(TimelineEntry.id > self._cursor)
                .order_by(TimelineEntry.id)
            ).all()
        ids = {ticket_id for _, ticket_id, kind in rows if kind not in OWN_KINDS}
        if rows:
            self._cursor = rows[-1][0]
        while self._queue and self._queue[0][0] <= now:
            at, ticket_id = heapq.heappop(self._queue)
            if self._next.get(ticket_id) == at:
                del self._next[ticket_id]
                ids.add(ticket_id)
        return ids

    def _check(self, ids: Sequence[int], now: datetime, result: SlaTick) -> None:
        with self.store.session() as session:
            tickets = session.scalars(select(Ticket).where(Ticket.id.in_(ids))).all()
            rows = {
                row.ticket_id: row
                for row in session.scalars(select(TicketSla).where(TicketSla.ticket_id.in_(ids)))
            }
            changes = _status_changes(session, ids)
            for ticket in tickets:
                contract = self.contracts.for_ticket(ticket.tenant, ticket.contract)
                if contract is None or ticket.kind not in contract.kinds:
                    continue
                clocks = sla_clocks(_facts(ticket, changes.get(ticket.id, ())), contract)
                known = rows.get(ticket.id)
                row = _keep_row(session, ticket, known, clocks, contract)
                result.checked += 1
                self._record(session, ticket, row, known is None, clocks, contract, now, result)
                self._schedule(ticket.id, clocks, now)

    def _record(
        self,
        session: Session,
        ticket: Ticket,
        row: TicketSla,
        new: bool,
        clocks: SlaClocks,
        contract: Contract,
        now: datetime,
        result: SlaTick,
    ) -> None:
        for clock in clocks.clocks:
            if getattr(row, f"{clock.name}_breached_at") is not None:
                continue
            warned = getattr(row, f"{clock.name}_warned_at")
            if clock.breached(now):
                if _mark(session, row, new, clock.name, "breach", clock.due):
                    result.breaches += 1
                    self._breach(session, ticket, clock, contract, now)
            elif (
                warned is None
                and _warning_due(clock, now)
                and _mark(session, row, new, clock.name, "warning", now)
            ):
                result.warnings += 1
                self._warn(session, ticket, clock, contract, now)

    def _warn(
        self, session: Session, ticket: Ticket, clock: Clock, contract: Contract, now: datetime
    ) -> None:
        used = clock.used(contract.calendar(Priority(ticket.priority)), now)
        message = (
            f"{clock.name} due in {span((clock.due - now).total_seconds())} at "
            f"{local_time(clock.due, contract.timezone, now)} ({round(used * 100)} % used)"
        )
        data = _data(clock, "warning", contract, used=round(used, 3))
        add_entry(session, ticket, now, "sla", SLA_ACTOR, message, data)
        assert clock.warn_at is not None
        if self.escalation is not None and now - clock.warn_at <= self.catch_up:
            self.escalation.escalate(session, ticket, f"{clock.name}_warning", now, message)

    def _breach(
        self, session: Session, ticket: Ticket, clock: Clock, contract: Contract, now: datetime
    ) -> None:
        message = f"{clock.name} breached at {local_time(clock.due, contract.timezone, now)}"
        if clock.met_at is not None:
            message += f" ({'responded' if clock.name == 'response' else 'resolved'} "
            message += f"{local_time(clock.met_at, contract.timezone, now)})"
        add_entry(session, ticket, now, "sla", SLA_ACTOR, message, _data(clock, "breach", contract))
        late = now - clock.due > self.catch_up
        if self.escalation is not None and clock.met_at is None and not late:
            self.escalation.escalate(session, ticket, f"{clock.name}_breach", now, message)

    def _schedule(self, ticket_id: int, clocks: SlaClocks, now: datetime) -> None:
        """Remember when this ticket next needs a look: its next warning or due time (those
        up to ``now`` were just recorded)."""
        times = [
            moment
            for clock in clocks.clocks
            if clock.running
            for moment in (clock.warn_at, clock.due)
            if moment is not None and moment > now
        ]
        self._next.pop(ticket_id, None)
        if times:
            at = min(times)
            self._next[ticket_id] = at
            heapq.heappush(self._queue, (at, ticket_id))


def _mark(
    session: Session, row: TicketSla, new: bool, clock: str, event: str, at: datetime
) -> bool:
    """Set the warning or breach time unless it is already set: True when this call set it
    (so the event is recorded and escalated once, even with two monitors on one database)."""
    column = _COLUMNS[clock, event]
    if new:  # not in the database yet: inserting it twice would fail on its key
        setattr(row, column.key, at)
        return True
    with session.no_autoflush:
        done = session.execute(
            update(TicketSla)
            .where(TicketSla.ticket_id == row.ticket_id, column.is_(None))
            .values({column.key: at})
            .execution_options(synchronize_session=False)
        )
    if not getattr(done, "rowcount", 0):
        return False
    set_committed_value(row, column.key, at)  # what the database now holds
    return True


def _warning_due(clock: Clock, now: datetime) -> bool:
    """A running, unmet clock past its warning share."""
    return (
        clock.running
        and clock.met_at is None
        and clock.warn_at is not None
        and clock.warn_at <= now
    )


def _status_changes(session: Session, ids: Iterable[int]) -> dict[int, list[StatusChange]]:
    found: dict[int, list[StatusChange]] = defaultdict(list)
    rows = session.execute(
        select(TimelineEntry.ticket_id, TimelineEntry.at, TimelineEntry.data)
        .where(TimelineEntry.ticket_id.in_(list(ids)), TimelineEntry.kind == "status")
        .order_by(TimelineEntry.id)
    )
    for ticket_id, at, data in rows:
        old, new = (data or {}).get("from"), (data or {}).get("to")
        if isinstance(old, str) and isinstance(new, str):
            found[ticket_id].append(StatusChange(at, old, new))
    return found


def _facts(ticket: Ticket, changes: Sequence[StatusChange]) -> TicketFacts:
    return TicketFacts(
        created_at=ticket.created_at,
        priority=Priority(ticket.priority),
        status=ticket.status,
        changes=changes,
        acknowledged_at=ticket.acknowledged_at,
        resolved_at=ticket.resolved_at,
    )


def _keep_row(
    session: Session,
    ticket: Ticket,
    row: TicketSla | None,
    clocks: SlaClocks,
    contract: Contract,
) -> TicketSla:
    """The ticket's SLA row with the clocks' values (written only where they changed)."""
    if ticket.contract is None:
        ticket.contract = contract.name
    values = {
        "contract": contract.name,
        "response_target_s": clocks.response.target.total_seconds(),
        "resolution_target_s": clocks.resolution.target.total_seconds(),
        "response_due": clocks.response.due,
        "resolution_due": clocks.resolution.due,
        "responded_at": clocks.response.met_at,
        "paused_since": clocks.paused_since,
        "paused_s": clocks.paused_s,
    }
    if row is None:
        row = TicketSla(ticket_id=ticket.id, **values)
        session.add(row)
        return row
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
    return row


def _data(clock: Clock, event: str, contract: Contract, **extra: object) -> dict[str, object]:
    return {
        "clock": clock.name,
        "event": event,
        "due": clock.due.isoformat(),
        "target_s": clock.target.total_seconds(),
        "contract": contract.name,
        **extra,
    }
