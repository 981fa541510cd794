"""Event-driven remediation end to end on real parts: the real Alertmanager posts to our hook,
a rule decides, a playbook restarts the lab service over SSH, a verify step checks it, and the
ticket tells the story — or, when a restart cannot fix it, rolls back and escalates."""

from __future__ import annotations

import contextlib
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from automator.api import create_app
from automator.config import Settings
from automator.engine import RemediationEngine
from automator.events import EventIntake
from automator.inventory import load_inventory
from automator.jobs import Pipeline
from automator.rules import Coalescer, RuleEngine, StoreRuleState, load_rulebook
from automator.runbooks import Catalogue
from automator.store import Run, Store, Ticket, utcnow
from automator.store._events import EventRow
from automator.tickets import TicketService

from .alertmanager import fire, fire_many, running_alertmanager, running_server
from .helpers import PROJECT, servers, ssh

TOKEN = "test-hook-token-1b2c"


@dataclass
class World:
    alertmanager: str
    tickets: TicketService
    pipeline: Pipeline
    store: Store


@contextlib.contextmanager
def serving(tmp_path: Path, inventory_dir: Path, remediations: Path) -> Iterator[World]:
    """automator serve's parts in this process, and the real Alertmanager posting to it."""
    settings = Settings.from_env(
        home=tmp_path / "home", inventory_dir=inventory_dir, project_dir=PROJECT
    )
    store = Store.open(settings.database_url)
    inventory = load_inventory(inventory_dir)
    catalogue = Catalogue(settings.runbooks_dir, settings.playbooks_dir)
    pipeline = Pipeline(store, inventory, catalogue, settings.artifacts_dir)
    rules = RuleEngine(
        load_rulebook(remediations, catalogue), StoreRuleState(store), utcnow, inventory
    )
    engine = RemediationEngine(
        pipeline, EventIntake(store), rules, Coalescer(timedelta(seconds=1), utcnow)
    )
    stop = threading.Event()
    worker = threading.Thread(target=engine.run, args=(stop,), kwargs={"idle": 0.2})
    worker.start()
    try:
        with (
            running_server(create_app(settings, store, on_ingested=engine.wake)) as port,
            running_alertmanager(
                tmp_path / "am", f"http://127.0.0.1:{port}/hooks/alertmanager", TOKEN
            ) as alertmanager,
        ):
            yield World(alertmanager, TicketService(store), pipeline, store)
    finally:
        stop.set()
        engine.wake()
        worker.join(60)
        pipeline.executor.shutdown()


@pytest.fixture
def world(lab, tmp_path, monkeypatch) -> Iterator[World]:
    monkeypatch.setenv("AUTOMATOR_HOOK_TOKEN_ALERTMANAGER", TOKEN)
    with serving(tmp_path, lab.inventory_dir, PROJECT / "remediations") as world:
        yield world


def wait_for_ticket(world: World, host: str, status: str, timeout: float = 90) -> Ticket:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for ticket in world.tickets.list(kind=["incident"], host=host):
            if ticket.status == status:
                return world.tickets.get(ticket.id)
        time.sleep(0.5)
    found = [(t.id, t.status) for t in world.tickets.list(host=host)]
    raise AssertionError(f"no {status} incident for {host} within {timeout} s: {found}")


def alert(host: str) -> dict[str, str]:
    return {
        "alertname": "LabsvcDown",
        "host": host,
        "service": "labsvc",
        "severity": "critical",
        "site": "lab",
    }


def test_a_stopped_service_is_restarted_verified_and_the_incident_resolved(lab, world):
    host = servers(world.pipeline.inventory)[0]
    ssh(
        host,
        "mkdir -p /srv/labsvc && printf 'mode=normal\\n' > /srv/labsvc/labsvc.conf; "
        "service labsvc stop",
    )
    assert ssh(host, "service labsvc status")[0] != 0

    fire(world.alertmanager, alert(host.name))
    ticket = wait_for_ticket(world, host.name, "resolved")

    story = [entry.message for entry in ticket.entries]
    assert any(
        m.startswith(f"alert LabsvcDown firing on {host.name}") and "rule restart-labsvc: run" in m
        for m in story
    ), story
    assert any("restart-service (rule restart-labsvc)" in m for m in story), story
    assert f"verified on {host.name}" in story
    assert ticket.status == "resolved"
    fix = ticket.runs[0]
    assert fix.job.rule == "restart-labsvc"
    assert {r.host: r.outcome for r in fix.host_results} == {host.name: "changed"}
    assert ssh(host, "service labsvc status")[0] == 0


