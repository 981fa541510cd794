"""Run a Nornir task on inventory hosts, within a whole-job time limit.

A fresh ``Nornir`` object is built for every job from automator's validated inventory, so no
``failed_hosts`` state leaks from one job to the next (the pitfall of a long-lived ``Nornir``),
and each host's connections are closed as soon as its task is done.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import UTC, datetime
from typing import Any

from nornir.core import Nornir
from nornir.core.inventory import ConnectionOptions, Defaults, Groups, Hosts, Inventory
from nornir.core.inventory import Host as NornirHost
from nornir.core.plugins.connections import ConnectionPluginRegister
from nornir.core.task import AggregatedResult, MultiResult, Result, Task

from automator.errors import AutomatorError
from automator.inventory import Host
from automator.runners._base import HostResult, Outcome, ProgressEvent, RunContext, RunReport
from automator.runners._classify import Cancelled, JobTimeLimit, classify
from automator.runners._paramiko import CONNECTION_NAME as PARAMIKO
from automator.runners._specs import CollectTask, CommandsTask, ConfigTask, NornirTaskSpec
from automator.runners._tasks import (
    NETMIKO,
    NothingToRun,
    TaskFailed,
    push_config,
    run_commands,
)

log = logging.getLogger(__name__)


class DeadlineRunner:
    """Nornir runner plugin: a thread per host up to ``num_workers``. Hosts still running at
    the deadline, or when ``cancel`` is set, are recorded as failed and left behind (their
    threads end at their own command timeout)."""

    def __init__(self, num_workers: int, time_limit: float, cancel: threading.Event) -> None:
        self.num_workers = max(1, num_workers)
        self.time_limit = time_limit
        self.cancel = cancel

    def run(self, task: Task, hosts: list[NornirHost]) -> AggregatedResult:
        result = AggregatedResult(task.name)
        pool = ThreadPoolExecutor(max_workers=self.num_workers, thread_name_prefix="nornir")
        futures = {pool.submit(task.copy().start, host): host for host in hosts}
        deadline = time.monotonic() + self.time_limit
        pending = set(futures)
        while pending and not self.cancel.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            _, pending = wait(pending, timeout=min(left, 0.2))
        for future, host in futures.items():
            if future not in pending:
                result[host.name] = future.result()
            else:
                future.cancel()
                cut_off = MultiResult(task.name)
                exc = Cancelled() if self.cancel.is_set() else JobTimeLimit(self.time_limit)
                cut_off.append(Result(host, exception=exc, failed=True))
                result[host.name] = cut_off
        pool.shutdown(wait=False, cancel_futures=True)
        return result


class _Progress:
    """Nornir processor that times each host and reports it to the run's progress callback.

    Only the job's own task counts: closing connections is a Nornir task too."""

    def __init__(self, context: RunContext, task_name: str) -> None:
        self.context = context
        self.task_name = task_name
        self.started: dict[str, float] = {}
        self.durations: dict[str, float] = {}

    def task_started(self, task: Task) -> None:
        pass

    def task_completed(self, task: Task, result: AggregatedResult) -> None:
        pass

    def task_instance_started(self, task: Task, host: NornirHost) -> None:
        if task.name == self.task_name:
            self.started[host.name] = time.monotonic()
            self.context.progress(ProgressEvent(host.name, "connecting"))

    def task_instance_completed(self, task: Task, host: NornirHost, result: MultiResult) -> None:
        if task.name == self.task_name:
            self.durations[host.name] = time.monotonic() - self.started[host.name]
            message = "failed" if result.failed else "done"
            self.context.progress(ProgressEvent(host.name, message, done=True))

    def subtask_instance_started(self, task: Task, host: NornirHost) -> None:
        pass

    def subtask_instance_completed(self, task: Task, host: NornirHost, result: MultiResult) -> None:
        pass


