"""Normalisers for the monitoring systems automator knows: Alertmanager, Grafana, Zabbix.

Each is a pure function from a decoded JSON body to the events it carries, raising
:class:`PayloadError` (with the JSON path) for anything it cannot take. Fields it does not
know are left alone: they stay in ``Event.raw`` and mean nothing to automator.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson

from automator.events._errors import PayloadError
from automator.events._model import Event, EventStatus, Severity, built_event
from automator.events._payload import (
    MAX_FINGERPRINT_CHARS,
    MAX_HOST_CHARS,
    MAX_KEY_CHARS,
    MAX_LABELS,
    MAX_NAME_CHARS,
    MAX_VALUE_BYTES,
    array,
    check_value,
    child,
    identifier,
    label_fingerprint,
    mapping,
    strings,
    text,
    timestamp,
)

_STATUSES = {"firing": EventStatus.FIRING, "resolved": EventStatus.RESOLVED}
_LABEL_SEVERITIES = {
    "critical": Severity.CRITICAL,
    "warning": Severity.WARNING,
    "info": Severity.INFO,
}
_HOST_LABELS = ("hostname", "nodename")


def from_alertmanager(body: Any, source: str = "alertmanager") -> list[Event]:
    """Alertmanager's webhook notification (version 4): one event per entry of ``alerts``."""
    doc = mapping(body, "")
    version = doc.get("version")
    if version is not None and version != "4":
        raise PayloadError("version", f"is {version!r}; this hook reads webhook version 4")
    return _prometheus_alerts(doc, source)


def from_grafana(body: Any, source: str = "grafana") -> list[Event]:
    """Grafana (unified) alerting's webhook contact point: Alertmanager's shape, plus fields
    of its own (``values``, ``dashboardURL``, ...) that stay in ``raw``."""
    doc = mapping(body, "")
    if "alerts" not in doc and "ruleName" in doc:
        raise PayloadError("alerts", "is required (Grafana's legacy alerting is not supported)")
    return _prometheus_alerts(doc, source)


def _prometheus_alerts(doc: Mapping[str, Any], source: str) -> list[Event]:
    if "alerts" not in doc:
        raise PayloadError("alerts", "is required")
    items = array(doc["alerts"], "alerts")
    try:
        return _plain_alerts(items, source)
    except (_Unusual, PayloadError):
        # something to refuse (or an edge the fast path leaves alone): the checked path
        # below takes it again and names the JSON path at fault
        return _checked_alerts(items, source)


class _Unusual(Exception):
    """An alert the fast path does not take; the checked path decides."""


# A value this short is within MAX_VALUE_BYTES whatever its characters (4 bytes at most each).
_PLAIN_VALUE_CHARS = MAX_VALUE_BYTES // 4


def _plain_strings(values: Any) -> dict[str, str]:
    """``strings()`` for the common case, without building a path per field."""
    if type(values) is not dict or len(values) > MAX_LABELS:
        raise _Unusual
    for key, value in values.items():
        if (
            type(value) is not str
            or not key
            or len(key) > MAX_KEY_CHARS
            or len(value) > _PLAIN_VALUE_CHARS
            or "\x00" in key
            or "\x00" in value
        ):
            raise _Unusual
    return values


