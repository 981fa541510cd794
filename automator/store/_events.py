"""Tables of the events package (see automator/events)."""

from __future__ import annotations
