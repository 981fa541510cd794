"""Reading untrusted JSON: every refusal names the JSON path of the field at fault.

Paths read like ``alerts[3].labels.severity``; a key that is not a plain identifier is quoted
(``labels["a.b"]``) so that the path stays unambiguous. Paths are only built when something is
wrong: the accepted path through these helpers must stay cheap, it runs once per alert.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from automator.events._errors import PayloadError

MAX_LABELS = 256
"""Labels (or annotations) one alert may carry."""
MAX_KEY_CHARS = 1024
MAX_VALUE_BYTES = 64 * 1024
"""One label or annotation value, UTF-8 encoded."""
# Column widths in the events table: refusing longer values here answers 422 at once, where
# PostgreSQL would refuse the row at commit and the sender would retry it for ever.
MAX_FINGERPRINT_CHARS = 200
MAX_NAME_CHARS = 500
MAX_HOST_CHARS = 255

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Alertmanager and Grafana say "never" / "not yet" with Go's zero time.
_ZERO_TIME_YEAR = 1


def child(path: str, key: str | int) -> str:
    """The path of ``key`` inside ``path`` (``""`` is the body itself)."""
    if isinstance(key, int):
        return f"{path or 'body'}[{key}]"
    step = key if _IDENTIFIER.fullmatch(key) else '["' + key.replace('"', '\\"') + '"]'
    if not path:
        return step if step[0] != "[" else f"body{step}"
    return f"{path}{step}" if step[0] == "[" else f"{path}.{step}"


def where(path: str) -> str:
    return path or "body"


def mapping(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise PayloadError(where(path), "must be a JSON object")
    return value


def array(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise PayloadError(where(path), "must be a JSON array")
    return value


def text(value: Any, path: str, max_chars: int) -> str:
    """A string short enough for its column, without NUL (PostgreSQL refuses those)."""
    if not isinstance(value, str):
        raise PayloadError(where(path), "must be a string")
    if len(value) > max_chars:
        raise PayloadError(where(path), f"must be at most {max_chars} characters")
    if "\x00" in value:
        raise PayloadError(where(path), "must not contain NUL characters")
    return value


def identifier(value: Any, path: str, max_chars: int) -> str:
    """An id that senders give as a string or a whole number (Zabbix event ids, generic ids)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    result = text(value, path, max_chars)
    if not result:
        raise PayloadError(where(path), "must not be empty")
    return result


def strings(value: Any, path: str) -> dict[str, str]:
    """Labels or annotations: an object of strings, kept as data, never interpreted."""
    labels = mapping(value, path)
    if len(labels) > MAX_LABELS:
        raise PayloadError(where(path), f"has {len(labels)} entries; at most {MAX_LABELS}")
    for key, item in labels.items():
        if not key or len(key) > MAX_KEY_CHARS or "\x00" in key:
            raise PayloadError(
                child(path, key[:40]), f"names must be 1 to {MAX_KEY_CHARS} characters, no NUL"
            )
        check_value(item, path, key)
    return labels  # type: ignore[return-value]  # every value was checked just above


def check_value(item: Any, path: str, key: str) -> None:
    if not isinstance(item, str):
        raise PayloadError(child(path, key), "must be a string")
    # A str of n characters takes at most 4n bytes: encode only the long ones.
    if len(item) * 4 > MAX_VALUE_BYTES and len(item.encode()) > MAX_VALUE_BYTES:
        raise PayloadError(child(path, key), f"must be at most {MAX_VALUE_BYTES} bytes")
    if "\x00" in item:
        raise PayloadError(child(path, key), "must not contain NUL characters")


def timestamp(value: Any, path: str) -> datetime | None:
    """An RFC 3339 time with its zone; Go's zero time (year 1) and null mean none."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise PayloadError(where(path), "must be an RFC 3339 time string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise PayloadError(where(path), f"{value[:40]!r} is not an RFC 3339 time") from None
    if parsed.tzinfo is None:
        raise PayloadError(where(path), "must give its time zone (Z or ±hh:mm)")
    if parsed.year == _ZERO_TIME_YEAR:
        return None
    return parsed.astimezone(UTC)


def label_fingerprint(*parts: str, labels: Mapping[str, str]) -> str:
    """A stable identity for a source that gives none: the same alert gives the same text."""
    digest = hashlib.sha256()
    for part in (*parts, *(f"{k}={labels[k]}" for k in sorted(labels))):
        digest.update(part.encode())
        digest.update(b"\x00")
    return digest.hexdigest()[:32]
