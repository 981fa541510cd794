"""What an inspection report holds: the day's problems by site and tenant, the hosts that
could not be checked, and the changes since the previous report."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from automator.errors import AutomatorError
from automator.reports._charts import Chart

# automator.checks.REACHABLE and Status.rank, written out: importing automator.checks would
# load the whole pipeline for a report that only reads the store
REACHABLE = "reachable"
RANK = {"ok": 0, "warning": 1, "unknown": 2, "critical": 3}


class ReportError(AutomatorError):
    """A report cannot be made or written (a bad time zone, an unwritable file)."""


@dataclass(frozen=True)
class TicketRef:
    """The incident a problem is tracked on."""

    id: int
    status: str
    priority: str
    owner: str | None


@dataclass(frozen=True)
class FindingView:
    """One judged value of a result, as the report lists it."""

    metric: str
    item: str
    value: float | None
    status: str
    message: str
    trend: bool


@dataclass
class Problem:
    """A (host, check) whose last result of the day is warning, critical or unknown."""

    host: str
    check: str
    status: str
    summary: str
    at: datetime  # when the result was taken
    since: datetime  # the first of the unbroken run of results in this status
    stale: bool  # the result is older than the reported day
    owner: str | None
    ticket: TicketRef | None
    findings: list[FindingView]
    raw: str
    charts: list[Chart] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str]:
        return self.host, self.check


@dataclass(frozen=True)
class Unchecked:
    """A host the day's checks could not vouch for, and why."""

    host: str
    status: str  # critical: unreachable; unknown: every check unknown, or no result that day
    reason: str
    owner: str | None
    last_checked: datetime | None
    ticket: TicketRef | None
    # its last results say nothing of it (unreachable, or every check unknown): its unknown
    # checks are not listed as problems, and its earlier problems are not cleared
    blind: bool


@dataclass
class TenantSection:
    """The hosts of one site and tenant: their problems and those that could not be checked."""

    site: str
    tenant: str
    hosts: int = 0
    checked: int = 0
    problems: list[Problem] = field(default_factory=list)
    unchecked: list[Unchecked] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for problem in self.problems if problem.status == status)


@dataclass
class SiteSection:
    site: str
    tenants: list[TenantSection]


@dataclass(frozen=True)
class Change:
    """One difference from the previous report: ``new``, ``worse``, ``unverified`` (the host
    could not be checked this time), ``better`` or ``cleared``."""

    kind: str
    host: str
    check: str
    before: str | None
    after: str | None
    summary: str


@dataclass
class InspectionData:
    day: date
    timezone: str
    start: datetime
    end: datetime
    generated_at: datetime
    counts: dict[str, int]  # results of the day's last check runs, by status
    hosts_total: int  # the inventory's, and those no longer in it that were checked that day
    hosts_checked: int
    sites: list[SiteSection]
    changes: list[Change]
    previous_day: str | None
    runs: list[int]
    thresholds: bool  # the check catalogue was at hand: charts show threshold levels

    @property
    def problems(self) -> list[Problem]:
        return [p for site in self.sites for tenant in site.tenants for p in tenant.problems]

    @property
    def unchecked(self) -> list[Unchecked]:
        return [u for site in self.sites for tenant in site.tenants for u in tenant.unchecked]

    def snapshot(self) -> list[dict[str, str]]:
        """The day's problems as the next report compares them: a host that could not be
        checked is a problem of its ``reachable`` pseudo-check."""
        rows = [(p.host, p.check, p.status, p.summary) for p in self.problems]
        rows += [(u.host, REACHABLE, u.status, u.reason) for u in self.unchecked]
        return [
            {"host": host, "check": check, "status": status, "summary": summary}
            for host, check, status, summary in sorted(rows)
        ]
