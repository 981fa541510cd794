"""Tickets at scale (issue 6, Speed): listing and filtered search over 1,000,000 tickets with
their timelines in SQLite answer in <= 100 ms; the monthly service report over the 100,000
tickets of one month renders in <= 10 s.

    .venv/bin/python benchmarks/tickets.py [--tickets 1000000] [--months 10] [--rounds 7]
        [--db FILE]   build there and keep it; an existing file is measured again as it is

The fixture is written straight into the store's tables (executemany on the DB-API
connection, in the schema the migrations made): it is data to measure against, not a test of
the ticket service. What is measured goes through the real code: ``TicketService.list``
(query, ORM objects, hosts loaded) and ``service_report`` + ``render_service_report``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from automator.reports._service import render_service_report, service_report
from automator.store import Store
from automator.tickets import TicketService

BUDGET_LIST_MS = 100.0
BUDGET_REPORT_S = 10.0
FIRST_MONTH = date(2026, 1, 1)

CHECKS = [
    ("linux-disk", "used_pct 97% on /var (critical >= 95)"),
    ("linux-memory", "used_pct 93% (warning >= 90)"),
    ("linux-load", "load5 per core 3.1 (critical >= 3)"),
    ("linux-ntp", "offset 2.4 s (warning >= 1)"),
    ("linux-uptime", "rebooted 3 minutes ago"),
    ("ios-cpu", "cpu5min 91% (critical >= 90)"),
    ("ios-env", "fan 2 failed"),
    ("ios-ntp", "not synchronised"),
    ("ups-battery", "on battery for 4 minutes"),
    ("ups-temperature", "battery 47 C (warning >= 40)"),
    ("pdu-load", "phase 2 at 14.2 A (warning >= 13)"),
    ("crac-supply", "supply air 27.5 C (warning >= 26)"),
]
RULES = [
    ("restart-web", "WebDown", "restart-service"),
    ("clean-tmp", "DiskFilling", "clean-tmp"),
    ("restart-ntp", "ClockSkew", "restart-ntpd"),
    ("flap-port", "PortFlapping", "bounce-interface"),
    ("kill-runaway", "CpuRunaway", "kill-runaway"),
    ("rotate-logs", "LogVolumeFull", "rotate-logs"),
]
MANUAL = [
    "user reports slow database queries on {host}",
    "backup job did not finish on {host}",
    "certificate expires soon on {host}",
    "VPN tunnel down between sites, seen on {host}",
    "printer queue stuck on {host}",
]
DRIFT = "configuration changed with no change ticket"  # as automator.backups titles it
RARE = "kernel panic on {host} after firmware upgrade"  # about 1 ticket in 2,000
RUNBOOKS = ["patch-kernel", "rotate-certs", "upgrade-ios", "add-vlan", "resize-volume"]
COMPLAINTS = [
    "complaint: slow response to the P2 incident on the payroll database",
    "complaint: engineer arrived on site after the promised 12 hours",
    "complaint: monthly report delivered late",
    "complaint: repeated outages of the web shop",
]
KINDS = ["incident", "change", "request", "problem", "drill", "complaint"]
KIND_WEIGHTS = [62, 14, 14, 5, 1, 4]
PRIORITIES = ["P1", "P2", "P3", "P4"]
PRIORITY_WEIGHTS = [3, 17, 50, 30]
OPEN = ["new", "acknowledged", "in_progress", "waiting_on_customer", "escalated"]
RESPONSE_S = {"P1": 900.0, "P2": 3600.0, "P3": 4 * 3600.0, "P4": 8 * 3600.0}
RESOLUTION_S = {"P1": 4 * 3600.0, "P2": 8 * 3600.0, "P3": 24 * 3600.0, "P4": 72 * 3600.0}
TENANTS = [f"tenant{n:02d}" for n in range(1, 21)]
TENANT_WEIGHTS = [20, 14, 10, 8, 7, 6, 5, 5, 4, 4, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1]
CONTRACTED = set(TENANTS[:14])  # tenants with a service contract: their tickets have SLA rows
OWNERS = [f"engineer{n:02d}@example.net" for n in range(1, 61)]
HOSTS = [f"host{n:04d}" for n in range(1, 5001)]


def stamp(moment: datetime) -> str:
    """How SQLAlchemy stores a datetime in SQLite (UTC, naive)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


