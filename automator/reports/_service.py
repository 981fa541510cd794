"""The monthly service report: what the service desk did for a customer in one month, the
document a provider hands over for the annual assessment.

::

    tickets opened in the month (local to a time zone; one tenant or all)
        ├─ by kind and priority; incidents per day
        ├─ MTTA (opened → acknowledged_at), MTTR (opened → resolved_at), per priority
        ├─ ticket_sla: response and resolution met, breached, pending per tenant;
        │     tickets without an SLA row are "no contract"
        ├─ runs of remediation jobs: how many incidents automator acted on, how many it fixed
        ├─ recurring problems: incidents grouped by check, rule or title pattern, and the fix
        ├─ drift: "unauthorised change on ..." incidents
        └─ complaints (with their analysis), satisfaction ratings, service reviews

``service_report`` reads (a few aggregate queries, no ORM objects per ticket: 100,000 tickets
take seconds), ``render_service_report`` writes one HTML file (inline CSS and SVG charts, no
script, every text escaped by the template).
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from automator import __version__
from automator.reports._inspection import time_zone
from automator.reports._model import ReportError
from automator.reports._render import _environment
from automator.store import (
    Job,
    Run,
    ServiceReview,
    Store,
    Ticket,
    TicketHost,
    TicketSla,
    TimelineEntry,
    utcnow,
)

KINDS = ("incident", "problem", "change", "request", "drill", "complaint")
PRIORITIES = ("P1", "P2", "P3", "P4")
DONE = ("resolved", "closed")
NO_TENANT = "(none)"
DRIFT_TITLE = "unauthorised change on "  # the backups' drift incidents (automator.backups)
TOP_RECURRING = 10
LISTED = 100  # rows of a long list (breaches, drift, complaints) shown; the rest counted
_MONTH = re.compile(r"(\d{4})-(\d{2})")


# -- what the report holds ----------------------------------------------------------------


@dataclass(frozen=True)
class TimeStats:
    """Durations in seconds: how many, their mean, median and 90th percentile."""

    count: int
    mean: float | None
    median: float | None
    p90: float | None

    @classmethod
    def of(cls, values: Sequence[float]) -> TimeStats:
        if not values:
            return cls(0, None, None, None)
        ordered = sorted(values)
        p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
        return cls(len(ordered), statistics.fmean(ordered), statistics.median(ordered), p90)


@dataclass(frozen=True)
class PriorityTimes:
    priority: str  # P1..P4, or "all"
    opened: int
    mtta: TimeStats
    mttr: TimeStats


@dataclass
class SlaTenant:
    """One tenant's tickets against its contract. Met and breached come from ticket_sla
    (the SLA monitor records a breach when it happens); pending: not breached, not done."""

    tenant: str
    tickets: int = 0
    no_contract: int = 0
    response: Counter[str] = field(default_factory=Counter)  # met, breached, pending
    resolution: Counter[str] = field(default_factory=Counter)

    @property
    def with_sla(self) -> int:
        return self.tickets - self.no_contract

    @staticmethod
    def compliance(counts: Mapping[str, int]) -> float | None:
        """Met out of met and breached (pending tickets are not decided yet)."""
        decided = counts["met"] + counts["breached"]
        return counts["met"] / decided if decided else None


@dataclass(frozen=True)
class Breach:
    ticket: int
    tenant: str
    priority: str
    title: str
    status: str
    target: str  # response | resolution
    at: datetime


@dataclass(frozen=True)
class Remediation:
    """Incidents automator ran a remediation on, and with what result. An incident counts
    as fixed when every remediation run on it succeeded (its verify runs too) and it was
    resolved."""

    incidents: int
    remediated: int
    fixed: int
    runs: dict[str, int]  # run status -> count

    @property
    def rate(self) -> float | None:
        return self.remediated / self.incidents if self.incidents else None

    @property
    def success(self) -> float | None:
        return self.fixed / self.remediated if self.remediated else None


@dataclass(frozen=True)
class Fix:
    runbook: str
    runs: int
    succeeded: int


@dataclass(frozen=True)
class Recurring:
    """Incidents of one cause: a check, a remediation rule, or a title pattern."""

    source: str  # check | rule | title
    name: str
    tickets: int
    hosts: int
    open: int
    by_hand: int  # resolved without a remediation run
    fixes: tuple[Fix, ...]
    latest: int  # the newest ticket of the group


@dataclass(frozen=True)
class TicketLine:
    """A ticket as a list names it."""

    id: int
    tenant: str
    priority: str
    status: str
    title: str
    owner: str | None
    created_at: datetime
    host: str | None = None
    analysis: str | None = None
    satisfaction: int | None = None


@dataclass(frozen=True)
class Satisfaction:
    count: int
    average: float | None
    scores: dict[int, int]  # 1..5 -> count


@dataclass(frozen=True)
class ReviewLine:
    id: int
    tenant: str
    held_at: datetime
    title: str
    attendees: tuple[str, ...]
    minutes: str


@dataclass(frozen=True)
class Segment:
    x: float
    width: float
    series: int  # the colour's index
    value: float


@dataclass(frozen=True)
class BarRow:
    label: str
    y: float
    total: str
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class BarChart:
    """Horizontal stacked bars, one row per label: geometry here, drawing in the template."""

    title: str
    series: tuple[str, ...]
    colours: tuple[str, ...]  # one per series
    rows: tuple[BarRow, ...]
    ticks: tuple[tuple[float, str], ...]
    width: int
    height: int
    left: int
    right: int
    bar: int


@dataclass(frozen=True)
class Column:
    x: float
    y: float
    width: float
    height: float
    value: float
    name: str
    label: str  # written under the axis: the name, or empty on unlabelled columns


@dataclass(frozen=True)
class ColumnChart:
    title: str
    columns: tuple[Column, ...]
    ticks: tuple[tuple[float, str], ...]  # (y, text) of the value scale
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int


@dataclass
class ServiceReportData:
    month: str
    tenant: str | None  # None: every tenant
    timezone: str
    start: datetime
    end: datetime
    generated_at: datetime
    tickets: int
    by_kind: dict[str, dict[str, int]]  # kind -> priority -> count
    incidents_per_day: list[tuple[date, int]]
    times: list[PriorityTimes]  # incidents, per priority and "all"
    sla: list[SlaTenant]
    breaches: list[Breach]
    breaches_total: int
    remediation: Remediation
    recurring: list[Recurring]
    drift: list[TicketLine]
    drift_total: int
    complaints: list[TicketLine]
    complaints_total: int
    satisfaction: Satisfaction
    reviews: list[ReviewLine]
    charts: dict[str, BarChart | ColumnChart] = field(default_factory=dict)

    @property
    def last_day(self) -> date:
        return (self.end - timedelta(days=1)).date()

    @property
    def sla_all(self) -> SlaTenant:
        """Every tenant's SLA figures added up."""
        total = SlaTenant("all")
        for row in self.sla:
            total.tickets += row.tickets
            total.no_contract += row.no_contract
            total.response.update(row.response)
            total.resolution.update(row.resolution)
        return total


