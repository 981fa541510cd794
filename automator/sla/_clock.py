"""SLA clocks: pure functions from a ticket's history and its contract to due times.

A ticket has two clocks. The **response** clock runs from the ticket's creation until its
first response: the acknowledgement, or the first status change out of ``new`` (a
remediation that picks the ticket up answers too). The **resolution** clock runs from creation
until the ticket is resolved or closed; it stands still while the ticket waits on the customer
and while it is resolved (a reopened ticket's clock goes on from where it stopped).

A clock counts in its target's calendar (business hours or 24x7), and its due time is the
instant at which the counted time reaches the target. A clock that stands still (paused, or
met before reaching its target) gets the due time it would have if it started again at the
instant it stopped: so a pause moves the due time by exactly the working time it lasted, and a
clock met on time has ``met_at <= due``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from automator.sla._calendar import Calendar
from automator.sla._contract import Contract
from automator.tickets import Priority, TicketStatus

NEW = TicketStatus.NEW.value
WAITING = TicketStatus.WAITING_ON_CUSTOMER.value
DONE = frozenset({TicketStatus.RESOLVED.value, TicketStatus.CLOSED.value})
# A stretch of time during which a clock runs; end None: it still runs.
Segment = tuple[datetime, datetime | None]


@dataclass(frozen=True)
class StatusChange:
    """One ``status`` timeline entry: ``{"from": old, "to": new}`` at ``at``."""

    at: datetime
    old: str
    new: str


@dataclass(frozen=True)
class TicketFacts:
    """What the clocks need of a ticket (its status changes in the order they happened)."""

    created_at: datetime
    priority: Priority
    status: str
    changes: Sequence[StatusChange] = ()
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None


@dataclass(frozen=True)
class Clock:
    """One target's clock. ``warn_at`` is when ``warn_at`` share of the target is used (None
    when the clock stopped before); ``segments`` are the stretches during which it runs."""

    name: str
    target: timedelta
    due: datetime
    warn_at: datetime | None
    met_at: datetime | None
    running: bool
    segments: tuple[Segment, ...]

    def breached(self, now: datetime) -> bool:
        """Whether the target is missed as of ``now``: met late, or not met and overdue."""
        if self.met_at is not None:
            return self.met_at > self.due
        if now < self.due:
            return False
        # paused after its due time: the breach happened before the clock stopped
        ends = [end for _, end in self.segments if end is not None]
        return self.running or (bool(ends) and self.due <= max(ends))

    def used(self, calendar: Calendar, now: datetime) -> float:
        """The share of the target counted by ``now`` (above 1 once overdue)."""
        counted = 0.0
        for start, end in self.segments:
            stop = now if end is None else min(end, now)
            counted += calendar.seconds(start, stop)
        return counted / self.target.total_seconds()


@dataclass(frozen=True)
class SlaClocks:
    """A ticket's two clocks under a contract, and how long it has waited on the customer
    (``paused_s``: completed waits, wall seconds; ``paused_since``: the current one)."""

    contract: str
    response: Clock
    resolution: Clock
    paused_since: datetime | None
    paused_s: float

    @property
    def clocks(self) -> tuple[Clock, Clock]:
        return self.response, self.resolution


def sla_clocks(ticket: TicketFacts, contract: Contract) -> SlaClocks:
    """The ticket's response and resolution clocks under ``contract``."""
    ticket = _in_utc(ticket)
    target = contract.target(ticket.priority)
    counting = _Counting(contract.calendar(ticket.priority), contract.warn_at, ticket.created_at)
    changes = sorted(ticket.changes, key=lambda change: change.at)
    responded = response_time(ticket, changes)
    response_segments: tuple[Segment, ...] = ((ticket.created_at, responded),)
    resolution_segments, paused_since, paused_s = _resolution_segments(ticket, changes)
    resolved = _resolved_at(ticket, changes)
    return SlaClocks(
        contract=contract.name,
        response=_clock("response", target.response, response_segments, responded, counting),
        resolution=_clock("resolution", target.resolution, resolution_segments, resolved, counting),
        paused_since=paused_since,
        paused_s=paused_s,
    )


