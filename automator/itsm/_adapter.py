"""The interface every external ITSM adapter implements, in automator's words.

The sync speaks automator's kinds, priorities and statuses; an adapter maps them to its
system's trackers, priorities and statuses and back, so that the sync knows nothing of any
one ITSM. Every write carries a ``Note`` whose ``key`` line names the timeline entry it comes
from: after an attempt whose answer was lost, ``has_note`` tells whether it landed, and
``find`` does the same for an issue by its ticket's key. Replays then change nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

ISSUE_KEY_PREFIX = "[automator #"

SeenStamps = Callable[[Iterable[str]], Mapping[str, str]]
"""Issue ids → the update stamp each was last read at (issues never read are left out)."""


def issue_key(ticket_id: int) -> str:
    """The mark of a ticket's issue, at the start of its subject: ``[automator #42]``."""
    return f"{ISSUE_KEY_PREFIX}{ticket_id}]"


@dataclass(frozen=True)
class Note:
    """A journal note: ``text``, then a blank line and ``key`` as its last line."""

    text: str
    key: str


@dataclass(frozen=True)
class NewIssue:
    """An automator ticket as a new issue. ``key`` is unique to the ticket and is part of the
    issue's subject, so that the issue can be found again (``ItsmAdapter.find``)."""

    key: str
    title: str
    description: str
    kind: str
    priority: str


@dataclass(frozen=True)
class RemoteChange:
    """One change made in the ITSM by someone other than the sync (a Redmine journal).

    ``status`` is the automator status the ITSM's new status maps to (None: the status did
    not change, or maps to nothing); ``same_statuses`` are every automator status that
    already shows as that ITSM status, so that a ticket in one of them is not moved."""

    external_id: str
    change_id: int
    author: str
    note: str | None
    status: str | None
    remote_status: str | None
    same_statuses: frozenset[str]


@dataclass(frozen=True)
class ChangeBatch:
    """What ``changes_since`` found: the changes, oldest first per issue, and the issues
    read with their update stamps where no later change can get the same stamp (the next
    call's cursor is the largest stamp kept)."""

    changes: list[RemoteChange]
    updated: dict[str, str]


class ItsmAdapter(Protocol):
    """An external ITSM. Every method raises ItsmUnavailable (retry later) or ItsmRejected
    (refused for good); an ``external_id`` is the ITSM's id of the issue."""

    def create(self, issue: NewIssue) -> str:
        """Create the issue; return its id."""
        ...

    def find(self, key: str) -> str | None:
        """The id of the issue created for ``key``, or None when there is none."""
        ...

    def comment(self, external_id: str, note: Note) -> None: ...

    def set_status(self, external_id: str, status: str, note: Note) -> None:
        """Move the issue to the status that automator's ``status`` maps to."""
        ...

    def assign(self, external_id: str, assignee: str | None, note: Note) -> bool:
        """Give the issue to the ITSM user with the mail ``assignee`` (None: to nobody).
        When no user has that mail, leave the assignee as it is, say so in the note and
        return False."""
        ...

    def close(self, external_id: str, note: Note) -> None: ...

    def has_note(self, external_id: str, key: str) -> bool:
        """Whether a note with the last line ``key`` is on the issue."""
        ...

    def changes_since(self, cursor: str | None, limit: int, seen: SeenStamps) -> ChangeBatch:
        """Changes made by others on up to ``limit`` of automator's issues updated at or
        after ``cursor`` (the ITSM's update stamp; None: since the beginning), the oldest
        update first. An issue still at the stamp ``seen`` gives for it is not read again."""
        ...

    def dispose(self) -> None:
        """Release the adapter's connections."""
        ...
