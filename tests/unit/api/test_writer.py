"""The writer thread: requests share commits, a refused request fails alone."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest
from sqlalchemy import Connection

from automator.api import IntakeWriter
from automator.errors import StoreError
from automator.events import Event, EventIntake, EventStatus, Severity


def event(name: str) -> Event:
    return Event(
        source="alertmanager",
        fingerprint=name,
        status=EventStatus.FIRING,
        name=name,
        host=None,
        severity=Severity.UNKNOWN,
    )


class RecordingIntake(EventIntake):
    """Counts transactions; refuses any batch holding an event named "poison"."""

    calls: list[int]

    def ingest(self, events: Sequence[Event], connection: Connection | None = None) -> list[int]:
        self.calls.append(len(events))
        if any(e.name == "poison" for e in events):
            raise StoreError("cannot store: refused")
        return super().ingest(events, connection)


async def submit_all(writer: IntakeWriter, names: list[str]) -> list[object]:
    return await asyncio.gather(
        *(writer.submit([event(name)]) for name in names), return_exceptions=True
    )


def test_concurrent_requests_share_commits_and_a_refused_one_fails_alone(store):
    intake = RecordingIntake(store)
    intake.calls = []
    notified: list[list[int]] = []
    writer = IntakeWriter(intake, notified.append)
    try:
        results = asyncio.run(submit_all(writer, ["a", "b", "poison", "c"]))
    finally:
        writer.stop()
    assert isinstance(results[2], StoreError)
    ids = [r for i, r in enumerate(results) if i != 2]
    assert all(isinstance(r, list) and len(r) == 1 for r in ids)
    stored = sorted(e.name for e in intake.undecided())
    assert stored == ["a", "b", "c"]
    assert sum(len(batch) for batch in notified) == 3
    # requests queued together were tried in one transaction, refused, then each alone
    assert max(intake.calls) > 1
    assert intake.calls[-1] == 1


def test_a_failing_listener_does_not_undo_a_commit(store, caplog):
    def broken(_ids: list[int]) -> None:
        raise RuntimeError("engine down")

    writer = IntakeWriter(EventIntake(store), broken)
    try:
        [ids] = asyncio.run(submit_all(writer, ["a"]))
    finally:
        writer.stop()
    assert isinstance(ids, list) and len(ids) == 1
    assert "on_ingested failed for 1 events" in caplog.text
    assert [e.name for e in EventIntake(store).undecided()] == ["a"]


def test_no_events_no_transaction(store):
    intake = RecordingIntake(store)
    intake.calls = []
    writer = IntakeWriter(intake)
    assert asyncio.run(writer.submit([])) == []
    writer.stop()
    assert intake.calls == []


@pytest.fixture(autouse=True)
def no_thread_left_behind():
    yield
    names = [t.name for t in threading.enumerate() if t.name.startswith("automator-")]
    assert names == []
