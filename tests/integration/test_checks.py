"""Health checks on the lab's real parts: sshd hosts over paramiko, the recorded-output
switch simulator over netmiko, a UPS served by net-snmp's snmpd over SNMP. Faults are made
for real (a small filesystem filled up, a service stopped, an interface down, error counters
rising, a UPS on battery warming day by day); the right tickets open, then resolve once the
faults are cleared."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from automator.checks import CheckService, Status, SweepSummary, check_action, load_checks
from automator.events import EventIntake
from automator.inventory import load_inventory
from automator.jobs import Pipeline
from automator.lab._simulator import reset_output, set_output
from automator.lab._snmpd import set_values
from automator.runbooks import Catalogue
from automator.store import CheckState, Store, Ticket, utcnow
from automator.tickets import TicketService

from .helpers import PROJECT, automator_cli, ssh, stopped

REPO = Path(__file__).resolve().parents[2]
UP = "GigabitEthernet0/2 is up, line protocol is up (connected)"
DOWN = "GigabitEthernet0/2 is down, line protocol is down (notconnect)"


class Clock:
    """The sweeps' clock: a day passes between the sweeps of a trend."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self):  # type: ignore[no-untyped-def]
        return self.now


@dataclass
class World:
    service: CheckService
    store: Store
    clock: Clock

    def sweep(self, limit: str, *checks: str) -> SweepSummary:
        return self.service.run(self.service.spec(list(checks), limit, "pytest", forks=10))

    def state(self, host: str, check: str) -> CheckState:
        with self.store.session() as session:
            state = session.get(CheckState, (host, check))
            assert state is not None, (host, check)
            session.expunge(state)
            return state

    def ticket(self, ticket_id: int | None) -> Ticket:
        assert ticket_id is not None
        return TicketService(self.store).get(ticket_id)


@pytest.fixture
def world(lab, tmp_path) -> Iterator[World]:
    inventory = load_inventory(lab.inventory_dir)
    store = Store.open(f"sqlite:///{tmp_path / 'automator.db'}")
    catalogue = load_checks(REPO / "checks")
    clock = Clock()
    pipeline = Pipeline(
        store,
        inventory,
        Catalogue(
            PROJECT / "runbooks",
            PROJECT / "playbooks",
            builtins={"checks": lambda: check_action(catalogue, clock)},
        ),
        tmp_path / "artifacts",
    )
    yield World(CheckService(store, pipeline, catalogue, inventory, clock=clock), store, clock)
    pipeline.executor.shutdown()
    store.dispose()


def result(summary: SweepSummary, host: str, check: str):  # type: ignore[no-untyped-def]
    return next(r for r in summary.results if r.host == host and r.check == check)


def finding(summary: SweepSummary, host: str, check: str, metric: str, item: str = ""):  # type: ignore[no-untyped-def]
    return next(
        f
        for f in result(summary, host, check).findings
        if f.metric == metric and f.item == item and not f.trend
    )


