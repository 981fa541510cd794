"""The store: SQLAlchemy 2 models, sessions and Alembic migrations.

SQLite (WAL) under ``AUTOMATOR_HOME`` by default; PostgreSQL by URL. Imports nothing else of
automator but ``automator.errors``.
"""

# every table module, so that Base.metadata (and Alembic) sees them all
from automator.store import _backups, _checks, _desk, _events, _rules, _schedule  # noqa: F401
from automator.store._checks import CheckResultRow, CheckState, InspectionReport, Measurement
from automator.store._db import Store
from automator.store._desk import ItsmLink, ItsmOutbox, Notification, ServiceReview, TicketSla
from automator.store._models import (
    Approval,
    Base,
    BreakerReset,
    HostLock,
    HostResultRow,
    IncidentTicket,
    Job,
    Run,
    Ticket,
    TicketHost,
    TimelineEntry,
    utcnow,
)

__all__ = [
    "Approval",
    "Base",
    "BreakerReset",
    "CheckResultRow",
    "CheckState",
    "HostLock",
    "HostResultRow",
    "IncidentTicket",
    "InspectionReport",
    "ItsmLink",
    "ItsmOutbox",
    "Job",
    "Measurement",
    "Notification",
    "Run",
    "ServiceReview",
    "Store",
    "Ticket",
    "TicketHost",
    "TicketSla",
    "TimelineEntry",
    "utcnow",
]
