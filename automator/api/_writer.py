"""One writer thread for every hook request: serialised commits, shared when they can be."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from automator.events import Event, EventIntake

log = logging.getLogger(__name__)

OnIngested = Callable[[list[int]], None]


@dataclass(frozen=True)
class _Pending:
    events: Sequence[Event]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[list[int]]


class IntakeWriter:
    """Commits the events of every request on one thread.

    SQLite takes one writer at a time, and a writer kept waiting by another sleeps in steps of
    up to 100 ms: one thread writing in turn keeps the latency flat. Requests that arrive while
    a transaction commits share the next one (group commit), so single-alert bodies do not each
    pay for a commit. No request is answered before the transaction holding its events has
    committed. If a shared transaction fails, each of its requests is tried again alone, so a
    request the store refuses cannot fail the others with it.
    """

    def __init__(
        self,
        intake: EventIntake,
        on_ingested: OnIngested | None = None,
        max_batch_events: int = 5000,
    ) -> None:
        self.intake = intake
        self.on_ingested = on_ingested
        self.max_batch_events = max_batch_events
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._connection: Connection | None = None  # the writer thread's own
        self._checkpointer = (
            _Checkpointer(intake.store.engine) if intake.store.dialect == "sqlite" else None
        )

    async def submit(self, events: Sequence[Event]) -> list[int]:
        """Store ``events``; return their ids once committed. Raises what the intake raised
        (StoreError when the store cannot take them)."""
        if not events:
            return []
        self._start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[int]] = loop.create_future()
        self._queue.put(_Pending(events, loop, future))
        return await future

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is queued, then end the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)
            if self._checkpointer is not None:
                self._checkpointer.stop(timeout)

    def _start(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="automator-intake", daemon=True
                )
                self._thread.start()
                if self._checkpointer is not None:
                    self._checkpointer.start()

    def _run(self) -> None:
        try:
            self._serve_queue()
        finally:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def _connect(self) -> Connection:
        connection = self.intake.store.engine.connect()
        if self._checkpointer is not None:
            # A checkpoint copies the WAL into the database file and syncs it: done on the
            # writer's commits it stalled every waiting request (p99 30 ms instead of 9 here).
            # The checkpointer thread does it instead, without blocking this writer.
            connection.exec_driver_sql("PRAGMA wal_autocheckpoint=0")
            connection.commit()
        return connection

    def _serve_queue(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch, count, stopping = [first], len(first.events), False
            while count < self.max_batch_events:
                try:
                    pending = self._queue.get_nowait()
                except queue.Empty:
                    break
                if pending is None:
                    stopping = True
                    break
                batch.append(pending)
                count += len(pending.events)
            self._write(batch)
            checkpointer, connection = self._checkpointer, self._connection
            if checkpointer and connection and checkpointer.due(idle=self._queue.empty()):
                try:
                    checkpointer.finish(connection)
                except SQLAlchemyError as exc:  # the WAL only grows meanwhile; writes go on
                    log.warning("WAL checkpoint failed: %s", exc)
            if stopping:
                return

    def _write(self, batch: list[_Pending]) -> None:
        events = [event for pending in batch for event in pending.events]
        try:
            if self._connection is None:
                self._connection = self._connect()
            ids = self.intake.ingest(events, self._connection)
        except Exception as exc:
            if self._connection is not None:  # it may be the broken part: take a new one
                self._connection.close()
                self._connection = None
            if len(batch) > 1:
                for pending in batch:
                    self._write([pending])
                return
            _settle(batch[0], None, exc)
            return
        if self.on_ingested is not None:
            try:
                self.on_ingested(ids)
            except Exception:
                # The events are committed: a failing listener must not undo that, and the
                # rule engine finds them again among the undecided ones.
                log.exception("on_ingested failed for %d events", len(ids))
        # One wake-up of each event loop for the whole batch, not one per request: with
        # single-alert bodies a commit answers dozens of requests.
        answers: dict[asyncio.AbstractEventLoop, list[tuple[_Pending, list[int]]]] = {}
        start = 0
        for pending in batch:
            end = start + len(pending.events)
            answers.setdefault(pending.loop, []).append((pending, ids[start:end]))
            start = end
        for loop, settled in answers.items():
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits
                loop.call_soon_threadsafe(_answer, settled)


def _answer(settled: list[tuple[_Pending, list[int]]]) -> None:
    for pending, ids in settled:
        if not pending.future.done():  # else the request was cancelled (client gone)
            pending.future.set_result(ids)


def _settle(pending: _Pending, ids: list[int] | None, error: BaseException | None) -> None:
    def resolve() -> None:
        if pending.future.done():  # the request was cancelled (client gone)
            return
        if error is not None:
            pending.future.set_exception(error)
        else:
            pending.future.set_result(ids or [])

    with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits any more
        pending.loop.call_soon_threadsafe(resolve)


class _Checkpointer:
    """Keeps the SQLite WAL short without stalling the writer.

    A thread checkpoints once a second on its own connection in PASSIVE mode (it never waits
    for the writer), copying the bulk of the WAL into the database. While the writer keeps
    writing, such a checkpoint never reaches the WAL's end, and SQLite only starts the WAL
    afresh once one has; so the writer, between two transactions, finishes the job itself
    (``finish``): when it has nothing queued, or when the WAL has grown past ``max_wal_pages``.
    What is left to copy then is at most a second of writes.
    """

    def __init__(self, engine: Engine, interval: float = 1.0, max_wal_pages: int = 20_000) -> None:
        self.engine = engine
        self.interval = interval
        self.max_wal_pages = max_wal_pages
        self.wal_pages = 0  # as of the last checkpoint; read by the writer without a lock
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="automator-checkpoint", daemon=True)
        self._thread.start()

    def stop(self, timeout: float) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def due(self, idle: bool) -> bool:
        """Whether the writer should finish a checkpoint now."""
        return self.wal_pages > 0 and (idle or self.wal_pages > self.max_wal_pages)

    def finish(self, connection: Connection) -> None:
        """A checkpoint on the writer's connection, between its transactions: nothing is
        written meanwhile, so it reaches the WAL's end and the next write starts it afresh."""
        self._checkpoint(connection)

    def _run(self) -> None:
        with self.engine.connect() as connection:
            while not self._stopping.wait(self.interval):
                try:
                    self._checkpoint(connection)
                except SQLAlchemyError as exc:  # the next round tries again
                    log.warning("WAL checkpoint failed: %s", exc)

    def _checkpoint(self, connection: Connection) -> None:
        _busy, wal_pages, copied = connection.exec_driver_sql(
            "PRAGMA wal_checkpoint(PASSIVE)"
        ).one()
        connection.commit()
        self.wal_pages = wal_pages - copied
