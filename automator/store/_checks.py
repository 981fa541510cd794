"""Tables of the checks package (see automator/checks): what every check found, the values it
measured as time series, the state each (host, check) is in and the inspection reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from automator.store._events import FastJSON
from automator.store._models import Base


class CheckState(Base):
    """Where one check stands on one host: its latest status, since when, and the incident
    ticket open for it (one per host and check, until the check passes again)."""

    __tablename__ = "check_states"

    host: Mapped[str] = mapped_column(String(200), primary_key=True)
    check: Mapped[str] = mapped_column(String(100), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    since: Mapped[datetime]
    checked_at: Mapped[datetime]
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    summary: Mapped[str] = mapped_column(Text, default="")
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    # consecutive runs in the current status
    streak: Mapped[int] = mapped_column(default=1)


class CheckResultRow(Base):
    """One check's result on one host in one run: status, values, why, and the raw output."""

    __tablename__ = "check_results"
    __table_args__ = (
        Index("ix_check_results_host_check_at", "host", "check", "at"),
        Index("ix_check_results_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    at: Mapped[datetime]
    host: Mapped[str] = mapped_column(String(200))
    check: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    summary: Mapped[str] = mapped_column(Text, default="")
    # thousands of rows a sweep: encoded with orjson on SQLite (the column stays JSON)
    findings: Mapped[list[Any]] = mapped_column(FastJSON, default=list)
    raw: Mapped[str] = mapped_column(Text, default="")


class Measurement(Base):
    """One measured value: the time series that trends are computed from."""

    __tablename__ = "measurements"
    __table_args__ = (Index("ix_measurements_series", "host", "check", "metric", "item", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    host: Mapped[str] = mapped_column(String(200))
    check: Mapped[str] = mapped_column(String(100))
    metric: Mapped[str] = mapped_column(String(100))
    item: Mapped[str] = mapped_column(String(200), default="")
    value: Mapped[float] = mapped_column(Float)


class InspectionReport(Base):
    """A daily inspection report as written, kept so the next one can say what changed."""

    __tablename__ = "inspection_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[str] = mapped_column(String(10), index=True)
    generated_at: Mapped[datetime]
    problems: Mapped[dict[str, Any]] = mapped_column(default=dict)
