"""The store: SQLAlchemy 2 models, sessions and Alembic migrations.

SQLite (WAL) under ``AUTOMATOR_HOME`` by default; PostgreSQL by URL. Imports nothing else of
automator but ``automator.errors`` and ``automator._lazy``.

The core tables (tickets, jobs, runs, locks, approvals) and the events are loaded with the
package; each other domain's tables (checks, backups, the service desk, rules, schedules)
when one of its names or modules is first used: mapping a table costs milliseconds, and a
command uses few of them. ``load_all_tables()`` loads every one, for Alembic and for
code that reads ``Base.metadata`` by table name.
"""

from importlib import import_module
from typing import TYPE_CHECKING

from automator._lazy import lazy_attributes

# the events table is read by name from Base.metadata by the hooks' intake
from automator.store import _events  # noqa: F401
from automator.store._db import Store
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

if TYPE_CHECKING:
    from automator.store._checks import (
        CheckResultRow,
        CheckState,
        InspectionReport,
        Measurement,
    )
    from automator.store._desk import (
        ItsmLink,
        ItsmOutbox,
        Notification,
        ServiceReview,
        TicketSla,
    )

# the modules holding tables that are loaded on first use, and the names each exports here
_TABLE_MODULES = ("_backups", "_checks", "_desk", "_rules", "_schedule")
_LAZY = {
    "CheckResultRow": "_checks",
    "CheckState": "_checks",
    "InspectionReport": "_checks",
    "Measurement": "_checks",
    "ItsmLink": "_desk",
    "ItsmOutbox": "_desk",
    "Notification": "_desk",
    "ServiceReview": "_desk",
    "TicketSla": "_desk",
}


__getattr__ = lazy_attributes(__name__, _LAZY)


def load_all_tables() -> None:
    """Register every table in ``Base.metadata``."""
    for module in _TABLE_MODULES:
        import_module(f"{__name__}.{module}")


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
    "load_all_tables",
    "utcnow",
]