def _plain_alerts(items: list[Any], source: str) -> list[Event]:
    """``_checked_alerts`` for bodies with nothing to refuse, the same events in less time
    (measured per alert of a 100-alert body: 6.5 µs that way, 5.0 µs this way): no JSON path
    is built, labels are checked inline, and each distinct time of the body is parsed once
    (the alerts of a group share theirs). Anything it does not take raises, for the checked
    path to judge."""
    events = []
    times: dict[Any, datetime | None] = {}
    for alert in items:
        if type(alert) is not dict or "fingerprint" not in alert:
            raise _Unusual
        labels = _plain_strings(alert.get("labels"))
        annotations = _plain_strings(alert.get("annotations") or {})
        status = _status(alert.get("status"))
        fingerprint = alert["fingerprint"]
        name = labels.get("alertname", "")
        if (
            status is None
            or type(fingerprint) is not str
            or len(fingerprint) > MAX_FINGERPRINT_CHARS
            or "\x00" in fingerprint
            or len(name) > MAX_NAME_CHARS
        ):
            raise _Unusual
        starts, ends = alert.get("startsAt"), alert.get("endsAt")
        if not (type(starts) is str or starts is None) or not (type(ends) is str or ends is None):
            raise _Unusual
        if starts not in times:
            times[starts] = timestamp(starts, "")
        if ends not in times:
            times[ends] = timestamp(ends, "")
        events.append(
            built_event(
                source=source,
                fingerprint=fingerprint,
                status=status,
                name=name,
                host=host_from_labels(labels, ""),
                severity=_LABEL_SEVERITIES.get(
                    labels.get("severity", "").lower(), Severity.UNKNOWN
                ),
                labels=labels,
                annotations=annotations,
                starts_at=times[starts],
                ends_at=times[ends],
                received_at=None,
                id=None,
                raw=alert,
            )
        )
    return events


def _checked_alerts(items: list[Any], source: str) -> list[Event]:
    events = []
    for index, item in enumerate(items):
        path = f"alerts[{index}]"
        alert = mapping(item, path)
        if "labels" not in alert:
            raise PayloadError(f"{path}.labels", "is required")
        labels = strings(alert["labels"], f"{path}.labels")
        annotations = strings(alert.get("annotations") or {}, f"{path}.annotations")
        status = _status(alert.get("status"))
        if status is None:
            raise PayloadError(f"{path}.status", "must be firing or resolved")
        if "fingerprint" in alert:
            fingerprint = text(alert["fingerprint"], f"{path}.fingerprint", MAX_FINGERPRINT_CHARS)
        else:  # Alertmanager before 0.19 sent none
            fingerprint = label_fingerprint(labels=labels)
        name = labels.get("alertname", "")
        if len(name) > MAX_NAME_CHARS:
            raise PayloadError(
                f"{path}.labels.alertname", f"must be at most {MAX_NAME_CHARS} characters"
            )
        events.append(
            Event(
                source=source,
                fingerprint=fingerprint,
                status=status,
                name=name,
                host=host_from_labels(labels, f"{path}.labels"),
                severity=_LABEL_SEVERITIES.get(
                    labels.get("severity", "").lower(), Severity.UNKNOWN
                ),
                labels=labels,
                annotations=annotations,
                starts_at=timestamp(alert.get("startsAt"), f"{path}.startsAt"),
                ends_at=timestamp(alert.get("endsAt"), f"{path}.endsAt"),
                raw=alert,
            )
        )
    return events


def _status(value: Any) -> EventStatus | None:
    return _STATUSES.get(value) if isinstance(value, str) else None


def host_from_labels(labels: Mapping[str, str], path: str) -> str | None:
    """The host an alert is about: label ``host``, else ``instance`` without its port (or the
    host of a URL, as blackbox probes give), else ``hostname`` or ``nodename``."""
    key = "host"
    host = labels.get("host")
    if not host and labels.get("instance"):
        key, host = "instance", strip_port(labels["instance"])
    for name in _HOST_LABELS:
        if not host:
            key, host = name, labels.get(name)
    if not host:
        return None
    if len(host) > MAX_HOST_CHARS:
        raise PayloadError(child(path, key), f"a host name is at most {MAX_HOST_CHARS} characters")
    return host


def strip_port(instance: str) -> str:
    if "://" in instance:
        try:
            return urlsplit(instance).hostname or instance
        except ValueError:  # a malformed URL is still a name worth keeping as it is
            return instance
    if instance.startswith("["):  # [2001:db8::1]:9100
        return instance[1 : instance.find("]")] if "]" in instance else instance
    name, colon, port = instance.rpartition(":")
    if colon and port.isdigit() and ":" not in name:
        return name
    return instance