@dataclass
class Rows:
    """One batch of rows per table, flushed together."""

    tickets: list[tuple[Any, ...]] = field(default_factory=list)
    hosts: list[tuple[Any, ...]] = field(default_factory=list)
    entries: list[tuple[Any, ...]] = field(default_factory=list)
    sla: list[tuple[Any, ...]] = field(default_factory=list)
    jobs: list[tuple[Any, ...]] = field(default_factory=list)
    runs: list[tuple[Any, ...]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.tickets)


class Builder:
    """Makes ``count`` tickets spread evenly over ``months`` months from FIRST_MONTH, oldest
    first (ids grow with time, as in the store), with the mix a service desk sees: mostly
    closed, a few thousand open; check, rule and drift incidents, remediation runs, SLA rows
    for contracted tenants, ratings, complaint analyses."""

    def __init__(self, count: int, months: int, seed: int = 6) -> None:
        self.count = count
        self.random = random.Random(seed)
        self.start = datetime(FIRST_MONTH.year, FIRST_MONTH.month, 1, tzinfo=UTC)
        self.end = _add_months(self.start, months)
        self.step = (self.end - self.start) / count
        self.job_id = 0
        self.hot_hosts = HOSTS[:50]  # a few hosts give most of the trouble

    def rows(self, batch: int = 20_000) -> Iterator[Rows]:
        rows = Rows()
        for ticket_id in range(1, self.count + 1):
            self._ticket(ticket_id, rows)
            if len(rows) >= batch:
                yield rows
                rows = Rows()
        if rows.tickets:
            yield rows

    def _ticket(self, ticket_id: int, rows: Rows) -> None:
        r = self.random
        created = self.start + self.step * (ticket_id - 1)
        kind = r.choices(KINDS, KIND_WEIGHTS)[0]
        priority = r.choices(PRIORITIES, PRIORITY_WEIGHTS)[0]
        tenant = r.choices(TENANTS, TENANT_WEIGHTS)[0] if r.random() > 0.05 else None
        owner = r.choice(OWNERS) if r.random() > 0.1 else None
        hosts = self._hosts()
        title, story = self._title(kind, hosts[0], tenant)
        status, ack, resolved, closed = self._life(created, priority, story)
        satisfaction = (
            r.choices([1, 2, 3, 4, 5], [3, 5, 12, 40, 40])[0]
            if (resolved is not None and r.random() < 0.15)
            else None
        )
        analysis = (
            "root cause: the on-call rota had a gap; fixed by a second on-call engineer"
            if kind == "complaint" and r.random() < 0.6
            else None
        )
        rows.tickets.append(
            (
                ticket_id, kind, status, priority, title, owner, tenant, story[0],
                stamp(created), stamp(closed or resolved or ack or created),
                _opt(resolved), _opt(ack), _opt(closed),
                tenant if tenant in CONTRACTED else None, satisfaction, None, analysis,
            )
        )  # fmt: skip
        rows.hosts.extend((ticket_id, host) for host in hosts)
        self._timeline(ticket_id, created, story, hosts, status, ack, resolved, closed, rows)
        if tenant in CONTRACTED:
            rows.sla.append(self._sla(ticket_id, tenant, priority, created, ack, resolved))

    def _hosts(self) -> list[str]:
        r = self.random
        pool = self.hot_hosts if r.random() < 0.3 else HOSTS
        first = r.choice(pool)
        more = r.sample(HOSTS, r.choice([1, 2])) if r.random() < 0.2 else []
        return sorted({first, *more})

    def _title(self, kind: str, host: str, tenant: str | None) -> tuple[str, tuple[str, ...]]:
        """The title, and the story the timeline tells: (opened by, kind, detail...)."""
        r = self.random
        if kind == "incident":
            roll = r.random()
            if roll < 0.5:
                check, summary = r.choice(CHECKS)
                state = "critical" if r.random() < 0.4 else "warning"
                return f"{check} {state} on {host}: {summary}", ("checks", "check", check, state)
            if roll < 0.85:
                rule, alert, runbook = r.choice(RULES)
                return f"{rule}: {alert} on {host}", ("engine", "rule", rule, runbook)
            if roll < 0.9:
                return f"unauthorised change on {host}: {DRIFT}", ("backups", "drift")
            text = RARE if r.random() < 0.005 else r.choice(MANUAL)
            return text.format(host=host), ("alice", "manual")
        if kind == "change":
            return f"runbook {r.choice(RUNBOOKS)} on {r.randint(1, 9)} hosts", ("bob", "manual")
        if kind == "request":
            return f"check-mode {r.choice(RUNBOOKS)} on {r.randint(1, 9)} hosts", ("bob", "manual")
        if kind == "problem":
            check, _ = r.choice(CHECKS)
            return f"recurring {check} failures for {tenant or 'shared'}", ("carol", "manual")
        if kind == "drill":
            return f"failover drill dc{r.randint(1, 3)}", ("carol", "manual")
        return r.choice(COMPLAINTS), ("service-desk", "manual")

    def _life(
        self, created: datetime, priority: str, story: tuple[str, ...]
    ) -> tuple[str, datetime | None, datetime | None, datetime | None]:
        """Status, acknowledged, resolved and closed times: old tickets are mostly closed;
        the last week has every status."""
        r = self.random
        age = self.end - created
        roll = r.random()
        if age > timedelta(days=7):
            status = "closed" if roll < 0.88 else "resolved" if roll < 0.98 else r.choice(OPEN)
        else:
            status = "resolved" if roll < 0.3 else "closed" if roll < 0.4 else r.choice(OPEN)
        automatic = story[1] == "rule" and r.random() < 0.7  # fixed before anyone looked
        ack = None
        if status != "new" and not automatic:
            ack = created + timedelta(seconds=r.expovariate(1 / (RESPONSE_S[priority] * 0.6)))
        resolved = closed = None
        if status in ("resolved", "closed"):
            mean = RESOLUTION_S[priority] * (0.1 if automatic else 0.6)
            resolved = max(ack or created, created) + timedelta(seconds=r.expovariate(1 / mean))
            if status == "closed":
                closed = resolved + timedelta(days=r.uniform(1, 5))
        return status, _past(ack, self.end), _past(resolved, self.end), _past(closed, self.end)

    def _timeline(
        self,
        ticket_id: int,
        created: datetime,
        story: tuple[str, ...],
        hosts: list[str],
        status: str,
        ack: datetime | None,
        resolved: datetime | None,
        closed: datetime | None,
        rows: Rows,
    ) -> None:
        r = self.random
        add = rows.entries.append
        add((ticket_id, stamp(created), "opened", story[0], f"opened for {hosts[0]}", "{}", None))
        detail = created + timedelta(seconds=1)
        if story[1] == "check":
            data = json.dumps({"check": story[2], "status": story[3], "findings": []})
            add((ticket_id, stamp(detail), "check", "checks", f"{story[2]} {story[3]}", data, None))
        elif story[1] == "rule":
            data = json.dumps({"rule": story[2], "decision": "run", "host": hosts[0]})
            add((ticket_id, stamp(detail), "rule", "engine", f"rule {story[2]}: run", data, None))
        elif story[1] == "drift":
            data = json.dumps({"host": hosts[0], "version": r.randint(2, 90), "diff": "+ntp x"})
            add((ticket_id, stamp(detail), "drift", "backups", "+ntp server 10.0.0.9", data, None))
        runbook = story[3] if story[1] == "rule" else _fix_for(story, r)
        if runbook is not None:
            self._remediation(ticket_id, detail, runbook, story, hosts, resolved, rows)
        if r.random() < 0.3:
            at = stamp(detail + timedelta(minutes=5))
            add((ticket_id, at, "comment", "alice", "looked at it, see the graphs", "{}", None))
        moves = [("new", "acknowledged", ack), ("acknowledged", "resolved", resolved)]
        moves.append(("resolved", "closed", closed))
        for old, new, at_time in moves:
            if at_time is not None:
                data = json.dumps({"from": old, "to": new})
                add((ticket_id, stamp(at_time), "status", "alice", f"{old} → {new}", data, None))
        if status in OPEN and status not in ("new", "acknowledged"):
            data = json.dumps({"from": "acknowledged", "to": status})
            at = stamp(ack or detail)
            add((ticket_id, at, "status", "alice", f"acknowledged → {status}", data, None))

    def _remediation(
        self,
        ticket_id: int,
        at: datetime,
        runbook: str,
        story: tuple[str, ...],
        hosts: list[str],
        resolved: datetime | None,
        rows: Rows,
    ) -> None:
        """A remediation job and its run on the ticket (as the engine files them)."""
        r = self.random
        self.job_id += 1
        rule = story[2] if story[1] == "rule" else f"fix-{story[2]}"
        status = "succeeded" if resolved is not None and r.random() < 0.9 else (
            r.choices(["failed", "partial", "blocked", "succeeded"], [50, 20, 10, 20])[0]
        )  # fmt: skip
        rows.jobs.append(
            (self.job_id, "remediation", runbook, ",".join(hosts), json.dumps(hosts), "{}", 0,
             ticket_id, f"rule {rule}", None, stamp(at), rule, "{}")
        )  # fmt: skip
        rows.runs.append(
            (self.job_id, self.job_id, ticket_id, status, "bench:1", stamp(at), stamp(at),
             stamp(at + timedelta(seconds=40)), None, "{}", None, None)
        )  # fmt: skip
        data = json.dumps({"status": status})
        message = f"run #{self.job_id} {status}"
        rows.entries.append((ticket_id, stamp(at), "run", "pipeline", message, data, self.job_id))

    def _sla(
        self,
        ticket_id: int,
        tenant: str,
        priority: str,
        created: datetime,
        ack: datetime | None,
        resolved: datetime | None,
    ) -> tuple[Any, ...]:
        response_due = created + timedelta(seconds=RESPONSE_S[priority])
        resolution_due = created + timedelta(seconds=RESOLUTION_S[priority])
        responded = ack or resolved
        response_breach = _breach(responded, response_due, self.end)
        resolution_breach = _breach(resolved, resolution_due, self.end)
        return (
            ticket_id, tenant, RESPONSE_S[priority], RESOLUTION_S[priority],
            stamp(response_due), stamp(resolution_due), _opt(responded), None, 0.0,
            None, None, _opt(response_breach), _opt(resolution_breach),
        )  # fmt: skip


