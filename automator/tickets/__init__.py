"""Tickets: the record of every check, remediation, drift and runbook run, and of the
service desk's work on it.

Owns kinds, statuses (and the moves between them), priorities, the ticket service (a
timeline entry for every change: who, when, why), customer relations (complaint analyses,
satisfaction ratings) and service reviews. May import ``automator.store``; the SLA clocks and
the external ITSM read tickets from the store and need no hook here.
"""

from typing import TYPE_CHECKING

from automator._lazy import lazy_attributes
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

# The service reviews load when first asked for: their table is the service desk's, which a
# runbook run or a backup never touches (mapping it costs 20 ms of start-up).
__getattr__ = lazy_attributes(
    __name__, dict.fromkeys(("ReviewError", "ReviewNotFound", "ServiceReviews"), "_reviews")
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
