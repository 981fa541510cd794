"""The engine's own process: it starts, is woken, stops when told or on SIGTERM, reports why
it could not start, and its parent learns when it ends on its own. The engines here are
small stand-ins that write what happens to a file; ``test_serve.py`` runs the real one."""

from __future__ import annotations

import gc
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from automator.engine import EngineProcess, EngineStartError, describe_exit
from automator.engine._process import GC_THRESHOLD
from automator.errors import ConfigError


class _Recorder:
    """Writes a line per wake-up to ``path``; ``run`` ends when stopped, or exits the process
    with ``exit_on_wake`` at the first wake-up."""

    def __init__(self, path: Path, exit_on_wake: int | None) -> None:
        self.path = path
        self.exit_on_wake = exit_on_wake
        self._wake = threading.Event()

    def wake(self, _ids: object = None) -> None:
        self._wake.set()

    def run(self, stop: threading.Event, idle: float = 1.0) -> None:
        self._write(f"gc={gc.get_threshold()[0]}")
        self._write("running")
        while not stop.is_set():
            if self._wake.wait(0.05):
                self._wake.clear()
                if stop.is_set():
                    break
                self._write("woken")
                if self.exit_on_wake is not None:
                    os._exit(self.exit_on_wake)
        self._write("stopped")

    def _write(self, line: str) -> None:
        with self.path.open("a") as file:
            file.write(line + "\n")


def build_recorder(
    path: Path, exit_on_wake: int | None = None
) -> tuple[_Recorder, Callable[[], None]]:
    recorder = _Recorder(path, exit_on_wake)
    return recorder, lambda: recorder._write("after")


def build_broken(_path: Path) -> tuple[_Recorder, Callable[[], None]]:
    raise ConfigError("remediations/a.yaml:3: when: unknown field 'hots'")


def lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def wait_for(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


def test_woken_and_stopped_by_its_parent(tmp_path: Path) -> None:
    log = tmp_path / "log"
    engine = EngineProcess(build_recorder, (log,))
    engine.wait_ready()
    wait_for(lambda: "running" in lines(log))
    assert f"gc={GC_THRESHOLD[0]}" in lines(log)  # the collector's setting for the engine
    engine.wake()
    wait_for(lambda: "woken" in lines(log))
    assert engine.stop(timeout=20) == 0
    assert lines(log)[-2:] == ["stopped", "after"]  # it finished, then cleaned up


def test_sigterm_stops_it_as_its_parent_would(tmp_path: Path) -> None:
    log = tmp_path / "log"
    engine = EngineProcess(build_recorder, (log,))
    engine.wait_ready()
    deaths: list[str] = []
    engine.watch(deaths.append)
    assert engine.pid is not None
    os.kill(engine.pid, signal.SIGTERM)
    wait_for(lambda: "after" in lines(log))
    wait_for(lambda: bool(deaths))
    assert deaths == ["exit code 0"]  # on its own, so the parent hears of it
    assert lines(log)[-2:] == ["stopped", "after"]
    engine.stop(timeout=20)


def test_sigint_is_left_to_the_parent(tmp_path: Path) -> None:
    log = tmp_path / "log"
    engine = EngineProcess(build_recorder, (log,))
    engine.wait_ready()
    assert engine.pid is not None
    os.kill(engine.pid, signal.SIGINT)  # what Ctrl-C sends the whole process group
    time.sleep(0.3)
    assert engine.process.is_alive()
    assert engine.stop(timeout=20) == 0


def test_a_death_is_reported_and_a_stop_is_not(tmp_path: Path) -> None:
    log = tmp_path / "log"
    engine = EngineProcess(build_recorder, (log, 3))
    engine.wait_ready()
    deaths: list[str] = []
    watcher = engine.watch(deaths.append)
    engine.wake()
    watcher.join(20)
    assert deaths == ["exit code 3"]
    engine.stop(timeout=20)

    calm = EngineProcess(build_recorder, (tmp_path / "calm",))
    calm.wait_ready()
    calm_deaths: list[str] = []
    watcher = calm.watch(calm_deaths.append)
    calm.stop(timeout=20)
    watcher.join(20)
    assert calm_deaths == []


def test_a_failed_start_says_why(tmp_path: Path) -> None:
    engine = EngineProcess(build_broken, (tmp_path,))
    with pytest.raises(EngineStartError, match=r"remediations/a.yaml:3: when: unknown field"):
        engine.wait_ready()
    engine.stop(timeout=20)
    assert engine.process.exitcode == 1


def test_exits_are_described() -> None:
    assert describe_exit(0) == "exit code 0"
    assert describe_exit(-9) == "killed by SIGKILL"
    assert describe_exit(None) == "still running"
