"""Fetch configurations, check they are whole, and scrub them before anyone sees them.

The runner collects with the same one-pass ``CollectTask`` the checks use (one SSH exec per
server, one netmiko session per device). What it hands back never holds a secret: each
configuration goes through the platform's secret and volatile filters right here, and only
the scrubbed text travels on (``HostResult.transient["config"]``, for the backup store); the
raw output is dropped. An output that is empty, cut short, refused by the device or has a
paging prompt left in it fails the host: a good backup is never replaced by a partial one.
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
        per_host = {
            name: Collect(commands=commands_of(fetch))
            for name, fetch in fetches.items()
            if fetch is not None
        }
        targets = [host for host in hosts if host.name in per_host]
        report = (
            NornirRunner(CollectTask(per_host)).run(targets, context)
            if targets
            else RunReport(results={})
        )
        results: dict[str, HostResult] = {}
        for host in hosts:
            fetch = fetches[host.name]
            if fetch is None:
                results[host.name] = HostResult(
                    host.name, Outcome.SKIPPED, error=f"nothing to back up on {host.platform}"
                )
                continue
            results[host.name] = self._one(
                host, fetch, report.results[host.name], context.params.get("expected_sha256")
            )
        return RunReport(results=results, timed_out=report.timed_out, error=report.error)

    def _one(
        self, host: Host, fetch: Fetch, collected: HostResult, expected: str | None
    ) -> HostResult:
        if collected.outcome not in (Outcome.OK, Outcome.CHANGED):
            # the error names the failure (unreachable, auth); the transcript may hold a
            # configuration, so it is not passed on
            return HostResult(
                host.name,
                collected.outcome,
                error=collected.error,
                duration=collected.duration,
                started_at=collected.started_at,
            )
        from automator.backups._filters import find_secrets, scrub

        outputs = {out["command"]: out for out in collected.data.get("outputs", ())}
        try:
            text = assemble(host, fetch, outputs)
        except BadOutput as exc:
            return HostResult(
                host.name,
                Outcome.FAILED,
                error=f"not backed up: {exc}",
                duration=collected.duration,
                started_at=collected.started_at,
            )
        platform = "linux" if host.kind == "server" else host.platform
        scrubbed = scrub(text, platform)
        leftover = find_secrets(scrubbed.text, platform)
        if leftover:
            return HostResult(
                host.name,
                Outcome.FAILED,
                error="not backed up: lines "
                + ", ".join(str(n) for n in leftover[:10])
                + " still look like secrets after scrubbing",
                duration=collected.duration,
                started_at=collected.started_at,
            )
        digest = hashlib.sha256(scrubbed.text.encode()).hexdigest()
        data: dict[str, Any] = {
            "lines": scrubbed.text.count("\n") + 1,
            "sha256": digest,
            "secrets_masked": scrubbed.secrets,
            "volatile_dropped": scrubbed.volatile,
        }
        outcome, error = Outcome.OK, None
        if expected is not None:
            data["expected_sha256"] = expected
            if expected != digest:
                outcome, error = (
                    Outcome.FAILED,
                    "the configuration differs from the version restored",
                )
        return HostResult(
            host.name,
            outcome,
            output=f"{data['lines']} lines, {scrubbed.secrets} secrets masked",
            data=data,
            error=error,
            duration=collected.duration,
            started_at=collected.started_at,
            transient={"config": scrubbed.text},
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
