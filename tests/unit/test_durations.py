"""One spelling of durations for every file of the project (rules, checks, contracts,
channels, itsm.yaml)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from automator._durations import duration_or_seconds, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("250ms", 0.25),
        ("30s", 30),
        ("10m", 600),
        ("1h30m", 5400),
        ("1h 30m", 5400),
        ("1.5h", 5400),
        ("2d", 172_800),
        ("2w", 1_209_600),
        (" 5s ", 5),
        ("5 m", 300),
        ("1m1ms", 60.001),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)
    parsed = parse_duration(text)
    assert parsed is not None
    assert parse_duration(format_duration(parsed)) == parsed


@pytest.mark.parametrize("text", ["", " ", "5", "m5", "-5s", "0m", "0s0ms", "5y", "soon", "1h-"])
def test_what_is_not_a_duration(text: str) -> None:
    assert parse_duration(text) is None


def test_the_shortest_spelling() -> None:
    assert format_duration(timedelta(minutes=90)) == "1h30m"
    assert format_duration(timedelta(milliseconds=250)) == "250ms"
    assert format_duration(timedelta(0)) == "0ms"


def test_a_number_is_seconds_where_files_allow_it() -> None:
    assert duration_or_seconds(90) == timedelta(seconds=90)
    assert duration_or_seconds(1.5) == timedelta(seconds=1.5)
    assert duration_or_seconds("2m") == timedelta(minutes=2)
    for value in (0, -5, True, None, "soon", [30]):
        assert duration_or_seconds(value) is None