def _fix_for(story: tuple[str, ...], r: random.Random) -> str | None:
    """Some failing checks are fixed by a rule's runbook too."""
    if story[1] == "check" and r.random() < 0.15:
        fixes = {"linux-disk": "clean-tmp", "linux-ntp": "restart-ntpd"}
        return fixes.get(story[2], "restart-service")
    return None


def _breach(done: datetime | None, due: datetime, now: datetime) -> datetime | None:
    if (done is None and now > due) or (done is not None and done > due):
        return due
    return None


def _past(moment: datetime | None, end: datetime) -> datetime | None:
    return moment if moment is not None and moment < end else None


def _opt(moment: datetime | None) -> str | None:
    return stamp(moment) if moment is not None else None


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.month - 1 + months
    return moment.replace(year=moment.year + index // 12, month=index % 12 + 1)


INSERTS = {
    "tickets": "INSERT INTO tickets (id, kind, status, priority, title, owner, tenant, opened_by,"
    " created_at, updated_at, resolved_at, acknowledged_at, closed_at, contract, satisfaction,"
    " satisfaction_note, analysis) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    "hosts": "INSERT INTO ticket_hosts (ticket_id, host) VALUES (?,?)",
    "entries": "INSERT INTO timeline_entries (ticket_id, at, kind, actor, message, data, run_id)"
    " VALUES (?,?,?,?,?,?,?)",
    "sla": "INSERT INTO ticket_sla (ticket_id, contract, response_target_s, resolution_target_s,"
    " response_due, resolution_due, responded_at, paused_since, paused_s, response_warned_at,"
    " resolution_warned_at, response_breached_at, resolution_breached_at)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
    "jobs": "INSERT INTO jobs (id, kind, action, limit_expr, targets, params, check_mode,"
    " ticket_id, requester, idempotency_key, created_at, rule, policy)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
    "runs": "INSERT INTO runs (id, job_id, ticket_id, status, owner, created_at, started_at,"
    " finished_at, artifacts_dir, counts, waiting_for, not_before)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
}


def build(store: Store, count: int, months: int) -> float:
    """Fill an empty store; returns the seconds it took. The tables' indexes are dropped
    while the rows go in and made again after (the same statements the migrations ran)."""
    started = time.perf_counter()
    raw = store.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.execute("PRAGMA cache_size=-1000000")
        tables = ("tickets", "ticket_hosts", "timeline_entries", "ticket_sla", "jobs", "runs")
        marks = ",".join("?" * len(tables))
        indexes = cursor.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({marks})",
            tables,
        ).fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        for rows in Builder(count, months).rows():
            for table in ("tickets", "hosts", "jobs", "runs", "entries", "sla"):
                cursor.executemany(INSERTS[table], getattr(rows, table))
            raw.commit()
        for _, sql in indexes:
            cursor.execute(sql)
        raw.commit()
    finally:
        raw.close()
    return time.perf_counter() - started


