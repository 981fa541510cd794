"""Tickets: the record of every check, remediation, drift and runbook run, and of the
service desk's work on it.

Owns kinds, statuses (and the moves between them), priorities, the ticket service (a
timeline entry for every change: who, when, why), customer relations (complaint analyses,
satisfaction ratings) and service reviews. May import ``automator.store``; the SLA clocks and
the external ITSM read tickets from the store and need no hook here.
"""

from typing import TYPE_CHECKING, Any

from automator.tickets._service import (
    ANALYSED_KINDS,
    MAX_LIST,
    TRANSITIONS,
    Priority,
    TicketInputError,
    TicketKind,
    TicketService,
    TicketStateError,
    TicketStatus,
)

if TYPE_CHECKING:
    from automator.tickets._reviews import ReviewError, ReviewNotFound, ServiceReviews

_REVIEWS = ("ReviewError", "ReviewNotFound", "ServiceReviews")


def __getattr__(name: str) -> Any:
    """The service reviews, loaded when first asked for: their table is the service desk's,
    which a runbook run or a backup never touches (mapping it costs 20 ms of start-up)."""
    if name not in _REVIEWS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from automator.tickets import _reviews

    value = getattr(_reviews, name)
    globals()[name] = value
    return value


__all__ = [
    "ANALYSED_KINDS",
    "MAX_LIST",
    "TRANSITIONS",
    "Priority",
    "ReviewError",
    "ReviewNotFound",
    "ServiceReviews",
    "TicketInputError",
    "TicketKind",
    "TicketService",
    "TicketStateError",
    "TicketStatus",
]