def _in_utc(ticket: TicketFacts) -> TicketFacts:
    """The facts with every time in UTC: Python subtracts two times of one zone by their wall
    clocks, which is an hour off across a change of the clocks."""

    def utc(when: datetime | None) -> datetime | None:
        return None if when is None else when.astimezone(UTC)

    return replace(
        ticket,
        created_at=ticket.created_at.astimezone(UTC),
        changes=[replace(c, at=c.at.astimezone(UTC)) for c in ticket.changes],
        acknowledged_at=utc(ticket.acknowledged_at),
        resolved_at=utc(ticket.resolved_at),
    )


def response_time(ticket: TicketFacts, changes: Sequence[StatusChange]) -> datetime | None:
    """The first response: the acknowledgement or the first change out of new, if earlier."""
    out_of_new = next((change.at for change in changes if change.old == NEW), None)
    times = [t for t in (ticket.acknowledged_at, out_of_new) if t is not None]
    return min(times) if times else None


def _resolved_at(ticket: TicketFacts, changes: Sequence[StatusChange]) -> datetime | None:
    if ticket.status not in DONE:
        return None
    if ticket.resolved_at is not None:
        return ticket.resolved_at
    last_done = [change.at for change in changes if change.new in DONE]
    return last_done[-1] if last_done else ticket.created_at


def _resolution_segments(
    ticket: TicketFacts, changes: Sequence[StatusChange]
) -> tuple[tuple[Segment, ...], datetime | None, float]:
    """Where the resolution clock runs: every status but waiting on the customer, resolved
    and closed; and the waits on the customer."""
    segments: list[Segment] = []
    paused_s = 0.0
    status, since = NEW, ticket.created_at
    for change in [*changes, None]:
        at = None if change is None else max(change.at, ticket.created_at)
        if status not in DONE and status != WAITING:
            segments.append((since, at))
        elif status == WAITING and at is not None:
            paused_s += (at - since).total_seconds()
        if change is None:
            break
        assert at is not None
        status, since = change.new, at
    paused_since = since if status == WAITING else None
    return tuple((s, e) for s, e in segments if e is None or e > s), paused_since, paused_s


@dataclass(frozen=True)
class _Counting:
    """A clock's calendar, warning share and origin (where a clock that never ran stopped)."""

    calendar: Calendar
    warn_share: float
    origin: datetime


def _clock(
    name: str,
    target: timedelta,
    segments: tuple[Segment, ...],
    met_at: datetime | None,
    counting: _Counting,
) -> Clock:
    calendar = counting.calendar
    amount = target.total_seconds()
    due = _instant(segments, calendar, amount)
    if due is None:
        # stopped short of the target: due as if it ran on from where it stopped
        ends = [end for _, end in segments if end is not None]
        stopped = max([*ends, *([met_at] if met_at else [])], default=counting.origin)
        due = calendar.add(stopped, amount - _counted(segments, calendar))
    return Clock(
        name=name,
        target=target,
        due=due,
        warn_at=_instant(segments, calendar, amount * counting.warn_share),
        met_at=met_at,
        running=bool(segments) and segments[-1][1] is None,
        segments=segments,
    )


def _instant(segments: Sequence[Segment], calendar: Calendar, amount: float) -> datetime | None:
    """When the counted time reaches ``amount``; None if the clock stopped before."""
    counted = 0.0
    for start, end in segments:
        if end is None:
            return calendar.add(start, amount - counted)
        length = calendar.seconds(start, end)
        if counted + length >= amount:
            return calendar.add(start, amount - counted)
        counted += length
    return None


def _counted(segments: Sequence[Segment], calendar: Calendar) -> float:
    return sum(calendar.seconds(start, end) for start, end in segments if end is not None)
