"""Tables of the service desk (issue 6): SLA clocks, notifications, the external ITSM mirror
and its outbox, and service reviews. The ticket's own new columns are in ``_models``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from automator.store._models import Base, utcnow


class TicketSla(Base):
    """A ticket's SLA clocks, from its tenant's contract: due times, pauses while waiting on
    the customer, and when a warning or a breach was recorded."""

    __tablename__ = "ticket_sla"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    contract: Mapped[str] = mapped_column(String(100))
    response_target_s: Mapped[float] = mapped_column(Float)
    resolution_target_s: Mapped[float] = mapped_column(Float)
    response_due: Mapped[datetime]
    resolution_due: Mapped[datetime] = mapped_column(index=True)
    responded_at: Mapped[datetime | None]
    paused_since: Mapped[datetime | None]
    paused_s: Mapped[float] = mapped_column(Float, default=0.0)
    response_warned_at: Mapped[datetime | None]
    resolution_warned_at: Mapped[datetime | None]
    response_breached_at: Mapped[datetime | None]
    resolution_breached_at: Mapped[datetime | None]


class Notification(Base):
    """One message to one person or endpoint, kept whatever happens to it: sent, retried
    with backoff, or given up on. Never in the pipeline's way."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    channel: Mapped[str] = mapped_column(String(50))
    target: Mapped[str] = mapped_column(String(300))
    reason: Mapped[str] = mapped_column(String(50))
    level: Mapped[int] = mapped_column(default=0)
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class ItsmLink(Base):
    """An automator ticket's twin in an external ITSM (Redmine first)."""

    __tablename__ = "itsm_links"
    __table_args__ = (UniqueConstraint("system", "external_id"),)

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    system: Mapped[str] = mapped_column(String(50), primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_pushed_at: Mapped[datetime | None]
    last_pulled_at: Mapped[datetime | None]
    remote_updated_on: Mapped[str | None] = mapped_column(String(40))
    last_journal_id: Mapped[int] = mapped_column(default=0)


class ItsmOutbox(Base):
    """What is still to be sent to the external ITSM, in order. A change is written here in
    the same transaction as the ticket change, and drained when the ITSM answers: an outage
    loses nothing, and ``dedupe_key`` makes a replay harmless."""

    __tablename__ = "itsm_outbox"
    __table_args__ = (
        Index("ix_itsm_outbox_due", "system", "status", "id"),
        UniqueConstraint("system", "dedupe_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    system: Mapped[str] = mapped_column(String(50))
    operation: Mapped[str] = mapped_column(String(30))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    dedupe_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]


class ServiceReview(Base):
    """A service review meeting with a customer (tenant), and its minutes."""

    __tablename__ = "service_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant: Mapped[str] = mapped_column(String(100), index=True)
    held_at: Mapped[datetime]
    title: Mapped[str] = mapped_column(String(300))
    minutes: Mapped[str] = mapped_column(Text, default="")
    attendees: Mapped[list[Any]] = mapped_column(default=list)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
