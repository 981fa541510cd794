"""Coalescing: run decisions of one rule with the same vars, within a window, as one batch."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from automator.rules import Coalescer, Decision, Outcome
from tests.unit.rules._support import T0

RUN = Decision(
    rule="restart",
    outcome=Outcome.RUN,
    reason="runs restart-service on web1",
    at=T0,
    fingerprint="a",
    event_id=1,
    host="web1",
    runbook="restart-service",
    vars={"service": "labsvc"},
)


def run(host: str, **changes) -> Decision:
    return replace(RUN, **{"host": host, "fingerprint": f"fp-{host}", **changes})


def test_hosts_within_the_window_share_one_batch(clock):
    coalescer = Coalescer(timedelta(seconds=5), clock)
    coalescer.add(run("web1"))
    clock.advance(seconds=2)
    coalescer.add(run("web2"))
    coalescer.add(run("web1", fingerprint="again"))  # a host is in a batch once
    assert coalescer.flush_due(clock.advance(seconds=2)) == []
    assert coalescer.next_due() == T0 + timedelta(seconds=5)
    (batch,) = coalescer.flush_due(clock.advance(seconds=1))
    assert batch.rule == "restart" and batch.runbook == "restart-service"
    assert batch.vars == {"service": "labsvc"}
    assert batch.hosts == ("web1", "web2")
    assert [d.fingerprint for d in batch.decisions] == ["fp-web1", "fp-web2", "again"]
    assert (batch.opened_at, batch.due_at) == (T0, T0 + timedelta(seconds=5))
    assert coalescer.next_due() is None
    coalescer.add(run("web3"))  # after a flush, a new batch opens
    (later,) = coalescer.flush_due(clock.advance(seconds=5))
    assert later.hosts == ("web3",) and later.opened_at == T0 + timedelta(seconds=5)


def test_other_rules_and_other_vars_are_other_batches(clock):
    coalescer = Coalescer(timedelta(seconds=5), clock)
    coalescer.add(run("web1"))
    coalescer.add(run("web2", vars={"service": "nginx"}))
    coalescer.add(run("web3", rule="other"))
    coalescer.add(run("web4"))
    batches = coalescer.flush()
    assert sorted(b.hosts for b in batches) == [("web1", "web4"), ("web2",), ("web3",)]


def test_a_rules_own_window_wins(clock):
    coalescer = Coalescer(timedelta(seconds=30), clock)
    coalescer.add(run("web1", coalesce=timedelta(seconds=2)))
    coalescer.add(run("web2", rule="slow"))
    (quick,) = coalescer.flush_due(clock.advance(seconds=2))
    assert quick.hosts == ("web1",)
    assert coalescer.flush_due(clock.advance(seconds=27)) == []
    (slow,) = coalescer.flush_due(clock.advance(seconds=1))
    assert slow.rule == "slow"


def test_a_storm_of_1000_hosts_within_5_seconds_is_one_batch(clock):
    coalescer = Coalescer(timedelta(seconds=5), clock)
    for n in range(1000):
        clock.now = T0 + timedelta(milliseconds=4 * n)
        coalescer.add(run(f"h{n:04}"))
    (batch,) = coalescer.flush_due(T0 + timedelta(seconds=5))
    assert len(batch.hosts) == 1000


def test_only_run_decisions_are_coalesced(clock):
    coalescer = Coalescer(timedelta(seconds=5), clock)
    with pytest.raises(ValueError, match="only run decisions are coalesced, not throttled"):
        coalescer.add(replace(RUN, outcome=Outcome.THROTTLED))
    with pytest.raises(ValueError, match="suppressed-shadow"):
        coalescer.add(replace(RUN, outcome=Outcome.SHADOW))


def test_a_debounced_burst_runs_once_after_its_last_decision(clock):
    coalescer = Coalescer(timedelta(seconds=5), clock)
    quiet = timedelta(seconds=30)
    coalescer.add(run("sw1", debounce=quiet))
    for _ in range(5):  # a change every 20 s: each one pushes the run back
        assert coalescer.flush_due(clock.advance(seconds=20)) == []
        coalescer.add(run("sw1", fingerprint=f"change-{clock.now}", debounce=quiet))
    assert coalescer.flush_due(clock.advance(seconds=29)) == []
    (batch,) = coalescer.flush_due(clock.advance(seconds=1))
    assert batch.hosts == ("sw1",) and len(batch.decisions) == 6
    assert batch.due_at == T0 + timedelta(seconds=130)


def test_a_steady_stream_is_not_debounced_forever(clock):
    coalescer = Coalescer(timedelta(seconds=5), clock)
    quiet = timedelta(seconds=30)
    coalescer.add(run("sw1", debounce=quiet))
    batches = []
    for _ in range(40):
        clock.advance(seconds=10)
        batches += coalescer.flush_due(clock.now)
        coalescer.add(run("sw1", fingerprint=f"c-{clock.now}", debounce=quiet))
    assert batches and batches[0].due_at == T0 + quiet * Coalescer.MAX_DEBOUNCES
