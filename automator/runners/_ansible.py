"""Run an Ansible playbook on inventory hosts through ansible-runner.

The Ansible inventory is generated for every run from automator's inventory (never kept by
hand), artifacts land in the run's folder (``rc``, ``status``, ``stdout``,
``job_events/*.json``), and ansible's per-host stats are mapped onto outcomes: ``dark`` is
unreachable (a refused login is a failure, not a network problem), ``failures`` is failed, and
``ignored`` and ``rescued`` are kept as counts on a host that did not fail.

Every run starts held: the ``automator_gate`` callback plugin (``ansible_callbacks/``) keeps
ansible-playbook before its first play until the run proceeds, so that a caller can start it
before the job has been admitted and overlap the two start-ups (``AnsibleRunner.start``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ansible_runner
import yaml

from automator.errors import ConfigError
from automator.inventory import Host, Inventory, export_ansible
from automator.runners._base import HostResult, Outcome, ProgressEvent, RunContext, RunReport

_TASK_EVENTS = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_unreachable": "unreachable",
    "runner_on_skipped": "skipped",
    "runner_item_on_failed": "failed",
}
_SHOWN_ENV = re.compile(
    r"PATH|HOME|PWD|LANG|LC_\w+|TERM|SHELL|USER|LOGNAME|TZ|PYTHON\w*|ANSIBLE_\w+|RUNNER_\w+"
)
_SECRET_NAME = re.compile(r"PASS|SECRET|TOKEN|KEY|CRED|AUTH", re.IGNORECASE)
_UNFINISHED = {
    "timeout": "job time limit reached before this host finished",
    "canceled": "cancelled before this host finished",
}
_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_AUTH_FAILURE = ("permission denied", "authentication failed", "auth fail")
_GATE_PLUGIN_DIR = str(Path(__file__).with_name("ansible_callbacks"))


class AnsibleRunner:
    """Runs ``playbook`` (a path inside the project's ``playbooks/``) with ansible-runner."""

    def __init__(
        self, playbook: Path, inventory: Inventory, keep_facts: Sequence[str] = ()
    ) -> None:
        """``keep_facts``: dotted paths of host facts (``ansible_facts.uptime_seconds``) the
        play gathers or sets, kept in each host's ``data["facts"]`` (the rest is dropped)."""
        self.playbook = playbook
        self.inventory = inventory
        self.keep_facts = tuple(keep_facts)

    def run(self, hosts: Sequence[Host], context: RunContext) -> RunReport:
        return self.start(hosts, context).proceed(context)

    def start(self, hosts: Sequence[Host], context: RunContext) -> _HeldPlaybook:
        """Start ansible-playbook now, held before its first play (see HeldRun)."""
        private_dir = context.artifacts_dir / "runner"
        (private_dir / "inventory").mkdir(parents=True, exist_ok=True)
        inventory_file = private_dir / "inventory" / "hosts.yaml"
        inventory_file.write_text(yaml.safe_dump(export_ansible(self.inventory), sort_keys=False))
        (private_dir / "env").mkdir(exist_ok=True)
        (private_dir / "env" / "extravars").write_text(unsafe_extravars(context.params))
        return _HeldPlaybook(self, private_dir, inventory_file, hosts, context)


class _HeldPlaybook:
    """ansible-playbook under ansible-runner, held by the ``automator_gate`` callback plugin.

    The plugin waits, before the first play, for a word on a FIFO of the run's own: ``go``
    lets the play start, anything else (or automator gone, which closes the FIFO) ends
    ansible-playbook before it has touched a host.
    """

    def __init__(
        self,
        runner: AnsibleRunner,
        private_dir: Path,
        inventory_file: Path,
        hosts: Sequence[Host],
        context: RunContext,
    ) -> None:
        self.hosts = tuple(host.name for host in hosts)
        self.folder = context.artifacts_dir
        self._hosts = list(hosts)
        self._context = context
        self._collector = _EventCollector(context, runner.keep_facts)
        self._lock = threading.Lock()
        self._state = "held"  # held -> proceeding | abandoned
        self._spawning = threading.Event()
        # SSH connections are shared within the run (ControlPersist), never across runs: a
        # master left from an earlier run would reach a host whose sshd has since died and
        # report it ok. A short folder: a socket path may not exceed 107 bytes.
        self._control_dir = tempfile.mkdtemp(prefix="automator-cp-")
        gate = private_dir / "gate"
        os.mkfifo(gate, 0o600)
        # read-write: never blocks, and keeps the FIFO open so that a word written before
        # ansible-playbook reaches its gate waits there for it
        self._gate = os.open(gate, os.O_RDWR)
        self._thread, self._runner = ansible_runner.run_async(
            private_data_dir=str(private_dir),
            artifact_dir=str(context.artifacts_dir),
            ident="ansible",
            project_dir=str(runner.playbook.parent),
            playbook=str(runner.playbook),
            inventory=str(inventory_file),
            limit=",".join(self.hosts),
            forks=context.forks,
            cmdline="--check --diff" if context.check_mode else None,
            envvars={
                "ANSIBLE_TIMEOUT": str(int(context.timeouts.connect)),
                "ANSIBLE_TASK_TIMEOUT": str(int(context.timeouts.command)),
                "ANSIBLE_HOST_KEY_CHECKING": "True",
                "ANSIBLE_RETRY_FILES_ENABLED": "False",
                "ANSIBLE_NOCOLOR": "1",
                "PATH": _path_with_interpreter_bin(),
                "ANSIBLE_SSH_CONTROL_PATH_DIR": self._control_dir,
                "ANSIBLE_CALLBACK_PLUGINS": os.pathsep.join(
                    filter(None, [os.environ.get("ANSIBLE_CALLBACK_PLUGINS"), _GATE_PLUGIN_DIR])
                ),
                "AUTOMATOR_GATE": str(gate),
            },
            timeout=int(context.timeouts.job),
            quiet=True,
            event_handler=self._collector.handle,
            status_handler=self._on_status,
            cancel_callback=self._cancelled,
        )
        # return once ansible-playbook is on its way (or ansible-runner has given up): the
        # caller's next steps (importing SQLAlchemy) would otherwise hold the interpreter
        # while the thread wants to spawn it
        while not self._spawning.wait(0.05) and self._thread.is_alive():
            pass

    def _on_status(self, data: Mapping[str, Any], runner_config: Any) -> None:
        # ansible-runner writes the whole environment (where password_env secrets live) to
        # the `command` artifact just before it spawns ansible-playbook: redact it then
        if data.get("status") != "starting":
            _redact_command_artifact(self.folder / "ansible")
            self._spawning.set()

    def _cancelled(self) -> bool:
        return self._state == "abandoned" or self._context.cancel.is_set()

    def proceed(self, context: RunContext) -> RunReport:
        with self._lock:
            if self._state != "held":
                raise RuntimeError(f"this playbook run is {self._state}")
            self._state = "proceeding"
        self._context = self._collector.context = context
        started_at = datetime.now(UTC)
        clock = time.monotonic()
        os.write(self._gate, b"go\n")
        self._wait()
        duration = time.monotonic() - clock
        artifacts = context.artifacts_dir / "ansible"
        if context.artifacts_dir != self.folder:
            for part in ("runner", "ansible"):
                shutil.move(self.folder / part, context.artifacts_dir / part)
            shutil.rmtree(self.folder, ignore_errors=True)
        _redact_command_artifact(artifacts)
        status = self._runner.status
        tail = _tail(artifacts / "stdout")
        results = self._collector.results(self._hosts, status, tail, duration)
        for result in results.values():
            result.started_at = started_at
        error = (
            None if status in ("successful", "failed", "canceled") else f"ansible-runner: {status}"
        )
        if not self._collector.stats and status != "successful":
            # ansible-playbook ended before any play: its last words say why
            last = [line for line in tail.splitlines() if line.strip()]
            error = f"ansible-playbook: {last[-1].strip() if last else status}"
        return RunReport(
            results=results,
            artifacts_dir=artifacts,
            timed_out=status == "timeout",
            error=error,
        )

    def abandon(self) -> None:
        with self._lock:
            if self._state != "held":
                return
            self._state = "abandoned"
        os.write(self._gate, b"stop\n")
        self._wait()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _wait(self) -> None:
        try:
            self._thread.join()
        finally:
            os.close(self._gate)
            (self.folder / "runner" / "gate").unlink(missing_ok=True)
            shutil.rmtree(self._control_dir, ignore_errors=True)


def unsafe_extravars(params: Mapping[str, Any]) -> str:
    """Parameters as an extra-vars YAML file in which every string is tagged ``!unsafe``.

    Ansible renders extra-vars as Jinja2 templates; a parameter that came from an operator
    or an alert must stay data, so ``{{ lookup('pipe', ...) }}`` in it is never evaluated.
    """
    lines = []
    for name, value in params.items():
        if not _VAR_NAME.fullmatch(name):
            raise ConfigError(f"parameter name {name!r} is not a valid Ansible variable name")
        # JSON strings are valid YAML double-quoted scalars; a quoted key stays a string
        # (YAML 1.1 reads a bare `on` or `no` as a boolean)
        key = json.dumps(name)
        if isinstance(value, bool | int | float):
            lines.append(f"{key}: {json.dumps(value)}")
        elif isinstance(value, str):
            lines.append(f"{key}: !unsafe {json.dumps(value)}")
        else:
            raise ConfigError(f"parameter {name!r} must be a string, number or boolean")
    return "\n".join(lines) + "\n" if lines else "{}\n"


class _EventCollector:
    """Keeps, per host, the task lines and the final stats, and reports progress."""

    def __init__(self, context: RunContext, keep_facts: Sequence[str] = ()) -> None:
        self.context = context
        self.keep_facts = keep_facts
        self.facts: dict[str, dict[str, Any]] = defaultdict(dict)
        self.lines: dict[str, list[str]] = defaultdict(list)
        self.errors: dict[str, str] = {}
        self.stats: dict[str, dict[str, int]] = {}
        self.busy: dict[str, float] = defaultdict(float)
        self.lock = threading.Lock()

    def handle(self, event: Mapping[str, Any]) -> bool:
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        if kind == "playbook_on_stats":
            with self.lock:
                for category in (
                    "ok",
                    "changed",
                    "failures",
                    "dark",
                    "ignored",
                    "rescued",
                    "skipped",
                    "processed",
                ):
                    for host, count in (data.get(category) or {}).items():
                        self.stats.setdefault(host, {})[category] = count
            return True
        status = _TASK_EVENTS.get(kind)
        host = data.get("host")
        if status is None or not host:
            return True
        result = data.get("res") or {}
        if self.keep_facts and isinstance(result.get("ansible_facts"), dict):
            with self.lock:
                self.facts[host].update(result["ansible_facts"])
        if status == "ok" and result.get("changed"):
            status = "changed"
        if status == "failed" and data.get("ignore_errors"):
            status = "failed (ignored)"
        message = _message(result)
        with self.lock:
            self.busy[host] += float(data.get("duration") or 0.0)
            self.lines[host].append(
                f"TASK [{data.get('task', '?')}] {status}" + (f": {message}" if message else "")
            )
            if status in ("failed", "unreachable") and message:
                self.errors[host] = f"{data.get('task', '?')}: {message}"
        self.context.progress(ProgressEvent(host, status, task=str(data.get("task", "?"))))
        return True

    def _kept_facts(self, host: str) -> dict[str, Any]:
        if not self.keep_facts:
            return {}
        facts = self.facts.get(host, {})
        return {"facts": {path: _fact(facts, path) for path in self.keep_facts}}

    def results(
        self, hosts: Sequence[Host], status: str, stdout_tail: str, duration: float
    ) -> dict[str, HostResult]:
        results: dict[str, HostResult] = {}
        for host in hosts:
            stats = self.stats.get(host.name)
            output = "\n".join(self.lines.get(host.name, []))
            if stats is None:
                if status == "successful":
                    outcome, reason = Outcome.SKIPPED, "no play targets this host"
                else:
                    outcome = Outcome.FAILED
                    reason = _UNFINISHED.get(
                        status, f"ansible-playbook did not run on this host ({status})"
                    )
                results[host.name] = HostResult(
                    host.name,
                    outcome,
                    output=output or stdout_tail,
                    error=reason,
                    duration=duration,
                )
            else:
                outcome = _outcome(stats, self.errors.get(host.name, ""))
                results[host.name] = HostResult(
                    host.name,
                    outcome,
                    output=output,
                    data={"stats": stats, **self._kept_facts(host.name)},
                    error=self.errors.get(host.name) if outcome.is_problem else None,
                    duration=self.busy.get(host.name, duration),
                )
            self.context.progress(
                ProgressEvent(
                    host.name,
                    results[host.name].outcome.value,
                    done=True,
                    outcome=results[host.name].outcome,
                )
            )
        return results


def _fact(facts: Mapping[str, Any], path: str) -> Any:
    """``ansible_facts.a.b`` (or ``a.b``) in a host's facts; None when absent. The events
    carry the facts under their injected names (``ansible_uptime_seconds``), which is also
    tried for the first step."""
    first, *rest = path.removeprefix("ansible_facts.").split(".")
    value: Any = facts.get(first, facts.get(f"ansible_{first}"))
    for step in rest:
        if not isinstance(value, Mapping) or step not in value:
            return None
        value = value[step]
    return value


def _outcome(stats: Mapping[str, int], error: str) -> Outcome:
    if stats.get("dark"):
        if any(marker in error.lower() for marker in _AUTH_FAILURE):
            return Outcome.FAILED
        return Outcome.UNREACHABLE
    if stats.get("failures"):
        return Outcome.FAILED
    if stats.get("changed"):
        return Outcome.CHANGED
    if stats.get("ok"):
        return Outcome.OK
    return Outcome.SKIPPED


def _message(result: Mapping[str, Any]) -> str:
    message = result.get("msg") or result.get("stderr") or ""
    if not isinstance(message, str):
        message = str(message)
    return message.strip().splitlines()[0][:300] if message.strip() else ""


def _redact_command_artifact(artifacts: Path) -> None:
    """Keep the names of the environment variables in ``command``, and the values of only
    those known to be harmless."""
    path = artifacts / "command"
    try:
        recorded = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    env = recorded.get("env") or {}
    recorded["env"] = {
        name: value
        if _SHOWN_ENV.fullmatch(name) and not _SECRET_NAME.search(name)
        else "<redacted>"
        for name, value in env.items()
    }
    path.write_text(json.dumps(recorded))


def _path_with_interpreter_bin() -> str:
    """PATH with this interpreter's bin folder first, so that the ansible-playbook installed
    with automator is found even when its virtualenv is not activated."""
    return os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