# --- Zabbix -------------------------------------------------------------------------------

_ZABBIX_SEVERITIES = {
    "disaster": Severity.CRITICAL,
    "high": Severity.CRITICAL,
    "average": Severity.WARNING,
    "warning": Severity.WARNING,
    "information": Severity.INFO,
    "not classified": Severity.UNKNOWN,
}
_ZABBIX_NSEVERITIES = {
    "5": Severity.CRITICAL,
    "4": Severity.CRITICAL,
    "3": Severity.WARNING,
    "2": Severity.WARNING,
    "1": Severity.INFO,
    "0": Severity.UNKNOWN,
}
_ZABBIX_STATUSES = {
    "problem": EventStatus.FIRING,
    "resolved": EventStatus.RESOLVED,
    "ok": EventStatus.RESOLVED,  # {EVENT.STATUS} before Zabbix 5.0
}
_ZABBIX_VALUES = {"1": EventStatus.FIRING, "0": EventStatus.RESOLVED}
# Fields the normaliser reads; every other string field becomes an annotation.
_ZABBIX_FIELDS = frozenset(
    {
        "event_id",
        "event_name",
        "trigger_name",
        "host",
        "host_name",
        "event_severity",
        "event_nseverity",
        "event_status",
        "event_value",
        "event_tags",
        "event_date",
        "event_time",
        "event_recovery_date",
        "event_recovery_time",
        "timezone",
    }
)
# Zabbix leaves a macro it cannot resolve as it is, e.g. {EVENT.RECOVERY.DATE} in a problem.
_UNRESOLVED_MACRO = re.compile(r"\{[A-Z0-9_.]+(:[^}]*)?\}")


def from_zabbix(body: Any, source: str = "zabbix") -> list[Event]:
    """One Zabbix problem or recovery, as a webhook media type posts it (see docs/events.md):
    the media type's parameters as one JSON object of strings.

    ``fingerprint`` is ``event_id``: in a recovery message ``{EVENT.ID}`` is still the id of
    the problem event, so the recovery links to its problem.
    """
    doc = mapping(body, "")
    values = {key: _zabbix_text(doc, key) for key in _ZABBIX_FIELDS}
    if values["event_id"] is None:
        raise PayloadError("event_id", "is required ({EVENT.ID})")
    fingerprint = identifier(values["event_id"], "event_id", MAX_FINGERPRINT_CHARS)
    name_key = "event_name" if values["event_name"] is not None else "trigger_name"
    if values[name_key] is None:
        raise PayloadError("event_name", "is required ({EVENT.NAME}), or trigger_name")
    name = text(values[name_key], name_key, MAX_NAME_CHARS)
    host_key = "host" if values["host"] is not None else "host_name"
    host = values[host_key]
    if host is not None:
        text(host, host_key, MAX_HOST_CHARS)
    zone = _zone(values["timezone"])
    annotations = {
        key: value
        for key, value in doc.items()
        if key not in _ZABBIX_FIELDS and not _is_unresolved(value)
    }
    for key, value in annotations.items():
        check_value(value, "", key)
    if len(annotations) > MAX_LABELS:
        raise PayloadError("body", f"has more than {MAX_LABELS} fields")
    return [
        Event(
            source=source,
            fingerprint=fingerprint,
            status=_zabbix_status(values),
            name=name,
            host=host,
            severity=_zabbix_severity(values),
            labels=_zabbix_tags(doc.get("event_tags")),
            annotations=annotations,
            starts_at=_zabbix_time(values, "event_date", "event_time", zone),
            ends_at=_zabbix_time(values, "event_recovery_date", "event_recovery_time", zone),
            raw=doc,
        )
    ]


def _is_unresolved(value: Any) -> bool:
    return isinstance(value, str) and _UNRESOLVED_MACRO.fullmatch(value) is not None


