"""Read a Nornir SimpleInventory directory, check all of it and resolve every host.

The files are read as YAML node trees (``yaml.compose``), not as Python values, so that every
problem names the line of the node at fault and a key given twice is seen rather than silently
overwritten. Checking goes on after a problem: ``InventoryError`` lists all of them at once.

Resolution follows Nornir: a host's field comes from the host, else from its groups in order
(depth first through their parents), else from defaults. ``data``, ``data.credentials``,
``data.ansible_vars`` and ``connection_options`` merge key by key with the same precedence;
a password or enable secret source (``*_env`` or ``*_file``) counts as one key. ``data.checks``
(per-host and per-group settings of the health checks) merges check by check and, inside a
check, threshold by threshold: a group can lower one metric's warning level and a host turn the
check off, without repeating the rest.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from automator.errors import InventoryError, Problem
from automator.inventory._model import (
    PLATFORMS,
    Credentials,
    Criticality,
    Group,
    Host,
    Inventory,
    MaintenanceWindow,
)

# libyaml's parser when PyYAML was built with it (the wheels are): the same nodes and marks,
# several times faster on inventories of hundreds of hosts
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_NULL = "tag:yaml.org,2002:null"
_MERGE = "tag:yaml.org,2002:merge"

_ENTRY_KEYS = ("hostname", "port", "username", "platform", "groups", "data", "connection_options")
_DEFAULTS_KEYS = tuple(key for key in _ENTRY_KEYS if key != "groups")
_STRING_DATA = ("site", "tenant", "role", "owner")
_KNOWN_DATA = (
    *_STRING_DATA,
    "criticality",
    "maintenance",
    "freeze",
    "credentials",
    "ansible_vars",
    "checks",
)
_CHECK_KEYS = ("enabled", "thresholds", "params")
_THRESHOLD_KEYS = ("warning", "critical")
_CREDENTIAL_KEYS = (
    "username",
    "password_env",
    "password_file",
    "key_file",
    "enable_secret_env",
    "enable_secret_file",
    "known_hosts_file",
)
# Each slot merges as a unit: a group's password_file must not pair with defaults' password_env.
_CREDENTIAL_SLOTS = (
    ("username",),
    ("password_env", "password_file"),
    ("key_file",),
    ("enable_secret_env", "enable_secret_file"),
    ("known_hosts_file",),
)
_WINDOW_KEYS = ("name", "days", "start", "end", "timezone", "starts", "ends")
_RECURRING = ("days", "start", "end")
_ONE_OFF = ("starts", "ends")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")

# Keys whose value would be a secret, and where that secret belongs instead.
_SECRET_KEYS = {
    key: f"secrets are not kept in the inventory: use {source}_env or {source}_file"
    for key, source in (
        ("password", "credentials.password"),
        ("ansible_password", "credentials.password"),
        ("ansible_ssh_pass", "credentials.password"),
        ("secret", "credentials.enable_secret"),
        ("enable_secret", "credentials.enable_secret"),
        ("ansible_become_password", "credentials.enable_secret"),
        ("ansible_become_pass", "credentials.enable_secret"),
    )
}


class _Invalid:
    """Marks a field whose value was wrong (and reported): set, so never "missing" as well."""


_INVALID = _Invalid()
_T = TypeVar("_T")


@dataclass
class _GroupRef:
    name: str
    node: Node
    field: str


@dataclass
class _Entry:
    """What one host, group or defaults entry sets itself, before resolution."""

    name: str
    file: str
    line: int
    groups: list[_GroupRef] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)
    credentials: dict[str, Any] = field(default_factory=dict)
    ansible_vars: dict[str, Any] = field(default_factory=dict)
    connection_options: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)

    def set(self, key: str, value: object | None) -> None:
        self.fields[key] = _INVALID if value is None else value


def load_inventory(directory: Path | str) -> Inventory:
    """Load and check the inventory in ``directory``; ``InventoryError`` lists every problem."""
    return _Loader(Path(directory)).load()


class _Loader:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.problems: list[Problem] = []
        self.file = ""
        # A loader only to build plain values from nodes; it never reads a stream.
        self.constructor = yaml.SafeLoader("")

    def load(self) -> Inventory:
        if not self.directory.is_dir():
            state = "is not a directory" if self.directory.exists() else "does not exist"
            raise InventoryError([Problem(str(self.directory), None, "directory", state)])
        files = [
            str(self.directory / name) for name in ("hosts.yaml", "groups.yaml", "defaults.yaml")
        ]
        hosts = self._entries(files[0], "host", required=True)
        groups = self._entries(files[1], "group", required=False)
        defaults = self._defaults(files[2])
        self._check_groups(hosts, groups)
        chains = {
            name: [host, *(groups[group] for group in _ancestors(host, groups)), defaults]
            for name, host in hosts.items()
        }
        for name, chain in chains.items():
            if not any("platform" in entry.fields for entry in chain):
                self.file = chain[0].file
                self.problems.append(
                    Problem(
                        self.file,
                        chain[0].line,
                        f"{name}.platform",
                        "missing: set it on the host, one of its groups or defaults",
                    )
                )
        if self.problems:
            self.problems.sort(key=lambda p: (files.index(p.file), p.line or 0))
            raise InventoryError(self.problems)
        return Inventory(
            self.directory,
            {name: _host(chain, groups) for name, chain in chains.items()},
            {
                name: Group(name, tuple(ref.name for ref in entry.groups), entry.file, entry.line)
                for name, entry in groups.items()
            },
        )

    # -- files -----------------------------------------------------------------------------

    def _read(self, file: str, required: bool) -> Node | None:
        self.file = file
        path = Path(file)
        if not path.exists() and not required:
            return None
        try:
            text = path.read_bytes()
        except FileNotFoundError:
            self.problems.append(Problem(file, None, "file", "does not exist"))
            return None
        except OSError as exc:
            self.problems.append(Problem(file, None, "file", f"cannot be read: {exc.strerror}"))
            return None
        try:
            return yaml.compose(text, Loader=_LOADER)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else None
            message = exc.problem or exc.context or "invalid YAML"
            self.problems.append(Problem(file, line, "yaml", f"syntax error: {message}"))
        except yaml.YAMLError as exc:
            self.problems.append(Problem(file, None, "yaml", str(exc).splitlines()[0]))
        return None

    def _entries(self, file: str, what: str, required: bool) -> dict[str, _Entry]:
        root = self._read(file, required)
        entries: dict[str, _Entry] = {}
        if root is None or _is_null(root):
            return entries
        if not isinstance(root, MappingNode):
            self._problem(root, f"{what}s", f"must be a mapping of {what} name to {what}")
            return entries
        for name, key_node, node in self._pairs(root, "", what):
            entries[name] = self._entry(name, key_node, node, _ENTRY_KEYS)
        return entries

    def _defaults(self, file: str) -> _Entry:
        root = self._read(file, required=False)
        if root is None:
            return _Entry("defaults", file, 1)
        if not (_is_null(root) or isinstance(root, MappingNode)):
            self._problem(root, "defaults", "must be a mapping of field to value")
            return _Entry("defaults", file, 1)
        return self._entry("defaults", root, root, _DEFAULTS_KEYS)

    # -- one host, group or defaults -----------------------------------------------------------

    def _entry(self, name: str, key_node: Node, node: Node, allowed: tuple[str, ...]) -> _Entry:
        entry = _Entry(name, self.file, _line(key_node))
        if _is_null(node):
            return entry
        if not isinstance(node, MappingNode):
            self._problem(node, name, "must be a mapping")
            return entry
        username_node: Node | None = None
        for key, knode, vnode in self._pairs(node, name):
            path = f"{name}.{key}"
            if key not in allowed:
                self._problem(knode, path, f"unknown key (allowed: {', '.join(allowed)})")
            elif _is_null(vnode):
                continue
            elif key == "hostname":
                entry.set(key, self._string(vnode, path))
            elif key == "username":
                entry.set(key, self._string(vnode, path))
                username_node = vnode
            elif key == "port":
                entry.set(key, self._port(vnode, path))
            elif key == "platform":
                entry.set(key, self._platform(vnode, path))
            elif key == "groups":
                entry.groups = self._group_refs(vnode, path)
            elif key == "data":
                self._data(vnode, path, entry)
            else:
                entry.connection_options = self._free_mapping(vnode, path)
        if username_node is not None:
            if "username" in entry.credentials:
                self._problem(
                    username_node,
                    f"{name}.username",
                    "set only one of username and data.credentials.username",
                )
            else:
                entry.credentials["username"] = entry.fields.pop("username")
        return entry

    def _data(self, node: Node, path: str, entry: _Entry) -> None:
        if not isinstance(node, MappingNode):
            self._problem(node, path, "must be a mapping")
            return
        for key, _, vnode in self._pairs(node, path):
            here = f"{path}.{key}"
            if key not in _KNOWN_DATA:
                entry.data[key] = self._free(vnode, here)
            elif _is_null(vnode):
                continue
            elif key in _STRING_DATA:
                entry.set(key, self._string(vnode, here))
            elif key == "criticality":
                entry.set(key, self._criticality(vnode, here))
            elif key in ("maintenance", "freeze"):
                entry.set(key, self._windows(vnode, here, kind=key))
            elif key == "credentials":
                entry.credentials.update(self._credentials(vnode, here))
            elif key == "checks":
                entry.checks = self._checks(vnode, here)
            else:
                entry.ansible_vars = self._free_mapping(vnode, here)

    # -- scalars ---------------------------------------------------------------------------

    def _string(self, node: Node, path: str) -> str | None:
        if isinstance(node, ScalarNode) and node.tag == _STR:
            return str(node.value)
        self._problem(node, path, "must be a string")
        return None

    def _port(self, node: Node, path: str) -> int | None:
        if isinstance(node, ScalarNode) and node.tag == _INT:
            port = self.constructor.construct_object(node)
            if isinstance(port, int) and 1 <= port <= 65535:
                return port
        self._problem(node, path, "must be an integer from 1 to 65535")
        return None

    def _platform(self, node: Node, path: str) -> str | None:
        platform = self._string(node, path)
        if platform is None or platform in PLATFORMS:
            return platform
        known = ", ".join(sorted(PLATFORMS))
        self._problem(node, path, f"unknown platform {platform!r} (known: {known})")
        return None

    def _criticality(self, node: Node, path: str) -> Criticality | None:
        if isinstance(node, ScalarNode) and node.tag == _STR and node.value in set(Criticality):
            return Criticality(node.value)
        self._problem(node, path, f"must be one of {', '.join(Criticality)}")
        return None

    def _group_refs(self, node: Node, path: str) -> list[_GroupRef]:
        if not isinstance(node, SequenceNode):
            self._problem(node, path, "must be a list of group names")
            return []
        refs: list[_GroupRef] = []
        for index, item in enumerate(node.value):
            here = f"{path}[{index}]"
            name = self._string(item, here)
            if name is None:
                continue
            if any(ref.name == name for ref in refs):
                self._problem(item, here, f"group {name!r} is listed twice")
                continue
            refs.append(_GroupRef(name, item, here))
        return refs

    # -- credentials -----------------------------------------------------------------------

    def _credentials(self, node: Node, path: str) -> dict[str, Any]:
        if not isinstance(node, MappingNode):
            self._problem(node, path, "must be a mapping")
            return {}
        credentials: dict[str, Any] = {}
        for key, knode, vnode in self._pairs(node, path):
            here = f"{path}.{key}"
            if key not in _CREDENTIAL_KEYS:
                known = ", ".join(_CREDENTIAL_KEYS)
                self._problem(knode, here, f"unknown key (allowed: {known})")
                continue
            if _is_null(vnode):
                continue
            value = self._string(vnode, here)
            if value is None:
                credentials[key] = _INVALID
            elif key.endswith("_file"):
                # Relative to the inventory, not to wherever automator happens to run.
                credentials[key] = (self.directory / Path(value).expanduser()).resolve()
            else:
                credentials[key] = value
            for slot in _CREDENTIAL_SLOTS:
                if key in slot and len(slot) > 1 and all(other in credentials for other in slot):
                    self._problem(knode, here, f"set only one of {' and '.join(slot)}")
        return credentials

    # -- maintenance windows ---------------------------------------------------------------

    def _windows(self, node: Node, path: str, kind: str) -> tuple[MaintenanceWindow, ...] | None:
        if not isinstance(node, SequenceNode):
            self._problem(node, path, "must be a list of windows")
            return None
        windows = [self._window(item, f"{path}[{i}]", kind) for i, item in enumerate(node.value)]
        valid = [window for window in windows if window is not None]
        return tuple(valid) if len(valid) == len(windows) else None

    def _window(self, node: Node, path: str, kind: str) -> MaintenanceWindow | None:
        if not isinstance(node, MappingNode):
            self._problem(node, path, "must be a mapping")
            return None
        found = len(self.problems)
        values: dict[str, Node] = {}
        for key, knode, vnode in self._pairs(node, path):
            if key not in _WINDOW_KEYS:
                known = ", ".join(_WINDOW_KEYS)
                self._problem(knode, f"{path}.{key}", f"unknown key (allowed: {known})")
            elif not _is_null(vnode):
                values[key] = vnode
        recurring = any(key in values for key in _RECURRING)
        one_off = any(key in values for key in _ONE_OFF)
        if recurring and one_off:
            self._problem(
                node, path, "mixes recurring (days, start, end) and one-off (starts, ends) fields"
            )
            return None
        if not (recurring or one_off):
            self._problem(node, path, "needs days, start and end, or starts and ends")
        for key in ("name", *(_RECURRING if recurring else _ONE_OFF if one_off else ())):
            if key not in values:
                self._problem(node, f"{path}.{key}", "missing")
        name = self._optional(values, "name", path, self._string)
        # An unknown timezone is reported; UTC stands in so that the other fields are checked.
        timezone = self._optional(values, "timezone", path, self._timezone) or "UTC"
        days = self._optional(values, "days", path, self._days)
        start = self._optional(values, "start", path, self._clock)
        end = self._optional(values, "end", path, self._clock)
        if start is not None and start == end:
            self._problem(values["end"], f"{path}.end", "must differ from start")
        starts = self._optional(values, "starts", path, self._instant)
        ends = self._optional(values, "ends", path, self._instant)
        # A one-off time without an offset is in the window's timezone.
        starts, ends = (_aware(when, ZoneInfo(timezone)) for when in (starts, ends))
        if starts is not None and ends is not None and ends <= starts:
            self._problem(values["ends"], f"{path}.ends", "must be after starts")
        if len(self.problems) > found or name is None:
            return None
        return MaintenanceWindow(
            name=name,
            kind=kind,
            days=days or frozenset(),
            start=start,
            end=end,
            timezone=timezone,
            starts=starts,
            ends=ends,
        )

    def _optional(
        self, values: dict[str, Node], key: str, path: str, check: Callable[[Node, str], _T | None]
    ) -> _T | None:
        return check(values[key], f"{path}.{key}") if key in values else None

    def _timezone(self, node: Node, path: str) -> str | None:
        name = self._string(node, path)
        if name is None:
            return None
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            self._problem(node, path, f"unknown timezone {name!r}")
            return None
        return name

    def _days(self, node: Node, path: str) -> frozenset[int] | None:
        if not isinstance(node, SequenceNode):
            self._problem(node, path, f"must be a list of days ({', '.join(_DAYS)})")
            return None
        if not node.value:
            self._problem(node, path, "must name at least one day")
            return None
        days: set[int] = set()
        valid = True
        for index, item in enumerate(node.value):
            here = f"{path}[{index}]"
            day = self._string(item, here)
            if day is not None and day.lower() in _DAYS:
                days.add(_DAYS.index(day.lower()))
                continue
            if day is not None:
                self._problem(item, here, f"unknown day {day!r} (known: {', '.join(_DAYS)})")
            valid = False
        return frozenset(days) if valid else None

    def _clock(self, node: Node, path: str) -> time | None:
        # The scalar's text, not its value: YAML 1.1 reads an unquoted 22:00 as the integer 1320.
        text = str(node.value) if isinstance(node, ScalarNode) else ""
        match = _CLOCK.fullmatch(text)
        if match is not None and int(match[1]) < 24 and int(match[2]) < 60:
            return time(int(match[1]), int(match[2]))
        shown = f", got {text!r}" if text else ""
        self._problem(node, path, f"must be a time of day HH:MM{shown}")
        return None

    def _instant(self, node: Node, path: str) -> datetime | None:
        if isinstance(node, ScalarNode):
            try:
                return datetime.fromisoformat(str(node.value))
            except ValueError:
                pass
        self._problem(node, path, "must be a date and time like 2026-12-05T20:00:00+00:00")
        return None

    def _checks(self, node: Node, path: str) -> dict[str, dict[str, Any]]:
        """``checks: {NAME: {enabled: bool, thresholds: {METRIC: {warning, critical}},
        params: {...}}}``. Whether NAME and METRIC exist is for the check catalogue to say."""
        result: dict[str, dict[str, Any]] = {}
        if not isinstance(node, MappingNode):
            self._problem(node, path, "must be a mapping of check name to its settings")
            return result
        for name, _, check_node in self._pairs(node, path):
            here = f"{path}.{name}"
            if not isinstance(check_node, MappingNode):
                self._problem(check_node, here, "must be a mapping (enabled, thresholds, params)")
                continue
            settings: dict[str, Any] = {}
            for key, key_node, value in self._pairs(check_node, here):
                where = f"{here}.{key}"
                if key not in _CHECK_KEYS:
                    self._problem(
                        key_node, where, f"unknown field (allowed: {', '.join(_CHECK_KEYS)})"
                    )
                elif key == "enabled":
                    flag = self._free(value, where)
                    if isinstance(flag, bool):
                        settings[key] = flag
                    else:
                        self._problem(value, where, "must be true or false")
                elif key == "params":
                    settings[key] = self._free_mapping(value, where)
                else:
                    settings[key] = self._thresholds(value, where)
            result[name] = settings
        return result

    def _thresholds(self, node: Node, path: str) -> dict[str, dict[str, float]]:
        result: dict[str, dict[str, float]] = {}
        if not isinstance(node, MappingNode):
            self._problem(node, path, "must be a mapping of metric to {warning, critical}")
            return result
        for metric, _, levels in self._pairs(node, path):
            here = f"{path}.{metric}"
            if not isinstance(levels, MappingNode):
                self._problem(levels, here, "must be a mapping with warning and/or critical")
                continue
            result[metric] = {}
            for level, key_node, value in self._pairs(levels, here):
                where = f"{here}.{level}"
                number = self._free(value, where)
                if level not in _THRESHOLD_KEYS:
                    self._problem(key_node, where, "unknown field (allowed: warning, critical)")
                elif isinstance(number, bool) or not isinstance(number, int | float):
                    self._problem(value, where, "must be a number")
                else:
                    result[metric][level] = float(number)
        return result

    # -- free-form values ------------------------------------------------------------------

    def _free_mapping(self, node: Node, path: str) -> dict[str, Any]:
        if not isinstance(node, MappingNode):
            self._problem(node, path, "must be a mapping")
            return {}
        return {
            key: self._free(vnode, f"{path}.{key}") for key, _, vnode in self._pairs(node, path)
        }

    def _free(self, node: Node, path: str) -> Any:
        """The plain value of a node kept as given, after looking through it for secrets."""
        self._scan(node, path, set())
        try:
            return self.constructor.construct_document(node)
        except yaml.MarkedYAMLError as exc:
            self._problem(node, path, f"cannot be read: {exc.problem or exc.context}")
        except (yaml.YAMLError, ValueError) as exc:
            self._problem(node, path, f"cannot be read: {exc}")
        return None

    def _scan(self, node: Node, path: str, seen: set[int]) -> None:
        # Aliases may make the tree recursive; each node is looked at once.
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, SequenceNode):
            for index, item in enumerate(node.value):
                self._scan(item, f"{path}[{index}]", seen)
        elif isinstance(node, MappingNode):
            first: dict[tuple[str, str], int] = {}
            for key_node, value_node in node.value:
                text = str(key_node.value) if isinstance(key_node, ScalarNode) else "?"
                here = f"{path}.{text}"
                if isinstance(key_node, ScalarNode):
                    if (key_node.tag, text) in first:
                        line = first[key_node.tag, text]
                        self._problem(key_node, here, f"duplicate key (first on line {line})")
                    first.setdefault((key_node.tag, text), _line(key_node))
                    if key_node.tag == _STR and text in _SECRET_KEYS:
                        self._problem(key_node, here, _SECRET_KEYS[text])
                        continue
                self._scan(value_node, here, seen)

    # -- helpers ---------------------------------------------------------------------------

    def _pairs(
        self, node: MappingNode, path: str, what: str = "key"
    ) -> Iterator[tuple[str, Node, Node]]:
        """The string-keyed pairs of a mapping; other keys, repeats and secrets are reported.

        ``what`` names the keys: ``host`` and ``group`` keys are names, never secrets."""
        first: dict[str, int] = {}
        for key_node, value_node in node.value:
            text = str(key_node.value) if isinstance(key_node, ScalarNode) else "?"
            here = f"{path}.{text}" if path else text
            if key_node.tag == _MERGE:
                self._problem(key_node, here, "merge keys (<<) are not supported here")
            elif not (isinstance(key_node, ScalarNode) and key_node.tag == _STR):
                named = "key" if what == "key" else f"{what} name"
                self._problem(key_node, here, f"{named} must be a string: quote it")
            elif text in first:
                self._problem(key_node, here, f"duplicate {what} (first on line {first[text]})")
            elif what == "key" and text in _SECRET_KEYS:
                first[text] = _line(key_node)
                self._problem(key_node, here, _SECRET_KEYS[text])
            else:
                first[text] = _line(key_node)
                yield text, key_node, value_node

    def _problem(self, node: Node, field: str, message: str) -> None:
        self.problems.append(Problem(self.file, _line(node), field, message))

    # -- groups and resolution -------------------------------------------------------------

    def _check_groups(self, hosts: dict[str, _Entry], groups: dict[str, _Entry]) -> None:
        for entry in (*hosts.values(), *groups.values()):
            self.file = entry.file
            for ref in entry.groups:
                if ref.name not in groups:
                    self._problem(ref.node, ref.field, f"group {ref.name!r} is not in groups.yaml")
        done: set[str] = set()
        for name in groups:
            self._find_cycles(name, groups, [], done)

    def _find_cycles(
        self, name: str, groups: dict[str, _Entry], path: list[str], done: set[str]
    ) -> None:
        if name in done:
            return
        path.append(name)
        entry = groups[name]
        for ref in entry.groups:
            if ref.name in path:
                cycle = " -> ".join([*path[path.index(ref.name) :], ref.name])
                self.file = entry.file
                self._problem(ref.node, ref.field, f"group cycle: {cycle}")
            elif ref.name in groups:
                self._find_cycles(ref.name, groups, path, done)
        path.pop()
        done.add(name)


def _ancestors(entry: _Entry, groups: dict[str, _Entry]) -> tuple[str, ...]:
    """The entry's groups and their parents, depth first, each once, unknown ones left out."""
    found: list[str] = []

    def visit(current: _Entry) -> None:
        for ref in current.groups:
            if ref.name in groups and ref.name not in found:
                found.append(ref.name)
                visit(groups[ref.name])

    visit(entry)
    return tuple(found)


