"""Read the check catalogue: ``checks/*.yaml``, one check per file, named after the file.

::

    description: Disk use per mount
    applies_to: [linux]              # platforms (cisco_ios) or kinds (server, network, facility)
    commands:                        # per platform or kind; {param} takes a value from params
      server: ["df -P -k"]
    snmp: {charge: .1.3.6.1.2.1.33.1.2.4.0}   # facility gear: value name -> OID
    playbook: gather-facts.yml       # or: a fact from a playbook of playbooks/ ...
    fact: ansible_facts.uptime_seconds   # ... this one (the parser reads it as JSON)
    parse: df                        # a parser name, or {parser: textfsm, template: f.textfsm}
    values:                          # what to judge; `below: true` when low is bad
      used_pct: {warning: 85, critical: 95, unit: "%"}
    trends:                          # warn before a threshold is crossed
      used_pct: {reaches: 100, within: 7d, window: 7d}
    schedule: "0 2 * * *"            # cron (UTC unless `timezone`); nightly by default
    owner: storage@example.net       # who answers for the check itself
    priority: P3                     # the incident's priority when critical (warning: one lower)
    timeout: 60                      # seconds per command
    params: {service: sshd}          # defaults; per group/host in the inventory's data.checks
    allow_empty: false               # an answer with no rows is ok (no BGP neighbours), not unknown
    keep_raw: true                   # false: the output may hold secrets; judged, never stored
    enabled: true                    # false: opt-in, only where data.checks.NAME.enabled is true

Every problem of every file is reported at once as ``FILE:LINE: field: message``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from automator._durations import parse_duration
from automator._yamlsource import Fields, YamlSource, plain
from automator.checks._model import CheckDef, Metric, Threshold, Trend
from automator.errors import ConfigError, Problem, ProblemsError
from automator.inventory import PLATFORMS, Inventory
from automator.tickets import Priority

_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,99}")
_FIELDS = (
    "allow_empty",
    "applies_to",
    "commands",
    "description",
    "enabled",
    "fact",
    "keep_raw",
    "owner",
    "params",
    "parse",
    "playbook",
    "priority",
    "schedule",
    "snmp",
    "timeout",
    "trends",
    "values",
)
_METRIC_FIELDS = ("warning", "critical", "below", "unit")
_TREND_FIELDS = ("reaches", "within", "window", "rising", "min_points", "steadiness")
_KINDS = ("server", "network", "facility")
_OID = re.compile(r"\.?[0-9]+(\.[0-9]+)+")
# A parameter's value goes into a command line: only characters no shell gives a meaning to.
SAFE_PARAM = re.compile(r"[A-Za-z0-9_./:@%+=,-]{1,200}")
PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


class CheckError(ProblemsError):
    """A check file (or the inventory's check settings) is invalid."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems, what="check catalogue")


class CheckCatalogue:
    """The checks of a project's ``checks/`` folder, loaded and validated all at once."""

    def __init__(self, checks: Mapping[str, CheckDef], directory: Path) -> None:
        self.checks = dict(sorted(checks.items()))
        self.directory = directory

    def get(self, name: str) -> CheckDef:
        try:
            return self.checks[name]
        except KeyError:
            known = ", ".join(self.checks) or "none"
            raise ConfigError(f"no check named {name!r} (known: {known})") from None

    def select(self, names: list[str] | tuple[str, ...] | None) -> list[CheckDef]:
        return [self.get(name) for name in names] if names else list(self.checks.values())

    def validate_inventory(self, inventory: Inventory) -> None:
        """Every ``data.checks`` entry of the inventory names a check and values it has."""
        problems: list[Problem] = []
        for host in inventory.hosts.values():
            for name, settings in host.checks.items():
                where = f"{host.name}.data.checks.{name}"
                check = self.checks.get(name)
                if check is None:
                    problems.append(
                        Problem(host.source_file, host.source_line, where, "no such check")
                    )
                    continue
                for metric in settings.get("thresholds", {}):
                    if metric not in check.metrics:
                        problems.append(
                            Problem(
                                host.source_file,
                                host.source_line,
                                f"{where}.thresholds.{metric}",
                                f"check {name} judges no value {metric!r} "
                                f"(it judges: {', '.join(check.metrics)})",
                            )
                        )
                for param, value in settings.get("params", {}).items():
                    if param not in check.params:
                        problems.append(
                            Problem(
                                host.source_file,
                                host.source_line,
                                f"{where}.params.{param}",
                                f"check {name} takes no parameter {param!r}",
                            )
                        )
                    elif not _safe_values(value):
                        problems.append(
                            Problem(
                                host.source_file,
                                host.source_line,
                                f"{where}.params.{param}",
                                "must be a word (letters, digits, _./:@%+=,-) or a list of them",
                            )
                        )
        if problems:
            raise CheckError(problems)


def load_checks(directory: Path, playbooks_dir: Path | None = None) -> CheckCatalogue:
    """Load every ``*.yaml`` of ``directory``; CheckError lists every problem found. A
    check's ``playbook`` is looked for in ``playbooks_dir`` (default: ``playbooks/`` beside
    ``directory``)."""
    playbooks = playbooks_dir or directory.parent / "playbooks"
    from automator.checks._parsers import PARSERS

    problems: list[Problem] = []
    checks: dict[str, CheckDef] = {}
    files = sorted(directory.glob("*.yaml")) if directory.is_dir() else []
    for path in files:
        if not _NAME.fullmatch(path.stem):
            problems.append(
                Problem(str(path), None, "file", "check names are lowercase: a-z 0-9 _ . -")
            )
            continue
        check = _Reader(path, problems, set(PARSERS), playbooks).check()
        if check is not None:
            checks[check.name] = check
    if problems:
        raise CheckError(problems)
    return CheckCatalogue(checks, directory)


class _Reader(YamlSource):
    def __init__(
        self, path: Path, problems: list[Problem], parsers: set[str], playbooks: Path
    ) -> None:
        super().__init__(path, top="check", problems=problems)
        self.parsers = parsers
        self.playbooks = playbooks

    def check(self) -> CheckDef | None:
        before = len(self.problems)
        root = self.root()
        if root is None:
            if len(self.problems) == before:
                self.problem_at(1, "check", "the file is empty")
            return None
        fields = self.mapping(root, "", _FIELDS)
        if not fields.is_mapping:
            return None
        applies_to = self._applies_to(fields)
        params = self._params(fields)
        commands = self._commands(fields, params)
        snmp = self._snmp(fields)
        playbook, fact = self._fact(fields)
        sources = sum(bool(source) for source in (commands or snmp, playbook))
        if sources == 0:
            self.problem(root, "commands", "a check collects commands, snmp values or a fact")
        elif sources > 1:
            self.problem(root, "playbook", "a check takes a fact or runs commands, not both")
        parser, options = self._parse(fields)
        metrics = self._metrics(fields)
        trends = self._trends(fields, metrics)
        schedule = self._cron(fields)
        priority = self._priority(fields)
        timeout = self._positive(fields, "timeout", 60.0)
        check = CheckDef(
            name=self.path.stem,
            description=self.string(fields.value("description"), "description") or "",
            applies_to=applies_to,
            commands=commands,
            snmp=snmp,
            parser=parser,
            parse_options=options,
            metrics=metrics,
            trends=trends,
            schedule=schedule,
            owner=self.string(fields.value("owner"), "owner"),
            priority=priority,
            timeout=timeout,
            params=params,
            allow_empty=self.boolean(fields.value("allow_empty"), "allow_empty", False),
            keep_raw=self.boolean(fields.value("keep_raw"), "keep_raw", True),
            playbook=playbook,
            fact=fact,
            enabled=self.boolean(fields.value("enabled"), "enabled", True),
            source=self.path,
            line=root.start_mark.line + 1,
        )
        return check if len(self.problems) == before else None

    def problem_at(self, line: int, field: str, message: str) -> None:
        self.problems.append(Problem(str(self.path), line, field, message))

    # -- fields ----------------------------------------------------------------------------

    def _applies_to(self, fields: Fields) -> tuple[str, ...]:
        node = self.required(fields, "applies_to")
        if node is None:
            return ()
        value = plain(node)
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names) or not names:
            self.problem(node, "applies_to", "must be a platform or kind, or a list of them")
            return ()
        for name in names:
            if name not in PLATFORMS and name not in _KINDS:
                known = ", ".join([*_KINDS, *sorted(PLATFORMS)])
                self.problem(node, "applies_to", f"unknown platform or kind {name!r} ({known})")
        return tuple(names)

    def _params(self, fields: Fields) -> dict[str, Any]:
        node = fields.value("params")
        if node is None:
            return {}
        params: dict[str, Any] = {}
        for name, (key, value_node) in self.mapping(node, "params").items():
            value = plain(value_node)
            if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
                self.problem(key, f"params.{name}", "parameter names are lower_snake_case")
            elif not _safe_values(value):
                self.problem(
                    value_node,
                    f"params.{name}",
                    "must be a word (letters, digits, _./:@%+=,-) or a list of them",
                )
            else:
                params[name] = value
        return params

    def _commands(self, fields: Fields, params: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
        node = fields.value("commands")
        if node is None:
            return {}
        result: dict[str, tuple[str, ...]] = {}
        for target, (key, value_node) in self.mapping(node, "commands").items():
            where = f"commands.{target}"
            if target not in PLATFORMS and target not in _KINDS:
                self.problem(key, where, "must be a platform or a kind (server, network)")
                continue
            value = plain(value_node)
            if isinstance(value, str):
                value = [value]
            if (
                not isinstance(value, list)
                or not value
                or not all(isinstance(v, str) for v in value)
            ):
                self.problem(value_node, where, "must be a command or a list of commands")
                continue
            for command in value:
                for name in PLACEHOLDER.findall(command):
                    if name not in params:
                        self.problem(value_node, where, f"{{{name}}} is not a declared param")
            result[target] = tuple(value)
        return result

    def _fact(self, fields: Fields) -> tuple[Path | None, str | None]:
        name = self.string(fields.value("playbook"), "playbook")
        fact = self.string(fields.value("fact"), "fact")
        if (name is None) != (fact is None):
            node = fields.value("playbook") or fields.value("fact")
            assert node is not None
            self.problem(
                node, "fact" if fact is None else "playbook", "playbook and fact go together"
            )
            return None, None
        if name is None or fact is None:
            return None, None
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*", fact):
            self.problem(
                fields["fact"][1], "fact", "a dotted path like ansible_facts.uptime_seconds"
            )
        path = (self.playbooks / name).resolve()
        if self.playbooks.resolve() not in path.parents or not path.is_file():
            self.problem(
                fields["playbook"][1], "playbook", f"no playbook {name!r} in {self.playbooks}"
            )
            return None, fact
        return path, fact

    def _snmp(self, fields: Fields) -> dict[str, str]:
        node = fields.value("snmp")
        if node is None:
            return {}
        result: dict[str, str] = {}
        for name, (_, value_node) in self.mapping(node, "snmp").items():
            oid = plain(value_node)
            if not isinstance(oid, str) or not _OID.fullmatch(oid):
                self.problem(value_node, f"snmp.{name}", "must be a numeric OID like .1.3.6.1...")
                continue
            result[name] = oid.lstrip(".")
        return result

    def _parse(self, fields: Fields) -> tuple[str, dict[str, Any]]:
        node = self.required(fields, "parse")
        if node is None:
            return "", {}
        value = plain(node)
        options: dict[str, Any] = {}
        if isinstance(value, dict):
            options = {k: v for k, v in value.items() if k != "parser"}
            value = value.get("parser")
        if not isinstance(value, str):
            self.problem(node, "parse", "must be a parser name or {parser: NAME, ...options}")
            return "", {}
        if value not in self.parsers:
            known = ", ".join(sorted(self.parsers))
            self.problem(node, "parse", f"unknown parser {value!r} (known: {known})")
        template = options.get("template")
        if template is not None:
            path = (self.path.parent / str(template)).resolve()
            if not path.is_file():
                self.problem(
                    node, "parse.template", f"no template file {template!r} in {self.path.parent}"
                )
            else:
                options["template"] = str(path)
        return value, options

    def _metrics(self, fields: Fields) -> dict[str, Metric]:
        node = self.required(fields, "values")
        if node is None:
            return {}
        metrics: dict[str, Metric] = {}
        for name, (_, spec_node) in self.mapping(node, "values").items():
            where = f"values.{name}"
            spec = self.mapping(spec_node, where, _METRIC_FIELDS)
            levels = {level: self._number(spec, level, where) for level in ("warning", "critical")}
            below = self.boolean(spec.value("below"), f"{where}.below", False)
            warning, critical = levels["warning"], levels["critical"]
            if (
                warning is not None
                and critical is not None
                and ((warning < critical) if below else (warning > critical))
            ):
                self.problem(
                    spec_node,
                    where,
                    "warning must come before critical "
                    + ("(below: warning >= critical)" if below else "(warning <= critical)"),
                )
            metrics[name] = Metric(
                name=name,
                threshold=Threshold(warning, critical, below),
                unit=self.string(spec.value("unit"), f"{where}.unit") or "",
            )
        if not metrics and node is not None:
            self.problem(node, "values", "name at least one value to judge")
        return metrics

    def _trends(self, fields: Fields, metrics: Mapping[str, Metric]) -> tuple[Trend, ...]:
        node = fields.value("trends")
        if node is None:
            return ()
        trends = []
        for name, (key, spec_node) in self.mapping(node, "trends").items():
            where = f"trends.{name}"
            if name not in metrics:
                self.problem(key, where, "not a value of this check (see values)")
                continue
            spec = self.mapping(spec_node, where, _TREND_FIELDS)
            reaches = self._number(spec, "reaches", where)
            rising = self._number(spec, "rising", where)
            within = self._duration(spec, "within", where)
            window = self._duration(spec, "window", where) or timedelta(days=7)
            if reaches is None and rising is None:
                self.problem(spec_node, where, "give reaches (with within) or rising")
            if reaches is not None and within is None:
                self.problem(spec_node, f"{where}.within", "is required with reaches")
            min_points = plain(spec.value("min_points"))
            if min_points is not None and (
                not isinstance(min_points, int) or isinstance(min_points, bool) or min_points < 2
            ):
                self.problem(spec.node, f"{where}.min_points", "must be a whole number >= 2")
                min_points = None
            steadiness = self._number(spec, "steadiness", where)
            if steadiness is not None and not 0 <= steadiness <= 1:
                self.problem(spec.node, f"{where}.steadiness", "must be between 0 and 1")
            trends.append(
                Trend(
                    metric=name,
                    window=window,
                    reaches=reaches,
                    within=within,
                    rising=rising,
                    min_points=int(min_points or 3),
                    steadiness=0.8 if steadiness is None else steadiness,
                )
            )
        return tuple(trends)

    def _cron(self, fields: Fields) -> str:
        node = fields.value("schedule")
        if node is None:
            return "0 2 * * *"
        value = self.string(node, "schedule")
        if value is None:
            return "0 2 * * *"
        from automator.schedule import cron_problem

        problem = cron_problem(value)
        if problem is not None:
            self.problem(node, "schedule", f"not a cron expression: {problem}")
        return value

    def _priority(self, fields: Fields) -> Priority:
        node = fields.value("priority")
        value = self.string(node, "priority")
        if value is None:
            return Priority.P3
        try:
            return Priority(value.upper())
        except ValueError:
            assert node is not None
            self.problem(node, "priority", "must be P1, P2, P3 or P4")
            return Priority.P3

    def _positive(self, fields: Fields, key: str, default: float) -> float:
        value = self._number(fields, key, "")
        if value is None:
            return default
        if value <= 0:
            self.problem(fields[key][1], key, "must be a positive number of seconds")
            return default
        return value

    def _number(self, fields: Fields, key: str, where: str) -> float | None:
        node = fields.value(key)
        value = plain(node)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            assert node is not None
            self.problem(node, f"{where}.{key}" if where else key, "must be a number")
            return None
        return float(value)

    def _duration(self, fields: Fields, key: str, where: str) -> timedelta | None:
        node = fields.value(key)
        if node is None:
            return None
        text = plain(node)
        found = parse_duration(text) if isinstance(text, str) else None
        if found is None:
            self.problem(node, f"{where}.{key}", "must be a duration like 30m, 12h, 7d or 2w")
        return found


def _safe_values(value: object) -> bool:
    values = value if isinstance(value, list) else [value]
    return all(
        isinstance(v, str | int) and not isinstance(v, bool) and SAFE_PARAM.fullmatch(str(v))
        for v in values
    )
