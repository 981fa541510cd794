"""The notifier: sends the queued notifications that are due, one at a time, outside any
database transaction, and records every outcome on the row and on the ticket.

A notification is a row before it is anything else (the escalation writes it in the same
transaction as the warning, the breach or the complaint): whoever raised it never waits for a
mail server. A failed attempt is retried with exponential backoff (``RetryPolicy`` of its
channel) and given up after the channel's number of attempts; each attempt's outcome is a
``notification`` entry on the ticket (queued, sent, failed, given up, cancelled). A channel that
failed once in a tick is not tried again in that tick, so a dead mail server costs one timeout
per tick, not one per message. Delivery is at least once: a crash between a send and its
record sends that message again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from automator.notify._channels import Channel, ChannelError, Message
from automator.notify._escalation import REASONS, acknowledged
from automator.sla import NOTIFY_ACTOR, add_entry
from automator.store import Notification, Store, Ticket, utcnow

log = logging.getLogger(__name__)


@dataclass
class NotifierTick:
    """What one tick did."""

    sent: int = 0
    failed: int = 0
    given_up: int = 0
    cancelled: int = 0


class Notifier:
    """Sends due notifications through their channels."""

    def __init__(
        self,
        store: Store,
        channels: Mapping[str, Channel],
        clock: Callable[[], datetime] = utcnow,
        *,
        batch: int = 50,
    ) -> None:
        self.store = store
        self.channels = channels
        self.clock = clock
        self.batch = batch

    def tick(self, now: datetime | None = None) -> NotifierTick:
        now = now or self.clock()
        result = NotifierTick()
        with self.store.session() as session:
            due = session.scalars(
                select(Notification.id)
                .where(Notification.status == "pending", Notification.next_attempt_at <= now)
                .order_by(Notification.next_attempt_at, Notification.id)
                .limit(self.batch)
            ).all()
        down: set[str] = set()
        for notification_id in due:
            message = self._prepare(notification_id, now, result, down)
            if message is None:
                continue
            channel = self.channels[message[0]]
            error = _send(channel, message[1])
            if error is not None:
                down.add(channel.name)
            self._settle(notification_id, channel, error, now, result)
        return result

    def next_due(self) -> datetime | None:
        """When the next pending notification is due (None: nothing pending)."""
        with self.store.session() as session:
            return session.scalar(
                select(Notification.next_attempt_at)
                .where(Notification.status == "pending")
                .order_by(Notification.next_attempt_at)
                .limit(1)
            )

    def _prepare(
        self, notification_id: int, now: datetime, result: NotifierTick, down: set[str]
    ) -> tuple[str, Message] | None:
        """The channel and message to send; None when the row is cancelled (its escalation
        was answered), given up (its channel is gone) or waits (its channel just failed)."""
        with self.store.session() as session:
            row = session.get(Notification, notification_id)
            if row is None or row.status != "pending":
                return None
            ticket = session.get(Ticket, row.ticket_id) if row.ticket_id is not None else None
            if ticket is not None and row.attempts == 0 and row.reason in REASONS:
                why = acknowledged(session, ticket, row.created_at)
                if why is not None:
                    row.status = "cancelled"
                    row.last_error = why
                    result.cancelled += 1
                    _entry(session, ticket, row, now, f"cancelled: {why}", "cancelled")
                    return None
            if row.channel not in self.channels:
                row.status = "given_up"
                row.last_error = f"channel {row.channel!r} is not declared in any contract"
                result.given_up += 1
                if ticket is not None:
                    _entry(session, ticket, row, now, f"given up: {row.last_error}", "given_up")
                return None
            if row.channel in down:
                return None
            return row.channel, Message(
                notification_id=row.id,
                ticket_id=row.ticket_id,
                reason=row.reason,
                level=row.level,
                target=row.target,
                subject=row.subject,
                body=row.body,
            )

    def _settle(
        self,
        notification_id: int,
        channel: Channel,
        error: str | None,
        now: datetime,
        result: NotifierTick,
    ) -> None:
        with self.store.session() as session:
            row = session.get(Notification, notification_id)
            if row is None:
                return
            ticket = session.get(Ticket, row.ticket_id) if row.ticket_id is not None else None
            row.attempts += 1
            if error is None:
                row.status = "sent"
                row.sent_at = now
                row.last_error = None
                result.sent += 1
                log.info("notification #%d sent to %s by %s", row.id, row.target, row.channel)
                text, event = "sent", "sent"
            elif row.attempts >= channel.retry.attempts:
                row.status = "given_up"
                row.last_error = error
                result.given_up += 1
                log.warning("notification #%d given up: %s", row.id, error)
                text, event = f"given up after {row.attempts} attempts: {error}", "given_up"
            else:
                row.last_error = error
                row.next_attempt_at = now + channel.retry.delay(row.attempts)
                result.failed += 1
                log.warning("notification #%d by %s failed: %s", row.id, row.channel, error)
                retry_at = f"{row.next_attempt_at.astimezone(UTC):%H:%M:%S} UTC"
                text = (
                    f"failed (attempt {row.attempts} of {channel.retry.attempts}): {error}; "
                    f"next try at {retry_at}"
                )
                event = "failed"
            if ticket is not None:
                _entry(session, ticket, row, now, text, event)


def _send(channel: Channel, message: Message) -> str | None:
    """Send; the error (redacted) when it failed. Never raises: a channel's bug is a failed
    attempt, not a dead notifier."""
    try:
        channel.send(message)
    except ChannelError as exc:
        return channel.redact(str(exc))
    except Exception as exc:  # a channel type's bug must not stop the others
        error = channel.redact(f"{type(exc).__name__}: {exc}")
        # no traceback: its frames' text could hold what redact() knows nothing of
        log.error("channel %s failed unexpectedly: %s", channel.name, error)
        return error
    return None


def _entry(
    session: Session, ticket: Ticket, row: Notification, now: datetime, outcome: str, event: str
) -> None:
    message = (
        f"{REASONS.get(row.reason, row.reason)}, level {row.level}: {row.channel} to "
        f"{row.target} {outcome}"
    )
    data = {
        "event": event,
        "notification": row.id,
        "reason": row.reason,
        "level": row.level,
        "channel": row.channel,
        "target": row.target,
        "attempts": row.attempts,
    }
    add_entry(session, ticket, now, "notification", NOTIFY_ACTOR, message, data)
