"""The daily inspection report: what the health checks found on one day, as an operator
prints, signs and files it.

::

    check_results (last per host and check, up to the end of the day)
        ├─ hosts that could not be checked (unreachable, every check unknown, no result)
        ├─ problems (warning, critical, unknown) ─ owner, ticket, since, findings, raw
        │     └─ charts: 14 days of measurements of each failing or trending value
        └─ changes: this day's problems against the latest stored report before it

``inspection_report`` reads, ``render_inspection`` (``_render``) writes the HTML,
``save_snapshot`` keeps the day's problems for the next report.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, defer

from automator.inventory import Host, Inventory
from automator.reports._charts import chart_window, line_chart
from automator.reports._model import (
    RANK,
    REACHABLE,
    Change,
    FindingView,
    InspectionData,
    Problem,
    ReportError,
    SiteSection,
    TenantSection,
    TicketRef,
    Unchecked,
)
from automator.store import (
    CheckResultRow,
    CheckState,
    InspectionReport,
    Measurement,
    Store,
    Ticket,
    TicketHost,
    TimelineEntry,
    utcnow,
)

if TYPE_CHECKING:
    from automator.checks import CheckCatalogue

STATUSES = tuple(RANK)
FAILING = ("critical", "unknown", "warning")
NOT_IN_INVENTORY = "unknown"  # the site and tenant of a host no longer in the inventory
NOT_SET = "(none)"  # the site or tenant of an inventory host that has none
RAW_SHOWN = 4000  # characters of a problem's raw output kept in the report


# -- reading --------------------------------------------------------------------------------


def inspection_report(
    store: Store,
    inventory: Inventory,
    day: date,
    tz: str = "UTC",
    checks: CheckCatalogue | None = None,
) -> InspectionData:
    """What the checks found on ``day`` (local to ``tz``): each (host, check)'s last result
    up to the end of that day, so any earlier day can be reported again as it stood then.
    ``checks`` gives threshold levels to the charts and a fallback owner."""
    zone = time_zone(tz)
    start = datetime.combine(day, time(), zone)
    end = datetime.combine(day + timedelta(days=1), time(), zone)
    with store.session() as session:
        rows = _latest(session, end)
        reachable = _reachable(session, rows, end)
        results = _by_host(rows, inventory, start)
        failing = [row for row in _flat(results) if row.status in FAILING]
        tickets = _tickets(session, [*failing, *reachable.values()])
        unchecked = {
            host: _unchecked(host, host_rows, reachable.get(host), inventory, day, start, tickets)
            for host, host_rows in results.items()
        }
        problems = _problems(session, results, unchecked, inventory, checks, start, tickets)
        _add_charts(session, problems, inventory, checks, day, zone)
        previous = session.scalars(
            select(InspectionReport)
            .where(InspectionReport.day < day.isoformat())
            .order_by(InspectionReport.day.desc(), InspectionReport.id.desc())
            .limit(1)
        ).first()
    checked = {host for host in results if unchecked[host] is None}
    data = InspectionData(
        day=day,
        timezone=tz,
        start=start,
        end=end,
        generated_at=utcnow(),
        counts={s: sum(1 for row in _flat(results) if row.status == s) for s in STATUSES},
        hosts_total=len(results),
        hosts_checked=len(checked),
        sites=_sections(results, checked, problems, unchecked, inventory),
        changes=[],
        previous_day=previous.day if previous is not None else None,
        runs=sorted({row.run_id for row in _flat(results) if row.run_id is not None}),
        thresholds=checks is not None,
    )
    if previous is not None:
        data.changes = _changes(_stored_problems(previous.problems), data)
    return data


def time_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ReportError(f"unknown time zone {name!r} (e.g. UTC, Europe/Berlin)") from None


def _flat(results: Mapping[str, list[CheckResultRow]]) -> list[CheckResultRow]:
    return [row for rows in results.values() for row in rows]


def _latest(session: Session, end: datetime) -> list[CheckResultRow]:
    """The last result of every (host, check) before ``end``; raw outputs are loaded later,
    for the problems only."""
    ranked = (
        select(
            CheckResultRow.id,
            func.row_number()
            .over(
                partition_by=(CheckResultRow.host, CheckResultRow.check),
                order_by=(CheckResultRow.at.desc(), CheckResultRow.id.desc()),
            )
            .label("n"),
        )
        .where(CheckResultRow.at < end)
        .subquery()
    )
    return list(
        session.scalars(
            select(CheckResultRow)
            .join(ranked, ranked.c.id == CheckResultRow.id)
            .where(ranked.c.n == 1)
            .options(defer(CheckResultRow.raw))
        )
    )


def _reachable(
    session: Session, rows: Sequence[CheckResultRow], end: datetime
) -> dict[str, CheckResultRow]:
    """Per host, its last ``reachable`` result: a stored row, else the state the checks keep
    (the state is the latest, so it holds for the day when it was taken before its end)."""
    found = {row.host: row for row in rows if row.check == REACHABLE}
    for state in session.scalars(
        select(CheckState).where(CheckState.check == REACHABLE, CheckState.checked_at < end)
    ):
        row = found.get(state.host)
        if row is None or row.at < state.checked_at:
            found[state.host] = CheckResultRow(
                host=state.host,
                check=REACHABLE,
                status=state.status,
                summary=state.summary,
                at=state.checked_at,
                run_id=state.run_id,
                findings=[],
            )
    return found


def _by_host(
    rows: Sequence[CheckResultRow], inventory: Inventory, start: datetime
) -> dict[str, list[CheckResultRow]]:
    """Every inventory host (with or without results), and the hosts no longer in the
    inventory that were still checked that day (older ones are gone, not failing)."""
    results: dict[str, list[CheckResultRow]] = {host: [] for host in inventory.hosts}
    for row in sorted(rows, key=lambda r: (r.host, r.check)):
        if row.check != REACHABLE:
            results.setdefault(row.host, []).append(row)
    return {
        host: host_rows
        for host, host_rows in results.items()
        if host in inventory.hosts or any(row.at >= start for row in host_rows)
    }


def _unchecked(
    host: str,
    rows: Sequence[CheckResultRow],
    reachable: CheckResultRow | None,
    inventory: Inventory,
    day: date,
    start: datetime,
    tickets: Mapping[tuple[str, str, int | None], TicketRef],
) -> Unchecked | None:
    """Why the day's checks cannot vouch for ``host``, or None when they can."""
    last = max((row.at for row in rows), default=None)
    if reachable is not None and reachable.status == "critical":
        status, reason = "critical", f"unreachable: {reachable.summary}"
    elif rows and all(row.status == "unknown" for row in rows):
        status, reason = "unknown", f"every check unknown: {rows[0].summary}"
    else:
        status, reason = "unknown", ""
    blind = bool(reason)
    if last is None or last < start:
        when = f"last checked {last:%Y-%m-%d}" if last is not None else "never checked"
        reason = f"no check result on {day} ({when})" + (f"; {reason}" if reason else "")
    if not reason:
        return None
    ticket = tickets.get((host, REACHABLE, reachable.run_id)) if reachable is not None else None
    owner = _owner(host, inventory, ticket)
    return Unchecked(host, status, reason, owner, last, ticket, blind)