class NornirRunner:
    """Runs a :class:`CommandsTask`, :class:`ConfigTask` or :class:`CollectTask` on hosts
    through Nornir."""

    def __init__(self, spec: NornirTaskSpec) -> None:
        self.spec = spec
        _register_connections()

    def run(self, hosts: Sequence[Host], context: RunContext) -> RunReport:
        results: dict[str, HostResult] = {}
        nornir_hosts: dict[str, NornirHost] = {}
        kinds = {host.name: host.kind for host in hosts}
        for host in hosts:
            try:
                nornir_hosts[host.name] = _to_nornir(host, context)
            except AutomatorError as exc:
                results[host.name] = HostResult(host.name, Outcome.FAILED, error=str(exc))
        task_name = type(self.spec).__name__
        progress = _Progress(context, task_name)
        nr = Nornir(
            inventory=Inventory(hosts=Hosts(nornir_hosts), groups=Groups(), defaults=Defaults()),
            runner=DeadlineRunner(context.forks, context.timeouts.job, context.cancel),
        ).with_processors([progress])
        nr.data.reset_failed_hosts()
        started_at = datetime.now(UTC)
        try:
            aggregated = nr.run(
                task=_dispatch,
                name=task_name,
                spec=self.spec,
                kinds=kinds,
                context=context,
            )
        finally:
            nr.close_connections(on_good=True, on_failed=True)
        timed_out = False
        for name, multi in aggregated.items():
            # a host cut off by the job time limit never completed: it ran until the limit
            duration = progress.durations.get(name, context.timeouts.job)
            result = _to_host_result(name, multi, duration)
            result.started_at = started_at
            timed_out = timed_out or isinstance(multi[0].exception, JobTimeLimit)
            results[name] = result
        return RunReport(results={h.name: results[h.name] for h in hosts}, timed_out=timed_out)


def _register_connections() -> None:
    """The two connection plugins automator uses, registered by name: ``auto_register``
    would scan every installed distribution's entry points (0.1 s at each job)."""
    from nornir_netmiko.connections import Netmiko

    from automator.runners._paramiko import ParamikoConnection

    for name, plugin in ((NETMIKO, Netmiko), (PARAMIKO, ParamikoConnection)):
        if name not in ConnectionPluginRegister.available:
            ConnectionPluginRegister.register(name, plugin)


def _dispatch(
    task: Task, spec: NornirTaskSpec, kinds: dict[str, str], context: RunContext
) -> Result:
    kind = kinds[task.host.name]
    try:
        if isinstance(spec, CollectTask):
            from automator.runners._collect import collect

            return collect(task, spec, kind, context.timeouts.command)
        if isinstance(spec, ConfigTask):
            return push_config(
                task, spec, kind, context.timeouts.command, context.check_mode, context.cancel
            )
        assert isinstance(spec, CommandsTask)
        return run_commands(
            task, spec, kind, context.timeouts.command, context.check_mode, context.cancel
        )
    finally:
        # the host's one task is done: log out now, while other hosts still work, rather
        # than in a second pass over every host once the slowest has finished
        _close(task.host)


def _close(host: NornirHost) -> None:
    try:
        host.close_connections()
    except Exception as exc:  # a device gone mid-logout changes nothing of the result
        log.debug("%s: closing its connection failed: %s", host.name, exc)


def _to_nornir(host: Host, context: RunContext) -> NornirHost:
    credentials = host.credentials
    timeout = context.timeouts.connect
    if host.kind == "server":
        options = ConnectionOptions(
            extras={
                "key_filename": str(credentials.key_file) if credentials.key_file else None,
                "known_hosts_file": (
                    str(credentials.known_hosts_file) if credentials.known_hosts_file else None
                ),
                "timeout": timeout,
            }
        )
        connection_options = {PARAMIKO: options}
    else:
        extras: dict[str, Any] = {
            "conn_timeout": timeout,
            "auth_timeout": timeout,
            "banner_timeout": timeout,
            "read_timeout_override": None,
            "fast_cli": True,  # netmiko's default: its timing, not a slower one of ours
        }
        secret = credentials.enable_secret()
        if secret is not None:
            extras["secret"] = secret
        if credentials.key_file:
            extras["key_file"] = str(credentials.key_file)
            extras["use_keys"] = True
        connection_options = {NETMIKO: ConnectionOptions(extras=extras)}
    return NornirHost(
        name=host.name,
        hostname=host.hostname,
        port=host.port,
        username=credentials.username,
        password=credentials.password(),
        platform=host.platform,
        connection_options=connection_options,
    )


def _to_host_result(name: str, multi: MultiResult, duration: float) -> HostResult:
    result = multi[0]
    exc = result.exception
    if exc is None:
        if getattr(result, "check_mode_skipped", False):
            outcome = Outcome.SKIPPED
        else:
            outcome = Outcome.CHANGED if result.changed else Outcome.OK
        return HostResult(
            name,
            outcome,
            output=getattr(result, "transcript", ""),
            data=dict(result.result or {}),
            duration=duration,
        )
    if isinstance(exc, NothingToRun):
        return HostResult(name, Outcome.SKIPPED, error=str(exc), duration=duration)
    if isinstance(exc, TaskFailed):
        return HostResult(
            name,
            Outcome.FAILED,
            output=exc.output,
            data=exc.data,
            error=str(exc),
            duration=duration,
        )
    outcome, reason = classify(exc)
    return HostResult(name, outcome, error=reason, duration=duration)
