"""The remediation engine in a process of its own, beside the hooks.

``automator serve`` answers the hooks and runs the rules in one command, but not in one
interpreter: with both in one, each held Python's lock while the other waited (measured on
this project's 2-core machine: the hooks' p99 was 180 to 250 ms with bodies of 100 alerts while
the engine decided, and the two together used one core). The hooks commit events to the store
and wake the engine through a pipe; the engine reads them there, so nothing is handed over
that is not already durable, and events stay undecided until the engine has recorded its
decisions, as before.

The child ignores SIGINT (Ctrl-C reaches the whole process group; the parent stops it) and
takes SIGTERM as "stop": either way it finishes what it is doing, hands what its coalescer
holds to the pipeline and waits for the jobs it started. It also stops when the parent is gone
(the wake pipe reaches its end). The parent reports a child that stops on its own.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, Protocol

from automator.errors import AutomatorError

log = logging.getLogger(__name__)
# The collector's first threshold in the engine's process: collect once the objects made and
# not freed reach 50,000, not 700. A batch holds ~10 objects an alert until its step ends, so
# at 700 the collector ran a dozen times a batch and moved each batch's objects into the
# older generations to be walked again, with the rules' growing state, until freed:
# 4 to 8 µs of the engine's ~30 an alert (measured with gc.callbacks, 40,000 alerts in
# bodies of 100), 0.3 µs at 50,000. Memory is not the price: what a step makes is freed by
# reference counting when the step ends; only cycles wait for a collection.
GC_THRESHOLD = (50_000, 10, 10)


class Engine(Protocol):
    def wake(self, _ids: object = None) -> None: ...

    def run(self, stop: threading.Event, idle: float = 1.0) -> None: ...


# (engine, what to call once it has stopped); built in the child by a top-level function
Build = Callable[..., tuple[Engine, Callable[[], None]]]


class EngineStartError(AutomatorError):
    """The engine's process could not start (its message says why)."""


class EngineProcess:
    """The parent's handle on the engine's process: start it, wake it, stop it, and learn
    when it stops on its own. ``build(*args)`` runs in the child (it must be a module-level
    function: the child is a fresh interpreter) and returns the engine and what to call
    after it stopped."""

    def __init__(self, build: Build, args: tuple[Any, ...]) -> None:
        context = multiprocessing.get_context("spawn")  # no fork of a threaded process
        wake_reader, self._waker = context.Pipe(duplex=False)
        self._status, status_writer = context.Pipe(duplex=False)
        self.process = context.Process(
            target=_child,
            args=(build, args, wake_reader, status_writer),
            name="automator-engine",
            daemon=False,
        )
        self.stopping = False
        self._wake_fd = self._waker.fileno()
        # Ctrl-C goes to the whole process group: the child must leave it to the parent, from
        # its first instruction on (an ignored signal stays ignored across exec).
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            self.process.start()
        finally:
            signal.signal(signal.SIGINT, previous)
        wake_reader.close()
        status_writer.close()
        os.set_blocking(self._wake_fd, False)

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def wait_ready(self, timeout: float = 300.0) -> None:
        """Return once the child is deciding; raise EngineStartError with its reason if it
        could not start."""
        if not self._status.poll(timeout):
            self.stop(timeout=5)
            raise EngineStartError(f"the remediation engine did not start within {timeout:g} s")
        try:
            kind, message = self._status.recv()
        except EOFError:
            self.process.join(5)
            raise EngineStartError(
                f"the remediation engine's process ended while starting "
                f"({describe_exit(self.process.exitcode)})"
            ) from None
        if kind != "ready":
            self.process.join(5)
            raise EngineStartError(message)

    def wake(self, _ids: object = None) -> None:
        """New events are stored: one byte down the pipe. Called on the hooks' writer
        thread after each commit, so it never blocks: a full pipe already holds wake-ups."""
        with contextlib.suppress(BlockingIOError, BrokenPipeError):
            os.write(self._wake_fd, b"\x01")

    def watch(self, on_death: Callable[[str], None]) -> threading.Thread:
        """Call ``on_death(reason)`` from a thread if the child ends before ``stop``."""

        def watcher() -> None:
            self.process.join()
            if not self.stopping:
                on_death(describe_exit(self.process.exitcode))

        thread = threading.Thread(target=watcher, name="engine-watch", daemon=True)
        thread.start()
        return thread

    def stop(self, timeout: float | None = None) -> int | None:
        """Tell the child to stop (the end of its wake pipe), wait for it (``None``: as long
        as its jobs take), and return its exit code. SIGKILL if it outlives ``timeout``."""
        self.stopping = True
        with contextlib.suppress(OSError):
            self._waker.close()
        if self.process.pid is None:
            return None
        self.process.join(timeout)
        if self.process.is_alive():
            log.warning("the remediation engine did not stop within %s s; killed", timeout)
            self.process.kill()
            self.process.join()
        self._status.close()
        return self.process.exitcode


def describe_exit(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
        return f"killed by signal {-code}"
    return f"exit code {code}"


def _child(
    build: Build,
    args: tuple[Any, ...],
    wake: Connection,
    status: Connection,
) -> None:
    """The engine's process: build the engine (``build`` configures logging too), say so,
    decide until told to stop."""
    stop = threading.Event()
    engine: Engine | None = None

    def on_term(_signum: int, _frame: object) -> None:
        stop.set()
        if engine is not None:
            engine.wake()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        engine, after = build(*args)
    except AutomatorError as exc:
        status.send(("error", str(exc)))
        raise SystemExit(1) from None
    # What is loaded now (the inventory, the rules, the libraries) lives as long as the
    # process: kept out of the collector's full passes, which otherwise walk it all again
    # and again as the rules' state grows.
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)
    status.send(("ready", ""))
    status.close()
    listener = threading.Thread(target=_listen, args=(wake, engine, stop), daemon=True)
    listener.start()
    try:
        engine.run(stop)
    finally:
        after()


def _listen(wake: Connection, engine: Engine, stop: threading.Event) -> None:
    """Wake the engine at each byte from the parent; stop it when the parent closes the pipe
    (it is stopping, or it is gone)."""
    fd = wake.fileno()
    while True:
        try:
            data = os.read(fd, 4096)
        except InterruptedError:
            continue
        except OSError:
            data = b""
        if not data:
            stop.set()
            engine.wake()
            return
        engine.wake()
