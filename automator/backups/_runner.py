"""Fetch configurations, check they are whole, and scrub them before anyone sees them.

The runner collects with the same one-pass ``CollectTask`` the checks use (one SSH exec per
server, one netmiko session per device). What it hands back never holds a secret: each
configuration goes through the platform's secret and volatile filters right here, and only
the scrubbed text travels on (``HostResult.transient["config"]``, for the backup store); the
raw output is dropped. The filtering runs in the worker thread that fetched the output, as
soon as it has it (``CollectTask.finish``), while other devices are still answering.

An output that is empty, cut short, refused by the device or has a paging prompt left in it
fails the host: a good backup is never replaced by a partial one.
"""

from __future__ import annotations

import hashlib
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from automator.backups._plan import BackupPlan, Fetch
from automator.inventory import Host
from automator.runners import (
    Collect,
    CollectTask,
    HostResult,
    NornirRunner,
    Outcome,
    RunContext,
    RunReport,
)

# platforms whose configuration ends with a known last line: without it, it was cut short
_LAST_LINE = {
    "cisco_ios": "end",
    "cisco_xe": "end",
    "arista_eos": "end",
    "cisco_asa": ": end",
}
_PAGING = ("--More--", " --More-- ", "<--- More --->", "-- More --")
_REFUSED = ("% Invalid input", "% Authorization failed", "% Permission denied", "Invalid command")


class BadOutput(Exception):
    """The output is not a whole configuration; the message says why, in a line."""


def commands_of(fetch: Fetch) -> tuple[str, ...]:
    return (*fetch.commands, *(f"cat {shlex.quote(path)}" for path in fetch.files))


class BackupRunner:
    """Backs up hosts' configurations. The run's parameter ``expected_sha256`` (the
    ``backup-verify`` action's, after a restore) turns it into a check that the configuration
    IS that version: a host whose scrubbed configuration differs fails."""

    def __init__(self, plan: BackupPlan) -> None:
        self.plan = plan

    def run(self, hosts: Sequence[Host], context: RunContext) -> RunReport:
        fetches = {host.name: self.plan.fetch_for(host.platform, host.kind) for host in hosts}
        by_name = {host.name: host for host in hosts}
        expected = context.params.get("expected_sha256")
        per_host = {
            name: Collect(commands=commands_of(fetch))
            for name, fetch in fetches.items()
            if fetch is not None
        }

        def finish(name: str, collected: dict[str, Any]) -> dict[str, Any]:
            fetch = fetches[name]
            assert fetch is not None
            return _scrubbed(by_name[name], fetch, collected, expected)

        targets = [host for host in hosts if host.name in per_host]
        report = (
            NornirRunner(CollectTask(per_host, finish=finish)).run(targets, context)
            if targets
            else RunReport(results={})
        )
        results: dict[str, HostResult] = {}
        for host in hosts:
            if fetches[host.name] is None:
                results[host.name] = HostResult(
                    host.name, Outcome.SKIPPED, error=f"nothing to back up on {host.platform}"
                )
                continue
            results[host.name] = _host_result(report.results[host.name])
        return RunReport(results=results, timed_out=report.timed_out, error=report.error)


def _scrubbed(
    host: Host, fetch: Fetch, collected: Mapping[str, Any], expected: str | None
) -> dict[str, Any]:
    """One host's collected outputs as a scrubbed configuration (``config``) and its figures
    (``data``), or the reason it is not backed up (``error``). Runs in the worker thread that
    collected them: the raw outputs, secrets and all, go no further."""
    from automator.backups._filters import find_secrets, scrub

    outputs = {out["command"]: out for out in collected.get("outputs", ())}
    try:
        text = assemble(host, fetch, outputs)
    except BadOutput as exc:
        return {"error": f"not backed up: {exc}"}
    platform = "linux" if host.kind == "server" else host.platform
    scrubbed = scrub(text, platform)
    leftover = find_secrets(scrubbed.text, platform)
    if leftover:
        return {
            "error": "not backed up: lines "
            + ", ".join(str(n) for n in leftover[:10])
            + " still look like secrets after scrubbing"
        }
    digest = hashlib.sha256(scrubbed.text.encode()).hexdigest()
    data: dict[str, Any] = {
        "lines": scrubbed.text.count("\n") + 1,
        "sha256": digest,
        "secrets_masked": scrubbed.secrets,
        "volatile_dropped": scrubbed.volatile,
    }
    if expected is not None:
        data["expected_sha256"] = expected
    return {"config": scrubbed.text, "data": data}


def _host_result(collected: HostResult) -> HostResult:
    """The backup's outcome for one host from what its worker made of the outputs."""
    duration, started_at = collected.duration, collected.started_at
    if collected.outcome not in (Outcome.OK, Outcome.CHANGED):
        # the error names the failure (unreachable, auth); the transcript may hold a
        # configuration, so it is not passed on
        return HostResult(
            collected.host,
            collected.outcome,
            error=collected.error,
            duration=duration,
            started_at=started_at,
        )
    if "error" in collected.data:
        return HostResult(
            collected.host,
            Outcome.FAILED,
            error=collected.data["error"],
            duration=duration,
            started_at=started_at,
        )
    data = collected.data["data"]
    outcome, error = Outcome.OK, None
    if data.get("expected_sha256", data["sha256"]) != data["sha256"]:
        outcome, error = Outcome.FAILED, "the configuration differs from the version restored"
    return HostResult(
        collected.host,
        outcome,
        output=f"{data['lines']} lines, {data['secrets_masked']} secrets masked",
        data=data,
        error=error,
        duration=duration,
        started_at=started_at,
        transient={"config": collected.data["config"]},
    )


def assemble(host: Host, fetch: Fetch, outputs: Mapping[str, Mapping[str, Any]]) -> str:
    """The configuration document of one host, or BadOutput."""
    if host.kind == "server":
        sections = []
        for command in fetch.commands:
            out = outputs[command]
            rc = "" if out["rc"] in (0, None) else f" (exit status {out['rc']})"
            sections.append(f"### command {command}{rc}\n{_text(out)}")
        for path in fetch.files:
            out = outputs[f"cat {shlex.quote(path)}"]
            if out["rc"] not in (0, None):
                sections.append(f"### file {path} (missing or unreadable)\n")
            else:
                sections.append(f"### file {path}\n{_text(out)}")
        return "\n".join(sections)
    texts = [_network_text(host, command, outputs[command]) for command in fetch.commands]
    if len(texts) == 1:
        return texts[0]
    return "\n".join(
        f"### command {command}\n{text}"
        for command, text in zip(fetch.commands, texts, strict=True)
    )


def _network_text(host: Host, command: str, out: Mapping[str, Any]) -> str:
    text = _text(out)
    if not text.strip():
        raise BadOutput(f"{command!r} gave an empty output")
    for marker in _PAGING:
        if marker in text:
            raise BadOutput(
                f"{command!r}: a paging prompt ({marker.strip()}) was left in the output"
            )
    head = text.lstrip()[:200]
    for refusal in _REFUSED:
        if head.startswith(refusal) or f"\n{refusal}" in text[:500]:
            raise BadOutput(f"{command!r} was refused by the device: {refusal}")
    last = _LAST_LINE.get(host.platform)
    if last is not None:
        lines = [line.rstrip() for line in text.splitlines() if line.strip()]
        if not lines or lines[-1] != last:
            raise BadOutput(
                f"{command!r}: the output does not end with {last!r}: cut short "
                f"({len(lines)} lines)"
            )
    return text


def _text(out: Mapping[str, Any]) -> str:
    return str(out.get("output", "")).replace("\r\n", "\n")