def test_faults_open_the_right_tickets_which_resolve_once_cleared(lab, world):
    inventory = load_inventory(lab.inventory_dir)
    h1, h2 = inventory.get("atesth1"), inventory.get("atesth2")
    outputs, ups = lab.sim_outputs_dir, lab.facility_values_file("ups1")
    limit = "atesth1,atesth2,sim1,sim2,ups1"
    checks = ("linux-disk", "linux-service", "ios-interfaces", "ups")
    for host in (h1, h2):
        assert ssh(host, "/etc/init.d/labsvc start")[0] == 0
    healthy = world.sweep(limit, *checks)
    assert {(r.host, r.check): r.status for r in healthy.results if r.status.failing} == {}
    assert healthy.opened == []

    # the faults, made for real
    rc, out = ssh(
        h1,
        "mkdir -p /srv/full && mount -t tmpfs -o size=1m tmpfs /srv/full && "
        "dd if=/dev/zero of=/srv/full/fill bs=1k count=1000 2>&1",
    )
    assert rc == 0, out
    assert ssh(h2, "/etc/init.d/labsvc stop")[0] == 0
    show = (outputs / "_default" / "show_interfaces.txt").read_text()
    assert UP in show
    set_output(outputs, "sim1", "show interfaces", show.replace(UP, DOWN))
    set_values(ups, {"upsOutputSource": 5, "upsSecondsOnBattery": 300, "upsBatteryTemperature": 30})
    try:
        world.clock.now += timedelta(days=1)
        day1 = world.sweep(limit, *checks)
        assert (
            finding(day1, "atesth1", "linux-disk", "used_pct", "/srv/full").status
            is Status.CRITICAL
        )
        assert result(day1, "atesth2", "linux-service").status is Status.CRITICAL
        assert finding(day1, "sim1", "ios-interfaces", "down", "GigabitEthernet0/2").value == 1
        assert result(day1, "sim1", "ios-interfaces").status is Status.CRITICAL
        assert result(day1, "sim2", "ios-interfaces").status is Status.OK
        assert finding(day1, "ups1", "ups", "on_battery").status is Status.WARNING
        assert len(day1.opened) == 4
        tickets = {
            (r.host, r.check): world.ticket(world.state(r.host, r.check).ticket_id)
            for r in day1.results
            if r.status.failing
        }
        assert set(tickets) == {
            ("atesth1", "linux-disk"),
            ("atesth2", "linux-service"),
            ("sim1", "ios-interfaces"),
            ("ups1", "ups"),
        }
        disk = tickets["atesth1", "linux-disk"]
        assert (disk.kind, disk.priority, disk.owner) == ("incident", "P2", h1.owner)
        assert tickets["ups1", "ups"].priority == "P2"  # a warning: one under the check's P1
        raw = result(day1, "atesth1", "linux-disk").raw
        assert "/srv/full" in raw and "$ df -P -k" in raw

        # day 2: error counters start rising on sim2, the UPS battery warms
        counters = "     0 input errors, 0 CRC, 0 frame, 0 overrun, 0 ignored"
        assert counters in show
        set_output(
            outputs,
            "sim2",
            "show interfaces",
            show.replace(
                counters, "     42 input errors, 40 CRC, 0 frame, 0 overrun, 0 ignored", 1
            ),
        )
        set_values(ups, {"upsBatteryTemperature": 31})
        world.clock.now += timedelta(days=1)
        day2 = world.sweep(limit, *checks)
        assert day2.opened != [] and len(day2.opened) == 1  # sim2's rising counters
        trend = [f for f in result(day2, "sim2", "ios-interfaces").findings if f.trend]
        assert {f.metric for f in trend} == {"input_errors", "crc"}
        assert len({f.item for f in trend}) == 1  # the one interface whose counters rose
        # recurring failures update their tickets, they do not open others
        assert set(day2.updated) >= {t.id for t in tickets.values()}

        # day 3: the UPS battery is still under 40 °C, but warming steadily
        set_values(ups, {"upsBatteryTemperature": 32})
        world.clock.now += timedelta(days=1)
        day3 = world.sweep(limit, "ups")
        temperature = finding(day3, "ups1", "ups", "battery_temperature_c")
        assert temperature.value == 32 and temperature.status is Status.OK
        warming = [f for f in result(day3, "ups1", "ups").findings if f.trend]
        assert warming and "battery_temperature_c trend: rising +1" in warming[0].message
        timeline = [e.message for e in world.ticket(tickets["ups1", "ups"].id).entries]
        assert any("still warning" in m and "rising" in m for m in timeline)
    finally:
        ssh(h1, "umount /srv/full; rmdir /srv/full")
        ssh(h2, "/etc/init.d/labsvc start")
        reset_output(outputs, "sim1", "show interfaces")
        reset_output(outputs, "sim2", "show interfaces")
        set_values(
            ups, {"upsOutputSource": 3, "upsSecondsOnBattery": 0, "upsBatteryTemperature": 24}
        )

    world.clock.now += timedelta(days=1)
    cleared = world.sweep(limit, *checks)
    assert [r for r in cleared.results if r.status.failing] == []
    assert len(cleared.resolved) == 5
    for ticket_id in cleared.resolved:
        ticket = world.ticket(ticket_id)
        assert ticket.status == "resolved"
        assert "passes again" in ticket.entries[-2].message

    events = EventIntake(world.store).list_events(source="checks", limit=50)
    fired = {(e.event.host, e.event.labels["check"]) for e in events if e.event.status == "firing"}
    assert ("sim1", "ios-interfaces") in fired and ("ups1", "ups") in fired
    resolved = [e for e in events if e.event.status == "resolved"]
    assert len(resolved) == 5 and all(e.firing_event_id for e in resolved)


def test_an_unreachable_host_is_one_ticket_and_its_checks_unknown(lab, world):
    with stopped(lab, "atesth3"):
        summary = world.sweep("atesth3", "linux-disk", "linux-memory")
    assert {r.status for r in summary.results if r.host == "atesth3"} == {Status.UNKNOWN}
    assert all("not checked: unreachable" in r.summary for r in summary.results)
    assert summary.run.results["atesth3"].outcome.value == "unreachable"
    [ticket_id] = summary.opened
    assert world.ticket(ticket_id).title.startswith("reachable critical on atesth3")
    world.clock.now += timedelta(hours=1)
    back = world.sweep("atesth3", "linux-disk", "linux-memory")
    assert back.resolved == [ticket_id]


