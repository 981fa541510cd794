"""Tables: tickets and their timeline, jobs, runs, per-host results, host locks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import DateTime, TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class Ticket(Base):
    __tablename__ = "tickets"
    # listing and filtered search, newest first, over millions of tickets
    __table_args__ = (
        Index("ix_tickets_status_id", "status", "id"),
        Index("ix_tickets_tenant_id", "tenant", "id"),
        Index("ix_tickets_owner_id", "owner", "id"),
        Index("ix_tickets_kind_id", "kind", "id"),
        Index("ix_tickets_priority_id", "priority", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(30), index=True)
    priority: Mapped[str] = mapped_column(String(4))
    title: Mapped[str] = mapped_column(String(300))
    owner: Mapped[str | None] = mapped_column(String(200))
    tenant: Mapped[str | None] = mapped_column(String(100))
    opened_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # the service contract whose SLA applies (contracts/<name>.yaml), set when opened
    contract: Mapped[str | None] = mapped_column(String(100))
    # customer relations: a rating 1-5 on a resolved ticket; a complaint's analysis
    satisfaction: Mapped[int | None]
    satisfaction_note: Mapped[str | None] = mapped_column(Text)
    analysis: Mapped[str | None] = mapped_column(Text)

    hosts: Mapped[list[TicketHost]] = relationship(
        back_populates="ticket", cascade="all, delete-orphan", order_by="TicketHost.host"
    )
    entries: Mapped[list[TimelineEntry]] = relationship(
        back_populates="ticket", cascade="all, delete-orphan", order_by="TimelineEntry.id"
    )
    runs: Mapped[list[Run]] = relationship(back_populates="ticket", order_by="Run.id")


class TicketHost(Base):
    __tablename__ = "ticket_hosts"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    host: Mapped[str] = mapped_column(String(200), primary_key=True, index=True)

    ticket: Mapped[Ticket] = relationship(back_populates="hosts")


class TimelineEntry(Base):
    __tablename__ = "timeline_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))

    ticket: Mapped[Ticket] = relationship(back_populates="entries")


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (UniqueConstraint("idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(200))
    limit_expr: Mapped[str | None] = mapped_column(String(500))
    targets: Mapped[list[Any]] = mapped_column(default=list)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    check_mode: Mapped[bool] = mapped_column(default=False)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    requester: Mapped[str] = mapped_column(String(200))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # the remediation rule that made the job (budgets and circuit breakers count per rule)
    rule: Mapped[str | None] = mapped_column(String(200), index=True)
    # guardrail policy, verify and rollback steps, as the pipeline needs them to resume a job
    policy: Mapped[dict[str, Any]] = mapped_column(default=dict)

    runs: Mapped[list[Run]] = relationship(back_populates="job", order_by="Run.id")


class Run(Base):
    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    owner: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    artifacts_dir: Mapped[str | None] = mapped_column(String(1000))
    error: Mapped[str | None] = mapped_column(Text)
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # a waiting run waits for "approval" or for a "window" to close, not before not_before
    waiting_for: Mapped[str | None] = mapped_column(String(20))
    not_before: Mapped[datetime | None]

    job: Mapped[Job] = relationship(back_populates="runs")
    ticket: Mapped[Ticket | None] = relationship(back_populates="runs")
    host_results: Mapped[list[HostResultRow]] = relationship(
        back_populates="run", cascade="all, delete-orphan", order_by="HostResultRow.host"
    )


class HostResultRow(Base):
    __tablename__ = "host_results"
    __table_args__ = (Index("ix_host_results_host_run", "host", "run_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    host: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(20))
    error: Mapped[str | None] = mapped_column(Text)
    output: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    duration: Mapped[float] = mapped_column(default=0.0)
    started_at: Mapped[datetime | None]

    run: Mapped[Run] = relationship(back_populates="host_results")


class HostLock(Base):
    """One row per locked host: the primary key makes taking a lock atomic on every backend."""

    __tablename__ = "host_locks"

    host: Mapped[str] = mapped_column(String(200), primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"))
    owner: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime] = mapped_column(default=utcnow)


class Approval(Base):
    """A change waiting for a person's yes or no; one per waiting run."""

    __tablename__ = "approvals"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), unique=True)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    decision: Mapped[str | None] = mapped_column(String(20))
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(Text)


class IncidentTicket(Base):
    """The ticket that tells the story of one correlated incident of the rules engine."""

    __tablename__ = "incident_tickets"

    incident_id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)


class BreakerReset(Base):
    """An operator closed a rule's circuit breaker: failures before ``reset_at`` no longer
    count."""

    __tablename__ = "breaker_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(String(200), index=True)
    reset_at: Mapped[datetime] = mapped_column(default=utcnow)
    reset_by: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
