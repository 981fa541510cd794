"""The pipeline's own logic, with the runner swapped for a scripted one."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from automator.errors import ActionNotFound, LimitMatchesNothing, TicketNotFound
from automator.inventory import Host, Inventory
from automator.jobs import HostLocks, JobKind, JobSpec, Pipeline, RunStatus
from automator.runbooks import Action, Catalogue
from automator.runners import HostResult, Outcome, RunContext, Runner, RunReport
from automator.store import Job, Run, Store
from automator.tickets import TicketService

RUNBOOK = """\
description: scripted
task: commands
changes: {changes}
commands: {{server: ["true"], network: [show clock]}}
"""


class ScriptedRunner:
    """Gives each host the outcome the test scripted for it."""

    def __init__(self, outcomes: dict[str, Outcome], gate: threading.Event | None = None):
        self.outcomes = outcomes
        self.gate = gate
        self.contexts: list[RunContext] = []

    def run(self, hosts: Sequence[Host], context: RunContext) -> RunReport:
        self.contexts.append(context)
        if self.gate is not None:
            self.gate.wait(10)
        return RunReport(
            results={
                h.name: HostResult(
                    h.name,
                    self.outcomes.get(h.name, Outcome.OK),
                    error="boom" if self.outcomes.get(h.name) else None,
                )
                for h in hosts
            }
        )


def make_pipeline(
    tmp_path: Path, store: Store, inventory: Inventory, runner: Runner, changes: bool = True
) -> Pipeline:
    runbooks = tmp_path / "runbooks"
    runbooks.mkdir(exist_ok=True)
    (runbooks / "fix.yaml").write_text(RUNBOOK.format(changes=str(changes).lower()))
    return Pipeline(
        store=store,
        inventory=inventory,
        catalogue=Catalogue(runbooks, tmp_path / "playbooks"),
        artifacts_dir=tmp_path / "artifacts",
        runner_for=lambda action, inv: runner,
    )


def spec(**kwargs: object) -> JobSpec:
    return JobSpec(kind=JobKind.RUNBOOK, action="fix", requester="tester", **kwargs)  # type: ignore[arg-type]


def test_a_run_opens_a_ticket_and_records_every_host(tmp_path, store, small_inventory):
    runner = ScriptedRunner({"web2": Outcome.FAILED, "sw1": Outcome.UNREACHABLE})
    pipeline = make_pipeline(tmp_path, store, small_inventory, runner)

    summary = pipeline.run(spec())

    assert summary.status is RunStatus.PARTIAL
    assert summary.counts() == {"ok": 1, "changed": 0, "failed": 1, "unreachable": 1, "skipped": 0}
    ticket = TicketService(store).get(summary.ticket_id)
    assert ticket.kind == "change"
    assert ticket.status == "in_progress"
    assert [h.host for h in ticket.hosts] == ["sw1", "web1", "web2"]
    outcomes = {row.host: row.outcome for row in ticket.runs[0].host_results}
    assert outcomes == {"web1": "ok", "web2": "failed", "sw1": "unreachable"}
    kinds = [entry.kind for entry in ticket.entries]
    assert kinds == ["opened", "job", "run", "run", "status"]
    assert "1 ok, 1 failed, 1 unreachable" in ticket.entries[3].message
    assert (Path(summary.artifacts_dir or "") / "results.json").is_file()


def test_a_clean_run_resolves_the_ticket_it_opened(tmp_path, store, small_inventory):
    pipeline = make_pipeline(tmp_path, store, small_inventory, ScriptedRunner({}))
    summary = pipeline.run(spec(limit="role=web"))
    assert summary.status is RunStatus.SUCCEEDED
    ticket = TicketService(store).get(summary.ticket_id)
    assert ticket.status == "resolved"
    assert ticket.resolved_at is not None


def test_a_given_ticket_is_updated_not_resolved(tmp_path, store, small_inventory):
    tickets = TicketService(store)
    from automator.tickets import TicketKind

    ticket_id = tickets.open(
        kind=TicketKind.INCIDENT, title="web slow", actor="alice", hosts=["web1"]
    )
    pipeline = make_pipeline(tmp_path, store, small_inventory, ScriptedRunner({}))
    summary = pipeline.run(spec(limit="role=web", ticket_id=ticket_id))
    assert summary.ticket_id == ticket_id and not summary.ticket_opened
    ticket = tickets.get(ticket_id)
    assert ticket.status == "in_progress"
    assert [h.host for h in ticket.hosts] == ["web1", "web2"]


def test_bad_input_is_refused_before_anything_is_recorded(tmp_path, store, small_inventory):
    pipeline = make_pipeline(tmp_path, store, small_inventory, ScriptedRunner({}))
    with pytest.raises(ActionNotFound, match="no runbook or playbook named 'nope'"):
        pipeline.run(spec().__class__(kind=JobKind.RUNBOOK, action="nope", requester="t"))
    with pytest.raises(LimitMatchesNothing):
        pipeline.run(spec(limit="site=mars"))
    with pytest.raises(TicketNotFound, match="ticket #99 does not exist"):
        pipeline.run(spec(ticket_id=99))
    assert TicketService(store).count() == 0
    with store.session() as session:
        assert session.query(Job).count() == 0


def test_a_locked_host_blocks_a_second_changing_job(tmp_path, store, small_inventory):
    gate = threading.Event()
    pipeline = make_pipeline(tmp_path, store, small_inventory, ScriptedRunner({}, gate))
    first = pipeline.submit(spec(limit="web1"))
    # wait until the first job holds its lock
    for _ in range(200):
        if HostLocks(store).held():
            break
        threading.Event().wait(0.01)
    second = pipeline.run(spec(limit="web*"))
    gate.set()
    assert second.status is RunStatus.BLOCKED
    assert "web1 (job 1)" in (second.error or "")
    assert first.result().status is RunStatus.SUCCEEDED
    assert HostLocks(store).held() == {}
    timeline = TicketService(store).get(second.ticket_id).entries
    assert timeline[-1].kind == "gate"


def test_read_only_jobs_take_no_lock(tmp_path, store, small_inventory):
    gate = threading.Event()
    pipeline = make_pipeline(
        tmp_path, store, small_inventory, ScriptedRunner({}, gate), changes=False
    )
    first = pipeline.submit(spec(limit="web1"))
    second = pipeline.submit(spec(limit="web1"))
    gate.set()
    assert first.result().status is second.result().status is RunStatus.SUCCEEDED


def test_idempotency_key_runs_once(tmp_path, store, small_inventory):
    runner = ScriptedRunner({})
    pipeline = make_pipeline(tmp_path, store, small_inventory, runner)
    a = pipeline.run(spec(idempotency_key="alert-123"))
    b = pipeline.run(spec(idempotency_key="alert-123"))
    assert a.run_id == b.run_id
    assert len(runner.contexts) == 1


def test_a_crash_leaves_a_run_that_recovery_marks_interrupted(tmp_path, store, small_inventory):
    pipeline = make_pipeline(tmp_path, store, small_inventory, ScriptedRunner({}))
    prepared = pipeline.prepare(spec())
    recorded = pipeline._record(prepared)
    run_id, job_id, ticket_id = recorded.run_id, recorded.job_id, recorded.ticket_id
    HostLocks(store).acquire(job_id, ["web1"])
    with store.session() as session:  # as if a process that has since died was running it
        run = session.get_one(Run, run_id)
        run.status = "running"
        run.owner = f"{os.uname().nodename}:999999999"
    with store.session() as session:
        from automator.store import HostLock

        session.get_one(HostLock, "web1").owner = f"{os.uname().nodename}:999999999"

    assert pipeline.recover() == [run_id]

    with store.session() as session:
        assert session.get_one(Run, run_id).status == "interrupted"
    assert HostLocks(store).held() == {}
    last = TicketService(store).get(ticket_id).entries[-1]
    assert "interrupted" in last.message and "half-changed" in last.message


def test_recovery_removes_held_runs_left_by_dead_processes(tmp_path, store, small_inventory):
    pipeline = make_pipeline(tmp_path, store, small_inventory, ScriptedRunner({}))
    starting = pipeline.artifacts_dir / "starting"
    dead = f"{os.uname().nodename}:999999999"
    never_ran = starting / f"20261127T100000.000000_{os.uname().nodename}_999999999"
    proceeded = starting / f"20261127T100001.000000_{os.uname().nodename}_999999999"
    ours = starting / f"20261127T100002.000000_{os.uname().nodename}_{os.getpid()}"
    elsewhere = starting / "20261127T100003.000000_other-machine_1"
    for folder in (never_ran, proceeded, ours, elsewhere):
        (folder / "ansible").mkdir(parents=True)
    recorded = pipeline._record(pipeline.prepare(spec()))
    with store.session() as session:  # a run that had proceeded when its process died
        run = session.get_one(Run, recorded.run_id)
        run.status, run.owner, run.artifacts_dir = "running", dead, str(proceeded)

    assert pipeline.recover() == [recorded.run_id]

    assert sorted(starting.iterdir()) == [proceeded, ours, elsewhere]


def test_a_crashing_runner_is_recorded_as_failed(tmp_path, store, small_inventory):
    class Broken:
        def run(self, hosts: Sequence[Host], context: RunContext) -> RunReport:
            raise RuntimeError("bug")

    pipeline = make_pipeline(tmp_path, store, small_inventory, Broken())
    summary = pipeline.run(spec(limit="web1"))
    assert summary.status is RunStatus.FAILED
    assert summary.error == "internal error: RuntimeError: bug"
    assert summary.results["web1"].outcome is Outcome.FAILED


def test_check_mode_opens_a_request_not_a_change(tmp_path, store, small_inventory):
    runner = ScriptedRunner({})
    pipeline = make_pipeline(tmp_path, store, small_inventory, runner)
    summary = pipeline.run(spec(check_mode=True))
    assert runner.contexts[0].check_mode is True
    assert TicketService(store).get(summary.ticket_id).kind == "request"


def test_action_runner_default(small_inventory):
    action = Action(
        name="x",
        description="",
        source=Path("runbooks/x.yaml"),
        changes=False,
        playbook=Path("/p/x.yml"),
    )
    from automator.runners import AnsibleRunner

    assert isinstance(action.runner(small_inventory), AnsibleRunner)