def test_output_that_does_not_parse_is_unknown_and_kept(lab, world):
    outputs = lab.sim_outputs_dir
    set_output(outputs, "sim3", "show processes cpu", "%SYS-3-CPUHOG: garbled\nno table here\n")
    try:
        summary = world.sweep("sim3", "ios-cpu")
    finally:
        reset_output(outputs, "sim3", "show processes cpu")
    cpu = result(summary, "sim3", "ios-cpu")
    assert cpu.status is Status.UNKNOWN
    assert "did not parse" in cpu.summary
    assert "no table here" in cpu.raw
    assert summary.run.results["sim3"].outcome.value == "failed"


def test_the_simulated_switches_pass_every_network_check(lab, world):
    summary = world.sweep("sim1,sim2,sim3,ups1,pdu1,crac1")
    failing = {(r.host, r.check): r.summary for r in summary.results if r.status.failing}
    assert failing == {}
    checked = {r.check for r in summary.results}
    assert {"ios-bgp", "ios-environment", "ios-config-saved", "ups", "pdu", "cooling"} <= checked


def test_running_configuration_is_judged_but_never_stored(lab, world):
    summary = world.sweep("sim1", "ios-config-saved")
    saved = result(summary, "sim1", "ios-config-saved")
    assert saved.status is Status.OK
    assert "not kept" in saved.raw and "enable secret" not in saved.raw
    with world.store.session() as session:
        from automator.store import CheckResultRow, HostResultRow

        rows = session.scalars(select(CheckResultRow.raw)).all()
        outputs = session.scalars(select(HostResultRow.output)).all()
    assert not any("hostname sim1" in text for text in [*rows, *outputs])


def test_the_check_command(lab, tmp_path):
    automator = automator_cli(tmp_path / "home", lab.inventory_dir, REPO)
    listed = automator("check", "--list")
    assert listed.returncode == 0 and "linux-disk" in listed.stdout and "ups" in listed.stdout
    ok = automator("check", "--limit", "sim1,ups1", "--check", "ios-cpu", "--check", "ups")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "2 ok on 2 hosts" in ok.stdout
    outputs = lab.sim_outputs_dir
    set_output(outputs, "sim2", "show processes cpu", "garbage\n")
    try:
        bad = automator("check", "--limit", "sim2", "--check", "ios-cpu")
    finally:
        reset_output(outputs, "sim2", "show processes cpu")
    assert bad.returncode == 2
    assert "unknown" in bad.stdout and "tickets opened: #" in bad.stdout
    wrong = automator("check", "--check", "nope")
    assert wrong.returncode != 0 and "no check named 'nope'" in wrong.stderr
    assert "Traceback" not in wrong.stderr


def test_a_failing_check_is_remediated_by_a_rule_on_its_own_ticket(lab, tmp_path):
    """Data-triggered automation: the shipped rule restart-labsvc-on-check acts on the check's
    event, logs the fix on the check's incident, and the next sweep resolves it."""
    import threading
    import time

    from automator.engine import RemediationEngine
    from automator.rules import Coalescer, RuleEngine, StoreRuleState, load_rulebook

    inventory = load_inventory(lab.inventory_dir)
    store = Store.open(f"sqlite:///{tmp_path / 'automator.db'}")
    catalogue = load_checks(REPO / "checks")
    from automator.cli._app import open_catalogue
    from automator.config import Settings

    settings = Settings.from_env(
        home=tmp_path, inventory_dir=lab.inventory_dir, project_dir=REPO, environ={}
    )
    pipeline = Pipeline(store, inventory, open_catalogue(settings), tmp_path / "artifacts")
    rules = RuleEngine(
        load_rulebook(REPO / "remediations", pipeline.catalogue),
        StoreRuleState(store),
        utcnow,
        inventory,
    )
    engine = RemediationEngine(
        pipeline, EventIntake(store), rules, Coalescer(timedelta(seconds=1), utcnow)
    )
    service = CheckService(
        store, pipeline, catalogue, inventory, engine.intake, on_events=engine.wake
    )
    host = inventory.get("atesth4")
    stop = threading.Event()
    worker = threading.Thread(target=engine.run, args=(stop,), kwargs={"idle": 0.2})
    worker.start()
    try:
        assert ssh(host, "/etc/init.d/labsvc stop; /etc/init.d/labsvc status")[0] != 0
        spec = service.spec(["linux-service"], "atesth4", "pytest")
        found = service.run(spec)
        [ticket_id] = found.opened
        deadline = time.monotonic() + 120
        story: list[str] = []
        while time.monotonic() < deadline:
            story = [e.message for e in TicketService(store).get(ticket_id).entries]
            if any("verified on atesth4" in m for m in story):
                break
            time.sleep(0.5)
        assert any("restart-labsvc-on-check" in m for m in story), story
        assert any("verified on atesth4" in m for m in story), story
        assert ssh(host, "/etc/init.d/labsvc status")[0] == 0
        again = service.run(spec)
        assert again.resolved == [ticket_id]
        assert TicketService(store).get(ticket_id).status == "resolved"
        with store.session() as session:
            assert session.query(Ticket).count() == 1  # the fix opened no ticket of its own
    finally:
        stop.set()
        engine.wake()
        worker.join(60)
        pipeline.executor.shutdown()
        ssh(host, "/etc/init.d/labsvc stop")
        store.dispose()


