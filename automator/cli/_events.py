"""``automator events list``: what the hooks took in, and what was decided about it."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import click
import orjson
from rich.markup import escape
from rich.table import Table

from automator.cli._app import console, open_store, pass_settings
from automator.config import Settings
from automator.events import EventIntake, EventRecord

_DURATION = re.compile(r"(\d+)([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_STATUS_STYLE = {"firing": "red", "resolved": "green"}
_SEVERITY_STYLE = {"critical": "bold red", "warning": "yellow", "info": "cyan", "unknown": "dim"}


class Since(click.ParamType[datetime]):
    """``15m``, ``2h``, ``3d``, ``1w`` ago, or an ISO 8601 time (UTC unless it says)."""

    name = "DURATION|TIME"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        match = _DURATION.fullmatch(text)
        if match:
            amount, unit = match.groups()
            return datetime.now(UTC) - timedelta(**{_UNITS[unit]: int(amount)})
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            self.fail(f"{text!r} is neither a duration (15m, 2h, 3d) nor an ISO time", param, ctx)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@click.group()
def events() -> None:
    """Alerts received by the hooks (automator serve) and the rules' decisions."""


@events.command("list")
@click.option("--since", type=Since(), help="Received since: 15m, 2h, 3d ago, or an ISO time")
@click.option("--host", help="Events about this host")
@click.option("--source", help="alertmanager, zabbix, grafana or generic/NAME")
@click.option(
    "-n", "--max", "limit", type=click.IntRange(1, 100_000), default=50, show_default=True
)
@pass_settings
def list_events(
    settings: Settings, since: datetime | None, host: str | None, source: str | None, limit: int
) -> None:
    """List received events, newest first."""
    found = EventIntake(open_store(settings)).list_events(
        since=since, host=host, source=source, limit=limit
    )
    console.print(events_table(found))


def events_table(records: Iterable[EventRecord]) -> Table:
    table = Table("id", "received (UTC)", "source", "status", "name", "host", "sev", "decision")
    for record in records:
        event = record.event
        status = event.status.value
        if record.firing_event_id is not None:
            status += f" (#{record.firing_event_id})"
        table.add_row(
            str(event.id),
            f"{event.received_at:%Y-%m-%d %H:%M:%S}" if event.received_at else "",
            _shown(event.source),
            f"[{_STATUS_STYLE.get(event.status.value, '')}]{escape(status)}[/]",
            _shown(event.name),
            _shown(event.host or "-"),
            f"[{_SEVERITY_STYLE.get(event.severity.value, '')}]{event.severity.value}[/]",
            _decision(record.decision) if record.decided_at else "[dim]pending[/]",
        )
    return table


def _decision(decision: Mapping[str, Any] | None) -> str:
    """The engine records ``{"decisions": [{rule, outcome, ...}, ...]}``: one ``rule: outcome``
    per rule that matched; no rule matched reads "no rule"."""
    if not decision:
        return "-"
    decisions = decision.get("decisions")
    if isinstance(decisions, list):
        if not decisions:
            return "[dim]no rule[/]"
        return ", ".join(
            _shown(f"{d.get('rule')}: {d.get('outcome')}") for d in decisions if isinstance(d, dict)
        )
    return _shown(orjson.dumps(decision).decode())


def _shown(text: str, width: int = 60) -> str:
    """Event data on a terminal: rich markup escaped, control characters (an ESC sequence in a
    label could drive the terminal) shown as escapes, long values cut."""
    printable = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)
    if len(printable) > width:
        printable = printable[: width - 1] + "…"
    return escape(printable)