def _host(chain: list[_Entry], groups: dict[str, _Entry]) -> Host:
    entry = chain[0]

    def first(key: str) -> Any:
        return next((layer.fields[key] for layer in chain if key in layer.fields), None)

    def merged(attribute: str) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for layer in reversed(chain):
            result.update(getattr(layer, attribute))
        return result

    credentials: dict[str, Any] = {}
    for slot in _CREDENTIAL_SLOTS:
        layer = next((layer for layer in chain if any(k in layer.credentials for k in slot)), None)
        if layer is not None:
            credentials.update({k: layer.credentials[k] for k in slot if k in layer.credentials})
    return Host(
        name=entry.name,
        hostname=first("hostname") or entry.name,
        port=first("port"),
        platform=first("platform"),
        groups=tuple(ref.name for ref in entry.groups),
        all_groups=_ancestors(entry, groups),
        site=first("site"),
        tenant=first("tenant"),
        role=first("role"),
        owner=first("owner"),
        criticality=first("criticality") or Criticality.MEDIUM,
        maintenance=first("maintenance") or (),
        freeze=first("freeze") or (),
        credentials=Credentials(**credentials),
        ansible_vars=MappingProxyType(merged("ansible_vars")),
        data=MappingProxyType(merged("data")),
        checks=_merged_checks(chain),
        source_file=entry.file,
        source_line=entry.line,
        connection_options=MappingProxyType(merged("connection_options")),
    )


def _merged_checks(chain: list[_Entry]) -> Mapping[str, Mapping[str, Any]]:
    """Check settings merged check by check, field by field and threshold by threshold, the
    host's own winning over its groups' and theirs over the defaults'."""
    result: dict[str, dict[str, Any]] = {}
    for layer in reversed(chain):
        for name, settings in layer.checks.items():
            merged = result.setdefault(name, {})
            for key, value in settings.items():
                if key == "thresholds":
                    thresholds = merged.setdefault("thresholds", {})
                    for metric, levels in value.items():
                        thresholds[metric] = {**thresholds.get(metric, {}), **levels}
                elif key == "params":
                    merged["params"] = {**merged.get("params", {}), **value}
                else:
                    merged[key] = value
    return MappingProxyType(result)


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _NULL


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def _aware(when: datetime | None, zone: ZoneInfo) -> datetime | None:
    if when is None or when.tzinfo is not None:
        return when
    return when.replace(tzinfo=zone)
