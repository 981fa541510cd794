"""``automator serve``: the embedded default in one command — the monitoring hooks, the
remediation engine, the clock of waiting runs and the schedules (health checks at their cron
times), on a local worker pool and SQLite. The engine runs in a child process of its own
(``automator.engine.EngineProcess`` says why); everything else in this one."""

from __future__ import annotations

import gc
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import click

from automator.cli._app import _configure_logging as configure_logging
from automator.cli._app import (
    console,
    open_backup_service,
    open_inventory,
    open_pipeline,
    pass_settings,
)
from automator.config import Settings
from automator.errors import AutomatorError, ConfigError
from automator.store import utcnow

if TYPE_CHECKING:
    from automator.engine import RemediationEngine
    from automator.schedule import ScheduleEntry, Scheduler
    from automator.store import Store

log = logging.getLogger(__name__)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option(
    "--coalesce",
    type=click.FloatRange(0),
    default=5.0,
    show_default=True,
    help="Seconds to gather hosts of one rule into one run (a rule may say otherwise)",
)
@pass_settings
def serve(settings: Settings, host: str, port: int, coalesce: float) -> None:
    """Serve the hooks, run the rules of remediations/ on what arrives, run the checks of
    checks/ and the backup at their schedules, and keep the service desk's clocks: SLA
    warnings and breaches, escalation, notifications, and the ITSM mirror (itsm.yaml)."""
    from automator.api import approval_routes, create_app, server, ticket_routes
    from automator.checks import CheckService, load_checks, scheduled_sweeps
    from automator.engine import GC_THRESHOLD, EngineProcess
    from automator.events import EventIntake
    from automator.notify import build_desk_ticks
    from automator.rules import load_rulebook
    from automator.schedule import Scheduler

    inventory = open_inventory(settings)
    # Before the engine's process starts: this marks runs a crashed serve left behind, and
    # the engine's own pipeline must find none of this process's runs to mark.
    pipeline = open_pipeline(settings, inventory)
    # Read here too, so that a rule file's errors stop serve as they always did.
    rulebook = load_rulebook(settings.project_dir / "remediations", pipeline.catalogue)
    engine = EngineProcess(open_engine, (settings, coalesce, _verbosity()))
    try:
        catalogue = load_checks(settings.checks_dir)
        checks = CheckService(
            pipeline.store,
            pipeline,
            catalogue,
            inventory,
            EventIntake(pipeline.store),
            on_events=engine.wake,
        )
        entries, start_checks = scheduled_sweeps(checks)
        backup_entry, start_backup = open_backup_service(pipeline).schedule()
        entries.append(backup_entry)

        def start(entry: ScheduleEntry, cancel: threading.Event) -> Any:
            if entry.name == backup_entry.name:
                return start_backup(entry, cancel)
            return start_checks(entry, cancel)

        scheduler = Scheduler(
            pipeline.store, entries, start, holder=f"{socket.gethostname()}:{os.getpid()}"
        )
        app = create_app(settings, pipeline.store, on_ingested=engine.wake)
        app.include_router(approval_routes(pipeline))
        app.include_router(ticket_routes(pipeline.store))
        desk = build_desk_ticks(settings, pipeline.store, inventory)
        itsm = _itsm_sync(settings, pipeline.store)
        if itsm is not None:
            desk.append(itsm)
        engine.wait_ready()
    except BaseException:
        engine.stop(timeout=30)
        raise
    http = server(app, host, port)
    # As in the engine's process (GC_THRESHOLD says why): what start-up loaded stays out of
    # the collector's full passes, and a flood's short-lived objects do not set one off
    # every ~1.2 s (47-57 ms each, that the requests in flight waited for: the webhook's p99)
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)
    died: list[str] = []

    def on_death(reason: str) -> None:
        # A SIGTERM to the whole group stops the engine too: give this process's own
        # handler a moment to say so before calling it a death.
        time.sleep(0.5)
        if http.should_exit:
            return
        log.error(
            "the remediation engine (process %s) stopped on its own (%s); automator serve "
            "stops: events it had not decided stay undecided and are decided at the next start",
            engine.pid,
            reason,
        )
        died.append(reason)
        http.should_exit = True

    stop = threading.Event()
    workers = [
        threading.Thread(target=_run_schedules, args=(scheduler, stop), name="scheduler"),
        threading.Thread(target=_run_desk, args=(desk, stop), name="desk"),
    ]
    for worker in workers:
        worker.start()
    engine.watch(on_death)
    console.print(
        f"automator serving on http://{host}:{port} (hooks under /hooks/), "
        f"{len(rulebook)} rules from {settings.project_dir / 'remediations'} "
        f"(engine: process {engine.pid}), "
        f"{len(catalogue.checks)} checks and the backup on {len(entries)} schedules, "
        f"{len(inventory.hosts)} hosts; Ctrl-C stops"
    )
    # uvicorn answers SIGTERM by stopping, then raises the signal again once it has: with
    # the default action there, the process ended before the cleanup below (the engine's
    # last batches, the jobs still running). This makes that second SIGTERM an exit.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        http.run()
    finally:
        stop.set()
        engine.stop()
        for worker in workers:
            worker.join()
        scheduler.stop()
        pipeline.executor.shutdown()
    if died:
        raise click.ClickException(f"the remediation engine stopped ({died[0]})")


