"""What a health check is, and what it finds.

A check (``checks/NAME.yaml``) says what to collect from which hosts, how to parse it, which
values to judge against warning and critical thresholds, which trends to watch, how often to
run and who answers for it. Running it on a host gives a :class:`CheckResult`: a
:class:`Status` and the :class:`Finding` behind it, one per measured value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from automator.tickets import Priority


class Status(StrEnum):
    """How a check stands on a host. ``unknown`` (no data, a parse failure, a check that did
    not run) counts as a failure, never a pass."""

    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"
    UNKNOWN = "unknown"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def failing(self) -> bool:
        return self is not Status.OK


_RANK = {Status.OK: 0, Status.WARNING: 1, Status.UNKNOWN: 2, Status.CRITICAL: 3}


def worst(statuses: Any) -> Status:
    return max(statuses, key=lambda status: status.rank, default=Status.OK)


@dataclass(frozen=True)
class Threshold:
    """Warning and critical levels of one value. ``below``: low is bad (battery charge)."""

    warning: float | None = None
    critical: float | None = None
    below: bool = False

    def judge(self, value: float) -> Status:
        if math.isnan(value):
            return Status.UNKNOWN
        for level, status in ((self.critical, Status.CRITICAL), (self.warning, Status.WARNING)):
            if level is not None and (value <= level if self.below else value >= level):
                return status
        return Status.OK

    def with_overrides(self, levels: Mapping[str, float]) -> Threshold:
        return Threshold(
            warning=levels.get("warning", self.warning),
            critical=levels.get("critical", self.critical),
            below=self.below,
        )

    def describe(self) -> str:
        sign = "<=" if self.below else ">="
        parts = [
            f"{name} {sign} {level:g}"
            for name, level in (("warning", self.warning), ("critical", self.critical))
            if level is not None
        ]
        return ", ".join(parts) or "no threshold"


@dataclass(frozen=True)
class Metric:
    """A value the check judges, as named in the parser's records."""

    name: str
    threshold: Threshold
    unit: str = ""


@dataclass(frozen=True)
class Trend:
    """Warn before a threshold is crossed, from the value's recent history.

    ``reaches`` + ``within``: the least-squares line through the last ``window`` of values
    reaches ``reaches`` within ``within`` from now (a disk that fills within 7 days).
    ``rising``: the line rises at least ``rising`` units per day, steadily (a fit with
    R² ≥ ``steadiness``), e.g. a battery temperature climbing day by day.
    """

    metric: str
    window: timedelta
    reaches: float | None = None
    within: timedelta | None = None
    rising: float | None = None
    min_points: int = 3
    steadiness: float = 0.8


@dataclass(frozen=True)
class CheckDef:
    """One check of the catalogue."""

    name: str
    description: str
    applies_to: tuple[str, ...]  # platforms (cisco_ios) or kinds (server, network, facility)
    commands: Mapping[str, tuple[str, ...]]  # per platform or kind, may use {param}
    snmp: Mapping[str, str]  # value name -> OID (facility gear)
    parser: str
    parse_options: Mapping[str, Any]
    metrics: Mapping[str, Metric]
    trends: tuple[Trend, ...] = ()
    schedule: str = "0 2 * * *"
    owner: str | None = None
    priority: Priority = Priority.P3
    timeout: float = 60.0
    params: Mapping[str, Any] = field(default_factory=dict)
    allow_empty: bool = False
    # False: opt-in, runs only where the inventory's data.checks.NAME.enabled says true
    enabled: bool = True
    # a fact from a playbook instead of commands: playbooks/<playbook> gathers or sets it
    playbook: Path | None = None
    fact: str | None = None
    # False for outputs that may hold secrets (a running configuration): judged, not kept
    keep_raw: bool = True
    source: Path = Path()
    line: int = 1

    def applies(self, platform: str, kind: str) -> bool:
        return platform in self.applies_to or kind in self.applies_to

    def commands_for(self, platform: str, kind: str) -> tuple[str, ...]:
        return self.commands.get(platform) or self.commands.get(kind) or ()


@dataclass(frozen=True)
class Finding:
    """One judged value: ``item`` is what it is about (a mount, an interface) or ""."""

    metric: str
    item: str
    value: float | None
    status: Status
    message: str
    trend: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "item": self.item,
            "value": self.value,
            "status": self.status.value,
            "message": self.message,
            "trend": self.trend,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Finding:
        return cls(
            metric=str(data["metric"]),
            item=str(data.get("item", "")),
            value=None if data.get("value") is None else float(data["value"]),
            status=Status(data["status"]),
            message=str(data.get("message", "")),
            trend=bool(data.get("trend", False)),
        )


@dataclass
class CheckResult:
    """One check on one host: the status, the findings behind it, and the raw output."""

    check: str
    host: str
    status: Status
    findings: list[Finding] = field(default_factory=list)
    summary: str = ""
    raw: str = ""

    def to_json(self) -> dict[str, Any]:
        """Status, summary and findings; the raw output travels apart (it is bulky, and
        stored once, with the check's result)."""
        return {
            "status": self.status.value,
            "summary": self.summary,
            "findings": [finding.to_json() for finding in self.findings],
        }

    @classmethod
    def from_json(
        cls, check: str, host: str, data: Mapping[str, Any], raw: str = ""
    ) -> CheckResult:
        return cls(
            check=check,
            host=host,
            status=Status(data["status"]),
            findings=[Finding.from_json(each) for each in data.get("findings", ())],
            summary=str(data.get("summary", "")),
            raw=raw,
        )

    def add_trend(self, finding: Finding) -> None:
        """A trend warning raises an ``ok`` check to ``warning``, never further."""
        self.findings.append(finding)
        if self.status is Status.OK:
            self.status = Status.WARNING
        self.summary = summarise(self.findings)


def summarise(findings: list[Finding]) -> str:
    """One line naming the worst findings first (what a ticket title or a report row shows)."""
    bad = sorted((f for f in findings if f.status.failing), key=lambda f: -f.status.rank)
    if not bad:
        return "ok"
    shown = "; ".join(f.message for f in bad[:3])
    return shown + (f" (+{len(bad) - 3} more)" if len(bad) > 3 else "")
