"""The runbook catalogue: what ``automator run NAME`` can run.

A name resolves to, in order:

1. ``runbooks/NAME.yaml``: a declared runbook (a Nornir task or a playbook, with typed
   parameters, a default limit and a time limit);
2. ``playbooks/NAME.yml`` (or ``.yaml``): a playbook run as it is.

A declared runbook::

    description: Show version and uptime everywhere
    task: commands              # commands | config | playbook
    changes: false              # does it change hosts? (locks, --check)
    commands:                   # per platform (cisco_ios) or per kind (server, network)
      server: ["uname -srm", "uptime"]
      network: ["show version"]
    config: {cisco_ios: ["ntp server 192.0.2.1"]}     # task: config
    save: true                                        # task: config, write memory after
    verify: {cisco_ios: [{command: "show run | include ntp", expect: "192.0.2.1"}]}
    playbook: restart-service.yml                     # task: playbook
    params:                     # --param NAME=VALUE, validated, handed to the playbook as data
      service: {type: str, required: true, pattern: "^[a-z0-9_.-]+$"}
    limit: "kind=server"        # default --limit
    timeout: 600                # whole-job time limit, seconds

Parameters reach a playbook only as extra-vars (data), never through a command line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from automator import runners
from automator._yamlsource import Fields, YamlSource, plain
from automator.errors import ActionNotFound, ConfigError, Problem, RunbookError
from automator.inventory import Inventory
from automator.runners import CommandsTask, ConfigTask, NornirTaskSpec, Runner, Verify

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_PARAM_TYPES = ("str", "int", "bool", "choice")
_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}
_FIELDS = (
    "changes",
    "commands",
    "config",
    "description",
    "limit",
    "params",
    "playbook",
    "save",
    "task",
    "timeout",
    "verify",
)


@dataclass(frozen=True)
class Param:
    name: str
    type: str = "str"
    required: bool = False
    default: Any = None
    pattern: str | None = None
    choices: tuple[str, ...] = ()
    help: str = ""

    def coerce(self, raw: object) -> Any:
        """Turn a ``--param`` string into the declared type, or raise ConfigError. A value a
        rule already typed is checked, not converted."""
        if not isinstance(raw, str):
            expected = {"int": int, "bool": bool}.get(self.type, str)
            if isinstance(raw, expected) and not (expected is int and isinstance(raw, bool)):
                return raw
            raise ConfigError(f"--param {self.name}: {raw!r} is not a {self.type}")
        what = f"--param {self.name}"
        if self.type == "int":
            try:
                return int(raw)
            except ValueError:
                raise ConfigError(f"{what}: {raw!r} is not a whole number") from None
        if self.type == "bool":
            if raw.lower() in _TRUE | _FALSE:
                return raw.lower() in _TRUE
            raise ConfigError(f"{what}: {raw!r} is not true or false")
        if self.type == "choice" and raw not in self.choices:
            raise ConfigError(f"{what}: {raw!r} is not one of {', '.join(self.choices)}")
        if self.pattern and not re.fullmatch(self.pattern, raw):
            raise ConfigError(f"{what}: {raw!r} does not match {self.pattern}")
        return raw


@dataclass(frozen=True)
class Action:
    """A runnable runbook: a Nornir task or a playbook, and how to call it."""

    name: str
    description: str
    source: Path
    changes: bool
    playbook: Path | None = None
    task: NornirTaskSpec | None = None
    params: Mapping[str, Param] = field(default_factory=dict)
    default_limit: str | None = None
    timeout: float | None = None

    @property
    def kind(self) -> str:
        return "playbook" if self.playbook is not None else "nornir"

    def runner(self, inventory: Inventory) -> Runner:
        if self.playbook is not None:
            return runners.AnsibleRunner(self.playbook, inventory)
        assert self.task is not None
        return runners.NornirRunner(self.task)

    def bind(self, given: Mapping[str, object]) -> dict[str, Any]:
        """Validate ``--param`` values against the declaration; a bare playbook takes any
        parameter as a string."""
        if self.source.parent.name == "playbooks" and not self.params:
            for name in given:
                if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                    raise ConfigError(f"--param {name!r}: not a valid variable name")
            return dict(given)
        unknown = sorted(set(given) - set(self.params))
        if unknown:
            known = ", ".join(self.params) or "none"
            raise ConfigError(f"runbook {self.name}: unknown --param {unknown[0]} (known: {known})")
        bound: dict[str, Any] = {}
        for name, param in self.params.items():
            if name in given:
                bound[name] = param.coerce(given[name])
            elif param.required:
                raise ConfigError(f"runbook {self.name}: --param {name} is required")
            elif param.default is not None:
                bound[name] = param.default
        return bound


class Catalogue:
    """Finds runbooks in a project's ``runbooks/`` and ``playbooks/`` folders.

    ``builtins`` are actions automator itself provides (the health-check sweep), made on
    demand by name; they come before the folders' runbooks of the same name.
    """

    def __init__(
        self,
        runbooks_dir: Path,
        playbooks_dir: Path,
        builtins: Mapping[str, Callable[[], Action]] | None = None,
    ) -> None:
        self.runbooks_dir = runbooks_dir
        self.playbooks_dir = playbooks_dir
        self.builtins = dict(builtins or {})

    def get(self, name: str) -> Action:
        if name in self.builtins:
            return self.builtins[name]()
        if not _NAME.match(name):
            raise ActionNotFound(f"{name!r} is not a valid runbook name")
        declared = self.runbooks_dir / f"{name}.yaml"
        if declared.is_file():
            return load_runbook(declared, self.playbooks_dir)
        for suffix in (".yml", ".yaml"):
            playbook = self.playbooks_dir / f"{name}{suffix}"
            if playbook.is_file():
                wrapper = self._wrapped().get(playbook.name)
                if wrapper is not None:
                    raise ActionNotFound(
                        f"playbook {playbook.name} is run through runbook {wrapper!r}, "
                        "which validates its parameters"
                    )
                return Action(
                    name=name,
                    description=_playbook_description(playbook),
                    source=playbook,
                    changes=True,
                    playbook=playbook,
                )
        raise ActionNotFound(
            f"no runbook or playbook named {name!r} (known: {', '.join(self.names()) or 'none'})"
        )

    def names(self) -> list[str]:
        """Every runnable name, without reading the files (a broken one is found by get)."""
        names: set[str] = set()
        if self.runbooks_dir.is_dir():
            names.update(p.stem for p in self.runbooks_dir.glob("*.yaml"))
        if self.playbooks_dir.is_dir():
            wrapped = self._wrapped()
            names.update(p.stem for p in self.playbooks_dir.glob("*.y*ml") if p.name not in wrapped)
        return sorted(name for name in names if _NAME.match(name))

    def list(self) -> list[Action]:
        return [self.get(name) for name in self.names()]

    def _wrapped(self) -> dict[str, str]:
        """Playbook file name → the runbook that runs it."""
        wrapped: dict[str, str] = {}
        for path in sorted(self.runbooks_dir.glob("*.yaml")) if self.runbooks_dir.is_dir() else []:
            try:
                declared = yaml.safe_load(path.read_text())
            except (OSError, yaml.YAMLError):
                continue  # reported when that runbook itself is loaded
            if isinstance(declared, dict) and isinstance(declared.get("playbook"), str):
                wrapped[Path(declared["playbook"]).name] = path.stem
        return wrapped


def load_runbook(path: Path, playbooks_dir: Path) -> Action:
    """Parse and validate a declared runbook; raise RunbookError listing every problem."""
    reader = _Reader(path, top="runbook")
    root = reader.root()
    problems = reader.problems
    if not isinstance(root, yaml.MappingNode):
        if not problems:  # empty, or a list or a scalar
            problems.append(Problem(str(path), 1, "runbook", "must be a mapping"))
        raise RunbookError(problems)
    fields = reader.mapping(root, "", _FIELDS)
    task_kind = reader.string(reader.required(fields, "task"), "task")
    if task_kind is not None and task_kind not in ("commands", "config", "playbook"):
        reader.problem(fields["task"][1], "task", "must be commands, config or playbook")
    description = reader.string(fields.value("description"), "description") or ""
    limit = reader.string(fields.value("limit"), "limit")
    timeout = reader.number(fields, "timeout")
    params = _params(reader, fields)
    playbook: Path | None = None
    spec: NornirTaskSpec | None = None
    changes_default = task_kind != "commands"
    changes = reader.boolean(fields.value("changes"), "changes", changes_default)
    if task_kind == "commands":
        spec = CommandsTask(commands=reader.lists(fields, "commands"), changes=changes)
    elif task_kind == "config":
        spec = ConfigTask(
            lines=reader.lists(fields, "config"),
            save=reader.boolean(fields.value("save"), "save", True),
            verify=_verify(reader, fields),
        )
    elif task_kind == "playbook":
        name = reader.string(reader.required(fields, "playbook"), "playbook")
        if name is not None:
            playbook = (playbooks_dir / name).resolve()
            if playbooks_dir.resolve() not in playbook.parents or not playbook.is_file():
                reader.problem(
                    fields["playbook"][1], "playbook", f"no playbook {name!r} in {playbooks_dir}"
                )
    if problems:
        raise RunbookError(problems)
    return Action(
        name=path.stem,
        description=description,
        source=path,
        changes=changes,
        playbook=playbook,
        task=spec,
        params=params,
        default_limit=limit,
        timeout=timeout,
    )


def _params(reader: _Reader, fields: Fields) -> dict[str, Param]:
    if "params" not in fields:
        return {}
    params: dict[str, Param] = {}
    for name, (key_node, value_node) in reader.mapping(fields["params"][1], "params").items():
        where = f"params.{name}"
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            reader.problem(key_node, where, "parameter names are lower_snake_case")
            continue
        spec = reader.mapping(value_node, where)
        kind = reader.string(spec.value("type"), f"{where}.type") or "str"
        if kind not in _PARAM_TYPES:
            reader.problem(spec["type"][1], f"{where}.type", f"must be one of {_PARAM_TYPES}")
        pattern = reader.string(spec.value("pattern"), f"{where}.pattern")
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                reader.problem(spec["pattern"][1], f"{where}.pattern", f"bad regex: {exc}")
        choices = (
            reader.string_list(spec["choices"][1], f"{where}.choices")
            if "choices" in spec
            else None
        )
        params[name] = Param(
            name=name,
            type=kind,
            required=reader.boolean(spec.value("required"), "required", False),
            default=plain(spec.value("default")),
            pattern=pattern,
            choices=choices or (),
            help=reader.string(spec.value("help"), "help") or "",
        )
    return params


def _verify(reader: _Reader, fields: Fields) -> dict[str, tuple[Verify, ...]]:
    if "verify" not in fields:
        return {}
    result: dict[str, tuple[Verify, ...]] = {}
    for platform, (_, seq) in reader.mapping(fields["verify"][1], "verify").items():
        checks = []
        if not isinstance(seq, yaml.SequenceNode):
            reader.problem(seq, f"verify.{platform}", "must be a list of {command, expect}")
            continue
        for index, item in enumerate(seq.value):
            where = f"verify.{platform}[{index}]"
            spec = reader.mapping(item, where)
            command = reader.string(
                reader.required(spec, "command", f"{where}.command"), f"{where}.command"
            )
            expect = reader.string(
                reader.required(spec, "expect", f"{where}.expect"), f"{where}.expect"
            )
            if command is not None and expect is not None:
                checks.append(Verify(command=command, expect=expect))
        result[platform] = tuple(checks)
    return result


class _Reader(YamlSource):
    """A runbook file's nodes, with the readers of runbook fields."""

    def number(self, fields: Fields, key: str) -> float | None:
        value = plain(fields.value(key))
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            self.problem(fields[key][1], key, "must be a positive number of seconds")
            return None
        return float(value)

    def string_list(self, node: yaml.Node, field: str) -> tuple[str, ...] | None:
        value = plain(node)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(node, field, "must be a list of strings")
            return None
        return tuple(value)

    def lists(self, fields: Fields, key: str) -> dict[str, tuple[str, ...]]:
        """A required mapping of platform or kind to a list of strings."""
        node = self.required(fields, key)
        if node is None:
            return {}
        result: dict[str, tuple[str, ...]] = {}
        for name, (_, value) in self.mapping(node, key).items():
            strings = self.string_list(value, f"{key}.{name}")
            if strings is not None:
                result[name] = strings
        return result


def _playbook_description(path: Path) -> str:
    try:
        plays = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return ""
    if isinstance(plays, list) and plays and isinstance(plays[0], dict):
        return str(plays[0].get("name", ""))
    return ""
