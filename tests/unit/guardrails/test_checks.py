"""Windows, budgets and the circuit breaker as pure decisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from automator.guardrails import (
    Budget,
    GuardrailPolicy,
    Step,
    WindowAction,
    breaker_open,
    check_budget,
    check_windows,
)
from automator.inventory import load_inventory

HOSTS = """\
web1:
  hostname: 192.0.2.1
  platform: linux
  data:
    maintenance:
      - {name: patching, days: [sat], start: "22:00", end: "02:00", timezone: UTC}
web2:
  hostname: 192.0.2.2
  platform: linux
  data:
    freeze:
      - {name: year-end, starts: 2026-12-20T00:00:00+00:00, ends: 2027-01-04T00:00:00+00:00}
web3:
  hostname: 192.0.2.3
  platform: linux
"""
SATURDAY_NIGHT = datetime(2026, 11, 28, 23, 30, tzinfo=UTC)  # a Saturday
CHRISTMAS = datetime(2026, 12, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
def hosts(tmp_path: Path):
    (tmp_path / "hosts.yaml").write_text(HOSTS)
    return list(load_inventory(tmp_path).hosts.values())


def test_outside_every_window_all_hosts_pass(hosts):
    tuesday = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    admission = check_windows(hosts, GuardrailPolicy(), tuesday)
    assert [h.name for h in admission.hosts] == ["web1", "web2", "web3"]
    assert not admission.refused and not admission.notes


def test_manual_change_inside_a_window_needs_break_glass(hosts):
    refused = check_windows(hosts, GuardrailPolicy(), SATURDAY_NIGHT)
    assert refused.hosts == []
    assert refused.refused == (
        "inside a window: web1 (maintenance window 'patching' until 2026-11-29 02:00 UTC); "
        "a change there needs --break-glass REASON"
    )
    allowed = check_windows(hosts, GuardrailPolicy(break_glass="INC-42 outage"), SATURDAY_NIGHT)
    assert len(allowed.hosts) == 3
    assert allowed.notes == [
        "break-glass (INC-42 outage): changing web1 (maintenance window "
        "'patching' until 2026-11-29 02:00 UTC)"
    ]


def test_rules_skip_wait_or_run(hosts):
    skip = check_windows(hosts, GuardrailPolicy(window=WindowAction.SKIP), CHRISTMAS)
    assert [h.name for h in skip.hosts] == ["web1", "web3"]
    assert skip.skipped == {"web2": "skipped: in freeze window 'year-end'"}
    wait = check_windows(hosts, GuardrailPolicy(window=WindowAction.WAIT), CHRISTMAS)
    assert wait.hosts == [] and wait.wait_until == datetime(2027, 1, 4, tzinfo=UTC)
    run = check_windows(hosts, GuardrailPolicy(window=WindowAction.RUN), CHRISTMAS)
    assert len(run.hosts) == 3 and "running inside a window" in run.notes[0]


def test_waiting_for_a_window_that_crosses_midnight(hosts):
    wait = check_windows(hosts, GuardrailPolicy(window=WindowAction.WAIT), SATURDAY_NIGHT)
    assert wait.wait_until == datetime(2026, 11, 29, 2, 0, tzinfo=UTC)


def test_budget_counts_distinct_hosts_per_rule(hosts):
    policy = GuardrailPolicy(budget=Budget(hosts=2, per=timedelta(hours=1)))
    fresh = check_budget(hosts, policy, used=[])
    assert [h.name for h in fresh.hosts] == ["web1", "web2"]
    assert fresh.skipped == {"web3": "skipped: blast-radius budget of 2 hosts per 1h used up"}
    # a host already fixed within the period does not spend the budget again
    again = check_budget(hosts, policy, used=["web3"])
    assert [h.name for h in again.hosts] == ["web1", "web3"]
    assert check_budget(hosts, GuardrailPolicy(), used=["x"] * 99).hosts == hosts


def test_circuit_breaker():
    assert breaker_open([True, True, True], 3)
    assert not breaker_open([True, False, True], 3)
    assert not breaker_open([True, True], 3)
    assert not breaker_open([True] * 9, None)


def test_policy_round_trips_through_json():
    policy = GuardrailPolicy(
        window=WindowAction.WAIT,
        break_glass="x",
        approval=True,
        approval_timeout=timedelta(minutes=30),
        budget=Budget(5, timedelta(hours=1)),
        circuit_breaker=3,
        verify=Step("health", timedelta(seconds=10), {"port": "80"}),
        rollback=Step("undo"),
    )
    assert GuardrailPolicy.from_json(policy.to_json()) == policy
    assert GuardrailPolicy.from_json({}) == GuardrailPolicy()
