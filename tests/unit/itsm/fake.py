"""An ITSM in memory for the sync's unit tests: it records every call in order, and can be
down, refuse an operation, or take a change and lose its answer."""

from __future__ import annotations

from dataclasses import dataclass, field

from automator.itsm import (
    ChangeBatch,
    ItsmRejected,
    ItsmUnavailable,
    NewIssue,
    Note,
    RemoteChange,
    SeenStamps,
)


@dataclass
class FakeIssue:
    key: str
    title: str
    kind: str
    priority: str
    status: str = "new"
    assignee: str | None = None
    notes: list[Note] = field(default_factory=list)
    updated: int = 0


@dataclass
class FakeItsm:
    users: set[str] = field(default_factory=set)
    down: bool = False
    refuse: dict[str, ItsmRejected] = field(default_factory=dict)
    lose_next_answer: bool = False
    issues: dict[str, FakeIssue] = field(default_factory=dict)
    calls: list[tuple[str, ...]] = field(default_factory=list)
    remote: list[RemoteChange] = field(default_factory=list)
    clock: int = 0

    def create(self, issue: NewIssue) -> str:
        self._enter("create", issue.key)
        external_id = str(100 + len(self.issues))
        self.issues[external_id] = FakeIssue(issue.key, issue.title, issue.kind, issue.priority)
        self._answer(external_id)
        return external_id

    def find(self, key: str) -> str | None:
        self._enter("find", key)
        return next((i for i, issue in self.issues.items() if issue.key == key), None)

    def comment(self, external_id: str, note: Note) -> None:
        self._enter("comment", external_id, note.text)
        self._answer(external_id, note)

    def set_status(self, external_id: str, status: str, note: Note) -> None:
        self._enter("status", external_id, status)
        self.issues[external_id].status = status
        self._answer(external_id, note)

    def assign(self, external_id: str, assignee: str | None, note: Note) -> bool:
        self._enter("assign", external_id, str(assignee))
        known = assignee is None or assignee in self.users
        if known:
            self.issues[external_id].assignee = assignee
        self._answer(external_id, note)
        return known

    def close(self, external_id: str, note: Note) -> None:
        self._enter("close", external_id)
        self.issues[external_id].status = "closed"
        self._answer(external_id, note)

    def has_note(self, external_id: str, key: str) -> bool:
        self._enter("has_note", external_id)
        return any(note.key == key for note in self.issues[external_id].notes)

    def changes_since(self, cursor: str | None, limit: int, seen: SeenStamps) -> ChangeBatch:
        self._enter("changes_since")
        since = int(cursor or 0)
        listed = {
            i: f"{issue.updated:06d}" for i, issue in self.issues.items() if issue.updated >= since
        }
        known = seen(listed)
        updated = {i: stamp for i, stamp in listed.items() if known.get(i) != stamp}
        changes = [change for change in self.remote if change.external_id in updated]
        return ChangeBatch(changes=changes, updated=updated)

    def dispose(self) -> None:
        self.calls.append(("dispose",))

    def change_remotely(
        self,
        external_id: str,
        change_id: int,
        note: str | None = None,
        status: str | None = None,
        same: frozenset[str] = frozenset(),
    ) -> None:
        """Someone changes the issue in the ITSM itself."""
        self.clock += 1
        self.issues[external_id].updated = self.clock
        self.remote.append(
            RemoteChange(external_id, change_id, "Alice Ops", note, status, status, same)
        )

    def writes(self) -> list[tuple[str, ...]]:
        """The calls that change something, in order."""
        return [call for call in self.calls if call[0] not in ("find", "has_note", "changes_since")]

    def _enter(self, *call: str) -> None:
        if self.down:
            raise ItsmUnavailable("the fake ITSM is down")
        if call[0] in self.refuse:
            raise self.refuse[call[0]]
        self.calls.append(call)

    def _answer(self, external_id: str, note: Note | None = None) -> None:
        issue = self.issues[external_id]
        if note is not None:
            issue.notes.append(note)
        self.clock += 1
        issue.updated = self.clock
        if self.lose_next_answer:
            self.lose_next_answer = False
            raise ItsmUnavailable("the answer was lost")
