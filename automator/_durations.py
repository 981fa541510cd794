"""Durations as the project's files write them, one spelling everywhere (rules, checks,
contracts and their channels, itsm.yaml): a number and a unit, or several in a row.

``250ms``, ``30s``, ``10m``, ``1h30m``, ``1.5h``, ``2d``, ``2w``; blanks around the parts are
allowed (``1h 30m``). A duration is always more than zero.
"""

from __future__ import annotations

import re
from datetime import timedelta

EXAMPLES = "30s, 10m, 1h30m or 2d"
_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h|d|w)\s*")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_duration(text: str) -> timedelta | None:
    """The duration ``text`` spells; None when it spells none or one of zero."""
    compact = text.strip()
    position, seconds = 0, 0.0
    while position < len(compact):
        match = _PART.match(compact, position)
        if match is None:
            return None
        seconds += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if seconds <= 0:
        return None
    return timedelta(seconds=seconds)


def duration_or_seconds(value: object) -> timedelta | None:
    """A duration spelled as above, or a number of seconds more than zero (the files whose
    timeouts may be written either way); None for anything else."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value) if value > 0 else None
    return parse_duration(value) if isinstance(value, str) else None


def format_duration(duration: timedelta) -> str:
    """The shortest spelling ``parse_duration`` reads back (``1h30m``, ``250ms``)."""
    milliseconds = round(duration.total_seconds() * 1000)
    parts: list[str] = []
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        count, milliseconds = divmod(milliseconds, size)
        if count:
            parts.append(f"{count}{unit}")
    if milliseconds or not parts:
        parts.append(f"{milliseconds}ms")
    return "".join(parts)
