"""Config backups on the lab's real parts: the recorded-output simulator changed through its
CLI over netmiko, sshd hosts over paramiko, git, SQLite, the hooks and the rule engine."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from netmiko import ConnectHandler

from automator.api import create_app
from automator.backups import BackupService
from automator.cli._app import open_backup_service, open_pipeline
from automator.config import Settings
from automator.engine import RemediationEngine
from automator.events import EventIntake
from automator.inventory import Host, load_inventory
from automator.lab._simulator import reset_output, set_output
from automator.rules import Coalescer, RuleEngine, StoreRuleState, load_rulebook
from automator.store import Job, Ticket, utcnow
from automator.tickets import TicketKind, TicketService, TicketStatus

from .alertmanager import running_server
from .helpers import automator_cli, stopped

REPO = Path(__file__).resolve().parents[2]
SECRETS = (
    "$1$mERr$hx5rVt7rPNoS4wqbXKX7m0",
    "Sup3rS3cretCommunity",
    "$9$nhEmQVczB7dQD.$XvRb2hAGDDtUGnNMBeXWoVlwCy9KxN7ZxHK6RqYGqn2",
)


@dataclass
class World:
    settings: Settings
    service: BackupService

    def backup(self, limit: str):  # type: ignore[no-untyped-def]
        return self.service.pipeline.run(self.service.spec(limit, "pytest", forks=5))

    def host(self, name: str) -> Host:
        return self.service.inventory.get(name)


@pytest.fixture
def world(lab, tmp_path) -> Iterator[World]:
    settings = Settings.from_env(
        home=tmp_path / "home", inventory_dir=lab.inventory_dir, project_dir=REPO
    )
    pipeline = open_pipeline(settings, load_inventory(lab.inventory_dir))
    yield World(settings, open_backup_service(pipeline))
    pipeline.executor.shutdown()
    pipeline.store.dispose()


def configure(host: Host, lines: list[str]) -> None:
    """Change a simulated switch the way a person would: over SSH, in config mode, then
    write memory (the session's other tests check that running is saved to startup)."""
    credentials = host.credentials
    connection = ConnectHandler(
        device_type="cisco_ios",
        host=host.hostname,
        port=host.port,
        username=credentials.username,
        password=credentials.password(),
        secret=credentials.enable_secret(),
    )
    try:
        connection.enable()
        connection.send_config_set(lines)
        connection.save_config()
    finally:
        connection.disconnect()


def changed_lines(diff: str) -> list[str]:
    return [
        line
        for line in diff.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def test_a_change_made_on_the_cli_is_exactly_the_next_diff_with_secrets_masked(world, lab):
    first = world.backup("sim1")
    assert first.status.value == "succeeded", first.results
    assert first.recorded.changed == ["sim1"] and first.recorded.drift == []
    again = world.backup("sim1")
    assert again.recorded.commit is None and again.recorded.unchanged == ["sim1"]

    configure(
        world.host("sim1"),
        [
            "interface GigabitEthernet0/3",
            "description CHANGED-BY-TEST",
            "exit",
            f"enable secret 5 {SECRETS[0]}",
            f"snmp-server community {SECRETS[1]} RO",
            f"username ops privilege 15 secret 9 {SECRETS[2]}",
        ],
    )
    changed = world.backup("sim1")
    record = changed.recorded
    assert record.changed == ["sim1"] and record.commit
    store = world.service.backups
    assert [v.version for v in store.history("sim1")] == [2, 1]
    assert sorted(changed_lines(store.diff("sim1", 1, 2))) == sorted(
        [
            "- description to iosvl2-3",
            "+ description CHANGED-BY-TEST",
            "+enable secret 5 <removed>",
            "+snmp-server community <removed> RO",
            "+username ops privilege 15 secret 9 <removed>",
        ]
    )
    # no change ticket covers it: an incident for the device's owner, with the diff
    [drift] = record.drift
    assert not drift.authorised
    incident = TicketService(world.service.store).get(drift.ticket_id)
    assert incident.kind == "incident" and incident.title.startswith("unauthorised change on sim1")
    assert incident.owner == world.host("sim1").owner
    assert any("CHANGED-BY-TEST" in entry.message for entry in incident.entries)

    # no secret anywhere: git history, the database, artifacts, tickets
    home = world.settings.home
    git_log = subprocess.run(
        ["git", "-C", str(home / "backups" / "repo"), "log", "-p", "--all"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "CHANGED-BY-TEST" in git_log
    with sqlite3.connect(home / "automator.db") as db:
        dump = "\n".join(db.iterdump())
    artifacts = "\n".join(
        p.read_text(errors="replace") for p in (home / "artifacts").rglob("*") if p.is_file()
    )
    for secret in SECRETS:
        for where, text in (("git", git_log), ("database", dump), ("artifacts", artifacts)):
            assert secret not in text, f"{secret} found in the {where}"


def test_a_change_under_an_approved_change_ticket_is_logged_on_it(world, lab):
    world.backup("sim2")
    tickets = TicketService(world.service.store)
    change = tickets.open(
        kind=TicketKind.CHANGE, title="new NTP server on sim2", actor="alice", hosts=["sim2"]
    )
    tickets.set_status(change, TicketStatus.ACKNOWLEDGED, "bob", "approved in CAB")
    configure(world.host("sim2"), ["ntp server 10.0.0.99"])
    after = world.backup("sim2")
    [drift] = after.recorded.drift
    assert drift.authorised and drift.ticket_id == change
    entries = [e.message for e in tickets.get(change).entries]
    assert any("+ntp server 10.0.0.99" in m for m in entries)
    with world.service.store.session() as session:
        incidents = session.query(Ticket).filter(Ticket.kind == "incident").count()
    assert incidents == 0


def test_restore_pushes_a_version_back_and_verifies_it(world, lab):
    first = world.backup("sim3")
    original = first.recorded
    configure(world.host("sim3"), ["interface GigabitEthernet0/1", "description OOPS", "exit"])
    world.backup("sim3")
    store = world.service.backups
    assert store.latest("sim3").version == 2

    restored = world.service.pipeline.run(world.service.restore_spec("sim3", 1, "pytest"))
    assert restored.status.value == "succeeded", restored.results
    assert restored.results["sim3"].data["applied"] == [
        "interface GigabitEthernet0/1",
        " description to iosvl2-2",
        "exit",
    ]
    latest = store.latest("sim3")
    assert latest.version == 3 and latest.sha256 == store.get("sim3", 1).sha256
    assert store.diff("sim3", 1, 3) == ""
    ticket = TicketService(world.service.store).get(restored.ticket_id)
    assert ticket.kind == "change" and ticket.status == "resolved"
    story = [e.message for e in ticket.entries]
    assert any("verified on sim3" in m for m in story), story
    # the restore's own change covers the change it made: logged there, no incident
    assert any("as this change planned" in m for m in story), story
    assert original.commit is not None


def test_a_bad_output_never_replaces_a_good_backup(world, lab):
    world.backup("sim1")
    store = world.service.backups
    good = store.latest("sim1")
    outputs = lab.sim_outputs_dir
    running = (outputs / "sim1" / "show_running-config.txt").read_text()
    cases = {
        "": "empty output",
        running.replace("\nend", "\n"): "cut short",
        running.replace("ntp server", " --More-- \nntp server", 1): "paging prompt",
        "% Invalid input detected at '^' marker.\n": "refused by the device",
    }
    try:
        for text, reason in cases.items():
            set_output(outputs, "sim1", "show running-config", text)
            summary = world.backup("sim1")
            result = summary.results["sim1"]
            assert result.outcome.value == "failed" and reason in (result.error or ""), result
            assert store.latest("sim1") == good
    finally:
        reset_output(outputs, "sim1", "show running-config")
        (outputs / "sim1" / "show_running-config.txt").write_text(running)


def test_unreachable_and_wrong_password_are_per_device_outcomes(world, lab, tmp_path):
    with stopped(lab, "atesth5"):
        summary = world.backup("atesth5,sim2")
    assert summary.results["atesth5"].outcome.value == "unreachable"
    assert summary.results["sim2"].outcome.value == "ok"

    broken = tmp_path / "inventory"
    shutil.copytree(lab.inventory_dir, broken)
    wrong = tmp_path / "wrong.password"
    wrong.write_text("not-the-password")
    text = (broken / "groups.yaml").read_text()
    lab_password = str(lab.inventory_dir.parent / "switch.password")
    assert lab_password in text
    (broken / "groups.yaml").write_text(text.replace(lab_password, str(wrong)))
    settings = Settings.from_env(home=tmp_path / "home2", inventory_dir=broken, project_dir=REPO)
    pipeline = open_pipeline(settings, load_inventory(broken))
    try:
        service = open_backup_service(pipeline)
        denied = pipeline.run(service.spec("sim1", "pytest"))
    finally:
        pipeline.executor.shutdown()
    result = denied.results["sim1"]
    assert result.outcome.value == "failed", result
    assert "authentication" in (result.error or "").lower()


def test_server_files_and_commands_are_backed_up(world, lab):
    summary = world.backup("atesth1")
    assert summary.status.value == "succeeded", summary.results
    text = world.service.backups.content(world.service.backups.latest("atesth1"))
    assert "### file /etc/hosts\n" in text
    assert "### command crontab -l" in text
    assert "### file /etc/ssh/sshd_config" in text


def test_a_burst_of_config_change_events_gives_one_backup_after_the_last(world, lab, tmp_path):
    """syslog %SYS-5-CONFIG_I lines posted to the generic hook: the shipped rule, debounced."""
    rules_dir = tmp_path / "remediations"
    rules_dir.mkdir()
    shipped = (REPO / "remediations" / "config-change.yaml").read_text()
    assert "debounce: 30s" in shipped
    (rules_dir / "config-change.yaml").write_text(shipped.replace("debounce: 30s", "debounce: 2s"))
    pipeline = world.service.pipeline
    store = world.service.store
    rules = RuleEngine(
        load_rulebook(rules_dir, pipeline.catalogue),
        StoreRuleState(store),
        utcnow,
        pipeline.inventory,
    )
    engine = RemediationEngine(
        pipeline, EventIntake(store), rules, Coalescer(timedelta(seconds=1), utcnow)
    )
    token = "syslog-hook-token"
    app = create_app(
        world.settings,
        store,
        on_ingested=engine.wake,
        environ={"AUTOMATOR_HOOK_TOKEN_GENERIC_SYSLOG": token},
    )
    stop = threading.Event()
    worker = threading.Thread(target=engine.run, args=(stop,), kwargs={"idle": 0.2})
    worker.start()
    try:
        with running_server(app) as port:
            for n in range(3):
                configure(world.host("sim1"), [f"ntp server 10.0.1.{n + 1}"])
                answer = httpx.post(
                    f"http://127.0.0.1:{port}/hooks/generic/syslog",
                    json={
                        "hostname": "sim1",
                        "msgid": "SYS-5-CONFIG_I",
                        "status": "firing",
                        "annotations": {
                            "message": "%SYS-5-CONFIG_I: Configured from console by admin on vty0"
                        },
                    },
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert answer.status_code == 202, answer.text
                time.sleep(0.5)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and world.service.backups.latest("sim1") is None:
                time.sleep(0.2)
            time.sleep(3)  # a second backup, if the debounce failed, would have come by now
    finally:
        stop.set()
        engine.wake()
        worker.join(60)
    with store.session() as session:
        actions = [job.action for job in session.query(Job).all()]
    assert actions.count("backup") == 1, actions
    assert world.service.backups.history("sim1")[0].version == 1
    text = world.service.backups.content(world.service.backups.latest("sim1"))
    assert "ntp server 10.0.1.3" in text  # taken after the last change


def test_the_backup_commands(lab, tmp_path):
    automator = automator_cli(tmp_path / "home", lab.inventory_dir, REPO)
    first = automator("backup", "--limit", "sim2,atesth2,ups1")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "2 changed, 0 unchanged, 0 not backed up; commit" in first.stdout
    settings = Settings.from_env(
        home=tmp_path / "home", inventory_dir=lab.inventory_dir, project_dir=REPO
    )
    pipeline = open_pipeline(settings, load_inventory(lab.inventory_dir))
    try:
        configure(open_backup_service(pipeline).inventory.get("sim2"), ["ntp server 10.0.0.77"])
    finally:
        pipeline.executor.shutdown()
    second = automator("backup", "--limit", "sim2")
    assert "1 changed" in second.stdout and "unauthorised change" in second.stdout
    history = automator("backup", "history", "sim2")
    assert history.returncode == 0 and "#1" in history.stdout and "#2" in history.stdout
    diff = automator("backup", "diff", "sim2")
    assert diff.returncode == 0 and "+ntp server 10.0.0.77" in diff.stdout
    show = automator("backup", "show", "sim2", "1")
    assert "ntp server 10.0.0.77" not in show.stdout and "hostname sim2" in show.stdout
    missing = automator("backup", "show", "sim2", "9")
    assert missing.returncode != 0 and "sim2 has no version 9" in missing.stderr
    secret = tmp_path / "secret.cfg"
    secret.write_text("hostname x\nenable password Plain-Secret-42\n")
    scrubbed = automator("backup", "scrub", "--platform", "cisco_ios", str(secret))
    assert "enable password <removed>" in scrubbed.stdout
    assert "Plain-Secret-42" not in scrubbed.stdout + scrubbed.stderr
    bad = automator("backup", "scrub", "--platform", "toaster", str(secret))
    assert bad.returncode == 2 and "toaster" in bad.stderr
    pruned = automator("backup", "prune", "--keep-last", "1")
    assert pruned.returncode == 0, pruned.stderr
    from automator.backups import BackupStore
    from automator.store import Store

    store = Store.open(settings.database_url)
    try:
        versions = [
            v.version for v in BackupStore(store, settings.home / "backups").history("sim2")
        ]
    finally:
        store.dispose()
    assert versions == [2]
