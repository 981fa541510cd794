"""Generic JSON sources: any body, read through a field mapping declared in hooks.yaml.

A path is a JSON pointer (``/monitor/tags/0``, RFC 6901) or dotted (``monitor.tags.0``); a
number steps into an array. Paths only ever read: the mapping cannot run or render anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from automator.events._errors import PayloadError
from automator.events._model import Event, EventStatus, Severity
from automator.events._payload import (
    MAX_FINGERPRINT_CHARS,
    MAX_HOST_CHARS,
    MAX_NAME_CHARS,
    array,
    child,
    identifier,
    label_fingerprint,
    mapping,
    strings,
    text,
    timestamp,
    where,
)

_MISSING = object()
_NAMED_STATUSES = {status.value: status for status in EventStatus}
_NAMED_SEVERITIES = {severity.value: severity for severity in Severity}


@dataclass(frozen=True)
class FieldPath:
    """Where a value is in a JSON document, as the operator wrote it."""

    text: str
    steps: tuple[str, ...]

    @classmethod
    def parse(cls, path: str) -> FieldPath:
        """Read a JSON pointer or a dotted path; raise ValueError saying what is wrong."""
        if path.startswith("/"):
            steps = tuple(
                step.replace("~1", "/").replace("~0", "~") for step in path[1:].split("/")
            )
        elif path:
            steps = tuple(path.split("."))
        else:
            raise ValueError("must not be empty (use / for the whole item)")
        if path != "/" and any(step == "" for step in steps):
            raise ValueError(f"{path!r} has an empty step")
        return cls(text=path, steps=() if path == "/" else steps)

    def lookup(self, doc: Any, path: str) -> tuple[Any, str]:
        """The value at this path inside ``doc`` (found at JSON path ``path``) and its own
        JSON path; the value is ``_MISSING`` when the document has no such field."""
        value = doc
        for step in self.steps:
            if isinstance(value, dict):
                value = value.get(step, _MISSING)
                path = child(path, step)
            elif isinstance(value, list) and step.isdigit():
                index = int(step)
                value = value[index] if index < len(value) else _MISSING
                path = child(path, index)
            else:
                return _MISSING, child(path, step)
            if value is _MISSING:
                break
        return value, path


@dataclass(frozen=True)
class GenericMapping:
    """How to read one generic source's bodies (``generic.NAME`` in hooks.yaml).

    ``alerts`` points at an array of alerts (absent: the body is one alert); the other paths
    are read inside each alert. ``status_map`` and ``severity_map`` translate the source's
    words (compared as text: ``2``, ``true`` and ``"down"`` all work); a status not in the map
    must already be ``firing`` or ``resolved``, a severity not in it is ``unknown`` unless it
    is one of automator's own.
    """

    name: str
    status: FieldPath
    alert_name: FieldPath
    alerts: FieldPath | None = None
    fingerprint: FieldPath | None = None
    host: FieldPath | None = None
    severity: FieldPath | None = None
    labels: FieldPath | None = None
    annotations: FieldPath | None = None
    starts_at: FieldPath | None = None
    ends_at: FieldPath | None = None
    status_map: Mapping[str, EventStatus] = field(default_factory=dict)
    severity_map: Mapping[str, Severity] = field(default_factory=dict)

    @property
    def source(self) -> str:
        return f"generic/{self.name}"

    def normalise(self, body: Any) -> list[Event]:
        if self.alerts is None:
            return [self._event(body, "")]
        items, path = self.alerts.lookup(body, "")
        if items is _MISSING:
            raise PayloadError(where(path), "is required (the list of alerts)")
        return [
            self._event(item, child(path, index)) for index, item in enumerate(array(items, path))
        ]

    def _event(self, item: Any, path: str) -> Event:
        alert = mapping(item, path)
        name = text(*self._required(self.alert_name, alert, path), MAX_NAME_CHARS)
        host_value, host_path = self._optional(self.host, alert, path)
        host = None if host_value is None else text(host_value, host_path, MAX_HOST_CHARS)
        labels_value, labels_path = self._optional(self.labels, alert, path)
        labels = {} if labels_value is None else strings(labels_value, labels_path)
        notes_value, notes_path = self._optional(self.annotations, alert, path)
        annotations = {} if notes_value is None else strings(notes_value, notes_path)
        fingerprint_value, fingerprint_path = self._optional(self.fingerprint, alert, path)
        if fingerprint_value is None:
            fingerprint = label_fingerprint(name, host or "", labels=labels)
        else:
            fingerprint = identifier(fingerprint_value, fingerprint_path, MAX_FINGERPRINT_CHARS)
        return Event(
            source=self.source,
            fingerprint=fingerprint,
            status=self._status(alert, path),
            name=name,
            host=host,
            severity=self._severity(alert, path),
            labels=labels,
            annotations=annotations,
            starts_at=_time(*self._optional(self.starts_at, alert, path)),
            ends_at=_time(*self._optional(self.ends_at, alert, path)),
            raw=alert,
        )

    def _status(self, alert: Mapping[str, Any], path: str) -> EventStatus:
        word = _word(*self._required(self.status, alert, path))
        status = self.status_map.get(word) or _NAMED_STATUSES.get(word)
        if status is None:
            raise PayloadError(
                where(self.status.lookup(alert, path)[1]),
                f"{word[:40]!r} is neither firing nor resolved, nor in hooks.yaml's status_map",
            )
        return status

    def _severity(self, alert: Mapping[str, Any], path: str) -> Severity:
        value, value_path = self._optional(self.severity, alert, path)
        if value is None:
            return Severity.UNKNOWN
        word = _word(value, value_path)
        return self.severity_map.get(word) or _NAMED_SEVERITIES.get(word, Severity.UNKNOWN)

    @staticmethod
    def _required(field_path: FieldPath, alert: Mapping[str, Any], path: str) -> tuple[Any, str]:
        value, value_path = field_path.lookup(alert, path)
        if value is _MISSING or value is None:
            raise PayloadError(where(value_path), "is required")
        return value, value_path

    @staticmethod
    def _optional(
        field_path: FieldPath | None, alert: Mapping[str, Any], path: str
    ) -> tuple[Any, str]:
        if field_path is None:
            return None, path
        value, value_path = field_path.lookup(alert, path)
        return (None if value is _MISSING else value), value_path


def _word(value: Any, path: str) -> str:
    """A status or severity as text for the maps: strings, numbers and booleans."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return value
    raise PayloadError(where(path), "must be a string, a number or a boolean")


def _time(value: Any, path: str) -> datetime | None:
    """RFC 3339 text, or seconds since the epoch."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            raise PayloadError(where(path), "is not a time in seconds since 1970") from None
    return timestamp(value, path)