def test_a_schedule_starts_its_sweep_at_its_cron_time(lab, world):
    """serve's wiring: the scheduler starts a sweep of the schedule's checks when due, and
    records how it ended."""
    import time

    from automator.checks import scheduled_sweeps
    from automator.schedule import Scheduler

    entries, start = scheduled_sweeps(world.service)
    [facility] = [e for e in entries if "ups" in e.description.split(", ")]
    assert facility.cron == "*/15 * * * *"
    now = [facility.next_due(utcnow()) - timedelta(minutes=1)]
    scheduler = Scheduler(world.store, [facility], start, "pytest", clock=lambda: now[0])
    assert scheduler.tick() == []  # seen for the first time: due at its next cron time
    now[0] += timedelta(minutes=1)
    assert scheduler.tick() == [facility.name]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        [status] = scheduler.status()
        if not status.running and status.last_status:
            break
        time.sleep(0.2)
    assert status.last_status == "succeeded", status
    assert status.last_run_id is not None
    assert world.state("ups1", "ups").run_id == status.last_run_id
    assert world.state("crac1", "cooling").status == "ok"
    scheduler.stop()


def test_a_check_reads_a_fact_that_a_playbook_gathers(lab, tmp_path):
    """``playbook`` + ``fact``: Ansible's gathering runs once per sweep for every check that
    names it, on the hosts those checks apply to, through ansible-runner over real SSH."""
    import shutil

    project = tmp_path / "project"
    shutil.copytree(REPO / "checks", project / "checks")  # the lab's inventory names them
    (project / "playbooks").mkdir()
    shutil.copy(REPO / "playbooks" / "gather-facts.yml", project / "playbooks")
    shipped = (REPO / "checks" / "linux-uptime.yaml").read_text()
    assert "enabled: false" in shipped  # opt-in: it costs a playbook run
    (project / "checks" / "linux-uptime.yaml").write_text(  # this machine may be new
        shipped.replace("enabled: false", "enabled: true").replace("86400", "60")
    )
    (project / "checks" / "uptime-strict.yaml").write_text(
        shipped.replace("enabled: false", "enabled: true").replace("86400", "1000000000")
    )
    inventory = load_inventory(lab.inventory_dir)
    store = Store.open(f"sqlite:///{tmp_path / 'automator.db'}")
    catalogue = load_checks(project / "checks")
    pipeline = Pipeline(
        store,
        inventory,
        Catalogue(
            project / "runbooks",
            project / "playbooks",
            builtins={"checks": lambda: check_action(catalogue)},
        ),
        tmp_path / "artifacts",
    )
    service = CheckService(store, pipeline, catalogue, inventory)
    try:
        with stopped(lab, "atesth6"):
            summary = service.run(
                service.spec(
                    ["linux-uptime", "uptime-strict"], "atesth1,atesth2,atesth6,sim1", "pytest"
                )
            )
    finally:
        pipeline.executor.shutdown()
        store.dispose()
    uptime = finding(summary, "atesth1", "linux-uptime", "uptime_seconds")
    assert uptime.status is Status.OK and uptime.value is not None and uptime.value > 0
    strict = result(summary, "atesth2", "uptime-strict")
    assert strict.status is Status.WARNING
    assert '"uptime_seconds"' in strict.raw  # the fact, as the parser read it
    down = result(summary, "atesth6", "linux-uptime")
    assert down.status is Status.UNKNOWN and "unreachable" in down.summary
    assert summary.run.results["sim1"].outcome.value == "skipped"  # no check for a switch
    runs = list((summary.run.artifacts_dir or tmp_path).glob("facts-*"))
    assert [p.name for p in runs] == ["facts-gather-facts"]  # one playbook run for both