# -- measuring --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    what: str
    median: float  # ms for a list, s for the report
    runs: list[float]
    found: str
    budget: float
    unit: str

    @property
    def ok(self) -> bool:
        return self.median <= self.budget


def timed(fn: Callable[[], Any], rounds: int) -> tuple[list[float], Any]:
    fn()  # warm: the first call pays for SQLAlchemy's statement cache and the page cache
    times, result = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return times, result


SEARCHES: list[tuple[str, dict[str, Any]]] = [
    ("newest 50", {}),
    ("status=new", {"status": ["new"]}),
    ("open (the 5 open statuses)", {"status": OPEN}),
    ("status=escalated, tenant=tenant05", {"status": ["escalated"], "tenant": "tenant05"}),
    ("open, tenant=tenant20 (the smallest)", {"status": OPEN, "tenant": "tenant20"}),
    ("tenant=tenant20", {"tenant": "tenant20"}),
    ("owner=engineer07", {"owner": "engineer07@example.net"}),
    ("owner=engineer07, open", {"owner": "engineer07@example.net", "status": OPEN}),
    ("priority=P1", {"priority": ["P1"]}),
    ("priority=P1, open", {"priority": ["P1"], "status": OPEN}),
    ("kind=complaint", {"kind": ["complaint"]}),
    ("kind=drill, tenant=tenant20", {"kind": ["drill"], "tenant": "tenant20"}),
    ("host=host0007 (one of the 50 busiest)", {"host": "host0007"}),
    ("host=host4321", {"host": "host4321"}),
    ("host=host0007, open", {"host": "host0007", "status": OPEN}),
    ("text 'disk' (common)", {"text": "disk"}),
    ("text 'ntp', tenant=tenant11", {"text": "ntp", "tenant": "tenant11"}),
    ("text 'kernel panic' (1 in 3,000)", {"text": "kernel panic"}),
    ("text 'no such words' (no match)", {"text": "no such words"}),
]


