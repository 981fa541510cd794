"""Service reviews and their minutes, on a real SQLite store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from automator.store import Store
from automator.tickets import ReviewError, ReviewNotFound, ServiceReviews

MARCH = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)


def test_reviews_are_recorded_and_listed_newest_first(store: Store) -> None:
    reviews = ServiceReviews(store, clock=lambda: MARCH + timedelta(days=30))
    first = reviews.add(
        tenant="acme",
        title="Q1 service review",
        minutes="1. SLA: met\n2. Next: patch window on Sundays\n",
        attendees=["Ann (acme)", " Bob (provider) "],
        actor="bob",
        held_at=MARCH,
    )
    second = reviews.add(
        tenant="globex", title="monthly call", minutes="", attendees=[], actor="carol"
    )
    third = reviews.add(
        tenant="acme",
        title="complaint follow-up",
        minutes="rota fixed",
        attendees=["Ann (acme)"],
        actor="bob",
        held_at=MARCH + timedelta(days=5),
    )
    assert [r.id for r in reviews.list()] == [second, third, first]
    assert [r.id for r in reviews.list(tenant="acme")] == [third, first]
    assert [r.id for r in reviews.list(since=MARCH + timedelta(days=1))] == [second, third]
    assert [r.id for r in reviews.list(until=MARCH + timedelta(days=5))] == [first]

    review = reviews.get(first)
    assert review.minutes == "1. SLA: met\n2. Next: patch window on Sundays"
    assert review.attendees == ["Ann (acme)", "Bob (provider)"]
    assert (review.held_at, review.created_by) == (MARCH, "bob")
    assert review.created_at == MARCH + timedelta(days=30)
    assert reviews.get(second).held_at == MARCH + timedelta(days=30)  # now, by default


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"tenant": " "}, "tenant: must not be empty"),
        ({"title": ""}, "title: must not be empty"),
        ({"title": "x" * 301}, "title: longer than 300 characters"),
        ({"attendees": ["ann", ""]}, "attendee: must not be empty"),
        ({"minutes": "x" * 200_001}, "minutes: longer than 200000 characters"),
        ({"held_at": datetime(2026, 3, 1)}, "held_at: must carry a time zone"),
    ],
)
def test_bad_reviews_are_refused(store: Store, fields, message) -> None:
    given = {"tenant": "acme", "title": "review", "minutes": "", "attendees": [], "actor": "b"}
    with pytest.raises(ReviewError, match=message):
        ServiceReviews(store).add(**{**given, **fields})
    assert ServiceReviews(store).list() == []


def test_a_review_that_does_not_exist(store: Store) -> None:
    with pytest.raises(ReviewNotFound, match="service review #7 does not exist"):
        ServiceReviews(store).get(7)
