"""``automator check``: run the health checks now, through the pipeline."""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from automator.cli._app import (
    console,
    err_console,
    open_inventory,
    open_pipeline,
    open_store,
    pass_settings,
)
from automator.cli._app import requester as who
from automator.cli._run import run_with_progress
from automator.config import Settings

STATUS_STYLE = {"ok": "green", "warning": "yellow", "critical": "bold red", "unknown": "magenta"}


@click.command()
@click.option("--limit", metavar="FILTER", help="Hosts to check, e.g. site=dc1,kind=network")
@click.option(
    "--check",
    "names",
    multiple=True,
    metavar="NAME",
    help="Run only this check (repeatable) [default: every check]",
)
@click.option("--forks", type=click.IntRange(1, 500), default=20, show_default=True)
@click.option("--timeout", type=click.FloatRange(1), help="Whole-job time limit in seconds")
@click.option("--list", "list_only", is_flag=True, help="List the check catalogue and exit")
@click.option("--all", "show_all", is_flag=True, help="Show passing checks too")
@pass_settings
def check(
    settings: Settings,
    limit: str | None,
    names: tuple[str, ...],
    forks: int,
    timeout: float | None,
    list_only: bool,
    show_all: bool,
) -> int:
    """Run health checks (checks/*.yaml) on hosts and record what they find.

    Failing checks open (or update) one incident per host and check; checks that pass again
    resolve theirs. Exit status: 0 all ok, 1 warnings, 2 critical or unknown.
    """
    from automator.checks import CheckService, load_checks

    catalogue = load_checks(settings.checks_dir)
    if list_only:
        console.print(_catalogue_table(catalogue))
        return 0
    inventory = open_inventory(settings)
    pipeline = open_pipeline(settings, inventory)
    service = CheckService(open_store(settings), pipeline, catalogue, inventory)
    spec = service.spec(names, limit, who(), timeout, forks)
    total = len(pipeline.prepare(spec).hosts)
    summary = run_with_progress(
        lambda on_progress, cancel: service.submit(spec, on_progress, cancel), total, "checks"
    )
    table = Table("host", "check", "status", "finding")
    for result in sorted(summary.results, key=lambda r: (r.host, r.check)):
        if result.status.value == "ok" and not show_all:
            continue
        style = STATUS_STYLE[result.status.value]
        table.add_row(
            result.host,
            result.check,
            f"[{style}]{result.status.value}[/]",
            escape(result.summary),
        )
    if table.row_count:
        console.print(table)
    counts = summary.counts()
    line = ", ".join(f"{n} {status}" for status, n in counts.items() if n) or "nothing checked"
    hosts = len({result.host for result in summary.results})
    run = summary.run
    console.print(f"run #{run.run_id}: {line} on {hosts} hosts ({run.status.value})")
    if run.error:
        err_console.print(f"[red]run #{run.run_id}: {escape(run.error)}[/]")
    for verb, tickets in (
        ("opened", summary.opened),
        ("updated", summary.updated),
        ("resolved", summary.resolved),
    ):
        if tickets:
            shown = ", ".join(f"#{t}" for t in tickets[:15])
            more = f" (+{len(tickets) - 15})" if len(tickets) > 15 else ""
            console.print(f"tickets {verb}: {shown}{more}")
    if counts["critical"] or counts["unknown"] or not summary.results:
        return 2
    return 1 if counts["warning"] else 0


def _catalogue_table(catalogue: object) -> Table:
    from automator.checks import CheckCatalogue

    assert isinstance(catalogue, CheckCatalogue)
    table = Table("check", "applies to", "schedule", "priority", "owner", "judges")
    for check in catalogue.checks.values():
        table.add_row(
            check.name,
            ", ".join(check.applies_to),
            check.schedule,
            check.priority.value,
            check.owner or "",
            ", ".join(
                f"{name} ({metric.threshold.describe()})" for name, metric in check.metrics.items()
            ),
        )
    return table
