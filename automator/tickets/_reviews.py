"""Service reviews: the meetings with a customer (tenant) where the service is looked back on,
and their minutes. The monthly service report lists the month's reviews."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import select

from automator.errors import AutomatorError
from automator.store import ServiceReview, Store, utcnow

MAX_MINUTES = 200_000  # characters: the minutes of a long meeting, not an attachment store


class ReviewError(AutomatorError):
    """A service review cannot be recorded as given (a field empty or too long)."""


class ReviewNotFound(AutomatorError):
    """A service review id that does not exist."""

    def __init__(self, review_id: int) -> None:
        self.review_id = review_id
        super().__init__(f"service review #{review_id} does not exist")


class ServiceReviews:
    """Record and read service reviews. ``clock`` stamps them (tests set the time)."""

    def __init__(self, store: Store, clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.clock = clock

    def add(
        self,
        *,
        tenant: str,
        title: str,
        minutes: str,
        attendees: Iterable[str],
        actor: str,
        held_at: datetime | None = None,
    ) -> int:
        """Record a review held at ``held_at`` (default: now); returns its id."""
        if held_at is not None and held_at.tzinfo is None:
            raise ReviewError("held_at: must carry a time zone")
        people = [_field("attendee", name, 200) for name in attendees]
        if len(minutes) > MAX_MINUTES:
            raise ReviewError(f"minutes: longer than {MAX_MINUTES} characters")
        review = ServiceReview(
            tenant=_field("tenant", tenant, 100),
            title=_field("title", title, 300),
            minutes=minutes.strip(),
            attendees=people,
            held_at=held_at or self.clock(),
            created_by=actor,
            created_at=self.clock(),
        )
        with self.store.session() as session:
            session.add(review)
            session.flush()
            return review.id

    def get(self, review_id: int) -> ServiceReview:
        with self.store.session() as session:
            review = session.get(ServiceReview, review_id)
            if review is None:
                raise ReviewNotFound(review_id)
            return review

    def list(
        self,
        *,
        tenant: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[ServiceReview]:
        """Reviews newest first, of one tenant or all, held in [since, until)."""
        newest = (ServiceReview.held_at.desc(), ServiceReview.id.desc())
        query = select(ServiceReview).order_by(*newest)
        if tenant:
            query = query.where(ServiceReview.tenant == tenant)
        if since is not None:
            query = query.where(ServiceReview.held_at >= since)
        if until is not None:
            query = query.where(ServiceReview.held_at < until)
        with self.store.session() as session:
            return list(session.scalars(query))


def _field(name: str, value: str, longest: int) -> str:
    text = value.strip()
    if not text:
        raise ReviewError(f"{name}: must not be empty")
    if len(text) > longest:
        raise ReviewError(f"{name}: longer than {longest} characters")
    return text
