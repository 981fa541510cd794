"""``automator tickets ...`` and ``automator reviews ...`` through click's runner (and
``automator.cli.main`` where the exit code of an error matters), on a store in a temp folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from automator.cli import main
from automator.cli._app import cli, console
from automator.cli._reviews import reviews
from automator.store import Store
from automator.tickets import Priority, TicketKind, TicketService, TicketStatus


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(console, "width", 250)
    monkeypatch.setenv("SUDO_USER", "alice")  # the operator the timeline names
    return tmp_path / "home"


@pytest.fixture
def tickets(home: Path) -> TicketService:
    store = Store.open(f"sqlite:///{home / 'automator.db'}")
    yield TicketService(store)  # type: ignore[misc]
    store.dispose()


def invoke(home: Path, *args: str):
    settings = ["--home", str(home), "--inventory", str(home / "no-inventory")]
    return CliRunner().invoke(cli, ["tickets", *args, *settings])


def run_main(home: Path, *args: str) -> int:
    return main(["tickets", *args, "--home", str(home), "--inventory", str(home / "none")])


def test_the_desk_works_a_ticket_from_the_command_line(home: Path, tickets: TicketService) -> None:
    ticket_id = tickets.open(kind=TicketKind.INCIDENT, title="disk full on web1", actor="checks")
    assert invoke(home, "ack", str(ticket_id), "--note", "on it").output == (
        f"ticket #{ticket_id} is acknowledged\n"
    )
    result = invoke(home, "comment", str(ticket_id), "graphs attached")
    assert result.exit_code == 0 and f"comment added to ticket #{ticket_id}" in result.output
    assert "is assigned to bob" in invoke(home, "assign", str(ticket_id), "bob").output
    result = invoke(home, "status", str(ticket_id), "waiting_on_customer", "--why", "asked")
    assert result.output == f"ticket #{ticket_id} is waiting_on_customer\n"
    assert "is resolved" in invoke(home, "resolve", str(ticket_id), "--why", "cleaned").output
    assert invoke(home, "rate", str(ticket_id), "4", "--note", "fine").exit_code == 0
    assert "is closed" in invoke(home, "close", str(ticket_id), "--why", "confirmed").output
    assert "is unassigned" in invoke(home, "assign", str(ticket_id), "--unassign").output

    ticket = tickets.get(ticket_id)
    assert (ticket.status, ticket.owner, ticket.satisfaction) == ("closed", None, 4)
    assert [(e.kind, e.actor) for e in ticket.entries[1:]] == [
        ("status", "alice"),
        ("comment", "alice"),
        ("assign", "alice"),
        ("status", "alice"),
        ("status", "alice"),
        ("rating", "alice"),
        ("status", "alice"),
        ("assign", "alice"),
    ]
    shown = invoke(home, "show", str(ticket_id)).output
    assert "waiting_on_customer → resolved: cleaned" in shown
    assert "satisfaction  4/5: fine" in shown
    assert "acknowledged  " in shown and "closed        " in shown


def test_errors_are_clear_and_exit_2(
    home: Path, tickets: TicketService, capsys: pytest.CaptureFixture[str]
) -> None:
    ticket_id = tickets.open(kind=TicketKind.INCIDENT, title="disk", actor="checks")
    for args in (["show", "99"], ["ack", "99"], ["close", "99", "--why", "x"], ["rate", "99", "3"]):
        assert run_main(home, *args) == 2
        assert "error: ticket #99 does not exist" in capsys.readouterr().err
    tickets.close(ticket_id, "bob", "duplicate")
    assert run_main(home, "ack", str(ticket_id)) == 2
    err = capsys.readouterr().err.replace("\n", " ")
    assert f"ticket #{ticket_id} is closed: it cannot move to acknowledged" in err
    assert run_main(home, "analyse", str(ticket_id), "--text", "why") == 2
    assert "only complaint and problem tickets take an analysis" in capsys.readouterr().err
    assert invoke(home, "rate", str(ticket_id), "9").exit_code == 2  # 1-5, said by click
    assert invoke(home, "assign", str(ticket_id)).exit_code == 2  # OWNER or --unassign
    assert invoke(home, "resolve", str(ticket_id)).exit_code == 2  # --why is required
    assert tickets.get(ticket_id).entries[-1].message == "new → closed: duplicate"


def test_list_with_filters_and_pages(home: Path, tickets: TicketService) -> None:
    made = [
        tickets.open(
            kind=TicketKind.INCIDENT if n % 2 else TicketKind.CHANGE,
            title=f"ticket {n} on web{n % 3}",
            actor="checks",
            priority=Priority.P1 if n == 4 else Priority.P3,
            hosts=[f"web{n % 3}"],
            tenant="acme" if n < 3 else "globex",
            owner="bob" if n == 5 else None,
        )
        for n in range(6)
    ]
    tickets.set_status(made[1], TicketStatus.RESOLVED, "checks", "passes")

    def listed(*args: str) -> list[str]:
        result = invoke(home, "list", *args)
        assert result.exit_code == 0, result.output
        return [line.split("│")[1].strip() for line in result.output.splitlines() if "#" in line]

    assert listed() == [f"#{i}" for i in reversed(made)]
    assert listed("--kind", "incident", "--open") == [f"#{made[5]}", f"#{made[3]}"]
    assert listed("--tenant", "acme", "--status", "new") == [f"#{made[2]}", f"#{made[0]}"]
    assert listed("--priority", "P1") == [f"#{made[4]}"]
    assert listed("--owner", "bob") == [f"#{made[5]}"]
    assert listed("--host", "web1", "--text", "TICKET 4") == [f"#{made[4]}"]
    page = invoke(home, "list", "-n", "2")
    assert f"more: the same command with --before {made[4]}" in page.output
    assert listed("-n", "2", "--before", str(made[4])) == [f"#{made[3]}", f"#{made[2]}"]
    assert invoke(home, "list", "--status", "done").exit_code == 2


def test_complaints_open_with_a_tenant_and_take_an_analysis_from_a_file(
    home: Path, tickets: TicketService, tmp_path: Path
) -> None:
    result = invoke(
        home, "open", "--kind", "complaint", "--title", "late engineer", "--tenant", "acme", "-q"
    )
    assert result.exit_code == 0, result.output
    complaint = int(result.output)
    analysis = tmp_path / "analysis.txt"
    analysis.write_text("rota gap on a holiday\nsecond on-call added\n")
    result = invoke(home, "analyse", str(complaint), "--file", str(analysis))
    assert result.output == f"analysis recorded on ticket #{complaint}\n"
    ticket = tickets.get(complaint)
    assert (ticket.kind, ticket.tenant) == ("complaint", "acme")
    assert ticket.analysis == "rota gap on a holiday\nsecond on-call added"
    assert invoke(home, "analyse", str(complaint)).exit_code == 2  # --text or --file


def test_service_reviews(home: Path, tickets: TicketService, tmp_path: Path) -> None:
    minutes = tmp_path / "minutes.md"
    minutes.write_text("1. SLA met\n2. [bold]patch window[/] on Sundays\n")
    settings = ["--home", str(home)]
    result = CliRunner().invoke(
        reviews,
        ["add", "--tenant", "acme", "--title", "Q1 review", "--minutes-file", str(minutes),
         "--attendee", "Ann (acme)", "--attendee", "Bob", "--held", "2026-03-25", "-q",
         *settings],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    review_id = int(result.output)
    listed = CliRunner().invoke(reviews, ["list", "--tenant", "acme", *settings])
    assert f"#{review_id}" in listed.output and "2026-03-25 00:00" in listed.output
    assert "Ann (acme), Bob" in listed.output and "2 lines" in listed.output
    assert (
        CliRunner().invoke(reviews, ["list", "--tenant", "globex", *settings]).output.count("#")
        == 0
    )
    shown = CliRunner().invoke(reviews, ["show", str(review_id), *settings])
    assert "[bold]patch window[/] on Sundays" in shown.output  # minutes are not markup
    missing = CliRunner().invoke(reviews, ["show", "42", *settings])
    assert "service review #42 does not exist" in str(missing.exception)
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"\xff\xfe\x00")
    result = CliRunner().invoke(
        reviews,
        ["add", "--tenant", "acme", "--title", "x", "--minutes-file", str(bad), *settings],
    )
    assert result.exit_code == 2 and "cannot read" in result.output