def _problems(
    session: Session,
    results: Mapping[str, list[CheckResultRow]],
    unchecked: Mapping[str, Unchecked | None],
    inventory: Inventory,
    checks: CheckCatalogue | None,
    start: datetime,
    tickets: Mapping[tuple[str, str, int | None], TicketRef],
) -> list[Problem]:
    """Every failing last result; an unreachable host's unknown checks are not repeated (its
    entry among the hosts that could not be checked says it)."""
    failing = [
        row
        for host, rows in results.items()
        for row in rows
        if row.status in FAILING and not (row.status == "unknown" and _blind(unchecked[host]))
    ]
    raws = _raws(session, [row.id for row in failing])
    problems = []
    for row in failing:
        ticket = tickets.get((row.host, row.check, row.run_id))
        check = checks.checks.get(row.check) if checks is not None else None
        problems.append(
            Problem(
                host=row.host,
                check=row.check,
                status=row.status,
                summary=row.summary,
                at=row.at,
                since=_since(session, row),
                stale=row.at < start,
                owner=_owner(row.host, inventory, ticket) or (check.owner if check else None),
                ticket=ticket,
                findings=_findings(row.findings),
                raw=_cut(raws.get(row.id, "")),
            )
        )
    return problems


def _blind(unchecked: Unchecked | None) -> bool:
    return unchecked is not None and unchecked.blind


