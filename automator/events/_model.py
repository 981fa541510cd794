"""The normalised event: one monitoring alert, whatever system sent it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


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
