"""The errors of the events package, under automator's one root.

::

    AutomatorError
    ├── PayloadError           a webhook body cannot be normalised; names the JSON path
    └── EventNotFound          an event id that is not in the store

A store that cannot take events raises automator's ``StoreError``.
"""

from __future__ import annotations

from automator.errors import AutomatorError


class PayloadError(AutomatorError):
    """A webhook body that cannot be normalised. ``path`` names the field at fault (``body``
    for the body as a whole, else e.g. ``alerts[3].labels.severity``) and ``reason`` says what
    is wrong with it."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class EventNotFound(AutomatorError):
    """An event id that is not in the store."""

    def __init__(self, event_id: int) -> None:
        self.event_id = event_id
        super().__init__(f"event #{event_id} does not exist")