def _raws(session: Session, ids: Sequence[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(
        select(CheckResultRow.id, CheckResultRow.raw).where(CheckResultRow.id.in_(ids))
    )
    return {row_id: raw for row_id, raw in rows}


def _cut(raw: str) -> str:
    if len(raw) <= RAW_SHOWN:
        return raw
    return raw[:RAW_SHOWN] + f"\n… ({len(raw) - RAW_SHOWN} more characters in the store)"


def _findings(data: Iterable[Any]) -> list[FindingView]:
    """The failing and trend findings, worst first; malformed entries are skipped (the row
    came from a device, through a parser)."""
    views = [
        FindingView(
            metric=str(each.get("metric", "")),
            item=str(each.get("item", "")),
            value=each["value"] if isinstance(each.get("value"), int | float) else None,
            status=str(each.get("status", "unknown")),
            message=str(each.get("message", "")),
            trend=bool(each.get("trend", False)),
        )
        for each in data
        if isinstance(each, dict)
    ]
    shown = [view for view in views if view.status != "ok" or view.trend]
    return sorted(shown, key=lambda view: -RANK.get(view.status, 2))


def _since(session: Session, row: CheckResultRow) -> datetime:
    """The first result of the unbroken run of results in ``row``'s status that ends with it."""
    same = (CheckResultRow.host == row.host, CheckResultRow.check == row.check)
    other = session.scalar(
        select(func.max(CheckResultRow.at)).where(
            *same, CheckResultRow.at < row.at, CheckResultRow.status != row.status
        )
    )
    first = select(func.min(CheckResultRow.at)).where(*same, CheckResultRow.at <= row.at)
    if other is not None:
        first = first.where(CheckResultRow.at > other)
    return session.scalar(first) or row.at


def _tickets(
    session: Session, rows: Sequence[CheckResultRow]
) -> dict[tuple[str, str, int | None], TicketRef]:
    """The incident of each (host, check, run): the ticket whose timeline the checks wrote to
    in that run (right for any day), else the one the (host, check) state holds now when
    that result still stands."""
    found: dict[tuple[str, str, int | None], TicketRef] = {}
    runs = {row.run_id for row in rows if row.run_id is not None}
    if runs:
        entries = session.execute(
            select(TimelineEntry.run_id, TimelineEntry.data, TicketHost.host, Ticket)
            .join(Ticket, Ticket.id == TimelineEntry.ticket_id)
            .join(TicketHost, TicketHost.ticket_id == Ticket.id)
            .where(TimelineEntry.run_id.in_(runs), TimelineEntry.kind == "check")
            .order_by(TimelineEntry.id)
        )
        for run_id, data, host, ticket in entries:
            if isinstance(data, dict) and isinstance(data.get("check"), str):
                found[(host, data["check"], run_id)] = _ref(ticket)
    states = {
        (state.host, state.check): state
        for state in session.scalars(select(CheckState).where(CheckState.ticket_id.is_not(None)))
    }
    for row in rows:
        state = states.get((row.host, row.check))
        key = (row.host, row.check, row.run_id)
        if key in found or state is None or state.ticket_id is None:
            continue
        if state.status == row.status and state.since <= row.at <= state.checked_at:
            ticket = session.get(Ticket, state.ticket_id)
            if ticket is not None:
                found[key] = _ref(ticket)
    return found


def _ref(ticket: Ticket) -> TicketRef:
    return TicketRef(ticket.id, ticket.status, ticket.priority, ticket.owner)


def _owner(host: str, inventory: Inventory, ticket: TicketRef | None) -> str | None:
    """Who answers: the ticket's owner (it may have been handed on), else the host's."""
    if ticket is not None and ticket.owner:
        return ticket.owner
    known = inventory.hosts.get(host)
    return known.owner if known is not None else None


# -- charts ---------------------------------------------------------------------------------


def _add_charts(
    session: Session,
    problems: Sequence[Problem],
    inventory: Inventory,
    checks: CheckCatalogue | None,
    day: date,
    zone: ZoneInfo,
) -> None:
    """A chart per value that is warning, critical or trending, from its measurements."""
    window = chart_window(day, zone)
    for problem in problems:
        seen: set[tuple[str, str]] = set()
        for finding in problem.findings:
            wanted = finding.trend or finding.status in ("warning", "critical")
            if not finding.metric or not wanted or (finding.metric, finding.item) in seen:
                continue
            seen.add((finding.metric, finding.item))
            key = (problem.host, problem.check, finding.metric, finding.item)
            series = _series(session, key, window)
            if not series:
                continue
            levels, unit = _levels(checks, inventory.hosts.get(problem.host), key)
            problem.charts.append(
                line_chart(key, series, window, levels, unit, finding.status, finding.trend)
            )


def _series(
    session: Session, key: tuple[str, str, str, str], window: tuple[datetime, datetime]
) -> list[tuple[datetime, float]]:
    host, check, metric, item = key
    rows = session.execute(
        select(Measurement.at, Measurement.value)
        .where(
            Measurement.host == host,
            Measurement.check == check,
            Measurement.metric == metric,
            Measurement.item == item,
            Measurement.at >= window[0],
            Measurement.at < window[1],
        )
        .order_by(Measurement.at, Measurement.id)
    )
    return [(at, value) for at, value in rows]


def _levels(
    checks: CheckCatalogue | None, host: Host | None, key: tuple[str, str, str, str]
) -> tuple[dict[str, float], str]:
    """The warning and critical levels of a value on a host (the check's, with the host's
    overrides from ``data.checks``), and its unit; none when the catalogue is not at hand."""
    _, check_name, metric_name, _ = key
    check = checks.checks.get(check_name) if checks is not None else None
    metric = check.metrics.get(metric_name) if check is not None else None
    if metric is None:
        return {}, ""
    overrides = host.checks.get(check_name, {}) if host is not None else {}
    threshold = metric.threshold.with_overrides(
        overrides.get("thresholds", {}).get(metric_name, {})
    )
    levels = {"warning": threshold.warning, "critical": threshold.critical}
    return {name: level for name, level in levels.items() if level is not None}, metric.unit


# -- grouping and changes -------------------------------------------------------------------


def _sections(
    results: Mapping[str, list[CheckResultRow]],
    checked: set[str],
    problems: Sequence[Problem],
    unchecked: Mapping[str, Unchecked | None],
    inventory: Inventory,
) -> list[SiteSection]:
    """Site, then tenant; the worst problems first within each."""
    tenants: dict[tuple[str, str], TenantSection] = {}

    def section(host: str) -> TenantSection:
        place = _place(inventory.hosts.get(host))
        return tenants.setdefault(place, TenantSection(*place))

    for host in results:
        here = section(host)
        here.hosts += 1
        here.checked += host in checked
        entry = unchecked[host]
        if entry is not None:
            here.unchecked.append(entry)
    for problem in sorted(problems, key=lambda p: (-RANK[p.status], p.host, p.check)):
        section(problem.host).problems.append(problem)
    by_site: dict[str, list[TenantSection]] = defaultdict(list)
    for place in sorted(tenants, key=_order):
        by_site[place[0]].append(tenants[place])
    return [SiteSection(site, sections) for site, sections in by_site.items()]


def _place(host: Host | None) -> tuple[str, str]:
    if host is None:
        return NOT_IN_INVENTORY, NOT_IN_INVENTORY
    return host.site or NOT_SET, host.tenant or NOT_SET


def _order(place: tuple[str, str]) -> tuple[bool, str, bool, str]:
    """Named sites and tenants in order, those without a name after them."""
    site, tenant = place
    unnamed = (NOT_SET, NOT_IN_INVENTORY)
    return site in unnamed, site, tenant in unnamed, tenant


def _stored_problems(stored: Mapping[str, Any]) -> dict[tuple[str, str], dict[str, str]]:
    problems = stored.get("problems", [])
    return {
        (str(p["host"]), str(p["check"])): {
            "status": str(p["status"]),
            "summary": str(p.get("summary", "")),
        }
        for p in problems
        if isinstance(p, dict) and {"host", "check", "status"} <= p.keys()
    }


_CHANGE_ORDER = {"new": 0, "worse": 1, "unverified": 2, "better": 3, "cleared": 4}


def _changes(
    before: Mapping[tuple[str, str], Mapping[str, str]], data: InspectionData
) -> list[Change]:
    """This report's problems against an earlier one's: new, worse, better, cleared. A host
    that could not be checked this time clears nothing: its earlier problems are
    ``unverified``."""
    now = {(p["host"], p["check"]): p for p in data.snapshot()}
    blind = {u.host for u in data.unchecked if u.blind}
    found: list[Change] = []
    for (host, check), after in now.items():
        old = before.get((host, check))
        rank = RANK[after["status"]]
        if old is not None and rank == RANK.get(old["status"], 2):
            continue
        if old is None:
            kind, was = "new", None
        else:
            kind, was = ("worse" if rank > RANK.get(old["status"], 2) else "better"), old["status"]
        found.append(Change(kind, host, check, was, after["status"], after["summary"]))
    for (host, check), old in before.items():
        if (host, check) not in now:
            kind = "unverified" if host in blind else "cleared"
            found.append(Change(kind, host, check, old["status"], None, old["summary"]))
    return sorted(found, key=lambda c: (_CHANGE_ORDER[c.kind], c.host, c.check))


# -- writing --------------------------------------------------------------------------------


def save_snapshot(store: Store, data: InspectionData) -> None:
    """Keep the day's problems for the next report; a day reported again replaces its row."""
    with store.session() as session:
        session.execute(
            delete(InspectionReport).where(InspectionReport.day == data.day.isoformat())
        )
        session.add(
            InspectionReport(
                day=data.day.isoformat(),
                generated_at=data.generated_at,
                problems={"timezone": data.timezone, "problems": data.snapshot()},
            )
        )
