"""``automator sla`` through the real command line: tickets at risk with the time left or
over, contracts, acknowledging an escalation, notifications, one tick, bad input."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from automator.cli import main
from automator.cli._app import COMMANDS, console
from automator.config import Settings
from automator.notify import build_desk_ticks
from automator.store import Store, Ticket, utcnow
from automator.tickets import Priority, TicketKind, TicketService

CONTRACT = """\
timezone: UTC
targets:
  P1: {response: 30m, resolution: 4h, hours: 24x7}
  P2: {response: 1h, resolution: 8h, hours: 24x7}
  P3: {response: 4h, resolution: 24h, hours: 24x7}
  P4: {response: 8h, resolution: 48h, hours: 24x7}
people: {boss: {name: Boss, email: boss@example.net}}
channels:
  mail: {type: email, host: 127.0.0.1, port: 9, from: desk@example.net, starttls: false}
escalation:
  - levels:
      - {who: [boss], channels: [mail], wait: 10m}
      - {who: [boss], channels: [mail]}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setitem(COMMANDS, "sla", "automator.cli._sla:sla")
    monkeypatch.setattr(console, "width", 200)
    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts" / "default.yaml").write_text(CONTRACT)
    return Settings.from_env(
        home=tmp_path / "home", project_dir=tmp_path, inventory_dir=tmp_path / "none"
    )


def run(settings: Settings, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["--home", str(settings.home), "--project", str(settings.project_dir), *args])
    out, err = capsys.readouterr()
    return code, out + err


def open_ticket(store: Store, title: str, priority: Priority, minutes_ago: float) -> int:
    ticket_id = TicketService(store).open(
        kind=TicketKind.INCIDENT, title=title, actor="test", priority=priority, tenant="acme"
    )
    with store.session() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        ticket.created_at = utcnow() - timedelta(minutes=minutes_ago)
    return ticket_id


def test_status_lists_what_is_at_risk(
    project: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    store = Store.open(project.database_url)
    breached = open_ticket(store, "core switch down", Priority.P1, 45)
    warned = open_ticket(store, "disk filling", Priority.P2, 50)
    calm = open_ticket(store, "new laptop", Priority.P4, 5)
    for part in build_desk_ticks(project, store):
        part.tick()
    store.dispose()

    code, out = run(project, capsys, "sla", "status")
    assert code == 0, out
    assert "2 tickets at risk, 1 breached" in out
    lines = [line for line in out.splitlines() if "#" in line]
    assert f"#{breached}" in lines[0] and "response" in lines[0] and "15 min over" in lines[0]
    assert "150 %" in lines[0] and "breached" in lines[0]
    assert f"#{warned}" in lines[1] and "10 min left" in lines[1] and "warned" in lines[1]
    assert f"#{calm}" not in out

    code, out = run(project, capsys, "sla", "status", "--all", "--tenant", "acme")
    assert code == 0 and "3 open tickets with SLA clocks" in out and f"#{calm}" in out
    code, out = run(project, capsys, "sla", "status", "--tenant", "other")
    assert "0 tickets at risk, 0 breached" in out

    code, out = run(project, capsys, "sla", "notifications", "--ticket", str(breached))
    assert code == 0 and "response_breach" in out and "boss@example.net" in out

    code, out = run(project, capsys, "sla", "ack", str(breached), "--note", "on my way")
    assert code == 0
    assert f"ticket #{breached}: escalation acknowledged; 1 queued notification cancelled" in out


def test_contracts_and_bad_input(project: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(project, capsys, "sla", "contracts")
    assert code == 0, out
    assert "default" in out and "30min / 4h" in out and "mail (email)" in out

    code, out = run(project, capsys, "sla", "ack", "999")
    assert code == 2 and "ticket #999 does not exist" in out

    (project.project_dir / "contracts" / "default.yaml").write_text("warn_at: 2\n")
    code, out = run(project, capsys, "sla", "status")
    assert code == 2
    assert f"{project.project_dir / 'contracts' / 'default.yaml'}:1: warn_at: must be" in out


def test_tick_runs_every_part_once(project: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    store = Store.open(project.database_url)
    open_ticket(store, "core switch down", Priority.P1, 45)
    store.dispose()
    code, out = run(project, capsys, "sla", "tick")
    assert code == 0, out
    assert "SlaMonitor: SlaTick(checked=1, warnings=0, breaches=1)" in out
    assert "Notifier: NotifierTick(sent=0, failed=1" in out  # nothing listens on port 9
