"""``automator reviews add|list|show``: service reviews with a customer and their minutes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from automator.cli._app import console, open_store, pass_settings, requester
from automator.config import Settings


@click.group()
def reviews() -> None:
    """Service reviews: meetings with a customer about the service, with their minutes."""


@reviews.command("add")
@click.option("--tenant", required=True, help="The customer")
@click.option("--title", required=True, help="e.g. 'Q1 service review'")
@click.option(
    "--minutes-file",
    "minutes_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    required=True,
    help="The minutes, as UTF-8 text",
)
@click.option("--attendee", "attendees", multiple=True, help="Who was there (repeatable)")
@click.option(
    "--held",
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%d %H:%M"]),
    metavar="'YYYY-MM-DD [HH:MM]'",
    help="When it was held, UTC [default: now]",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only the new review's id")
@pass_settings
def add(
    settings: Settings,
    tenant: str,
    title: str,
    minutes_file: Path,
    attendees: tuple[str, ...],
    held: datetime | None,
    quiet: bool,
) -> None:
    """Record a service review and its minutes."""
    from automator.tickets import ServiceReviews

    try:
        minutes = minutes_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.BadParameter(
            f"cannot read {minutes_file}: {exc}", param_hint="--minutes-file"
        ) from None
    review_id = ServiceReviews(open_store(settings)).add(
        tenant=tenant,
        title=title,
        minutes=minutes,
        attendees=attendees,
        actor=requester(),
        held_at=held.replace(tzinfo=UTC) if held is not None else None,
    )
    console.print(str(review_id) if quiet else f"recorded service review #{review_id}")


@reviews.command("list")
@click.option("--tenant", help="Only this customer's")
@pass_settings
def list_reviews(settings: Settings, tenant: str | None) -> None:
    """Service reviews, newest first."""
    from automator.tickets import ServiceReviews

    table = Table("id", "held (UTC)", "tenant", "title", "attendees", "minutes")
    for review in ServiceReviews(open_store(settings)).list(tenant=tenant):
        table.add_row(
            f"#{review.id}",
            f"{review.held_at:%Y-%m-%d %H:%M}",
            escape(review.tenant),
            escape(review.title),
            escape(", ".join(str(a) for a in review.attendees)),
            f"{len(review.minutes.splitlines())} lines",
        )
    console.print(table)


@reviews.command("show")
@click.argument("review_id", type=int, metavar="ID")
@pass_settings
def show(settings: Settings, review_id: int) -> None:
    """A service review with its minutes."""
    from automator.tickets import ServiceReviews

    review = ServiceReviews(open_store(settings)).get(review_id)
    console.print(
        f"[bold]#{review.id} {escape(review.title)}[/]\n"
        f"tenant: {escape(review.tenant)}\n"
        f"held: {review.held_at:%Y-%m-%d %H:%M} UTC\n"
        f"attendees: {escape(', '.join(str(a) for a in review.attendees)) or '-'}\n"
        f"recorded by {escape(review.created_by)}\n"
    )
    console.print(escape(review.minutes), soft_wrap=True)
