"""How runs and tickets look on a terminal."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from automator.runners import HostResult, Outcome

if TYPE_CHECKING:
    from automator.store import Ticket

OUTCOME_STYLE = {
    Outcome.OK: "green",
    Outcome.CHANGED: "yellow",
    Outcome.FAILED: "bold red",
    Outcome.UNREACHABLE: "magenta",
    Outcome.SKIPPED: "dim",
}
STATUS_STYLE = {
    "succeeded": "green",
    "partial": "yellow",
    "failed": "bold red",
    "timed_out": "bold red",
    "blocked": "magenta",
    "cancelled": "magenta",
    "interrupted": "magenta",
    "running": "cyan",
    "pending": "cyan",
}


def outcome_text(outcome: Outcome | str) -> Text:
    value = Outcome(outcome)
    return Text(value.value, style=OUTCOME_STYLE[value])


def results_table(results: Iterable[HostResult]) -> Table:
    table = Table("host", "outcome", "time", "details")
    for result in sorted(results, key=lambda r: r.host):
        details = result.error or ""
        notes = ", ".join(result.notes)
        if notes:
            details = f"{details} ({notes})" if details else notes
        would = result.data.get("would_apply") or result.data.get("would_run")
        if not details and would:
            verb = "would apply" if "would_apply" in result.data else "would run"
            details = f"{verb}: " + "; ".join(would)
        if not details and "applied" in result.data:
            lines = len(result.data["applied"])
            checks = result.data.get("verify", [])
            details = f"applied {lines} line{'s' if lines != 1 else ''}"
            details += ", saved" if result.data.get("saved") else ""
            details += f", {len(checks)} verified" if checks else ""
        stats = result.data.get("stats")
        if not details and stats:
            details = " ".join(
                f"{k}={stats[k]}" for k in ("ok", "changed", "skipped") if k in stats
            )
        if not details and result.data.get("commands"):
            # the first line of the first command's answer: usually who the host says it is
            first = result.data["commands"][0]["output"].strip().splitlines()
            details = first[0][:80] if first else ""
        table.add_row(
            result.host, outcome_text(result.outcome), f"{result.duration:.1f}s", escape(details)
        )
    return table


def counts_line(counts: dict[str, int]) -> Text:
    text = Text()
    for outcome in Outcome:
        n = counts.get(outcome.value, 0)
        if n:
            if text:
                text.append(", ")
            text.append(f"{n} {outcome.value}", style=OUTCOME_STYLE[outcome])
    return text


def ticket_view(ticket: Ticket) -> RenderableType:
    from automator.jobs import results_of

    head = Table.grid(padding=(0, 2))
    opened = f"{ticket.created_at:%Y-%m-%d %H:%M:%S} UTC by {ticket.opened_by}"
    for label, value in [
        ("ticket", f"#{ticket.id} {ticket.title}"),
        ("kind", ticket.kind),
        ("status", ticket.status),
        ("priority", ticket.priority),
        ("owner", ticket.owner or "-"),
        ("tenant", ticket.tenant or "-"),
        ("hosts", ", ".join(h.host for h in ticket.hosts) or "-"),
        ("opened", opened),
    ]:
        head.add_row(f"[bold]{label}[/]", escape(value))
    timeline = Table("time (UTC)", "who", "kind", "entry", title="timeline", title_justify="left")
    for entry in ticket.entries:
        timeline.add_row(
            f"{entry.at:%H:%M:%S}", escape(entry.actor), entry.kind, escape(entry.message)
        )
    parts: list[RenderableType] = [head, timeline]
    for run in ticket.runs:
        results = results_of(run).values()
        style = STATUS_STYLE.get(run.status, "")
        check = " --check" if run.job.check_mode else ""
        title = Text.from_markup(
            f"\n[bold]run #{run.id}[/] {run.job.kind} {escape(run.job.action)}{check}: "
            f"[{style}]{run.status}[/]"
        )
        if run.error:
            title.append(f" ({run.error})", style="red")
        parts.append(title)
        if results:
            parts.append(results_table(results))
        if run.artifacts_dir:
            parts.append(Text(f"artifacts: {run.artifacts_dir}", style="dim"))
    return Group(*parts)


def tickets_table(tickets: Iterable[Ticket]) -> Table:
    table = Table("id", "kind", "status", "prio", "title", "hosts", "owner", "updated (UTC)")
    for ticket in tickets:
        hosts = [h.host for h in ticket.hosts]
        shown = ", ".join(hosts[:3]) + (f" +{len(hosts) - 3}" if len(hosts) > 3 else "")
        table.add_row(
            f"#{ticket.id}",
            ticket.kind,
            ticket.status,
            ticket.priority,
            escape(ticket.title),
            shown,
            ticket.owner or "",
            f"{ticket.updated_at:%Y-%m-%d %H:%M}",
        )
    return table
