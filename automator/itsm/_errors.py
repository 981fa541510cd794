"""What can go wrong between automator and an external ITSM, split by what the sync does next.

::

    ItsmError
    ├── ItsmUnavailable   unreachable, timed out, 5xx, 429, not authorised: retried with
    │                     backoff, in order; nothing is lost
    └── ItsmRejected      the ITSM read the request and refused it (4xx with its reasons):
                          recorded on the ticket and not retried
    ItsmConfigError       itsm.yaml is invalid (FILE:LINE: field: message)
"""

from __future__ import annotations

from automator.errors import AutomatorError, Problem, ProblemsError


class ItsmError(AutomatorError):
    """The external ITSM did not take a change or could not be read."""


class ItsmUnavailable(ItsmError):
    """Retry later: the ITSM could not be reached or could not answer, or it refused the
    credentials (fixed by an operator, after which nothing has been lost)."""


class ItsmRejected(ItsmError):
    """The ITSM refused this request for good; ``errors`` are its own reasons."""

    def __init__(self, message: str, status: int, errors: list[str]) -> None:
        self.status = status
        self.errors = errors
        super().__init__(message)


class ItsmConfigError(ProblemsError):
    """itsm.yaml is invalid; ``problems`` lists every problem (FILE:LINE: field: message)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems, what="itsm.yaml")
