"""``automator run NAME``: an operator runs a runbook through the one pipeline."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

import click
from rich.markup import escape

from automator.cli._app import (
    console,
    err_console,
    open_catalogue,
    open_inventory,
    open_pipeline,
    pass_settings,
    requester,
)
from automator.config import Settings
from automator.errors import ConfigError
from automator.guardrails import GuardrailPolicy
from automator.jobs import JobKind, JobSpec, RunStatus, RunSummary, resolve, start_held
from automator.runners import ProgressCallback, ProgressEvent, Timeouts


@click.command()
@click.argument("name")
@click.option("--limit", metavar="FILTER", help="Hosts to run on, e.g. site=dc1,role=web")
@click.option(
    "--ticket",
    "ticket_id",
    type=int,
    metavar="ID",
    help="Log the run on this ticket (default: open a new one)",
)
@click.option("--check", is_flag=True, help="Dry run: report what would change, change nothing")
@click.option(
    "--param",
    "-p",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="Runbook parameter (repeatable); validated, passed as data",
)
@click.option(
    "--forks",
    type=click.IntRange(1, 500),
    default=10,
    show_default=True,
    help="Hosts worked on at once",
)
@click.option(
    "--connect-timeout",
    type=click.FloatRange(0.1),
    default=10.0,
    show_default=True,
    help="Seconds to connect to a host",
)
@click.option(
    "--command-timeout",
    type=click.FloatRange(0.1),
    default=60.0,
    show_default=True,
    help="Seconds a command may run on a host",
)
@click.option(
    "--break-glass",
    metavar="REASON",
    help="Change hosts inside a maintenance or freeze window; the reason is recorded",
)
@click.option(
    "--timeout",
    "job_timeout",
    type=click.FloatRange(1),
    default=None,
    help="Whole-job time limit in seconds [default: the runbook's, else 1800]",
)
@pass_settings
def run(
    settings: Settings,
    name: str,
    limit: str | None,
    ticket_id: int | None,
    check: bool,
    params: tuple[str, ...],
    forks: int,
    connect_timeout: float,
    command_timeout: float,
    job_timeout: float | None,
    break_glass: str | None,
) -> int:
    """Run runbook NAME (runbooks/NAME.yaml or playbooks/NAME.yml) on hosts."""
    inventory, catalogue = open_inventory(settings), open_catalogue(settings)
    action = catalogue.get(name)
    spec = JobSpec(
        kind=JobKind.RUNBOOK,
        action=name,
        requester=requester(),
        limit=limit,
        params=_parse_params(params),
        check_mode=check,
        ticket_id=ticket_id,
        timeouts=Timeouts(
            connect_timeout, command_timeout, job_timeout or action.timeout or Timeouts().job
        ),
        forks=forks,
        policy=GuardrailPolicy(break_glass=break_glass),
    )
    job = resolve(spec, catalogue, inventory)
    # ansible-playbook starts loading now, held before its first host, while the store
    # loads and the pipeline records the job and asks the gate
    held = start_held(job, inventory, settings.artifacts_dir)
    try:
        pipeline = open_pipeline(settings, inventory, catalogue)
        summary = run_with_progress(
            lambda on_progress, cancel: pipeline.submit(spec, on_progress, cancel, held=held),
            len(job.hosts),
            name,
        )
    finally:
        if held is not None:
            held.abandon()  # not submitted (a bad ticket id); no-op once it has run
    _print_summary(summary)
    if summary.status is RunStatus.CANCELLED:
        return 130
    return 0 if summary.status in (RunStatus.SUCCEEDED, RunStatus.WAITING) else 1


T = TypeVar("T")


class _Tracker:
    """Turns progress events into a bar position: hosts finished for Nornir tasks; for
    playbooks, which run task by task, hosts that have answered the current task."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.done: set[str] = set()
        self.task: str | None = None
        self.answered: set[str] = set()

    def step(self, event: ProgressEvent) -> tuple[int, str]:
        with self.lock:
            if event.task is not None:
                if event.task != self.task:
                    self.task, self.answered = event.task, set()
                self.answered.add(event.host)
                return len(self.answered), f"{event.task}: {event.host} {event.message}"
            if event.done:
                self.done.add(event.host)
            return len(self.done), f"{event.host}: {event.message}"