def list_figures(store: Store, rounds: int) -> list[Figure]:
    tickets = TicketService(store)
    deep = tickets.list(limit=1)[0].id // 2
    searches = [*SEARCHES, ("newest 50 before the middle (before_id)", {"before_id": deep})]
    figures = []
    for what, filters in searches:

        def search(filters: dict[str, Any] = filters) -> list[Any]:
            return tickets.list(**filters, limit=50)

        times, found = timed(search, rounds)
        ms = [t * 1000 for t in times]
        figures.append(
            Figure(what, statistics.median(ms), ms, str(len(found)), BUDGET_LIST_MS, "ms")
        )
        print(f"  {what}: {figures[-1].median:.1f} ms ({len(found)} found)", file=sys.stderr)
    return figures


def report_figures(store: Store, month: str, rounds: int) -> list[Figure]:
    """The monthly report, read and rendered, for every tenant and for the largest one."""
    figures = []
    for tenant in (None, TENANTS[0]):

        def report(tenant: str | None = tenant) -> tuple[int, int]:
            data = service_report(store, month, tenant)
            return data.tickets, len(render_service_report(data))

        times, (count, size) = timed(report, rounds)
        what = f"service report {month}, " + (f"tenant {tenant}" if tenant else "every tenant")
        found = f"{count:,} tickets, {size // 1024} KiB"
        figures.append(Figure(what, statistics.median(times), times, found, BUDGET_REPORT_S, "s"))
        print(f"  {what}: {figures[-1].median:.2f} s ({found})", file=sys.stderr)
    return figures


