"""Tickets: the record of every check, remediation, drift and runbook run, and of the
service desk's work on it.

Owns kinds, statuses (and the moves between them), priorities, the ticket service (a
timeline entry for every change: who, when, why), customer relations (complaint analyses,
satisfaction ratings) and service reviews. May import ``automator.store``; the SLA clocks and
the external ITSM read tickets from the store and need no hook here.
"""

from automator.tickets._reviews import ReviewError, ReviewNotFound, ServiceReviews
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
