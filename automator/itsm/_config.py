"""``itsm.yaml`` (at the project's top level): which ITSM, which tickets, how names map.

::

    system: redmine                    # the only adapter so far
    redmine:
      url: http://127.0.0.1:13000
      project: automator               # the project identifier
      api_key_env: AUTOMATOR_REDMINE_API_KEY   # the default; the key itself is never here
      api_key_file: /var/lib/automator-redmine/api_key   # read when the variable is unset
      timeout: 10s
      trackers: {incident: Bug, change: Feature, request: Support}   # by ticket kind
      priorities: {P1: Immediate, P2: Urgent, P3: Normal, P4: Low}
      statuses: {acknowledged: In Progress, waiting_on_customer: Feedback}   # ours → Redmine
      from_redmine: {Feedback: waiting_on_customer, Rejected: closed}       # Redmine → ours
    mirror:
      kinds: [incident, problem, complaint]   # default: every kind
      tenants: [acme]                          # default: every tenant
      since: 2025-01-01                        # tickets opened before are not mirrored
      notes: [comment, run, verify]            # timeline kinds sent as notes
    sync:
      interval: 30s                    # between ticks of automator itsm sync
      batch: 100                       # entries, rows and issues per tick
      retry_first: 10s                 # an unsent change waits this, doubling ...
      retry_max: 10m                   # ... up to this

Mappings given are merged over the defaults (``automator.itsm._redmine``). Every problem is
reported as ``FILE:LINE: field: message``.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import yaml

from automator._durations import duration_or_seconds
from automator._yamlsource import Fields, YamlSource, plain
from automator.errors import Problem
from automator.itsm._errors import ItsmConfigError
from automator.itsm._redmine import (
    DEFAULT_KEY_ENV,
    FROM_REDMINE,
    PRIORITIES,
    STATUSES,
    TRACKERS,
    RedmineSettings,
)
from automator.itsm._sync import ALWAYS_KINDS, MirrorPolicy, SyncPolicy
from automator.tickets import Priority, TicketKind, TicketStatus

SYSTEMS = ("redmine",)
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KIND_WORD = re.compile(r"[a-z][a-z_]{0,39}")
_REDMINE_KEYS = (
    "url",
    "project",
    "api_key_env",
    "api_key_file",
    "timeout",
    "trackers",
    "priorities",
    "statuses",
    "from_redmine",
)
_MIRROR_KEYS = ("kinds", "tenants", "since", "notes")
_SYNC_KEYS = ("interval", "batch", "retry_first", "retry_max")


@dataclass(frozen=True)
class ItsmConfig:
    system: str
    redmine: RedmineSettings
    mirror: MirrorPolicy
    sync: SyncPolicy
    path: Path


def load_itsm_config(path: Path) -> ItsmConfig:
    """Read itsm.yaml; raise ItsmConfigError listing every problem."""
    reader = _Reader(path, top="itsm.yaml")
    root = reader.root()
    if root is None:
        if not reader.problems:
            reader.problems.append(_empty(path))
        raise ItsmConfigError(reader.problems)
    top = reader.mapping(root, "", ("system", "redmine", "mirror", "sync"))
    system = reader.string(top.value("system"), "system") or "redmine"
    if system not in SYSTEMS:
        reader.problem(top["system"][1], "system", f"must be one of {', '.join(SYSTEMS)}")
    redmine = _redmine(reader, top, path.parent)
    mirror = _mirror(reader, top.value("mirror"))
    sync = _sync(reader, top.value("sync"))
    if reader.problems or redmine is None:
        raise ItsmConfigError(sorted(reader.problems, key=lambda p: p.line or 0))
    return ItsmConfig(system=system, redmine=redmine, mirror=mirror, sync=sync, path=path)


def _empty(path: Path) -> Problem:
    return Problem(str(path), None, "itsm.yaml", "is empty: it needs at least redmine.url")


def _redmine(reader: _Reader, top: Fields, folder: Path) -> RedmineSettings | None:
    node = reader.required(top, "redmine")
    if node is None:
        return None
    fields = reader.mapping(node, "redmine", _REDMINE_KEYS)
    url = reader.string(reader.required(fields, "url", "redmine.url"), "redmine.url")
    if url is not None and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", url):
        reader.problem(fields["url"][1], "redmine.url", "must be an http:// or https:// URL")
        url = None
    project = reader.string(fields.value("project"), "redmine.project") or "automator"
    key_env = reader.string(fields.value("api_key_env"), "redmine.api_key_env") or DEFAULT_KEY_ENV
    if not _ENV_NAME.fullmatch(key_env):
        node = fields["api_key_env"][1]
        reader.problem(node, "redmine.api_key_env", "must be an environment variable name")
    key_file = reader.string(fields.value("api_key_file"), "redmine.api_key_file")
    timeout = reader.seconds(fields.value("timeout"), "redmine.timeout")
    maps = {
        "trackers": reader.word_map(fields, "trackers", [k.value for k in TicketKind], TRACKERS),
        "priorities": reader.word_map(
            fields, "priorities", [p.value for p in Priority], PRIORITIES
        ),
        "statuses": reader.word_map(fields, "statuses", [s.value for s in TicketStatus], STATUSES),
    }
    from_redmine = reader.names_to(fields, "from_redmine", [s.value for s in TicketStatus])
    if url is None:
        return None
    return RedmineSettings(
        url=url,
        project=project,
        api_key_env=key_env,
        api_key_file=None if key_file is None else folder / Path(key_file).expanduser(),
        timeout=timeout or 10.0,
        from_redmine={**FROM_REDMINE, **from_redmine},
        **maps,
    )


def _mirror(reader: _Reader, node: yaml.Node | None) -> MirrorPolicy:
    if node is None:
        return MirrorPolicy()
    fields = reader.mapping(node, "mirror", _MIRROR_KEYS)
    kinds = reader.words(fields.value("kinds"), "mirror.kinds", [k.value for k in TicketKind])
    tenants = reader.words(fields.value("tenants"), "mirror.tenants", None)
    notes = reader.words(fields.value("notes"), "mirror.notes", None)
    for kind in notes or ():
        if not _KIND_WORD.fullmatch(kind) or kind in ALWAYS_KINDS or kind == "itsm":
            reader.problem(
                fields["notes"][1],
                "mirror.notes",
                f"{kind!r} is not a timeline kind to send as a note (opened, status and assign "
                "are always sent; itsm never)",
            )
    return MirrorPolicy(
        kinds=frozenset(kinds or ()),
        tenants=frozenset(tenants or ()),
        since=reader.moment(fields.value("since"), "mirror.since"),
        **({} if notes is None else {"notes": frozenset(notes)}),
    )


def _sync(reader: _Reader, node: yaml.Node | None) -> SyncPolicy:
    if node is None:
        return SyncPolicy()
    fields = reader.mapping(node, "sync", _SYNC_KEYS)
    default = SyncPolicy()
    batch = plain(fields.value("batch"))
    if batch is not None and (isinstance(batch, bool) or not isinstance(batch, int) or batch < 1):
        reader.problem(fields["batch"][1], "sync.batch", "must be a whole number from 1")
        batch = None
    return SyncPolicy(
        interval=reader.seconds(fields.value("interval"), "sync.interval") or default.interval,
        batch=int(batch) if isinstance(batch, int) else default.batch,
        retry_first=reader.seconds(fields.value("retry_first"), "sync.retry_first")
        or default.retry_first,
        retry_max=reader.seconds(fields.value("retry_max"), "sync.retry_max") or default.retry_max,
    )


class _Reader(YamlSource):
    """itsm.yaml's nodes, with the readers of its fields."""

    def seconds(self, node: yaml.Node | None, field: str) -> float | None:
        """``30s``, ``10m``, ``1h`` or a number of seconds, more than zero."""
        value = plain(node)
        if value is None:
            return None
        assert node is not None
        found = duration_or_seconds(value)
        if found is None:
            self.problem(node, field, "must be a duration like 30s, 10m or 1h")
            return None
        return found.total_seconds()

    def moment(self, node: yaml.Node | None, field: str) -> datetime | None:
        """A date (midnight UTC) or a date and time (UTC unless it says otherwise)."""
        value = plain(node)
        if value is None:
            return None
        assert node is not None
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = datetime.fromisoformat(value)
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day, tzinfo=UTC)
        self.problem(node, field, "must be a date (2025-01-31) or a date and time")
        return None

    def words(
        self, node: yaml.Node | None, field: str, allowed: list[str] | None
    ) -> list[str] | None:
        """A list of strings (each one of ``allowed`` when given); None when absent."""
        if node is None:
            return None
        if not isinstance(node, yaml.SequenceNode):
            self.problem(node, field, "must be a list")
            return None
        result = []
        for item in node.value:
            word = self.string(item, field)
            if word is None:
                continue
            if allowed is not None and word not in allowed:
                self.problem(item, field, f"{word!r} is not one of {', '.join(allowed)}")
                continue
            result.append(word)
        return result

    def word_map(
        self, fields: Fields, key: str, ours: list[str], defaults: dict[str, str]
    ) -> dict[str, str]:
        """automator's words (``ours``) → Redmine names, merged over ``defaults``."""
        result = dict(defaults)
        if key not in fields:
            return result
        for word, (key_node, node) in self.mapping(fields[key][1], f"redmine.{key}").items():
            where = f"redmine.{key}.{word}"
            if word not in ours:
                self.problem(key_node, where, f"must be one of {', '.join(ours)}")
                continue
            name = self.string(node, where)
            if name:
                result[word] = name
        return result

    def names_to(self, fields: Fields, key: str, ours: list[str]) -> dict[str, str]:
        """Redmine names → automator's words (each one of ``ours``)."""
        result: dict[str, str] = {}
        if key not in fields:
            return result
        for name, (_, node) in self.mapping(fields[key][1], f"redmine.{key}").items():
            where = f"redmine.{key}.{name}"
            word = self.string(node, where)
            if word is not None and word not in ours:
                self.problem(node, where, f"must be one of {', '.join(ours)}")
            elif word is not None:
                result[name] = word
        return result
