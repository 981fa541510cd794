"""``automator rules list|test``: the remediation rules, and a dry replay of recorded events."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from automator.cli._app import (
    console,
    open_catalogue,
    open_inventory,
    open_pipeline,
    pass_settings,
    requester,
)
from automator.config import Settings
from automator.errors import AutomatorError
from automator.rules import (
    Decision,
    Outcome,
    Replayed,
    RuleBook,
    format_duration,
    load_rulebook,
    load_rules,
    read_events,
    replay,
)
from automator.runbooks import Catalogue

_OUTCOME_STYLE = {
    Outcome.RUN: "green",
    Outcome.SHADOW: "cyan",
    Outcome.THROTTLED: "yellow",
    Outcome.WAITING: "yellow",
    Outcome.ACCUMULATING: "yellow",
    Outcome.CORRELATED: "blue",
    Outcome.DUPLICATE: "dim",
    Outcome.NO_HOST: "magenta",
    Outcome.INVALID: "bold red",
    Outcome.RESOLVED: "green",
}


@click.group()
def rules() -> None:
    """Remediation rules (remediations/*.yaml): list them, replay recorded events."""


@rules.command("list")
@pass_settings
def list_rules(settings: Settings) -> None:
    """List the rules with their file, condition, action, throttle and mode."""
    folder = settings.project_dir / "remediations"
    rulebook = load_rulebook(folder, _catalogue(settings))
    table = Table(
        "rule",
        "file:line",
        "when",
        "action",
        "throttle",
        "shadow",
        title=f"{len(rulebook)} rule{'' if len(rulebook) == 1 else 's'} in {folder}",
    )
    for rule in rulebook:
        action = rule.action.runbook
        if rule.action.vars:
            given = ", ".join(f"{name}={e.text}" for name, e in rule.action.vars.items())
            action += f" ({given})"
        throttle = rule.throttle.describe() if rule.throttle else ""
        if rule.correlate:
            throttle += ("; " if throttle else "") + f"correlate {rule.correlate.describe()}"
        if rule.coalesce:
            throttle += ("; " if throttle else "") + f"coalesce {format_duration(rule.coalesce)}"
        table.add_row(
            escape(rule.name),
            escape(f"{_relative(rule.file, settings.project_dir)}:{rule.line}"),
            escape(rule.when.text),
            escape(action),
            escape(throttle),
            "yes" if rule.shadow else "no",
        )
    console.print(table)


@rules.command("test")
@click.argument("file", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--events",
    "events_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Recorded normalised events, one JSON object per line",
)
@pass_settings
def test_rules(settings: Settings, file: Path, events_file: Path) -> None:
    """Replay recorded events through the rules of FILE (a rule file or a folder of them)
    and print every decision. Nothing runs and nothing is stored; the clock follows the
    events' times. Hosts are checked against the inventory when there is one."""
    catalogue = _catalogue(settings)
    rulebook = load_rulebook(file, catalogue) if file.is_dir() else load_rules([file], catalogue)
    events = read_events(events_file)
    inventory = None
    if (settings.inventory_dir / "hosts.yaml").is_file():
        inventory = open_inventory(settings)
    else:
        console.print(f"no inventory at {escape(str(settings.inventory_dir))}: hosts not checked")
    table = Table("time", "event", "rule", "decision", "host", "reason", title=_title(rulebook))
    outcomes: Counter[str] = Counter()
    batches = 0
    for step in replay(rulebook, events, inventory):
        _add_step(table, step)
        outcomes.update(decision.outcome.value for decision in step.decisions)
        batches += len(step.batches)
    console.print(table)
    counts = ", ".join(f"{outcome} {count}" for outcome, count in sorted(outcomes.items()))
    console.print(
        f"{len(events)} event{'' if len(events) == 1 else 's'}; "
        f"decisions: {counts or 'none'}; coalesced runs: {batches}"
    )


@rules.command("reset")
@click.argument("name")
@click.option("--reason", required=True, help="What was looked at: recorded with the reset")
@pass_settings
def reset_rule(settings: Settings, name: str, reason: str) -> None:
    """Close the circuit breaker of rule NAME after its failures were looked at."""
    catalogue = _catalogue(settings)
    rulebook = load_rulebook(settings.project_dir / "remediations", catalogue)
    if name not in rulebook:
        raise AutomatorError(f"no rule named {name!r} in {settings.project_dir / 'remediations'}")
    pipeline = open_pipeline(settings)
    pipeline.gate.reset_breaker(name, requester(), reason, pipeline.clock())
    console.print(f"circuit breaker of rule {name} closed: earlier failures no longer count")


def _add_step(table: Table, step: Replayed) -> None:
    time = step.at.strftime("%H:%M:%S")
    event = step.event
    if event is not None:
        what = f"#{event.id} {event.name} {event.status} ({event.fingerprint})"
        if not step.decisions:
            quiet = "no rule tracks this alert" if event.status == "resolved" else "no rule matches"
            table.add_row(time, escape(what), "", "[dim]-[/]", escape(event.host or ""), quiet)
        for decision in step.decisions:
            table.add_row(time, escape(what), *_cells(decision))
            what = ""
    elif step.decisions:
        what = "deadline"
        for decision in step.decisions:
            table.add_row(time, what, *_cells(decision))
            what = ""
    for batch in step.batches:
        hosts = ", ".join(batch.hosts)
        vars_ = ", ".join(f"{name}={value!r}" for name, value in batch.vars.items())
        table.add_row(
            batch.due_at.strftime("%H:%M:%S"),
            "batch",
            escape(batch.rule),
            "[green]run[/]",
            escape(hosts),
            escape(
                f"one run of {batch.runbook} on {len(batch.hosts)} host(s)"
                + (f" with {vars_}" if vars_ else "")
            ),
        )


def _cells(decision: Decision) -> tuple[str, str, str, str]:
    style = _OUTCOME_STYLE[decision.outcome]
    reason = decision.reason
    if decision.vars and decision.outcome in (Outcome.RUN, Outcome.SHADOW):
        reason += "; vars " + ", ".join(f"{k}={v!r}" for k, v in decision.vars.items())
    return (
        escape(decision.rule),
        f"[{style}]{decision.outcome.value}[/]",
        escape(decision.host or ""),
        escape(reason),
    )


def _title(rulebook: RuleBook) -> str:
    names = ", ".join(rule.name for rule in rulebook)
    return escape(f"replay through {len(rulebook)} rule(s): {names}")


def _catalogue(settings: Settings) -> Catalogue:
    return open_catalogue(settings)


def _relative(path: Path, base: Path) -> Path:
    return path.relative_to(base) if path.is_relative_to(base) else path