def _exit_on_sigterm(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def open_engine(
    settings: Settings, coalesce: float, verbosity: int
) -> tuple[RemediationEngine, Callable[[], None]]:
    """The remediation engine, built in its own process (``EngineProcess``): the rules over
    the store's events, with a pipeline of its own for the jobs they start."""
    from automator.engine import RemediationEngine
    from automator.events import EventIntake
    from automator.rules import Coalescer, RuleEngine, StoreRuleState, load_rulebook

    configure_logging(verbosity)
    inventory = open_inventory(settings)
    pipeline = open_pipeline(settings, inventory)
    rulebook = load_rulebook(settings.project_dir / "remediations", pipeline.catalogue)
    engine = RemediationEngine(
        pipeline,
        EventIntake(pipeline.store),
        RuleEngine(rulebook, StoreRuleState(pipeline.store), utcnow, inventory),
        Coalescer(timedelta(seconds=coalesce), utcnow),
        # the engine's write transactions are as long as its batches, and the hooks' commits
        # wait for them: 500 kept their p99 at 24 ms where 1,000 gave 30 (max 36 / 110 ms)
        batch_size=500,
    )
    return engine, pipeline.executor.shutdown


def _verbosity() -> int:
    """-v count as the command line gave it (the engine's process logs alike)."""
    level = logging.getLogger().level
    return 0 if level >= logging.WARNING else 1 if level >= logging.INFO else 2


def _itsm_sync(settings: Settings, store: Store) -> Any:
    """The ITSM mirror of itsm.yaml, if the project has one and its API key is there."""
    path = settings.project_dir / "itsm.yaml"
    if not path.exists():
        return None
    from automator.itsm import load_itsm_config, open_sync

    try:
        return open_sync(store, load_itsm_config(path))
    except ConfigError as exc:
        console.print(f"[yellow]ITSM mirror off: {exc}[/]")
        return None


def _run_desk(parts: list[Any], stop: threading.Event) -> None:
    """Tick the SLA monitor, the escalator, the notifier and the ITSM sync, in that order,
    every 15 s. Remote failures are theirs to record; a store that does not answer is logged
    and tried again."""
    while not stop.is_set():
        for part in parts:
            try:
                part.tick(utcnow())
            except AutomatorError as exc:
                log.warning("%s: %s", type(part).__name__, exc)
        stop.wait(15)
    for part in parts:
        dispose = getattr(part, "dispose", None)
        if dispose is not None:
            dispose()


def _run_schedules(scheduler: Scheduler, stop: threading.Event) -> None:
    """Tick the scheduler whenever it has something to do (at least every 30 s, so that a
    changed clock or a lapsed lease is noticed); a store that cannot be reached is logged
    and tried again."""
    while not stop.is_set():
        try:
            started = scheduler.tick()
        except AutomatorError as exc:
            log.warning("schedules: %s; trying again in 10 s", exc)
            stop.wait(10)
            continue
        for name in started:
            log.info("schedule %s started", name)
        wait = (scheduler.next_wake() - utcnow()).total_seconds()
        stop.wait(min(max(wait, 0.05), 30))
