"""``hooks.yaml``: authentication and limits per hook, and the generic sources' mappings.

::

    max_body_bytes: 1048576          # every hook's default (1 MiB)
    alertmanager:                    # also zabbix, grafana: all optional
      auth: token                    # token | hmac | none; default: whichever secret is set
      token_env: AM_HOOK_TOKEN       # default AUTOMATOR_HOOK_TOKEN_ALERTMANAGER
      hmac_env: AM_HOOK_HMAC         # default AUTOMATOR_HOOK_HMAC_ALERTMANAGER
      signature_header: X-Automator-Signature
      max_body_bytes: 262144
    generic:
      kuma:                          # POST /hooks/generic/kuma, source "generic/kuma"
        auth: hmac                   # secrets: AUTOMATOR_HOOK_*_GENERIC_KUMA by default
        alerts: /heartbeats          # where the list of alerts is; absent: the body is one
        fields: {name: monitor.name, status: heartbeat.status, host: monitor.hostname}
        status_map: {"0": resolved, "1": firing}
        severity_map: {"2": critical}

The file is optional: without it every built-in hook takes its secrets from the default
environment variables and there is no generic hook. Secrets never live in the file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from automator._yamlsource import STR_TAG, Fields, YamlSource, plain
from automator.errors import Problem, ProblemsError
from automator.events import EventStatus, FieldPath, GenericMapping, Severity

BUILTIN_SOURCES = ("alertmanager", "zabbix", "grafana")
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_SIGNATURE_HEADER = "X-Automator-Signature"
AUTH_MODES = ("token", "hmac", "none")

_GENERIC_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HEADER_NAME = re.compile(r"[A-Za-z0-9-]+")
_HOOK_KEYS = ("auth", "token_env", "hmac_env", "signature_header", "max_body_bytes")
_GENERIC_KEYS = (*_HOOK_KEYS, "alerts", "fields", "status_map", "severity_map")
_FIELDS = (
    "name",
    "status",
    "fingerprint",
    "host",
    "severity",
    "labels",
    "annotations",
    "starts_at",
    "ends_at",
)
_REQUIRED_FIELDS = ("name", "status")


class HooksConfigError(ProblemsError):
    """hooks.yaml is invalid; ``problems`` lists every problem (FILE:LINE: field: message)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems, what="hooks.yaml")


@dataclass(frozen=True)
class HookSettings:
    """One hook: where its secrets come from, its body limit, and for a generic source its
    mapping. ``auth`` None means: whichever of the two secrets is set."""

    source: str
    token_env: str
    hmac_env: str
    auth: str | None = None
    signature_header: str = DEFAULT_SIGNATURE_HEADER
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    mapping: GenericMapping | None = None


@dataclass(frozen=True)
class HooksConfig:
    """Every hook by source name (``alertmanager``, ``generic/kuma``, ...)."""

    hooks: Mapping[str, HookSettings] = field(default_factory=dict)
    path: Path | None = None

    @classmethod
    def default(cls) -> HooksConfig:
        return cls(hooks={source: _hook(source, {}) for source in BUILTIN_SOURCES})


def env_suffix(source: str) -> str:
    """``generic/my-app`` → ``GENERIC_MY_APP``: the tail of the default secret variables."""
    return re.sub(r"[^A-Za-z0-9]", "_", source).upper()


def _hook(
    source: str, given: Mapping[str, Any], default_max: int = DEFAULT_MAX_BODY_BYTES
) -> HookSettings:
    suffix = env_suffix(source)
    return HookSettings(
        source=source,
        auth=given.get("auth"),
        token_env=given.get("token_env") or f"AUTOMATOR_HOOK_TOKEN_{suffix}",
        hmac_env=given.get("hmac_env") or f"AUTOMATOR_HOOK_HMAC_{suffix}",
        signature_header=given.get("signature_header") or DEFAULT_SIGNATURE_HEADER,
        max_body_bytes=given.get("max_body_bytes") or default_max,
        mapping=given.get("mapping"),
    )