def table(figures: list[Figure]) -> str:
    lines = [
        "| measured | median | runs | found | budget | |",
        "|---|---|---|---|---|---|",
    ]
    for f in figures:
        runs = " / ".join(f"{run:.1f}" if f.unit == "ms" else f"{run:.2f}" for run in f.runs)
        median = f"{f.median:.1f} ms" if f.unit == "ms" else f"{f.median:.2f} s"
        budget = f"{f.budget:g} {f.unit}"
        lines.append(
            f"| {f.what} | {median} | {runs} | {f.found} | {budget} | "
            f"{'ok' if f.ok else '**over**'} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--db", type=Path, help="keep the database here (reused when it exists)")
    args = parser.parse_args()
    month = (
        f"{_add_months(datetime(FIRST_MONTH.year, FIRST_MONTH.month, 1), args.months - 1):%Y-%m}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-tickets-") as work:
        path = args.db or Path(work) / "automator.db"
        store = Store.open(f"sqlite:///{path}")
        built = None
        if TicketService(store).count() == 0:
            print(f"building {args.tickets:,} tickets in {path} ...", file=sys.stderr)
            built = build(store, args.tickets, args.months)
            print(f"built in {built:.1f} s", file=sys.stderr)
        facts = _facts(store, path, built)
        figures = list_figures(store, args.rounds)
        figures += report_figures(store, month, max(3, args.rounds // 2))
        store.dispose()
    print(facts)
    print(table(figures))
    return 0 if all(f.ok for f in figures) else 1


def _facts(store: Store, path: Path, built: float | None) -> str:
    with store.engine.connect() as connection:
        counts = {
            table: connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar()
            for table in ("tickets", "timeline_entries", "ticket_hosts", "ticket_sla", "runs")
        }
    size = path.stat().st_size / 2**20
    made = f"built in {built:.0f} s" if built is not None else "reused"
    return (
        f"{counts['tickets']:,} tickets, {counts['timeline_entries']:,} timeline entries, "
        f"{counts['ticket_hosts']:,} ticket hosts, {counts['ticket_sla']:,} SLA rows, "
        f"{counts['runs']:,} remediation runs; {size:,.0f} MiB ({made})"
    )


if __name__ == "__main__":
    sys.exit(main())
