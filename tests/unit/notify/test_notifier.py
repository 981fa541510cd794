"""The notifier: due notifications sent outside any transaction, failures retried with
exponential backoff and given up, answered escalations cancelled, every outcome on the ticket,
no secret in any record."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from automator.notify import (
    Channel,
    ChannelError,
    Message,
    Notifier,
    RetryPolicy,
    acknowledge_escalation,
)
from automator.sla import Person
from automator.store import Notification, Store, TimelineEntry
from automator.tickets import TicketKind, TicketService

T0 = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
SECRET = "s3cret-token-value"


@dataclass
class Outbox:
    """A channel type of the test's own, behind the Channel protocol: it delivers into a list,
    or fails like a server that is down (with its token in the error, as a careless library
    would put it)."""

    name: str = "box"
    retry: RetryPolicy = field(
        default_factory=lambda: RetryPolicy(3, timedelta(seconds=30), timedelta(minutes=1))
    )
    down: bool = False
    delivered: list[Message] = field(default_factory=list)

    def address(self, person: Person) -> str | None:
        return person.email

    def send(self, message: Message) -> None:
        if self.down:
            raise ChannelError(f"connection refused by https://hooks.example.net/{SECRET}")
        self.delivered.append(message)

    def redact(self, text: str) -> str:
        return text.replace(SECRET, "***")


def queue(store: Store, ticket_id: int, channel: str = "box", level: int = 1) -> int:
    with store.session() as session:
        row = Notification(
            ticket_id=ticket_id,
            channel=channel,
            target="ann@example.net",
            reason="response_breach",
            level=level,
            subject="[response SLA breached] #1",
            body="please look",
            status="pending",
            attempts=0,
            next_attempt_at=T0,
            created_at=T0,
        )
        session.add(row)
        session.flush()
        return row.id


@pytest.fixture
def ticket_id(store: Store) -> int:
    return TicketService(store).open(kind=TicketKind.INCIDENT, title="down", actor="test")


def row(store: Store, notification_id: int) -> Notification:
    with store.session() as session:
        found = session.get(Notification, notification_id)
        assert found is not None
        return found


def notes(store: Store, ticket_id: int) -> list[str]:
    with store.session() as session:
        return list(
            session.scalars(
                select(TimelineEntry.message)
                .where(TimelineEntry.ticket_id == ticket_id, TimelineEntry.kind == "notification")
                .order_by(TimelineEntry.id)
            )
        )


def test_a_due_notification_is_sent_and_recorded(store: Store, ticket_id: int) -> None:
    box = Outbox()
    notification_id = queue(store, ticket_id)
    notifier = Notifier(store, {"box": box})
    assert notifier.tick(T0 - timedelta(seconds=1)).sent == 0  # not due yet
    assert notifier.next_due() == T0
    assert notifier.tick(T0).sent == 1
    assert [m.subject for m in box.delivered] == ["[response SLA breached] #1"]
    sent = row(store, notification_id)
    assert (sent.status, sent.attempts, sent.sent_at) == ("sent", 1, T0)
    assert notes(store, ticket_id) == [
        "response SLA breached, level 1: box to ann@example.net sent"
    ]
    assert notifier.tick(T0 + timedelta(hours=1)).sent == 0
    assert notifier.next_due() is None


def test_a_channel_that_is_down_backs_off_and_gives_up(store: Store, ticket_id: int) -> None:
    box = Outbox(down=True)
    notification_id = queue(store, ticket_id)
    notifier = Notifier(store, {"box": box})
    first = notifier.tick(T0)
    assert (first.sent, first.failed) == (0, 1)
    failed = row(store, notification_id)
    assert failed.next_attempt_at == T0 + timedelta(seconds=30)
    assert notifier.tick(T0 + timedelta(seconds=29)).failed == 0  # waits its backoff
    assert notifier.tick(T0 + timedelta(seconds=30)).failed == 1
    assert row(store, notification_id).next_attempt_at == T0 + timedelta(seconds=90)
    assert notifier.tick(T0 + timedelta(seconds=90)).given_up == 1
    gone = row(store, notification_id)
    assert (gone.status, gone.attempts) == ("given_up", 3)
    assert notes(store, ticket_id) == [
        "response SLA breached, level 1: box to ann@example.net failed (attempt 1 of 3): "
        "connection refused by https://hooks.example.net/***; next try at 09:00:30 UTC",
        "response SLA breached, level 1: box to ann@example.net failed (attempt 2 of 3): "
        "connection refused by https://hooks.example.net/***; next try at 09:01:30 UTC",
        "response SLA breached, level 1: box to ann@example.net given up after 3 attempts: "
        "connection refused by https://hooks.example.net/***",
    ]
    assert SECRET not in (gone.last_error or "")


def test_a_channel_back_up_delivers_and_one_failure_per_tick(store: Store, ticket_id: int) -> None:
    box = Outbox(down=True)
    ids = [queue(store, ticket_id) for _ in range(3)]
    notifier = Notifier(store, {"box": box})
    result = notifier.tick(T0)
    assert result.failed == 1  # the other two wait: the channel just failed
    assert [row(store, i).attempts for i in ids] == [1, 0, 0]
    box.down = False
    assert notifier.tick(T0 + timedelta(seconds=1)).sent == 2
    assert notifier.tick(T0 + timedelta(seconds=30)).sent == 1
    assert {row(store, i).status for i in ids} == {"sent"}


def test_an_answered_escalation_is_cancelled(store: Store, ticket_id: int) -> None:
    box = Outbox()
    later = queue(store, ticket_id, level=2)
    acknowledge_escalation(store, ticket_id, "carol", "on it", T0 + timedelta(seconds=1))
    assert row(store, later).status == "cancelled"
    # an answer that came another way (a comment) cancels it when it comes due
    other = queue(store, ticket_id, level=2)
    TicketService(store).add_entry(ticket_id, "comment", "dave", "looking")
    with store.session() as session:
        found = session.get(Notification, other)
        assert found is not None
        found.created_at = datetime.now(UTC) - timedelta(minutes=1)
    assert Notifier(store, {"box": box}).tick(datetime.now(UTC)).cancelled == 1
    assert row(store, other).last_error == "comment by dave"
    assert notes(store, ticket_id)[-1] == (
        "response SLA breached, level 2: box to ann@example.net cancelled: comment by dave"
    )
    assert box.delivered == []


def test_a_channel_no_contract_declares_is_given_up(store: Store, ticket_id: int) -> None:
    notification_id = queue(store, ticket_id, channel="pager")
    assert Notifier(store, {}).tick(T0).given_up == 1
    assert row(store, notification_id).last_error == (
        "channel 'pager' is not declared in any contract"
    )


def test_a_broken_channel_type_is_a_failed_attempt(store: Store, ticket_id: int) -> None:
    class Broken(Outbox):
        def send(self, message: Message) -> None:
            raise KeyError(SECRET)

    notification_id = queue(store, ticket_id)
    channel: Channel = Broken()
    assert Notifier(store, {"box": channel}).tick(T0).failed == 1
    assert row(store, notification_id).last_error == "KeyError: '***'"


def test_backoff_doubles_up_to_its_cap() -> None:
    policy = RetryPolicy(8, timedelta(seconds=30), timedelta(minutes=5))
    delays = [policy.delay(n).total_seconds() for n in range(1, 7)]
    assert delays == [30, 60, 120, 240, 300, 300]
    assert RetryPolicy().delay(100) == timedelta(minutes=30)
