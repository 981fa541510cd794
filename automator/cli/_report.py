"""``automator report inspection|service``: the daily inspection report and the monthly
service report, as HTML to print, sign and hand over."""

from __future__ import annotations

import contextlib
import os
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.markup import escape

from automator.cli._app import console, err_console, open_inventory, open_store, pass_settings
from automator.config import Settings
from automator.errors import AutomatorError

if TYPE_CHECKING:
    from automator.checks import CheckCatalogue


@click.group()
def report() -> None:
    """Reports to print, sign and file."""


def _zone_name(ctx: click.Context, param: click.Parameter, value: str) -> str:
    from automator.reports import ReportError, time_zone

    try:
        time_zone(value)
    except ReportError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None
    return value


@report.command("inspection")
@click.option(
    "--date",
    "when",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    metavar="YYYY-MM-DD",
    help="The day to report [default: today in --timezone]",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    help="Where to write the HTML [default: <home>/reports/inspection-YYYY-MM-DD.html]",
)
@click.option(
    "--timezone",
    "tz",
    metavar="ZONE",
    default="UTC",
    show_default=True,
    callback=_zone_name,
    help="The time zone whose day is reported, e.g. Europe/Berlin",
)
@pass_settings
def inspection(settings: Settings, when: datetime | None, output: Path | None, tz: str) -> None:
    """Write the daily inspection report: per site and tenant every warning and critical
    with its owner, trend charts, the hosts that could not be checked, and what changed
    since the previous report. Any earlier day can be reported again as it stood then."""
    from automator.reports import inspection_report, render_inspection, save_snapshot, time_zone

    day: date = when.date() if when is not None else datetime.now(time_zone(tz)).date()
    inventory = open_inventory(settings)
    store = open_store(settings)
    data = inspection_report(store, inventory, day, tz, _catalogue(settings))
    target = output or settings.home / "reports" / f"inspection-{day}.html"
    _write(target, render_inspection(data))
    save_snapshot(store, data)
    counts = data.counts
    console.print(
        f"wrote {escape(str(target))}: {counts['critical']} critical, {counts['warning']} "
        f"warning, {counts['unknown']} unknown; {data.hosts_checked} of {data.hosts_total} "
        f"hosts checked, {len(data.unchecked)} could not be"
        + (f"; {len(data.changes)} changes since {data.previous_day}" if data.previous_day else "")
    )


def _month(ctx: click.Context, param: click.Parameter, value: str) -> str:
    from automator.reports import ReportError
    from automator.reports._service import month_bounds

    try:
        month_bounds(value)
    except ReportError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None
    return value


@report.command("service")
@click.option(
    "--month", required=True, metavar="YYYY-MM", callback=_month, help="The month to report"
)
@click.option("--tenant", help="One customer's report [default: every tenant]")
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    help="Where to write the HTML [default: <home>/reports/service-YYYY-MM[-TENANT].html]",
)
@click.option(
    "--timezone",
    "tz",
    metavar="ZONE",
    default="UTC",
    show_default=True,
    callback=_zone_name,
    help="The time zone whose month is reported, e.g. Europe/Berlin",
)
@pass_settings
def service(
    settings: Settings, month: str, tenant: str | None, output: Path | None, tz: str
) -> None:
    """Write the monthly service report: tickets by kind and priority, MTTA and MTTR, SLA
    compliance and breaches per tenant, automatic remediation, recurring problems and their
    fixes, unauthorised changes, complaints, satisfaction and service reviews."""
    from automator.reports._service import render_service_report, service_report

    data = service_report(open_store(settings), month, tenant, tz)
    suffix = f"-{_safe(tenant)}" if tenant else ""
    target = output or settings.home / "reports" / f"service-{month}{suffix}.html"
    _write(target, render_service_report(data))
    console.print(
        f"wrote {escape(str(target))}: tickets {data.tickets}, incidents "
        f"{data.times[-1].opened}, SLA breaches {data.breaches_total}, complaints "
        f"{data.complaints_total}"
    )


def _safe(name: str) -> str:
    """A tenant's name as part of a file name."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _catalogue(settings: Settings) -> CheckCatalogue | None:
    """The check catalogue, for the charts' threshold levels; the report goes on without it."""
    if not settings.checks_dir.is_dir():
        return None
    from automator.checks import load_checks

    try:
        return load_checks(settings.checks_dir)
    except AutomatorError as exc:
        first = str(exc).splitlines()[0]
        err_console.print(f"[yellow]charts without threshold levels: {escape(first)}[/]")
        return None


def _write(target: Path, text: str) -> None:
    """Write whole or not at all: a report half written must not be printed and signed."""
    from automator.reports import ReportError

    partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(text, encoding="utf-8")
        partial.replace(target)
    except OSError as exc:
        with contextlib.suppress(OSError):  # nothing to clean up when it was never written
            partial.unlink()
        raise ReportError(f"cannot write {target}: {exc.strerror or exc}") from None
