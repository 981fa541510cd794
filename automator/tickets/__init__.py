"""Tickets: the record of every check, remediation, drift and runbook run.

Owns kinds, statuses, priorities and the ticket service (timeline entries for every change).
May import ``automator.store``; it is the only package that will talk to an external ITSM.
"""

from automator.tickets._service import Priority, TicketKind, TicketService, TicketStatus

__all__ = ["Priority", "TicketKind", "TicketService", "TicketStatus"]