def load_hooks_config(path: Path) -> HooksConfig:
    """Read hooks.yaml (a missing file means the defaults); raise HooksConfigError listing
    every problem."""
    if not path.exists():
        return HooksConfig(hooks=HooksConfig.default().hooks, path=None)
    reader = _Reader(path, top="hooks.yaml")
    root = reader.root()
    if reader.problems:
        raise HooksConfigError(reader.problems)
    if root is None:  # an empty file: every default
        return HooksConfig(hooks=HooksConfig.default().hooks, path=path)
    top = reader.mapping(root, "", ("max_body_bytes", *BUILTIN_SOURCES, "generic"))
    default_max = reader.size(top, "max_body_bytes", "max_body_bytes") or DEFAULT_MAX_BODY_BYTES
    hooks: dict[str, HookSettings] = {}
    for source in BUILTIN_SOURCES:
        given: dict[str, Any] = {}
        if source in top:
            fields = reader.mapping(top[source][1], source, _HOOK_KEYS)
            given = _auth_settings(reader, fields, source)
        hooks[source] = _hook(source, given, default_max)
    if "generic" in top:
        for name, (key_node, node) in reader.mapping(top["generic"][1], "generic").items():
            where = f"generic.{name}"
            if not _GENERIC_NAME.fullmatch(name):
                reader.problem(key_node, where, "names are 1-63 of a-z, 0-9, _ and -")
                continue
            fields = reader.mapping(node, where, _GENERIC_KEYS)
            given = _auth_settings(reader, fields, where)
            given["mapping"] = _mapping(reader, fields, name, where)
            hooks[f"generic/{name}"] = _hook(f"generic/{name}", given, default_max)
    if reader.problems:
        raise HooksConfigError(sorted(reader.problems, key=lambda p: p.line or 0))
    return HooksConfig(hooks=hooks, path=path)


def _auth_settings(reader: _Reader, fields: Fields, where: str) -> dict[str, Any]:
    given: dict[str, Any] = {}
    auth = reader.string(fields.value("auth"), f"{where}.auth")
    if auth is not None and auth not in AUTH_MODES:
        modes = ", ".join(AUTH_MODES)
        reader.problem(fields["auth"][1], f"{where}.auth", f"must be one of {modes}")
    given["auth"] = auth
    for key, pattern, what in (
        ("token_env", _ENV_NAME, "an environment variable name"),
        ("hmac_env", _ENV_NAME, "an environment variable name"),
        ("signature_header", _HEADER_NAME, "an HTTP header name"),
    ):
        value = reader.string(fields.value(key), f"{where}.{key}")
        if value is not None and not pattern.fullmatch(value):
            reader.problem(fields[key][1], f"{where}.{key}", f"must be {what}")
        given[key] = value
    given["max_body_bytes"] = reader.size(fields, "max_body_bytes", f"{where}.max_body_bytes")
    return given


def _mapping(reader: _Reader, fields: Fields, name: str, where: str) -> GenericMapping | None:
    node = reader.required(fields, "fields", f"{where}.fields")
    if node is None:
        return None
    paths: dict[str, FieldPath] = {}
    declared = reader.mapping(node, f"{where}.fields", _FIELDS)
    for key in _FIELDS:
        path = reader.field_path(declared, key, f"{where}.fields.{key}")
        if path is not None:
            paths[key] = path
        elif key in _REQUIRED_FIELDS and key not in declared:
            reader.problem(declared.node, f"{where}.fields.{key}", "is required")
    alerts = reader.field_path(fields, "alerts", f"{where}.alerts")
    status_map = reader.word_map(fields, "status_map", where, {s.value: s for s in EventStatus})
    severity_map = reader.word_map(fields, "severity_map", where, {s.value: s for s in Severity})
    if "name" not in paths or "status" not in paths:
        return None
    return GenericMapping(
        name=name,
        alert_name=paths.pop("name"),
        status=paths.pop("status"),
        alerts=alerts,
        status_map=status_map,
        severity_map=severity_map,
        **paths,
    )


class _Reader(YamlSource):
    """hooks.yaml's nodes, with the readers of its fields."""

    def size(self, fields: Fields, key: str, field: str) -> int | None:
        if key not in fields:
            return None
        node = fields[key][1]
        value = plain(node)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.problem(node, field, "must be a positive whole number of bytes")
            return None
        return value

    def field_path(self, fields: Fields, key: str, field: str) -> FieldPath | None:
        if key not in fields:
            return None
        node = fields[key][1]
        if not isinstance(node, yaml.ScalarNode) or node.tag != STR_TAG:
            self.problem(node, field, "must be a JSON pointer (/a/b) or a dotted path (a.b)")
            return None
        try:
            return FieldPath.parse(str(node.value))
        except ValueError as exc:
            self.problem(node, field, str(exc))
            return None

    def word_map(
        self, fields: Fields, key: str, where: str, words: Mapping[str, Any]
    ) -> dict[str, Any]:
        """A map of the source's words (any scalar, compared as text) to automator's."""
        result: dict[str, Any] = {}
        if key not in fields:
            return result
        for word, (_, node) in self.mapping(fields[key][1], f"{where}.{key}").items():
            target = str(node.value) if isinstance(node, yaml.ScalarNode) else ""
            if target not in words:
                self.problem(node, f"{where}.{key}.{word}", f"must be one of {', '.join(words)}")
                continue
            result[word] = words[target]
        return result
