"""The daily inspection report on a real SQLite store: three days of check results written
with the store's models, a small inventory on disk, the HTML as an operator gets it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, func, select

from automator.checks import CheckCatalogue, CheckDef, Threshold
from automator.checks._model import Metric
from automator.cli._app import COMMANDS, cli
from automator.inventory import Inventory, load_inventory
from automator.reports import (
    Change,
    InspectionData,
    Problem,
    inspection_report,
    render_inspection,
    save_snapshot,
)
from automator.store import (
    CheckResultRow,
    CheckState,
    InspectionReport,
    Job,
    Measurement,
    Run,
    Store,
)
from automator.tickets import Priority, TicketKind, TicketService

DAY1, DAY2, DAY3 = date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)
EVIL = "<script>alert(1)</script>"

HOSTS = """\
web1:
  hostname: 192.0.2.11
  platform: linux
  data:
    site: dc1
    tenant: acme
    owner: alice@example.net
    checks: {linux-disk: {thresholds: {used_pct: {critical: 92}}}}
web2:
  hostname: 192.0.2.12
  platform: linux
  data: {site: dc1, tenant: acme, owner: alice@example.net}
db1:
  hostname: 192.0.2.13
  platform: linux
  data: {site: dc1, tenant: globex, owner: carol@example.net}
ups1:
  hostname: 192.0.2.50
  platform: ups_snmp
  data: {site: dc2, tenant: acme, owner: facilities@example.net}
spare1:
  hostname: 192.0.2.14
  platform: linux
  data: {site: dc2, tenant: globex, owner: erin@example.net}
"""

DISK_CHECK = """\
description: Disk space used on every mounted filesystem
applies_to: server
commands: {server: "df -P -k"}
parse: df
values:
  used_pct: {warning: 85, critical: 95, unit: "%"}
