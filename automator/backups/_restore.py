"""Restore a stored configuration: the configuration lines that take a device from what it
runs now to a stored version, for IOS-style configurations (a top-level line opens a
section; its indented lines belong to it).

Lines the secret filter masked are not restored (their secret is not kept anywhere), nor are
comments, the ``version`` and ``end`` lines and the headers the device prints. After the push
the device is backed up again and must match the version (a verify step): what could not be
restored shows there.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from automator.inventory import Host
from automator.runners import ConfigTask, HostResult, NornirRunner, Outcome, RunContext, RunReport

_SKIP = re.compile(
    r"^(!|Building configuration|Current configuration|end$|version |: |Using \d+ out of)"
)


# IOS commands that take one value: setting one replaces the old value, so the old one is
# not negated first (negating it would also move the line, or briefly drop it)
SINGLE_VALUED = (
    "description",
    "hostname",
    "ip address",
    "switchport mode",
    "switchport access vlan",
    "speed",
    "duplex",
    "mtu",
    "bandwidth",
    "encapsulation",
    "banner motd",
)


def _key(line: str) -> str | None:
    text = line.strip()
    return next((k for k in SINGLE_VALUED if text.startswith(k + " ")), None)


_CERTIFICATES = re.compile(r"^crypto (pki|ca) certificate chain ")


@dataclass
class _Section:
    header: str
    children: list[str] = field(default_factory=list)


def sections(text: str, marker: str) -> dict[str, _Section]:
    """Top-level lines and their indented children, in order; skipped lines left out, and
    certificate chains too (their bodies are masked: pushing the shell would break them)."""
    result: dict[str, _Section] = {}
    current: _Section | None = None
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip() or marker in line:
            continue
        if line[0] != " ":
            current = None
            if _SKIP.match(line):
                continue
            if _CERTIFICATES.match(line):
                continue
            current = result.setdefault(line, _Section(line))
        elif current is not None and not _SKIP.match(line.strip()):
            current.children.append(line)
    return result


def restore_lines(current: str, target: str, marker: str) -> list[str]:
    """Configuration lines that turn ``current`` into ``target``: removals first (``no``),
    then additions, each inside its section."""
    now, wanted = sections(current, marker), sections(target, marker)
    lines: list[str] = []
    replaced = {_key(header) for header in wanted if header not in now} - {None}
    for header in now:
        if header not in wanted and _key(header) not in replaced:
            lines.append(f"no {header}" if not header.startswith("no ") else header[3:])
    for header, section in wanted.items():
        before = now.get(header)
        added = [c for c in section.children if before is None or c not in before.children]
        set_again = {_key(c) for c in added} - {None}
        removed = (
            [c for c in before.children if c not in section.children and _key(c) not in set_again]
            if before
            else []
        )
        if before is None and not section.children:
            lines.append(header)
            continue
        if not removed and not added:
            continue
        lines.append(header)
        lines += [f" no {child.strip()}" for child in removed]
        lines += added
        lines.append("exit")
    return lines


class RestoreRunner:
    """Pushes the lines that restore ``params["config"]`` (a scrubbed stored version) on each
    host, saving the configuration after. The current configuration is fetched and scrubbed
    first, so the comparison is between like and like."""

    def __init__(self, fetch_runner: Any) -> None:
        self.fetch_runner = fetch_runner  # a BackupRunner

    def run(self, hosts: Sequence[Host], context: RunContext) -> RunReport:
        from automator.backups._filters import SECRET_MARK

        target = str(context.params.get("config", ""))
        fetched = self.fetch_runner.run(hosts, context)
        results: dict[str, HostResult] = {}
        for host in hosts:
            current = fetched.results[host.name]
            if current.outcome is not Outcome.OK or host.kind != "network":
                why = current.error or f"restore is for network gear, not {host.platform}"
                results[host.name] = HostResult(
                    host.name,
                    current.outcome if current.outcome.is_problem else Outcome.FAILED,
                    error=f"not restored: {why}",
                )
                continue
            lines = restore_lines(current.transient["config"], target, SECRET_MARK)
            if not lines:
                results[host.name] = HostResult(host.name, Outcome.OK, output="already the version")
                continue
            pushed = NornirRunner(ConfigTask(lines={host.platform: tuple(lines)}, save=True)).run(
                [host], context
            )
            result = pushed.results[host.name]
            result.data = {"applied": lines, "saved": True}
            result.output = "\n".join(lines)
            results[host.name] = result
        return RunReport(results=results, timed_out=fetched.timed_out, error=fetched.error)