def test_a_fault_a_restart_cannot_fix_is_rolled_back_and_escalated(lab, world):
    host = servers(world.pipeline.inventory)[1]
    ssh(
        host,
        "mkdir -p /srv/labsvc && printf 'mode=broken\\n' > /srv/labsvc/labsvc.conf; "
        "service labsvc restart",
    )

    fire(world.alertmanager, alert(host.name))
    ticket = wait_for_ticket(world, host.name, "escalated")

    story = [entry.message for entry in ticket.entries]
    assert f"verification failed on {host.name}" in story, story
    assert any(
        m.startswith(f"rolled back {host.name}: run #") and m.endswith("succeeded") for m in story
    ), story
    # the rollback put the good configuration back: the service is healthy again
    rc, _ = ssh(
        host,
        'python3 -c "import urllib.request; '
        "urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=3)\"",
    )
    assert rc == 0


def test_a_storm_is_one_incident_remediated_within_the_budget_and_never_twice(
    lab, tmp_path, monkeypatch
):
    """1,000 alerts across 50 hosts through the real Alertmanager: one correlated incident
    with every host, at most 5 hosts remediated (the budget), none of them twice."""
    monkeypatch.setenv("AUTOMATOR_HOOK_TOKEN_ALERTMANAGER", TOKEN)
    inventory_dir = tmp_path / "inventory"
    shutil.copytree(lab.inventory_dir, inventory_dir)
    real = sorted(
        h
        for h in load_inventory(inventory_dir).hosts
        if load_inventory(inventory_dir).get(h).kind == "server"
    )
    # never contacted: the budget admits the first hosts in name order, the lab's
    extra = {
        f"zz-storm{i:02d}": {
            "hostname": f"192.0.2.{i}",
            "platform": "linux",
            "groups": ["lab_servers"],
        }
        for i in range(50 - len(real))
    }
    with (inventory_dir / "hosts.yaml").open("a") as hosts:
        hosts.write(yaml.safe_dump(extra))
    names = real + sorted(extra)
    assert len(names) == 50
    with serving(
        tmp_path, inventory_dir, Path(__file__).parent / "storm" / "remediations"
    ) as world:
        fire_many(
            world.alertmanager,
            [
                {
                    "alertname": "ServiceFlapping",
                    "host": names[i % 50],
                    "site": "lab",
                    "probe": str(i),
                }
                for i in range(1000)
            ],
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with world.store.session() as session:
                received = session.scalar(select(func.count(EventRow.id)))
                undecided = session.scalar(
                    select(func.count(EventRow.id)).where(EventRow.decided_at.is_(None))
                )
                runs = session.scalars(select(Run).where(Run.finished_at.is_not(None))).all()
            if received == 1000 and undecided == 0 and runs:
                break
            time.sleep(0.5)
        assert received == 1000 and undecided == 0
        time.sleep(3)  # any late batch would have been submitted by now
        incidents = world.tickets.list(kind=["incident"], limit=100)
        assert len(incidents) == 1
        incident = world.tickets.get(incidents[0].id)
        assert sorted(h.host for h in incident.hosts) == sorted(names)
        remediated = [
            r.host
            for run in incident.runs
            for r in run.host_results
            if r.outcome in ("ok", "changed")
        ]
        assert sorted(remediated) == real[:5]  # exactly the budget, each host once
        for name in real[:5]:  # and on the hosts themselves: one mark each, never two
            host = world.pipeline.inventory.get(name)
            assert ssh(host, "wc -l < /srv/marks")[1].strip() == "1"
        assert ssh(world.pipeline.inventory.get(real[5]), "test -e /srv/marks")[0] != 0


def test_hosts_alerting_together_are_fixed_in_one_ansible_run(lab, world):
    hosts = servers(world.pipeline.inventory)[2:5]
    for host in hosts:
        ssh(
            host,
            "mkdir -p /srv/labsvc && printf 'mode=normal\\n' > /srv/labsvc/labsvc.conf;"
            " service labsvc stop",
        )
    for host in hosts:
        fire(world.alertmanager, alert(host.name))
    ticket = wait_for_ticket(world, hosts[0].name, "resolved")
    fixes = [run for run in ticket.runs if run.job.action == "restart-service"]
    assert len(fixes) == 1  # one ansible-runner invocation with a limit list
    assert {r.host: r.outcome for r in fixes[0].host_results} == {h.name: "changed" for h in hosts}
    assert (Path(fixes[0].artifacts_dir or "") / "ansible" / "job_events").is_dir()
    for host in hosts:
        assert ssh(host, "service labsvc status")[0] == 0
