"""Tables of the events package (see automator/events): every alert received, as received."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import JSON, ForeignKey, Index, String, text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from automator.store._models import Base

_UNDECIDED = text("decided_at IS NULL")


class FastJSON(TypeDecorator[Any]):
    """JSON encoded with orjson on SQLite. The hooks write thousands of rows a second, and the
    standard library's encoder took a third of the insert time; other backends keep their
    own JSON handling (PostgreSQL's driver adapts JSON itself). The column stays JSON."""

    impl = JSON
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        return _dump

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        return _load


def _dump(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def _load(value: Any) -> Any:
    return None if value is None else orjson.loads(value)


class EventRow(Base):
    """One alert of one notification. ``firing_event_id`` links a resolved event to the
    latest firing event of the same source and fingerprint; ``raw`` is the alert as the source
    sent it; ``decided_at`` / ``decision`` are written by the rule engine."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_source_fingerprint", "source", "fingerprint"),
        # The rule engine's queue: small however long the history grows. Partial on SQLite
        # and on PostgreSQL (migration 0002 makes it; the schema never comes from these
        # models); naming `postgresql_where` here would load SQLAlchemy's PostgreSQL dialect
        # into every command on SQLite (50 ms).
        Index("ix_events_undecided", "id", sqlite_where=_UNDECIDED),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(120))
    fingerprint: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(500))
    host: Mapped[str | None] = mapped_column(String(255), index=True)
    severity: Mapped[str] = mapped_column(String(10))
    labels: Mapped[dict[str, Any]] = mapped_column(FastJSON)
    annotations: Mapped[dict[str, Any]] = mapped_column(FastJSON)
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    received_at: Mapped[datetime] = mapped_column(index=True)
    firing_event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    raw: Mapped[dict[str, Any]] = mapped_column(FastJSON)
    decided_at: Mapped[datetime | None]
    decision: Mapped[dict[str, Any] | None] = mapped_column(FastJSON)
