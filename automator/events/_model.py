"""The normalised event: one monitoring alert, whatever system sent it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

_new = object.__new__


class EventStatus(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class Severity(StrEnum):
    """Normalised severities; each source maps its own scale onto these."""

    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Event:
    """One alert as automator sees it.

    ``fingerprint`` identifies the alert across notifications: a resolved notification
    carries the fingerprint of the firing one it closes. ``host`` is the inventory host name the
    alert is about, when the source says (label ``host``, ``instance`` without port, ...).
    ``labels`` and ``annotations`` are plain strings, never interpreted as code or templates.
    """

    source: str
    fingerprint: str
    status: EventStatus
    name: str
    host: str | None
    severity: Severity
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    received_at: datetime | None = None
    id: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


def built_event(
    *,
    source: str,
    fingerprint: str,
    status: EventStatus,
    name: str,
    host: str | None,
    severity: Severity,
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    starts_at: datetime | None,
    ends_at: datetime | None,
    received_at: datetime | None,
    id: int | None,
    raw: Mapping[str, Any],
) -> Event:
    """``Event(...)`` with every field given, without the frozen dataclass's per-field
    ``object.__setattr__`` (measured: 4.3 µs an event that way, 0.7 µs this way). For the
    paths that make an event per alert: the normaliser's fast path and the engine's read."""
    event: Event = _new(Event)
    event.__dict__.update(
        source=source,
        fingerprint=fingerprint,
        status=status,
        name=name,
        host=host,
        severity=severity,
        labels=labels,
        annotations=annotations,
        starts_at=starts_at,
        ends_at=ends_at,
        received_at=received_at,
        id=id,
        raw=raw,
    )
    return event