owner: platform@example.net
"""


def at(day: date, hour: int = 2) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def finding(
    metric: str, value: float | None, status: str, message: str, item: str = "", trend: bool = False
) -> dict[str, Any]:
    return {
        "metric": metric,
        "item": item,
        "value": value,
        "status": status,
        "message": message,
        "trend": trend,
    }


def catalogue() -> CheckCatalogue:
    def check(name: str, metrics: dict[str, Metric], owner: str) -> CheckDef:
        return CheckDef(
            name=name,
            description="",
            applies_to=("server",),
            commands={"server": ("true",)},
            snmp={},
            parser="df",
            parse_options={},
            metrics=metrics,
            owner=owner,
        )

    return CheckCatalogue(
        {
            "linux-disk": check(
                "linux-disk",
                {"used_pct": Metric("used_pct", Threshold(85, 95), "%")},
                "platform@example.net",
            ),
            "ups": check(
                "ups",
                {"battery_temperature_c": Metric("battery_temperature_c", Threshold(40, 50), "C")},
                "facilities@example.net",
            ),
        },
        Path("checks"),
    )


@dataclass
class World:
    store: Store
    inventory: Inventory
    inventory_dir: Path
    home: Path
    disk_ticket: int
    web2_ticket: int
    runs: dict[date, int]

    def report(self, day: date, tz: str = "UTC") -> InspectionData:
        return inspection_report(self.store, self.inventory, day, tz, catalogue())


@pytest.fixture
def world(tmp_path: Path) -> World:
    inventory_dir = tmp_path / "inventory"
    inventory_dir.mkdir()
    (inventory_dir / "hosts.yaml").write_text(HOSTS)
    home = tmp_path / "home"
    store = Store.open(f"sqlite:///{home / 'automator.db'}")
    runs = {day: _run(store) for day in (DAY1, DAY2, DAY3)}
    tickets = TicketService(store)
    disk_ticket = tickets.open(
        kind=TicketKind.INCIDENT,
        title="linux-disk warning on web1",
        actor="checks",
        priority=Priority.P3,
        hosts=["web1"],
        owner="dave@example.net",  # handed on from the host's owner
    )
    for day in (DAY2, DAY3):
        tickets.add_entry(
            disk_ticket, "check", "checks", "disk", {"check": "linux-disk"}, run_id=runs[day]
        )
    web2_ticket = tickets.open(
        kind=TicketKind.INCIDENT, title="web2 unreachable", actor="checks", hosts=["web2"]
    )
    with store.session() as session:
        session.add_all(_results(runs))
        session.add_all(_measurements())
        session.add(
            CheckState(
                host="web2",
                check="reachable",
                status="critical",
                since=at(DAY3),
                checked_at=at(DAY3),
                run_id=runs[DAY3],
                summary="connection refused",
                ticket_id=web2_ticket,
            )
        )
    yield World(
        store, load_inventory(inventory_dir), inventory_dir, home, disk_ticket, web2_ticket, runs
    )
    store.dispose()


def _run(store: Store) -> int:
    with store.session() as session:
        job = Job(kind="check", action="checks", requester="checks")
        session.add(job)
        session.flush()
        run = Run(job_id=job.id, status="succeeded", owner="test")
        session.add(run)
        session.flush()
        return run.id


def _results(runs: dict[date, int]) -> list[CheckResultRow]:
    def row(
        day: date, host: str, check: str, status: str, summary: str, *found: Any, raw: str = ""
    ):
        return CheckResultRow(
            run_id=runs[day],
            at=at(day),
            host=host,
            check=check,
            status=status,
            summary=summary,
            findings=list(found),
            raw=raw,
        )

    disk_ok = finding("used_pct", 70, "ok", "used_pct[/] 70%", "/")
    load = finding("load_per_core", 1.6, "warning", "load_per_core 1.6 (warning >= 1.5)")
    rows = []
    for day in (DAY1, DAY2, DAY3):
        rows.append(row(day, "web2", "linux-disk", "ok", "ok", disk_ok))
        rows.append(row(day, "ups1", "ups", "ok", "ok"))
    rows += [
        row(DAY1, "web1", "linux-disk", "ok", "ok", disk_ok),
        row(DAY1, "web1", "linux-load", "warning", load["message"], load),
        row(DAY1, "db1", "linux-memory", "ok", "ok"),
        row(DAY2, "web1", "linux-disk", "warning", "used_pct[/] 88%",
            finding("used_pct", 88, "warning", "used_pct[/] 88% (warning >= 85)", "/")),
        row(DAY2, "web1", "linux-load", "warning", load["message"], load),
        row(DAY2, "db1", "linux-memory", "ok", "ok"),
        row(DAY3, "web1", "linux-disk", "critical", "used_pct[/] 93%",
            finding("used_pct", 93, "critical", "used_pct[/] 93% (critical >= 92)", "/")),
        row(DAY3, "web1", "linux-load", "ok", "ok"),
        row(DAY3, "db1", "linux-memory", "critical", "used_pct 97% (critical >= 95)",
            finding("used_pct", 97, "critical", "used_pct 97% (critical >= 95)")),
        row(DAY3, "web2", "linux-disk", "unknown", "not checked: unreachable: connection refused"),
        row(DAY3, "ups1", "ups", "warning", "battery_temperature_c trend: rising +1/day",
            finding("battery_temperature_c", 36, "ok", "battery_temperature_c 36C"),
            finding("battery_temperature_c", 36, "warning", "trend: rising +1/day", trend=True)),
        row(DAY3, EVIL, "linux-disk", "critical", "<b>disk</b> full", raw="<script>x()</script>"),
    ]  # fmt: skip
    return rows


def _measurements() -> list[Measurement]:
    """web1's disk daily for 20 days up to DAY3 and once more that afternoon; the UPS's
    battery warming a degree a day for a week."""
    disk = [(at(DAY3 - timedelta(days=n)), 60.0 + (19 - n)) for n in range(20)]
    disk.append((at(DAY3, 14), 93.0))
    ups = [(at(DAY3 - timedelta(days=n)), 36.0 - n) for n in range(7)]
    return [
        Measurement(at=when, host="web1", check="linux-disk", metric="used_pct", item="/", value=v)
        for when, v in disk
    ] + [
        Measurement(at=when, host="ups1", check="ups", metric="battery_temperature_c", value=v)
        for when, v in ups
    ]


def problem(data: InspectionData, host: str, check: str) -> Problem:
    return next(p for p in data.problems if (p.host, p.check) == (host, check))


def polylines(html: str) -> list[int]:
    """The number of points of every polyline in the document."""
    return [len(points.split()) for points in re.findall(r'<polyline points="([^"]*)"', html)]


# -- tests ----------------------------------------------------------------------------------


def test_problems_are_grouped_by_site_then_tenant(world: World) -> None:
    data = world.report(DAY3)
    places = [(site.site, [t.tenant for t in site.tenants]) for site in data.sites]
    assert places == [
        ("dc1", ["acme", "globex"]),
        ("dc2", ["acme", "globex"]),
        ("unknown", ["unknown"]),  # the host no longer in the inventory
    ]
    listed = {
        (site.site, tenant.tenant): [(p.host, p.check, p.status) for p in tenant.problems]
        for site in data.sites
        for tenant in site.tenants
    }
    assert listed == {
        ("dc1", "acme"): [("web1", "linux-disk", "critical")],
        ("dc1", "globex"): [("db1", "linux-memory", "critical")],
        ("dc2", "acme"): [("ups1", "ups", "warning")],
        ("dc2", "globex"): [],
        ("unknown", "unknown"): [(EVIL, "linux-disk", "critical")],
    }
    assert data.counts == {"ok": 1, "warning": 1, "critical": 3, "unknown": 1}
    assert (data.hosts_total, data.hosts_checked) == (6, 4)  # 5 in the inventory, and EVIL
    html = render_inspection(data)
    assert html.index("Site dc1") < html.index("dc1 / tenant globex") < html.index("Site dc2")


def test_every_problem_shows_its_owner_and_ticket(world: World) -> None:
    data = world.report(DAY3)
    disk = problem(data, "web1", "linux-disk")
    assert disk.owner == "dave@example.net"  # the ticket's owner, not the host's
    assert disk.ticket is not None and disk.ticket.id == world.disk_ticket
    assert disk.since == at(DAY3)  # warning on DAY2, critical since DAY3
    assert problem(data, "db1", "linux-memory").owner == "carol@example.net"  # the host's
    assert problem(data, "db1", "linux-memory").ticket is None
    html = render_inspection(data)
    row = re.search(r'<tr class="problem critical">.*?</tr>', html, re.S)
    assert row and "web1" in row.group() and "dave@example.net" in row.group()
    assert f"#{world.disk_ticket}" in row.group()
    assert "carol@example.net" in html and "facilities@example.net" in html


def test_hosts_that_could_not_be_checked_are_listed(world: World) -> None:
    data = world.report(DAY3)
    unchecked = {u.host: u for u in data.unchecked}
    assert set(unchecked) == {"web2", "spare1"}
    web2 = unchecked["web2"]
    assert (web2.status, web2.reason) == ("critical", "unreachable: connection refused")
    assert web2.ticket is not None and web2.ticket.id == world.web2_ticket
    assert web2.owner == "alice@example.net"
    assert unchecked["spare1"].reason == "no check result on 2026-03-03 (never checked)"
    # web2's unknown checks are said once, by its entry, not as problems of their own
    assert not [p for p in data.problems if p.host == "web2"]
    html = render_inspection(data)
    section = html[html.index("Hosts that could not be checked") :]
    assert "web2" in section and "unreachable: connection refused" in section


def test_changes_since_the_previous_report(world: World) -> None:
    save_snapshot(world.store, world.report(DAY2))
    data = world.report(DAY3)
    assert data.previous_day == "2026-03-02"
    changes = {(c.kind, c.host, c.check): c for c in data.changes}
    assert changes[("new", "db1", "linux-memory")] == Change(
        "new", "db1", "linux-memory", None, "critical", "used_pct 97% (critical >= 95)"
    )
    assert changes[("cleared", "web1", "linux-load")].before == "warning"
    assert changes[("worse", "web1", "linux-disk")].after == "critical"
    assert ("new", "web2", "reachable") in changes
    assert [c.kind for c in data.changes] == sorted(
        (c.kind for c in data.changes),
        key=["new", "worse", "unverified", "better", "cleared"].index,
    )
    html = render_inspection(data)
    changed = html[html.index("Changed since the report of 2026-03-02") : html.index("Site dc1")]
    assert re.search(r"<td>new</td><td>db1</td><td>linux-memory</td>", changed)
    assert re.search(r"<td>cleared</td><td>web1</td><td>linux-load</td>", changed)


def test_changes_rank_statuses_and_an_unchecked_host_clears_nothing(world: World) -> None:
    def was(host: str, check: str, status: str) -> dict[str, str]:
        return {"host": host, "check": check, "status": status, "summary": "before"}

    stored = [
        was("web2", "linux-disk", "warning"),  # web2 is unreachable now: not verified
        was("db1", "linux-memory", "warning"),  # critical now
        was("web1", "linux-disk", "critical"),  # still critical: no change
        was("ups1", "ups", "critical"),  # warning now
        was(EVIL, "linux-disk", "critical"),
        was("spare1", "reachable", "unknown"),
        {"host": "broken"},  # not a problem: skipped
    ]
    with world.store.session() as session:
        session.add(
            InspectionReport(day="2026-03-01", generated_at=at(DAY1), problems={"problems": stored})
        )
    data = world.report(DAY3)
    assert [(c.kind, c.host, c.check, c.before, c.after) for c in data.changes] == [
        ("new", "web2", "reachable", None, "critical"),
        ("worse", "db1", "linux-memory", "warning", "critical"),
        ("unverified", "web2", "linux-disk", "warning", None),
        ("better", "ups1", "ups", "critical", "warning"),
    ]
    assert "not verified" in render_inspection(data)


def test_the_previous_report_is_the_latest_before_the_day_and_a_day_is_replaced(
    world: World,
) -> None:
    for day in (DAY1, DAY2, DAY3, DAY3):
        save_snapshot(world.store, world.report(day))
    with world.store.session() as session:
        days = session.scalars(select(InspectionReport.day).order_by(InspectionReport.day)).all()
    assert days == ["2026-03-01", "2026-03-02", "2026-03-03"]
    again = world.report(DAY2)
    assert again.previous_day == "2026-03-01"
    assert [(c.kind, c.host, c.check, c.before, c.after) for c in again.changes] == [
        ("new", "web1", "linux-disk", None, "warning")
    ]


def test_charts_are_inline_svg_with_one_point_per_reading_and_the_thresholds(
    world: World,
) -> None:
    data = world.report(DAY3)
    (disk,) = problem(data, "web1", "linux-disk").charts
    assert disk.count == 15  # 14 days (one reading a day) and DAY3's afternoon reading
    assert {level.name: level.value for level in disk.levels} == {
        "warning": 85,
        "critical": 92,  # web1's own level from the inventory
    }
    (ups,) = problem(data, "ups1", "ups").charts
    assert ups.trend and ups.count == 7
    html = render_inspection(data)
    assert html.count("<svg") == 2
    assert sorted(polylines(html)) == [7, 15]
    assert 'class="level critical"' in html and "critical 92" in html
    # the earlier day's chart ends with that day
    (earlier,) = problem(world.report(DAY2), "web1", "linux-disk").charts
    assert earlier.count == 14


def test_device_text_is_escaped(world: World) -> None:
    html = render_inspection(world.report(DAY3))
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;disk&lt;/b&gt; full" in html
    assert "&lt;script&gt;x()&lt;/script&gt;" in html  # the raw output, kept as text


def test_an_earlier_day_is_reported_as_it_stood(world: World) -> None:
    data = world.report(DAY2)
    assert sorted((p.host, p.check, p.status) for p in data.problems) == [
        ("web1", "linux-disk", "warning"),
        ("web1", "linux-load", "warning"),
    ]
    assert [u.host for u in data.unchecked] == ["spare1"]  # web2 was reachable then
    assert problem(data, "web1", "linux-disk").since == at(DAY2)
    assert problem(data, "web1", "linux-load").since == at(DAY1)
    assert data.counts == {"ok": 3, "warning": 2, "critical": 0, "unknown": 0}


def test_the_day_is_a_day_of_the_time_zone(world: World) -> None:
    # DAY3 02:00 UTC is still DAY2 in New York: that sweep ends New York's DAY2
    data = world.report(DAY2, tz="America/New_York")
    assert problem(data, "web1", "linux-disk").status == "critical"
    assert "America/New_York" in render_inspection(data)


def test_a_host_not_checked_that_day_is_listed_with_its_last_problems(world: World) -> None:
    with world.store.session() as session:
        session.execute(
            delete(CheckResultRow).where(
                CheckResultRow.host == "web1", CheckResultRow.at >= at(DAY3, 0)
            )
        )
    data = world.report(DAY3)
    unchecked = {u.host: u for u in data.unchecked}
    assert unchecked["web1"].reason == "no check result on 2026-03-03 (last checked 2026-03-02)"
    stale = [(p.check, p.status, p.stale) for p in data.problems if p.host == "web1"]
    assert stale == [("linux-disk", "warning", True), ("linux-load", "warning", True)]
    assert "last result 2026-03-02 02:00: not checked on 2026-03-03" in render_inspection(data)


# -- the command ----------------------------------------------------------------------------


@pytest.fixture
def invoke(world: World, tmp_path: Path):
    assert COMMANDS["report"] == "automator.cli._report:report"
    project = tmp_path / "project"
    (project / "checks").mkdir(parents=True)
    (project / "checks" / "linux-disk.yaml").write_text(DISK_CHECK)

    def run(*args: str):
        settings = ["--home", str(world.home), "--inventory", str(world.inventory_dir)]
        settings += ["--project", str(project)]
        return CliRunner().invoke(cli, ["report", "inspection", *args, *settings])

    return run


def test_the_command_writes_the_report_and_keeps_its_snapshot(world: World, invoke) -> None:
    result = invoke("--date", "2026-03-03")
    assert result.exit_code == 0, result.output
    written = world.home / "reports" / "inspection-2026-03-03.html"
    assert f"wrote {written}" in result.output.replace("\n", "")
    html = written.read_text()
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html
    assert 'class="level critical"' in html  # the levels of the project's checks/
    assert "dave@example.net" in html and "Sign-off" in html
    with world.store.session() as session:
        stored = session.scalars(select(InspectionReport)).one()
    assert stored.day == "2026-03-03"
    assert {"host": "db1", "check": "linux-memory", "status": "critical",
            "summary": "used_pct 97% (critical >= 95)"} in stored.problems["problems"]  # fmt: skip

    elsewhere = world.home.parent / "out" / "day2.html"
    result = invoke("--date", "2026-03-02", "--output", str(elsewhere))
    assert result.exit_code == 0, result.output
    assert "Daily inspection report — 2026-03-02" in elsewhere.read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--date", "2026-02-30"), "Invalid value for '--date'"),
        (("--date", "yesterday"), "Invalid value for '--date'"),
        (("--timezone", "Mars/Olympus"), "unknown time zone 'Mars/Olympus'"),
    ],
)
def test_bad_input_is_a_clear_error(world: World, invoke, args, message) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.output
    assert not (world.home / "reports").exists()
    with world.store.session() as session:
        assert session.scalar(select(func.count()).select_from(InspectionReport)) == 0


def test_an_unwritable_output_is_an_error_and_keeps_no_snapshot(
    world: World, invoke, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from automator.cli import main

    (tmp_path / "plain-file").write_text("")
    target = tmp_path / "plain-file" / "report.html"
    settings = ["--home", str(world.home), "--inventory", str(world.inventory_dir)]
    code = main(
        ["report", "inspection", "--date", "2026-03-03", "--output", str(target), *settings]
    )
    assert code == 2
    assert f"cannot write {target}" in capsys.readouterr().err.replace("\n", "")
    with world.store.session() as session:
        assert session.scalar(select(func.count()).select_from(InspectionReport)) == 0