def run_with_progress(
    start: Callable[[ProgressCallback, threading.Event], Future[T]], total: int, name: str
) -> T:
    """Start a job (``start(on_progress, cancel)``) under a progress bar of ``total`` hosts
    and wait for it; Ctrl-C cancels it, a second Ctrl-C quits at once."""
    # the bar (and the summary's tables, _print_summary) load when needed, not with the
    # command: ``run`` has started ansible-playbook by then (~15 ms sooner)
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    tracker = _Tracker()
    with Progress(
        TextColumn("[bold]{task.fields[name]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=console,
        transient=True,
    ) as progress:
        bar = progress.add_task("starting", total=total, name=name)

        def on_progress(event: ProgressEvent) -> None:
            completed, what = tracker.step(event)
            progress.update(bar, completed=completed, description=escape(what[:60]))

        cancel = threading.Event()
        future = start(on_progress, cancel)
        try:
            return future.result()
        except KeyboardInterrupt:
            progress.update(bar, description="cancelling (Ctrl-C again to quit at once)")
            cancel.set()
        try:
            return future.result()
        except KeyboardInterrupt:
            err_console.print("quit: the next automator command marks the run interrupted")
            os._exit(130)  # the job's threads would otherwise keep the process alive


def _print_summary(summary: RunSummary) -> None:
    from automator.cli._render import STATUS_STYLE, counts_line, results_table

    style = STATUS_STYLE.get(summary.status.value, "")
    console.print(f"\n[bold]run #{summary.run_id}[/]: [{style}]{summary.status.value}[/]")
    if summary.results:
        console.print(results_table(summary.results.values()))
    line = counts_line(summary.counts())
    if summary.error:
        style = "yellow" if summary.status is RunStatus.WAITING else "red"
        line.append(f"  ({summary.error})" if line else summary.error, style=style)
    console.print(line)
    opened = "opened" if summary.ticket_opened else "updated"
    console.print(
        f"ticket #{summary.ticket_id} {opened} · automator tickets show {summary.ticket_id}"
    )
    if summary.artifacts_dir:
        console.print(f"artifacts: {summary.artifacts_dir}", style="dim")


def _parse_params(pairs: tuple[str, ...]) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ConfigError(f"--param {pair!r}: expected NAME=VALUE")
        if name in params:
            raise ConfigError(f"--param {name} given twice")
        params[name] = value
    return params


@click.command()
@click.argument("ticket_id", type=int, metavar="TICKET")
@click.option("--reason", help="Recorded on the ticket")
@pass_settings
def approve(settings: Settings, ticket_id: int, reason: str | None) -> int:
    """Approve the changes waiting on TICKET, and run them now."""
    started = open_pipeline(settings).approve(ticket_id, requester(), reason)
    summaries = [future.result() for future in started]
    for summary in summaries:
        _print_summary(summary)
    ok = (RunStatus.SUCCEEDED, RunStatus.WAITING)
    return 0 if all(summary.status in ok for summary in summaries) else 1


@click.command()
@click.argument("ticket_id", type=int, metavar="TICKET")
@click.option("--reason", required=True, help="Why: recorded on the ticket")
@pass_settings
def deny(settings: Settings, ticket_id: int, reason: str) -> None:
    """Refuse the changes waiting on TICKET."""
    refused = open_pipeline(settings).deny(ticket_id, requester(), reason)
    console.print(f"denied: run {', '.join(f'#{run}' for run in refused)} on ticket #{ticket_id}")
