"""The monthly service report on a real SQLite store: a month of tickets written through the
ticket service with a set clock, SLA clocks, remediation jobs and runs, a service review; the
figures checked by hand, the HTML as the customer gets it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from automator.cli._app import cli
from automator.reports import ReportError
from automator.reports._service import (
    Fix,
    _pattern,
    duration,
    month_bounds,
    render_service_report,
    service_report,
)
from automator.store import Job, Run, Store, TicketSla
from automator.tickets import Priority, ServiceReviews, TicketKind, TicketService, TicketStatus

EVIL = "<script>alert(1)</script>"


def at(day: int, hour: int = 9, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


class Clock:
    now = at(1)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Month:
    store: Store
    home: Path
    ids: dict[str, int]


# name: opened, kind, priority, tenant, hosts, title. acme and globex have contracts (SLA
# clocks below); initech has none; the complaint has no clocks either
OPENED = {
    "i1": (at(2), "incident", "P1", "acme", ["web1"], "linux-disk critical on web1: used 97%"),
    "i2": (at(5), "incident", "P1", "acme", ["web2"], "linux-disk critical on web2: used 96%"),
    "i3": (at(6, 10), "incident", "P3", "acme", ["web1"], "restart-web: WebDown on web1"),
    "i4": (at(6, 11), "incident", "P3", "globex", ["sw1"], "restart-web: WebDown on sw1"),
    "i5": (at(10, 8), "incident", "P2", "globex", ["sw1"],
           "unauthorised change on sw1: configuration changed with no change ticket"),
    "c1": (at(12, 12), "complaint", "P2", "globex", [], f"slow answers {EVIL}"),
    "r1": (at(15), "request", "P4", "initech", [], "check-mode patch-kernel on 2 hosts"),
    "i6": (at(20), "incident", "P4", "initech", ["web1"], "printer queue stuck on web1 (3 jobs)"),
    "i7": (at(21), "incident", "P4", "initech", ["web2"], "printer queue stuck on web2 (12 jobs)"),
    "edge": (at(31, 22, 30), "request", "P4", "initech", [], "late request"),
    "feb": (at(27, month=2), "incident", "P3", "acme", ["web1"], "linux-disk critical on web1"),
    "apr": (at(1, 0, 30, month=4), "incident", "P3", "acme", ["web2"], "linux-disk on web2"),
}  # fmt: skip
CAUSES = {
    "i1": ("check", {"check": "linux-disk"}),
    "i2": ("check", {"check": "linux-disk"}),
    "i3": ("rule", {"rule": "restart-web"}),
    "i4": ("rule", {"rule": "restart-web"}),
}


def _sla(store: Store, ticket_id: int, opened: datetime, **fields) -> None:
    with store.session() as session:
        session.add(
            TicketSla(
                ticket_id=ticket_id,
                contract="gold",
                response_target_s=900.0,
                resolution_target_s=4 * 3600.0,
                response_due=opened + timedelta(minutes=15),
                resolution_due=opened + timedelta(hours=4),
                **fields,
            )
        )


def _run(store: Store, ticket_id: int, runbook: str, status: str, kind: str = "remediation"):
    with store.session() as session:
        job = Job(kind=kind, action=runbook, requester="rule restart-web", ticket_id=ticket_id)
        session.add(Run(job=job, ticket_id=ticket_id, status=status, owner="test:1"))


@pytest.fixture
def month(tmp_path: Path) -> Month:
    home = tmp_path / "home"
    store = Store.open(f"sqlite:///{home / 'automator.db'}")
    clock = Clock()
    t = TicketService(store, clock)
    ids: dict[str, int] = {}
    for name, (opened, kind, priority, tenant, hosts, title) in OPENED.items():
        clock.now = opened
        ids[name] = t.open(
            kind=TicketKind(kind),
            title=title,
            actor="checks",
            priority=Priority(priority),
            hosts=hosts,
            tenant=tenant,
        )
        if name in CAUSES:
            entry_kind, data = CAUSES[name]
            t.add_entry(ids[name], entry_kind, "engine", "cause", data)

    # the desk's work, each at its time
    for when, work in [
        (at(2, 9, 10), lambda: t.acknowledge(ids["i1"], "alice")),
        (at(2, 11), lambda: t.resolve(ids["i1"], "alice", "logs rotated")),
        (at(5, 9, 30), lambda: t.acknowledge(ids["i2"], "alice")),
        (at(5, 15), lambda: t.resolve(ids["i2"], "alice", "disk grown")),
        (at(6, 10, 20), lambda: t.resolve(ids["i3"], "pipeline", "verified on every host")),
        (at(6, 11, 5), lambda: t.set_status(ids["i4"], TicketStatus.ESCALATED, "pipeline", "no")),
        (at(10, 9), lambda: t.acknowledge(ids["i5"], "bob")),
        (at(10, 9), lambda: t.set_status(ids["i5"], "in_progress", "bob", "network team")),
        (at(13), lambda: t.analyse(ids["c1"], "manager", f"the queue was unmanned {EVIL}")),
        (at(13), lambda: t.resolve(ids["c1"], "manager", "apologised, rota fixed")),
        (at(13), lambda: t.rate(ids["c1"], 2, "desk", "slow")),
        (at(16), lambda: t.close(ids["r1"], "bob", "done")),
        (at(16), lambda: t.rate(ids["r1"], 5, "desk")),
    ]:
        clock.now = when
        work()

    _sla(store, ids["i1"], at(2), responded_at=at(2, 9, 10))
    _sla(store, ids["i2"], at(5), response_breached_at=at(5, 9, 15),
         resolution_breached_at=at(5, 13))  # fmt: skip
    _sla(store, ids["i3"], at(6, 10))
    _sla(store, ids["i4"], at(6, 11), resolution_breached_at=at(6, 15))
    _sla(store, ids["i5"], at(10, 8), responded_at=at(10, 9))

    _run(store, ids["i3"], "restart-service", "succeeded")
    _run(store, ids["i3"], "check-web", "succeeded")  # its verify run
    _run(store, ids["i4"], "restart-service", "failed")
    _run(store, ids["i6"], "clear-queue", "succeeded", kind="runbook")  # not a remediation

    reviews = ServiceReviews(store)
    for tenant, title, minutes, people, held in [
        ("acme", "March review", f"1. SLA {EVIL}\n2. next", ["Ann (acme)", "Bob"], at(25, 14)),
        ("globex", "call", "", [], at(26, 14)),
        ("acme", "April review", "", [], at(2, 14, month=4)),
    ]:
        reviews.add(
            tenant=tenant, title=title, minutes=minutes, attendees=people, actor="bob",
            held_at=held,
        )  # fmt: skip
    return Month(store, home, ids)


def test_counts_by_kind_priority_and_day(month: Month) -> None:
    data = service_report(month.store, "2026-03")
    assert data.tickets == 10
    assert data.by_kind["incident"] == {"P1": 2, "P2": 1, "P3": 2, "P4": 2}
    assert data.by_kind["complaint"] == {"P1": 0, "P2": 1, "P3": 0, "P4": 0}
    assert data.by_kind["request"] == {"P1": 0, "P2": 0, "P3": 0, "P4": 2}
    assert sum(data.by_kind["change"].values()) == 0
    per_day = dict(data.incidents_per_day)
    assert len(per_day) == 31
    assert per_day[at(6).date()] == 2
    assert per_day[at(2).date()] == 1
    assert per_day[at(31).date()] == 0
    assert sum(per_day.values()) == 7


def test_mtta_and_mttr_per_priority(month: Month) -> None:
    times = {t.priority: t for t in service_report(month.store, "2026-03").times}
    p1 = times["P1"]
    assert (p1.opened, p1.mtta.count, p1.mttr.count) == (2, 2, 2)
    assert p1.mtta.median == 20 * 60  # 10 and 30 minutes
    assert p1.mttr.median == 4 * 3600  # 2 and 6 hours
    assert p1.mttr.p90 == 6 * 3600
    assert (times["P2"].mtta.median, times["P2"].mttr.count) == (3600, 0)
    assert times["P3"].mtta.count == 0  # fixed before anyone looked; the other never answered
    assert times["P3"].mttr.median == 20 * 60
    every = times["all"]
    assert every.opened == 7
    assert every.mtta.median == 30 * 60
    assert every.mtta.mean == pytest.approx((10 + 30 + 60) * 60 / 3)
    assert every.mttr.median == 2 * 3600
    assert every.mttr.mean == pytest.approx((120 + 360 + 20) * 60 / 3)


def test_sla_compliance_and_breaches_per_tenant(month: Month) -> None:
    data = service_report(month.store, "2026-03")
    sla = {row.tenant: row for row in data.sla}
    assert list(sla) == ["acme", "globex", "initech"]
    acme = sla["acme"]
    assert (acme.tickets, acme.no_contract) == (3, 0)
    assert dict(acme.response) == {"met": 2, "breached": 1}
    assert dict(acme.resolution) == {"met": 2, "breached": 1}
    assert acme.compliance(acme.response) == pytest.approx(2 / 3)
    globex = sla["globex"]
    assert (globex.tickets, globex.no_contract, globex.with_sla) == (3, 1, 2)
    assert dict(globex.response) == {"met": 1, "pending": 1}
    assert globex.compliance(globex.response) == 1.0
    assert dict(globex.resolution) == {"breached": 1, "pending": 1}
    assert globex.compliance(globex.resolution) == 0.0
    initech = sla["initech"]
    assert (initech.tickets, initech.no_contract) == (4, 4)
    assert initech.compliance(initech.resolution) is None
    total = data.sla_all
    assert (total.tickets, total.no_contract) == (10, 5)
    assert total.compliance(total.resolution) == pytest.approx(2 / 4)
    assert data.breaches_total == 3
    assert [(b.ticket, b.target, b.at) for b in data.breaches] == [
        (month.ids["i2"], "response", at(5, 9, 15)),
        (month.ids["i2"], "resolution", at(5, 13)),
        (month.ids["i4"], "resolution", at(6, 15)),
    ]


def test_remediation_rate_and_success(month: Month) -> None:
    remediation = service_report(month.store, "2026-03").remediation
    assert (remediation.incidents, remediation.remediated, remediation.fixed) == (7, 2, 1)
    assert remediation.rate == pytest.approx(2 / 7)
    assert remediation.success == 0.5
    assert remediation.runs == {"succeeded": 2, "failed": 1}  # a runbook run is not counted


def test_recurring_problems_and_their_fixes(month: Month) -> None:
    recurring = service_report(month.store, "2026-03").recurring
    assert [(g.source, g.name, g.tickets, g.hosts, g.open, g.by_hand) for g in recurring] == [
        ("check", "linux-disk", 2, 2, 0, 2),
        ("rule", "restart-web", 2, 2, 1, 0),
        ("title", "printer queue stuck on {host} (# jobs)", 2, 2, 2, 0),
    ]
    assert recurring[0].fixes == ()
    assert recurring[1].fixes == (Fix("restart-service", 2, 1), Fix("check-web", 1, 1))
    assert recurring[1].latest == month.ids["i4"]


def test_drift_complaints_satisfaction_and_reviews(month: Month) -> None:
    data = service_report(month.store, "2026-03")
    assert [(t.id, t.host, t.status) for t in data.drift] == [
        (month.ids["i5"], "sw1", "in_progress")
    ]
    assert data.complaints_total == 1
    [complaint] = data.complaints
    assert complaint.analysis == f"the queue was unmanned {EVIL}"
    assert (complaint.satisfaction, complaint.status) == (2, "resolved")
    assert data.satisfaction.count == 2
    assert data.satisfaction.average == 3.5
    assert data.satisfaction.scores == {1: 0, 2: 1, 3: 0, 4: 0, 5: 1}
    assert [r.title for r in data.reviews] == ["March review", "call"]
    assert data.reviews[0].attendees == ("Ann (acme)", "Bob")


def test_one_tenant_and_a_time_zone(month: Month) -> None:
    acme = service_report(month.store, "2026-03", tenant="acme")
    assert acme.tickets == 3
    assert [row.tenant for row in acme.sla] == ["acme"]
    assert [r.title for r in acme.reviews] == ["March review"]
    assert acme.complaints_total == 0
    # Berlin's March ends at 22:00 UTC on the 31st (summer time): the late request is April's
    berlin = service_report(month.store, "2026-03", tz="Europe/Berlin")
    assert berlin.tickets == 9
    assert berlin.start == datetime(2026, 2, 28, 23, tzinfo=UTC)
    assert berlin.end == datetime(2026, 3, 31, 22, tzinfo=UTC)


def test_the_html_escapes_and_shows_the_figures(month: Month) -> None:
    html = render_service_report(service_report(month.store, "2026-03"))
    assert "<script>" not in html
    assert "slow answers &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "the queue was unmanned &lt;script&gt;" in html
    assert "1. SLA &lt;script&gt;" in html
    assert "Monthly service report — 2026-03" in html
    assert html.count("<svg") == 6  # kinds, days, MTTR, response, resolution, satisfaction
    text = re.sub(r"<[^>]+>", " ", html)
    text = re.sub(r"\s+", " ", text)
    assert "MTTA (median) 30 min" in text
    assert "MTTR (median) 2 h 00 min" in text
    assert "Response target met 75.0 %" in text  # 3 of 4 decided
    assert "Resolution target met 50.0 %" in text
    assert "acme 3 0 2 1 0 66.7 % 2 1 0 66.7 %" in text
    assert "Auto-remediated 28.6 %" in text
    assert "restart-service (1/2 runs succeeded)" in text
    assert "Satisfaction 3.5 / 5" in text
    assert "No service review" not in text


def test_an_empty_month_still_makes_a_report(month: Month) -> None:
    data = service_report(month.store, "2025-01")
    assert data.tickets == 0 and data.times[-1].mtta.median is None
    html = render_service_report(data)
    assert "No SLA target was breached." in html
    assert "No service review was held this month." in html
    assert html.count("<svg") == 2


@pytest.mark.parametrize("month_text", ["2026-13", "2026-3", "March", "2026-03-01", ""])
def test_a_bad_month_is_a_clear_error(month_text: str) -> None:
    with pytest.raises(ReportError, match="expected YYYY-MM"):
        month_bounds(month_text)


def test_titles_group_without_their_hosts_and_numbers() -> None:
    assert _pattern("disk 97% on web1 and web12", ["web1", "web12"]) == (
        "disk #% on {host} and {host}"
    )
    assert duration(None) == "—"
    assert [duration(s) for s in (42, 720, 3 * 3600 + 300, 2 * 86400 + 4 * 3600)] == [
        "42 s",
        "12 min",
        "3 h 05 min",
        "2 d 4 h",
    ]


def test_report_service_command(month: Month, tmp_path: Path) -> None:
    settings = ["--home", str(month.home), "--inventory", str(tmp_path / "none")]
    result = CliRunner().invoke(cli, ["report", "service", "--month", "2026-03", *settings])
    assert result.exit_code == 0, result.output
    written = month.home / "reports" / "service-2026-03.html"
    assert "tickets 10, incidents 7, SLA breaches 3, complaints 1" in result.output
    assert "Monthly service report — 2026-03" in written.read_text()
    target = tmp_path / "out" / "acme.html"
    args = ["report", "service", "--month", "2026-03", "--tenant", "acme", "--output", str(target)]
    result = CliRunner().invoke(cli, [*args, *settings])
    assert result.exit_code == 0, result.output
    assert "<td>acme</td>" in target.read_text()
    bad = CliRunner().invoke(cli, ["report", "service", "--month", "2026-3", *settings])
    assert bad.exit_code == 2
    assert "expected YYYY-MM" in bad.output