def _zabbix_text(doc: Mapping[str, Any], key: str) -> str | None:
    """A parameter as text; absent, empty and unresolved macros are None. Numbers are taken
    too, for scripts that send ``event_value`` or ``event_id`` unquoted."""
    value = doc.get(key)
    if key == "event_tags" or value is None or value == "" or _is_unresolved(value):
        return None  # tags are read by _zabbix_tags
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise PayloadError(key, "must be a string")
    return value


def _zabbix_status(values: Mapping[str, str | None]) -> EventStatus:
    if values["event_status"] is not None:
        status = _ZABBIX_STATUSES.get(values["event_status"].lower())
        if status is None:
            raise PayloadError("event_status", "must be PROBLEM or RESOLVED")
        return status
    if values["event_value"] is not None:
        status = _ZABBIX_VALUES.get(values["event_value"])
        if status is None:
            raise PayloadError("event_value", "must be 1 (problem) or 0 (recovery)")
        return status
    raise PayloadError("event_status", "is required ({EVENT.STATUS}), or event_value")


def _zabbix_severity(values: Mapping[str, str | None]) -> Severity:
    # Severity names can be renamed in Zabbix; the number cannot, so it wins.
    if values["event_nseverity"] is not None:
        severity = _ZABBIX_NSEVERITIES.get(values["event_nseverity"])
        if severity is None:
            raise PayloadError("event_nseverity", "must be a number from 0 to 5")
        return severity
    if values["event_severity"] is not None:
        return _ZABBIX_SEVERITIES.get(values["event_severity"].lower(), Severity.UNKNOWN)
    return Severity.UNKNOWN


def _zabbix_tags(value: Any) -> dict[str, str]:
    """``{EVENT.TAGSJSON}`` (a list of {tag, value}, as JSON or as its text) or ``{EVENT.TAGS}``
    (``tag:value, tag2:value2``). A tag given twice keeps its values joined by commas."""
    if value is None or value == "" or _is_unresolved(value):
        return {}
    if isinstance(value, str) and value.lstrip().startswith("["):
        # else a {EVENT.TAGS} text whose first tag starts with "["
        with contextlib.suppress(orjson.JSONDecodeError):
            value = orjson.loads(value)
    pairs: list[tuple[str, str]] = []
    if isinstance(value, str):
        for item in value.split(","):
            tag, _, tag_value = item.strip().partition(":")
            if tag:
                pairs.append((tag, tag_value))
    elif not isinstance(value, list):
        raise PayloadError("event_tags", "must be a list of {tag, value}, or tag:value text")
    else:
        for index, item in enumerate(value):
            path = f"event_tags[{index}]"
            entry = mapping(item, path)
            if "tag" not in entry:
                raise PayloadError(f"{path}.tag", "is required")
            tag = text(entry["tag"], f"{path}.tag", MAX_KEY_CHARS)
            tag_value = entry.get("value", "")
            if not isinstance(tag_value, str):
                raise PayloadError(f"{path}.value", "must be a string")
            pairs.append((tag, tag_value))
    tags: dict[str, str] = {}
    for tag, tag_value in pairs:
        tags[tag] = f"{tags[tag]},{tag_value}" if tag in tags else tag_value
    return strings(tags, "event_tags")


def _zone(name: str | None) -> tzinfo:
    """Zabbix sends local times without a zone: the media type says which (default UTC)."""
    if name is None:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise PayloadError("timezone", f"{name[:60]!r} is not a time zone name") from None


def _zabbix_time(
    values: Mapping[str, str | None], date_key: str, time_key: str, zone: tzinfo
) -> datetime | None:
    date, time = values[date_key], values[time_key]
    if date is None or time is None:
        return None
    try:
        local = datetime.strptime(f"{date} {time}", "%Y.%m.%d %H:%M:%S")
    except ValueError:
        raise PayloadError(
            date_key, f"{date[:20]!r} {time[:20]!r} is not a Zabbix date and time"
        ) from None
    return local.replace(tzinfo=zone).astimezone(UTC)