# -- reading --------------------------------------------------------------------------------


def month_bounds(month: str, tz: str = "UTC") -> tuple[datetime, datetime]:
    """The first instant of ``month`` (YYYY-MM) and of the month after, in ``tz``."""
    found = _MONTH.fullmatch(month)
    if found is None or not 1 <= int(found[2]) <= 12:
        raise ReportError(f"month {month!r}: expected YYYY-MM, e.g. 2026-03")
    zone = time_zone(tz)
    year, number = int(found[1]), int(found[2])
    after = (year + number // 12, number % 12 + 1)
    return datetime(year, number, 1, tzinfo=zone), datetime(*after, 1, tzinfo=zone)


def service_report(
    store: Store, month: str, tenant: str | None = None, tz: str = "UTC"
) -> ServiceReportData:
    """Every ticket opened in ``month`` (local to ``tz``) for ``tenant`` (None: all), as it
    stands now: a ticket opened in the month and resolved after it counts with its MTTR."""
    start, end = month_bounds(month, tz)
    with store.session() as session:
        tickets = _tickets(session, start, end, tenant)
        sla = _sla(session, start, end, tenant)
        runs = _runs(session, start, end, tenant)
        causes = _causes(session, start, end, tenant)
        hosts = _hosts(session, start, end, tenant)
        reviews = _reviews(session, start, end, tenant)
    incidents = [t for t in tickets if t.kind == "incident"]
    breaches = _breaches(tickets, sla)
    drift = [_line(t, hosts) for t in incidents if t.title.startswith(DRIFT_TITLE)]
    complaints = [_line(t, hosts) for t in tickets if t.kind == "complaint"]
    data = ServiceReportData(
        month=month,
        tenant=tenant,
        timezone=tz,
        start=start,
        end=end,
        generated_at=utcnow(),
        tickets=len(tickets),
        by_kind=_by_kind(tickets),
        incidents_per_day=_per_day(incidents, start, end),
        times=_times(incidents),
        sla=_sla_tenants(tickets, sla),
        breaches=breaches[:LISTED],
        breaches_total=len(breaches),
        remediation=_remediation(incidents, runs),
        recurring=_recurring(incidents, causes, hosts, runs),
        drift=drift[:LISTED],
        drift_total=len(drift),
        complaints=complaints[:LISTED],
        complaints_total=len(complaints),
        satisfaction=_satisfaction(tickets),
        reviews=reviews,
    )
    data.charts = _charts(data)
    return data


@dataclass(frozen=True)
class _Row:
    id: int
    kind: str
    status: str
    priority: str
    title: str
    tenant: str
    owner: str | None
    created_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    satisfaction: int | None
    analysis: str | None


def _in_month(query: Select[Any], start: datetime, end: datetime, tenant: str | None) -> Any:
    query = query.where(Ticket.created_at >= start, Ticket.created_at < end)
    return query.where(Ticket.tenant == tenant) if tenant is not None else query


def _tickets(session: Session, start: datetime, end: datetime, tenant: str | None) -> list[_Row]:
    query = select(
        Ticket.id,
        Ticket.kind,
        Ticket.status,
        Ticket.priority,
        Ticket.title,
        Ticket.tenant,
        Ticket.owner,
        Ticket.created_at,
        Ticket.acknowledged_at,
        Ticket.resolved_at,
        Ticket.satisfaction,
        Ticket.analysis,
    )
    rows = session.execute(_in_month(query, start, end, tenant).order_by(Ticket.id))
    return [
        _Row(
            id=row.id,
            kind=row.kind,
            status=row.status,
            priority=row.priority,
            title=row.title,
            tenant=row.tenant or NO_TENANT,
            owner=row.owner,
            created_at=row.created_at,
            acknowledged_at=row.acknowledged_at,
            resolved_at=row.resolved_at,
            satisfaction=row.satisfaction,
            analysis=row.analysis,
        )
        for row in rows
    ]


@dataclass(frozen=True)
class _Sla:
    responded: bool
    response_breached_at: datetime | None
    resolution_breached_at: datetime | None


def _sla(session: Session, start: datetime, end: datetime, tenant: str | None) -> dict[int, _Sla]:
    query = select(
        TicketSla.ticket_id,
        TicketSla.responded_at.is_not(None),
        TicketSla.response_breached_at,
        TicketSla.resolution_breached_at,
    ).join(Ticket, Ticket.id == TicketSla.ticket_id)
    rows = session.execute(_in_month(query, start, end, tenant))
    return {row[0]: _Sla(bool(row[1]), row[2], row[3]) for row in rows}


@dataclass(frozen=True)
class _Run:
    status: str
    runbook: str


def _runs(
    session: Session, start: datetime, end: datetime, tenant: str | None
) -> dict[int, list[_Run]]:
    """Per ticket, its runs of remediation jobs (fixes, their verify and rollback runs)."""
    query = (
        select(Run.ticket_id, Run.status, Job.action)
        .join(Job, Job.id == Run.job_id)
        .join(Ticket, Ticket.id == Run.ticket_id)
        .where(Job.kind == "remediation")
    )
    found: dict[int, list[_Run]] = defaultdict(list)
    for ticket_id, status, action in session.execute(
        _in_month(query, start, end, tenant).order_by(Run.id)
    ):
        found[ticket_id].append(_Run(status, action))
    return found


def _causes(
    session: Session, start: datetime, end: datetime, tenant: str | None
) -> dict[int, tuple[str, str]]:
    """Per incident, the first check or rule its timeline names: ("check", name) from a
    ``check`` entry's ``data.check``, ("rule", name) from a ``rule`` entry's ``data.rule``."""
    check = TimelineEntry.data["check"].as_string()
    rule = TimelineEntry.data["rule"].as_string()
    query = (
        select(TimelineEntry.ticket_id, TimelineEntry.kind, check, rule)
        .join(Ticket, Ticket.id == TimelineEntry.ticket_id)
        .where(Ticket.kind == "incident", TimelineEntry.kind.in_(("check", "rule")))
    )
    found: dict[int, tuple[str, str]] = {}
    for ticket_id, kind, check_name, rule_name in session.execute(
        _in_month(query, start, end, tenant).order_by(TimelineEntry.id)
    ):
        name = check_name if kind == "check" else rule_name
        if name and ticket_id not in found:
            found[ticket_id] = (kind, name)
    return found


def _hosts(
    session: Session, start: datetime, end: datetime, tenant: str | None
) -> dict[int, list[str]]:
    query = (
        select(TicketHost.ticket_id, TicketHost.host)
        .join(Ticket, Ticket.id == TicketHost.ticket_id)
        .where(Ticket.kind.in_(("incident", "complaint")))
    )
    found: dict[int, list[str]] = defaultdict(list)
    for ticket_id, host in session.execute(_in_month(query, start, end, tenant)):
        found[ticket_id].append(host)
    return found


def _reviews(
    session: Session, start: datetime, end: datetime, tenant: str | None
) -> list[ReviewLine]:
    query = select(ServiceReview).where(ServiceReview.held_at >= start, ServiceReview.held_at < end)
    if tenant is not None:
        query = query.where(ServiceReview.tenant == tenant)
    return [
        ReviewLine(
            review.id,
            review.tenant,
            review.held_at,
            review.title,
            tuple(str(a) for a in review.attendees),
            review.minutes,
        )
        for review in session.scalars(query.order_by(ServiceReview.held_at, ServiceReview.id))
    ]


# -- figures --------------------------------------------------------------------------------


def _by_kind(tickets: Iterable[_Row]) -> dict[str, dict[str, int]]:
    counts = Counter((t.kind, t.priority) for t in tickets)
    return {kind: {p: counts[(kind, p)] for p in PRIORITIES} for kind in KINDS}


def _per_day(incidents: Iterable[_Row], start: datetime, end: datetime) -> list[tuple[date, int]]:
    zone = start.tzinfo
    counts = Counter(t.created_at.astimezone(zone).date() for t in incidents)
    days = (end.date() - start.date()).days
    return [(d, counts[d]) for d in (start.date() + timedelta(days=n) for n in range(days))]


def _times(incidents: Sequence[_Row]) -> list[PriorityTimes]:
    by_priority: dict[str, list[_Row]] = defaultdict(list)
    for ticket in incidents:
        by_priority[ticket.priority].append(ticket)
    return [
        PriorityTimes(
            priority,
            len(rows),
            TimeStats.of([_since_opened(t, t.acknowledged_at) for t in rows if t.acknowledged_at]),
            TimeStats.of([_since_opened(t, t.resolved_at) for t in rows if t.resolved_at]),
        )
        for priority, rows in [*((p, by_priority[p]) for p in PRIORITIES), ("all", incidents)]
    ]


def _since_opened(ticket: _Row, moment: datetime) -> float:
    return (moment - ticket.created_at).total_seconds()


def _sla_tenants(tickets: Iterable[_Row], sla: Mapping[int, _Sla]) -> list[SlaTenant]:
    tenants: dict[str, SlaTenant] = {}
    for ticket in tickets:
        row = tenants.setdefault(ticket.tenant, SlaTenant(ticket.tenant))
        row.tickets += 1
        clock = sla.get(ticket.id)
        if clock is None:
            row.no_contract += 1
            continue
        done = ticket.resolved_at is not None
        responded = clock.responded or ticket.acknowledged_at is not None or done
        row.response[_outcome(clock.response_breached_at, responded)] += 1
        row.resolution[_outcome(clock.resolution_breached_at, done)] += 1
    return sorted(tenants.values(), key=lambda t: (t.tenant == NO_TENANT, t.tenant))


def _outcome(breached_at: datetime | None, done: bool) -> str:
    if breached_at is not None:
        return "breached"
    return "met" if done else "pending"


def _breaches(tickets: Iterable[_Row], sla: Mapping[int, _Sla]) -> list[Breach]:
    found = []
    for ticket in tickets:
        clock = sla.get(ticket.id)
        if clock is None:
            continue
        for target, at in (
            ("response", clock.response_breached_at),
            ("resolution", clock.resolution_breached_at),
        ):
            if at is not None:
                found.append(
                    Breach(
                        ticket.id,
                        ticket.tenant,
                        ticket.priority,
                        ticket.title,
                        ticket.status,
                        target,
                        at,
                    )
                )
    return found


def _remediation(incidents: Sequence[_Row], runs: Mapping[int, list[_Run]]) -> Remediation:
    remediated = [t for t in incidents if t.id in runs]
    fixed = [
        t
        for t in remediated
        if t.resolved_at is not None and all(run.status == "succeeded" for run in runs[t.id])
    ]
    statuses = Counter(run.status for t in remediated for run in runs[t.id])
    return Remediation(len(incidents), len(remediated), len(fixed), dict(statuses.most_common()))


def _recurring(
    incidents: Sequence[_Row],
    causes: Mapping[int, tuple[str, str]],
    hosts: Mapping[int, list[str]],
    runs: Mapping[int, list[_Run]],
) -> list[Recurring]:
    groups: dict[tuple[str, str], list[_Row]] = defaultdict(list)
    for ticket in incidents:
        key = causes.get(ticket.id) or ("title", _pattern(ticket.title, hosts.get(ticket.id, [])))
        groups[key].append(ticket)
    ranked = sorted(
        ((key, rows) for key, rows in groups.items() if len(rows) > 1),
        key=lambda pair: (-len(pair[1]), pair[0]),
    )
    found = []
    for (source, name), rows in ranked[:TOP_RECURRING]:
        fixes: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for ticket in rows:
            for run in runs.get(ticket.id, []):
                fixes[run.runbook][0] += 1
                fixes[run.runbook][1] += run.status == "succeeded"
        found.append(
            Recurring(
                source=source,
                name=name,
                tickets=len(rows),
                hosts=len({host for t in rows for host in hosts.get(t.id, [])}),
                open=sum(1 for t in rows if t.resolved_at is None),
                by_hand=sum(1 for t in rows if t.resolved_at is not None and t.id not in runs),
                fixes=tuple(
                    Fix(runbook, n, ok)
                    for runbook, (n, ok) in sorted(fixes.items(), key=lambda f: -f[1][0])
                ),
                latest=max(t.id for t in rows),
            )
        )
    return found


_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


def _pattern(title: str, hosts: Sequence[str]) -> str:
    """A title with its hosts and numbers taken out, so that the same trouble on other hosts
    or with other figures reads the same: ``disk full on web1 (97%)`` → ``disk full on
    {host} (#%)``."""
    for host in sorted(hosts, key=len, reverse=True):
        title = title.replace(host, "{host}")
    return _NUMBER.sub("#", title)


def _line(ticket: _Row, hosts: Mapping[int, list[str]]) -> TicketLine:
    named = hosts.get(ticket.id)
    return TicketLine(
        id=ticket.id,
        tenant=ticket.tenant,
        priority=ticket.priority,
        status=ticket.status,
        title=ticket.title,
        owner=ticket.owner,
        created_at=ticket.created_at,
        host=", ".join(sorted(named)) if named else None,
        analysis=ticket.analysis,
        satisfaction=ticket.satisfaction,
    )


def _satisfaction(tickets: Iterable[_Row]) -> Satisfaction:
    scores = [t.satisfaction for t in tickets if t.satisfaction is not None]
    counts = Counter(scores)
    return Satisfaction(
        len(scores),
        statistics.fmean(scores) if scores else None,
        {score: counts[score] for score in range(1, 6)},
    )


# -- charts ---------------------------------------------------------------------------------

CHART_WIDTH = 460
LABELS = 120  # px left of the bars for their labels
BAR, GAP = 14, 6
PRIORITY_COLOURS = ("#b00020", "#e07b00", "#1f4e79", "#8a8a8a")
OUTCOME_COLOURS = ("#2e7d32", "#b00020", "#b8b8b8")  # met, breached, pending


def _charts(data: ServiceReportData) -> dict[str, BarChart | ColumnChart]:
    charts: dict[str, BarChart | ColumnChart] = {
        "kinds": bar_chart(
            "Tickets by kind and priority",
            [(kind, [data.by_kind[kind][p] for p in PRIORITIES]) for kind in KINDS],
            PRIORITIES,
            PRIORITY_COLOURS,
        ),
        "days": column_chart(
            "Incidents opened per day",
            [(f"{day:%d}", count) for day, count in data.incidents_per_day],
        ),
    }
    times = [t for t in data.times if t.priority != "all"]
    if any(t.mttr.median is not None for t in times):
        charts["mttr"] = bar_chart(
            "Median time to resolve, hours",
            [(t.priority, [(t.mttr.median or 0.0) / 3600]) for t in times],
            ("median hours",),
            ("#1f4e79",),
        )
    contracted = [t for t in data.sla if t.with_sla]
    if contracted:
        outcomes = ("met", "breached", "pending")
        charts["response"] = bar_chart(
            "Response target per tenant",
            [(t.tenant, [t.response[o] for o in outcomes]) for t in contracted],
            outcomes,
            OUTCOME_COLOURS,
            share=True,
        )
        charts["resolution"] = bar_chart(
            "Resolution target per tenant",
            [(t.tenant, [t.resolution[o] for o in outcomes]) for t in contracted],
            outcomes,
            OUTCOME_COLOURS,
            share=True,
        )
    if data.satisfaction.count:
        charts["satisfaction"] = column_chart(
            "Satisfaction ratings", [(str(s), n) for s, n in data.satisfaction.scores.items()]
        )
    return charts


def bar_chart(
    title: str,
    rows: Sequence[tuple[str, Sequence[float]]],
    series: Sequence[str],
    colours: Sequence[str],
    share: bool = False,
) -> BarChart:
    """Stacked horizontal bars, one per row, a segment per series; ``share`` draws each row
    as parts of 100 %."""
    right = CHART_WIDTH - 40
    span = right - LABELS
    top = max((sum(values) for _, values in rows), default=0.0)
    scale = 100.0 if share else _round_up(top)
    placed = []
    for index, (label, values) in enumerate(rows):
        total = sum(values)
        x, segments = float(LABELS), []
        for number, value in enumerate(values):
            shown = (100.0 * value / total if total else 0.0) if share else value
            width = round(span * shown / scale, 1) if scale else 0.0
            if width > 0:
                segments.append(Segment(round(x, 1), width, number, value))
            x += width
        written = f"{total:,g}" if total or not share else "—"
        placed.append(BarRow(label, 8 + index * (BAR + GAP), written, tuple(segments)))
    ticks = tuple(
        (round(LABELS + span * share_of, 1), f"{scale * share_of:,g}" + ("%" if share else ""))
        for share_of in (0.0, 0.5, 1.0)
    )
    height = 8 + len(rows) * (BAR + GAP) + 14
    return BarChart(
        title, tuple(series), tuple(colours), tuple(placed), ticks, CHART_WIDTH, height, LABELS,
        right, BAR,
    )  # fmt: skip


def column_chart(title: str, values: Sequence[tuple[str, float]]) -> ColumnChart:
    """Vertical columns, e.g. one per day; every column labelled when there are few, else
    every fifth."""
    width, height, left, right, top, bottom = CHART_WIDTH, 150, 36, CHART_WIDTH - 8, 8, 128
    scale = _round_up(max((v for _, v in values), default=0.0))
    step = (right - left) / max(len(values), 1)
    every = 1 if len(values) <= 12 else 5
    columns = []
    for index, (label, value) in enumerate(values):
        tall = (bottom - top) * value / scale if scale else 0.0
        columns.append(
            Column(
                x=round(left + index * step + step * 0.15, 1),
                y=round(bottom - tall, 1),
                width=round(step * 0.7, 1),
                height=round(tall, 1),
                value=value,
                name=label,
                label=label if index % every == 0 else "",
            )
        )
    ticks = ((float(bottom), "0"), (float(top), f"{scale:,g}"))
    return ColumnChart(title, tuple(columns), ticks, width, height, left, right, top, bottom)


def _round_up(value: float) -> float:
    """The scale's end: the first round number (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a
    power of ten) at or above ``value``, so the longest bar fills most of the chart."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(
        round(power * f, 6) for f in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10) if power * f >= value
    )


# -- writing --------------------------------------------------------------------------------


def render_service_report(data: ServiceReportData) -> str:
    """The report as one HTML file; every text from the store is escaped by the template."""
    zone = ZoneInfo(data.timezone)

    def local(moment: datetime | None, form: str = "%Y-%m-%d %H:%M") -> str:
        return moment.astimezone(zone).strftime(form) if moment is not None else "—"

    return (
        _environment()
        .get_template("service.html")
        .render(
            data=data,
            local=local,
            duration=duration,
            percent=percent,
            count="{:,}".format,
            version=__version__,
            priorities=PRIORITIES,
            kinds=KINDS,
        )
    )


def duration(seconds: float | None) -> str:
    """``45 s``, ``12 min``, ``3 h 05 min``, ``2 d 4 h``; ``—`` for none."""
    if seconds is None:
        return "—"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def percent(share: float | None) -> str:
    return "—" if share is None else f"{100 * share:.1f} %"
