"""SLA clocks as pure functions of a ticket's history: response and resolution, business
hours and 24x7, pauses while waiting on the customer, warnings, breaches, reopening."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from textwrap import dedent
from zoneinfo import ZoneInfo

import pytest

from automator.sla import Contract, StatusChange, TicketFacts, load_contracts, sla_clocks
from automator.tickets import Priority

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)  # type: ignore[misc]


@pytest.fixture(scope="module")
def contract(tmp_path_factory: pytest.TempPathFactory) -> Contract:
    folder = tmp_path_factory.mktemp("contracts")
    (folder / "default.yaml").write_text(
        dedent(
            """\
            timezone: Europe/Berlin
            business_hours: {mon-fri: "08:00-18:00"}
            holidays: [2026-04-03]
            targets:
              P1: {response: 30m, resolution: 4h, hours: 24x7}
              P2: {response: 2h, resolution: 20h, hours: business}
              P3: {response: 4h, resolution: 10h, hours: business}
              P4: {response: 10h, resolution: 100h, hours: business}
            warn_at: 0.75
            """
        )
    )
    found = load_contracts(folder).default
    assert found is not None
    return found


def change(at: datetime, old: str, new: str) -> StatusChange:
    return StatusChange(at, old, new)


def test_a_new_p1_runs_in_wall_time(contract: Contract) -> None:
    opened = berlin(2026, 3, 7, 23, 50)  # a Saturday night
    clocks = sla_clocks(TicketFacts(opened, Priority.P1, "new"), contract)
    assert clocks.response.due == opened + timedelta(minutes=30)
    assert clocks.response.warn_at == opened + timedelta(minutes=22, seconds=30)
    assert clocks.resolution.due == opened + timedelta(hours=4)
    assert clocks.response.met_at is None and clocks.response.running
    assert not clocks.response.breached(opened + timedelta(minutes=29))
    assert clocks.response.breached(opened + timedelta(minutes=30))


def test_a_ticket_opened_on_friday_evening(contract: Contract) -> None:
    opened = berlin(2026, 3, 6, 17)  # Friday 17:00, one working hour left
    clocks = sla_clocks(TicketFacts(opened, Priority.P3, "new"), contract)
    assert clocks.response.due == berlin(2026, 3, 9, 11)  # 1 h Friday + 3 h Monday
    assert clocks.response.warn_at == berlin(2026, 3, 9, 10)  # 3 of 4 hours
    assert clocks.resolution.due == berlin(2026, 3, 9, 17)  # 1 h Friday + 9 h Monday


def test_a_holiday_moves_the_due_time(contract: Contract) -> None:
    opened = berlin(2026, 4, 2, 16)  # Thursday before Good Friday (a holiday here)
    clocks = sla_clocks(TicketFacts(opened, Priority.P3, "new"), contract)
    assert clocks.response.due == berlin(2026, 4, 6, 10)  # Monday 10:00, not Friday


def test_response_is_met_by_acknowledgement_or_first_change_out_of_new(
    contract: Contract,
) -> None:
    opened = berlin(2026, 3, 4, 9)
    acked = TicketFacts(opened, Priority.P2, "acknowledged", (), berlin(2026, 3, 4, 10))
    clocks = sla_clocks(acked, contract)
    assert clocks.response.met_at == berlin(2026, 3, 4, 10)
    assert not clocks.response.running
    assert not clocks.response.breached(berlin(2026, 3, 20))
    picked_up = TicketFacts(
        opened, Priority.P2, "in_progress", [change(berlin(2026, 3, 4, 12), "new", "in_progress")]
    )
    late = sla_clocks(picked_up, contract)
    assert late.response.met_at == berlin(2026, 3, 4, 12)
    assert late.response.due == berlin(2026, 3, 4, 11)
    assert late.response.breached(berlin(2026, 3, 4, 12))  # answered an hour late
    assert late.response.warn_at == berlin(2026, 3, 4, 10, 30)


def test_a_pause_across_a_weekend_extends_the_due_time(contract: Contract) -> None:
    opened = berlin(2026, 3, 5, 9)  # Thursday; P3 resolution: 10 working hours
    history = [
        change(berlin(2026, 3, 5, 10), "new", "in_progress"),
        change(berlin(2026, 3, 6, 16), "in_progress", "waiting_on_customer"),  # Fri 16:00
        change(berlin(2026, 3, 9, 10), "waiting_on_customer", "in_progress"),  # Mon 10:00
    ]
    base = sla_clocks(TicketFacts(opened, Priority.P3, "in_progress", history[:1]), contract)
    assert base.resolution.due == berlin(2026, 3, 6, 9)
    # the ticket was due Friday 09:00 and paused only after: the pause cannot undo a breach
    clocks = sla_clocks(TicketFacts(opened, Priority.P3, "in_progress", history), contract)
    assert clocks.resolution.due == berlin(2026, 3, 6, 9)
    assert clocks.paused_s == (berlin(2026, 3, 9, 10) - berlin(2026, 3, 6, 16)).total_seconds()

    # P4 (100 working hours): the pause moves the due by the working hours it lasted (4 h)
    before = sla_clocks(TicketFacts(opened, Priority.P4, "in_progress", history[:1]), contract)
    after = sla_clocks(TicketFacts(opened, Priority.P4, "in_progress", history), contract)
    calendar = contract.calendar(Priority.P4)
    assert calendar.seconds(before.resolution.due, after.resolution.due) == 4 * 3600
    assert after.paused_since is None and after.resolution.running


def test_while_paused_the_clock_stands_still(contract: Contract) -> None:
    opened = berlin(2026, 3, 5, 9)
    history = [
        change(berlin(2026, 3, 5, 10), "new", "waiting_on_customer"),
    ]
    clocks = sla_clocks(TicketFacts(opened, Priority.P4, "waiting_on_customer", history), contract)
    assert clocks.paused_since == berlin(2026, 3, 5, 10)
    assert not clocks.resolution.running
    calendar = contract.calendar(Priority.P4)
    # due as if it ran on from the pause: 99 working hours after 10:00
    assert clocks.resolution.due == calendar.add(berlin(2026, 3, 5, 10), 99 * 3600)
    assert not clocks.resolution.breached(berlin(2027, 1, 1))
    assert clocks.resolution.warn_at is None
    # a ticket put on hold the moment it was opened has not run at all
    at_once = [change(opened, "new", "waiting_on_customer")]
    held = sla_clocks(TicketFacts(opened, Priority.P4, "waiting_on_customer", at_once), contract)
    assert held.resolution.segments == ()
    assert held.resolution.due == calendar.add(opened, 100 * 3600)


def test_resolution_met_on_time_and_reopened(contract: Contract) -> None:
    opened = berlin(2026, 3, 4, 9)
    resolved = [
        change(berlin(2026, 3, 4, 9, 30), "new", "in_progress"),
        change(berlin(2026, 3, 4, 11), "in_progress", "resolved"),
    ]
    done = sla_clocks(
        TicketFacts(opened, Priority.P1, "resolved", resolved, None, berlin(2026, 3, 4, 11)),
        contract,
    )
    assert done.resolution.met_at == berlin(2026, 3, 4, 11)
    assert done.resolution.due == berlin(2026, 3, 4, 13)  # it ran 2 of 4 hours
    assert not done.resolution.breached(berlin(2026, 3, 9))
    # reopened an hour later: the hour it was resolved does not count
    reopened = [*resolved, change(berlin(2026, 3, 4, 12), "resolved", "in_progress")]
    again = sla_clocks(TicketFacts(opened, Priority.P1, "in_progress", reopened), contract)
    assert again.resolution.met_at is None
    assert again.resolution.due == berlin(2026, 3, 4, 14)
    assert again.resolution.used(contract.calendar(Priority.P1), berlin(2026, 3, 4, 13)) == 0.75


def test_the_days_the_clocks_change(contract: Contract) -> None:
    # P1 (24x7) opened Sunday 29 March 01:30 CET: 4 real hours later it is 06:30 CEST
    opened = berlin(2026, 3, 29, 1, 30)
    clocks = sla_clocks(TicketFacts(opened, Priority.P1, "new"), contract)
    assert clocks.resolution.due == berlin(2026, 3, 29, 6, 30)
    # P3 from Friday 17:00 CET before the change: Monday 11:00 CEST, working hours are local
    friday = sla_clocks(TicketFacts(berlin(2026, 3, 27, 17), Priority.P3, "new"), contract)
    assert friday.response.due == berlin(2026, 3, 30, 11)
    # autumn: a P1 opened at 00:30 CEST on 25 October is due 03:30 CET (4 real hours)
    autumn = sla_clocks(TicketFacts(berlin(2026, 10, 25, 0, 30), Priority.P1, "new"), contract)
    assert (autumn.resolution.due - berlin(2026, 10, 25, 0, 30)).total_seconds() == 4 * 3600
    assert autumn.resolution.due.astimezone(BERLIN).time() == time(3, 30)


def test_holidays_load_as_dates(contract: Contract) -> None:
    assert contract.business is not None
    assert date(2026, 4, 3) in contract.business.holidays
