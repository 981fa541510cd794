"""Small line charts placed for inline SVG: this module computes the geometry, the template
draws it (and escapes every label), so a chart needs no JavaScript, font or file of its own
and prints like the text around it."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

CHART_DAYS = 14
WIDTH, HEIGHT = 380, 130
LEFT, RIGHT, TOP, BOTTOM = 44, 60, 8, 22  # margins around the plot area (levels named right)
_LINE = 9  # px between two level names, so that close levels stay legible
_LABELLED = (0, 7, CHART_DAYS - 1)  # days whose date is written under the x axis


@dataclass(frozen=True)
class Level:
    """A threshold drawn across the chart."""

    name: str  # warning | critical
    value: float
    y: float
    label_y: float  # where its name is written, in the right margin


@dataclass(frozen=True)
class Tick:
    """A day boundary on the x axis; ``label`` is empty on unlabelled days."""

    x: float
    label: str


@dataclass(frozen=True)
class Chart:
    """One (host, check, metric, item) series of the last ``CHART_DAYS`` days."""

    host: str
    check: str
    metric: str
    item: str
    unit: str
    status: str  # of the finding that asked for the chart
    trend: bool  # the finding was a trend warning
    count: int
    points: str  # the polyline's "x,y x,y ..."
    last_x: float
    last_y: float
    last_value: float
    levels: tuple[Level, ...]
    y_labels: tuple[tuple[float, str], ...]  # (y, text): the top and bottom of the scale
    ticks: tuple[Tick, ...]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM

    @property
    def title(self) -> str:
        return f"{self.metric}[{self.item}]" if self.item else self.metric


def chart_window(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The ``CHART_DAYS`` local days that end with ``day``: [first midnight, last midnight),
    in ``zone`` (the chart's day ticks are local midnights)."""
    first = datetime.combine(day - timedelta(days=CHART_DAYS - 1), time(), zone)
    return first, datetime.combine(day + timedelta(days=1), time(), zone)


def line_chart(
    key: tuple[str, str, str, str],
    series: Sequence[tuple[datetime, float]],
    window: tuple[datetime, datetime],
    levels: Mapping[str, float],
    unit: str = "",
    status: str = "warning",
    trend: bool = False,
) -> Chart:
    """Place ``series`` (oldest first, not empty) in the window, with its thresholds; the
    value scale covers the values and the levels, so a line far below its threshold shows
    how far it is."""
    if not series:
        raise ValueError("a chart needs at least one value")
    start, end = window
    # in UTC: the difference of two times of one zone ignores a DST change between them
    origin = start.astimezone(UTC)
    span = (end.astimezone(UTC) - origin).total_seconds()
    values = [value for _, value in series]
    low, high = _scale([*values, *levels.values()])

    def x(moment: datetime) -> float:
        share = (moment.astimezone(UTC) - origin).total_seconds() / span
        return round(LEFT + min(max(share, 0.0), 1.0) * (WIDTH - LEFT - RIGHT), 1)

    def y(value: float) -> float:
        share = (value - low) / (high - low)
        return round(HEIGHT - BOTTOM - share * (HEIGHT - TOP - BOTTOM), 1)

    placed = [(x(moment), y(value)) for moment, value in series]
    host, check, metric, item = key
    return Chart(
        host=host,
        check=check,
        metric=metric,
        item=item,
        unit=unit,
        status=status,
        trend=trend,
        count=len(placed),
        points=" ".join(f"{px:g},{py:g}" for px, py in placed),
        last_x=placed[-1][0],
        last_y=placed[-1][1],
        last_value=values[-1],
        levels=_levels({name: (level, y(level)) for name, level in levels.items()}),
        y_labels=((y(high), f"{high:g}"), (y(low), f"{low:g}")),
        ticks=tuple(_ticks(start, end, x)),
    )


def _levels(placed: Mapping[str, tuple[float, float]]) -> tuple[Level, ...]:
    """The levels top to bottom, each name at least a line below the one above it."""
    levels: list[Level] = []
    for name, (value, y) in sorted(placed.items(), key=lambda pair: pair[1][1]):
        label_y = y + 3
        if levels and label_y < levels[-1].label_y + _LINE:
            label_y = levels[-1].label_y + _LINE
        levels.append(Level(name, value, y, label_y))
    return tuple(levels)


def _scale(values: Sequence[float]) -> tuple[float, float]:
    """The value range shown: every value, between round numbers (a step of 1, 2 or 5 times
    a power of ten, at most five steps), so the scale reads at a glance."""
    low, high = min(values), max(values)
    if high == low:
        low, high = low - 1, high + 1
    power = 10.0 ** math.floor(math.log10(high - low))
    step = next(power * f for f in (0.2, 0.5, 1, 2, 5, 10) if (high - low) / (power * f) <= 5)
    return math.floor(low / step) * step, math.ceil(high / step) * step


def _ticks(start: datetime, end: datetime, x: Callable[[datetime], float]) -> list[Tick]:
    """A tick at each local midnight, the day after it labelled on a few of them."""
    ticks: list[Tick] = []
    day, index = start.date(), 0
    while (moment := datetime.combine(day, time(), start.tzinfo)) <= end:
        ticks.append(Tick(x(moment), f"{day:%m-%d}" if index in _LABELLED else ""))
        day, index = day + timedelta(days=1), index + 1
    return ticks
