"""Reading rule files: ``remediations/*.yaml``, every problem as ``FILE:LINE: field: message``.

A file holds a list of rules, or a mapping with ``rules:``. Files are read as YAML nodes so that
every problem names its line; a rule is kept only when it has none, and the whole rule book is
refused if any file has any.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import yaml

from automator._durations import EXAMPLES, parse_duration
from automator._yamlsource import STR_TAG, Fields, YamlSource, plain
from automator.errors import ActionNotFound, ConfigError, Problem, RunbookError
from automator.rules._errors import ExpressionError, RuleError
from automator.rules._expr import (
    Expression,
    Kind,
    Literal,
    format_value,
    parse_condition,
    parse_expression,
    parse_field,
)
from automator.rules._model import (
    Accumulate,
    Budget,
    Correlate,
    Guardrails,
    Maintenance,
    OnceAfter,
    OnceWithin,
    Rule,
    RuleBook,
    Step,
    Throttle,
    coerce_var,
)
from automator.runbooks import Action, Catalogue, Param

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
_RULE_FIELDS = (
    "name",
    "description",
    "when",
    "action",
    "throttle",
    "correlate",
    "coalesce",
    "debounce",
    "guardrails",
    "verify",
    "rollback",
    "shadow",
)
_THROTTLES = ("once_within", "once_after", "accumulate")


def load_rulebook(directory: Path, catalogue: Catalogue) -> RuleBook:
    """Every rule in ``directory/*.yaml`` (none when the folder does not exist); raise
    RuleError listing every problem of every file."""
    files = sorted(directory.glob("*.yaml")) if directory.is_dir() else []
    return load_rules(files, catalogue)


def load_rules(files: Sequence[Path], catalogue: Catalogue) -> RuleBook:
    """The rules of these files, in order; rule names are unique across all of them."""
    loader = _Loader(catalogue)
    for path in files:
        loader.file(path)
    if loader.problems:
        raise RuleError(loader.problems)
    return RuleBook(loader.rules)


class _Loader:
    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self.problems: list[Problem] = []
        self.rules: list[Rule] = []
        self.defined: dict[str, str] = {}  # rule name -> FILE:LINE of its definition
        self.actions: dict[str, Action | str] = {}  # runbook name -> action, or why not

    def file(self, path: Path) -> None:
        # A rule's keys are the top level of its fields' paths: "name", "action.runbook".
        reader = _Reader(path, top="rule", problems=self.problems)
        root = reader.root()
        if root is None:
            return
        items = root
        if isinstance(root, yaml.MappingNode):
            fields = reader.mapping(root, "", ("rules",))
            if "rules" not in fields:
                reader.problem(root, "rules", "is required (a list of rules)")
                return
            items = fields["rules"][1]
        if not isinstance(items, yaml.SequenceNode):
            reader.problem(items, "rules", "a file holds a list of rules, or rules: [...]")
            return
        for item in items.value:
            self.rule(reader, item)

    def rule(self, reader: _Reader, node: yaml.Node) -> None:
        before = len(self.problems)
        fields = reader.mapping(node, "", _RULE_FIELDS)
        if not fields.is_mapping:
            return
        name = reader.string(reader.required(fields, "name"), "name")
        if name is not None:
            if not _NAME.fullmatch(name):
                reader.problem(fields["name"][1], "name", "letters, digits, . _ - (at most 100)")
            elif name in self.defined:
                reader.problem(
                    fields["name"][1],
                    "name",
                    f"rule {name!r} is already defined at {self.defined[name]}",
                )
            else:
                self.defined[name] = f"{reader.path}:{node.start_mark.line + 1}"
        when = reader.condition(reader.required(fields, "when"), "when")
        action_node = reader.required(fields, "action")
        action = self.step(reader, action_node, "action", ("runbook", "vars"))
        throttle = self.throttle(reader, fields["throttle"][1]) if "throttle" in fields else None
        correlate = (
            self.correlate(reader, fields["correlate"][1]) if "correlate" in fields else None
        )
        coalesce = reader.duration(fields.value("coalesce"), "coalesce")
        debounce = reader.duration(fields.value("debounce"), "debounce")
        if coalesce is not None and debounce is not None:
            reader.problem(fields["debounce"][0], "debounce", "give coalesce or debounce, not both")
        guardrails = (
            self.guardrails(reader, fields["guardrails"][1]) if "guardrails" in fields else None
        )
        verify = (
            self.step(reader, fields["verify"][1], "verify", ("runbook", "vars", "delay"))
            if "verify" in fields
            else None
        )
        rollback = (
            self.step(reader, fields["rollback"][1], "rollback", ("runbook", "vars"))
            if "rollback" in fields
            else None
        )
        description = reader.string(fields.value("description"), "description")
        shadow = reader.boolean(fields.value("shadow"), "shadow", False)
        if len(self.problems) > before or name is None or when is None or action is None:
            return
        self.rules.append(
            Rule(
                name=name,
                description=description or "",
                when=when,
                action=action,
                file=reader.path,
                line=node.start_mark.line + 1,
                throttle=throttle,
                correlate=correlate,
                coalesce=coalesce,
                debounce=debounce,
                guardrails=guardrails or Guardrails(),
                verify=verify,
                rollback=rollback,
                shadow=shadow,
            )
        )

    def step(
        self, reader: _Reader, node: yaml.Node | None, field: str, allowed: tuple[str, ...]
    ) -> Step | None:
        if node is None:
            return None
        fields = reader.mapping(node, field, allowed)
        if not fields.is_mapping:
            return None
        runbook_node = reader.required(fields, "runbook", f"{field}.runbook")
        name = reader.string(runbook_node, f"{field}.runbook")
        delay = reader.duration(fields.value("delay"), f"{field}.delay")
        if name is None or runbook_node is None:
            return None
        action = self.action(name)
        if isinstance(action, str):
            reader.problem(runbook_node, f"{field}.runbook", action)
            return None
        variables = self.variables(reader, fields, node, field, action)
        if variables is None:
            return None
        return Step(runbook=name, action=action, vars=variables, delay=delay)

    def action(self, name: str) -> Action | str:
        if name not in self.actions:
            try:
                self.actions[name] = self.catalogue.get(name)
            except ActionNotFound as exc:
                self.actions[name] = str(exc)
            except RunbookError as exc:
                detail = "; ".join(str(problem) for problem in exc.problems)
                # The catalogue reads every runbook to list the known names when one is
                # missing, so the invalid file may be another one.
                if all(Path(problem.file).stem == name for problem in exc.problems):
                    self.actions[name] = f"runbook {name!r} is invalid: {detail}"
                else:
                    self.actions[name] = f"cannot look up {name!r}: {detail}"
        return self.actions[name]

    def variables(
        self, reader: _Reader, fields: Fields, node: yaml.Node, field: str, action: Action
    ) -> dict[str, Expression] | None:
        """The vars, each checked against the runbook's declared parameters."""
        before = len(reader.problems)
        where = f"{field}.vars"
        given: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        if "vars" in fields:
            given = reader.mapping(fields["vars"][1], where)
        bare_playbook = action.playbook is not None and action.source == action.playbook
        if given and bare_playbook:
            reader.problem(
                fields["vars"][1],
                where,
                f"playbook {action.name!r} declares no params: "
                "wrap it in a runbook (runbooks/NAME.yaml) to pass vars",
            )
            return None
        variables: dict[str, Expression] = {}
        for var, (key_node, value_node) in given.items():
            param = action.params.get(var)
            if param is None:
                declared = ", ".join(action.params) or "none"
                reader.problem(
                    key_node,
                    f"{where}.{var}",
                    f"runbook {action.name!r} declares no param {var!r} (declared: {declared})",
                )
                continue
            expression = reader.expression(value_node, f"{where}.{var}")
            if expression is None:
                continue
            wrong = _wrong_type(param, expression)
            if wrong is not None:
                reader.problem(value_node, f"{where}.{var}", wrong)
                continue
            variables[var] = expression
        missing = [
            name for name, param in action.params.items() if param.required and name not in given
        ]
        if missing:
            at = fields["vars"][1] if "vars" in fields else node
            reader.problem(at, where, f"runbook {action.name!r} requires {', '.join(missing)}")
        return variables if len(reader.problems) == before else None

    def throttle(self, reader: _Reader, node: yaml.Node) -> Throttle | None:
        fields = reader.mapping(node, "throttle", (*_THROTTLES, "group_by"))
        if not fields.is_mapping:
            return None
        kinds = [kind for kind in _THROTTLES if kind in fields]
        if len(kinds) != 1:
            reader.problem(node, "throttle", "give one of once_within, once_after, accumulate")
        group_by = (
            reader.fields(fields["group_by"][1], "throttle.group_by", allow_empty=True)
            if "group_by" in fields
            else (parse_field("host"),)
        )
        if len(kinds) != 1:
            return None
        kind = kinds[0]
        value = fields[kind][1]
        if kind == "accumulate":
            spec = reader.mapping(value, "throttle.accumulate", ("count", "within"))
            if not spec.is_mapping:
                return None
            count = reader.count(
                reader.required(spec, "count", "throttle.accumulate.count"),
                "throttle.accumulate.count",
            )
            within = reader.duration(
                reader.required(spec, "within", "throttle.accumulate.within"),
                "throttle.accumulate.within",
            )
            if count is None or within is None or group_by is None:
                return None
            return Accumulate(count=count, window=within, group_by=group_by)
        duration = reader.duration(value, f"throttle.{kind}")
        if duration is None or group_by is None:
            return None
        if kind == "once_within":
            return OnceWithin(window=duration, group_by=group_by)
        return OnceAfter(delay=duration, group_by=group_by)

    def correlate(self, reader: _Reader, node: yaml.Node) -> Correlate | None:
        fields = reader.mapping(node, "correlate", ("key", "window"))
        if not fields.is_mapping:
            return None
        key_node = reader.required(fields, "key", "correlate.key")
        key = reader.fields(key_node, "correlate.key", allow_empty=False) if key_node else None
        window = reader.duration(
            reader.required(fields, "window", "correlate.window"), "correlate.window"
        )
        if key is None or window is None:
            return None
        return Correlate(key=key, window=window)

    def guardrails(self, reader: _Reader, node: yaml.Node) -> Guardrails | None:
        fields = reader.mapping(
            node, "guardrails", ("approval", "maintenance", "budget", "circuit_breaker")
        )
        if not fields.is_mapping:
            return None
        approval = reader.boolean(fields.value("approval"), "guardrails.approval", False)
        maintenance = Maintenance.SKIP
        if "maintenance" in fields:
            value_node = fields["maintenance"][1]
            text = reader.string(value_node, "guardrails.maintenance")
            choices = [policy.value for policy in Maintenance]
            if text is not None and text not in choices:
                reader.problem(
                    value_node, "guardrails.maintenance", f"must be one of {', '.join(choices)}"
                )
            elif text is not None:
                maintenance = Maintenance(text)
        budget = None
        if "budget" in fields:
            budget_node = fields["budget"][1]
            spec = reader.mapping(budget_node, "guardrails.budget", ("hosts", "per"))
            if spec.is_mapping:
                hosts = reader.count(
                    reader.required(spec, "hosts", "guardrails.budget.hosts"),
                    "guardrails.budget.hosts",
                )
                per = reader.duration(
                    reader.required(spec, "per", "guardrails.budget.per"),
                    "guardrails.budget.per",
                )
                if hosts is not None and per is not None:
                    budget = Budget(hosts=hosts, per=per)
        failures = None
        if "circuit_breaker" in fields:
            breaker_node = fields["circuit_breaker"][1]
            spec = reader.mapping(breaker_node, "guardrails.circuit_breaker", ("failures",))
            if spec.is_mapping:
                failures = reader.count(
                    reader.required(spec, "failures", "guardrails.circuit_breaker.failures"),
                    "guardrails.circuit_breaker.failures",
                )
        return Guardrails(
            approval=approval,
            maintenance=maintenance,
            budget=budget,
            circuit_breaker=failures,
        )


def _wrong_type(param: Param, expression: Expression) -> str | None:
    """Why this expression cannot feed this parameter, as far as is known before any event;
    an event field is checked on each event instead."""
    kind = expression.kind
    if kind is Kind.FIELD:
        return None
    if kind is Kind.LIST:
        return "a list cannot be passed as a var"
    if kind is Kind.NULL:
        return "null: leave the var out to use the runbook's default"
    if kind in (Kind.CONDITION, Kind.BOOLEAN) and param.type != "bool":
        return f"is true or false, but param {param.name!r} is {param.type}"
    if kind is Kind.CONDITION:
        return None
    literal = expression.root.value if isinstance(expression.root, Literal) else None
    if kind is Kind.NUMBER and (param.type != "int" or not isinstance(literal, int)):
        return f"is a number, but param {param.name!r} is {param.type}"
    if kind is Kind.STRING and param.type in ("int", "bool"):
        return f"is a string, but param {param.name!r} is {param.type}"
    try:
        coerce_var(param, literal)
    except ConfigError as exc:
        return str(exc)
    return None


class _Reader(YamlSource):
    """A rule file's nodes, with the readers of rule fields."""

    def count(self, node: yaml.Node | None, field: str) -> int | None:
        if node is None:
            return None
        value = plain(node)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.problem(node, field, "must be a whole number, 1 or more")
            return None
        return value

    def duration(self, node: yaml.Node | None, field: str) -> timedelta | None:
        if node is None:
            return None
        text = node.value if isinstance(node, yaml.ScalarNode) else None
        found = parse_duration(text) if isinstance(text, str) else None
        if found is None:
            self.problem(
                node, field, f"{text!r} is not a duration of more than zero, like {EXAMPLES}"
            )
        return found

    def condition(self, node: yaml.Node | None, field: str) -> Expression | None:
        text = self.string(node, field)
        if node is None or text is None:
            return None
        try:
            return parse_condition(text)
        except ExpressionError as exc:
            self.problem(node, field, str(exc))
            return None

    def expression(self, node: yaml.Node, field: str) -> Expression | None:
        """A var: an expression in a string, or a plain YAML number or true/false."""
        value = plain(node) if isinstance(node, yaml.ScalarNode) else node
        if isinstance(value, bool | int | float) and node.tag != STR_TAG:
            return parse_expression(format_value(value))
        text = self.string(node, field)
        if text is None:
            return None
        try:
            return parse_expression(text)
        except ExpressionError as exc:
            message = str(exc)
            if re.fullmatch(r"[A-Za-z_][\w.-]*", text.strip()) and "unknown name" in message:
                message += f"; for the text itself write '\"{text.strip()}\"'"
            self.problem(node, field, message)
            return None

    def fields(
        self, node: yaml.Node, field: str, allow_empty: bool
    ) -> tuple[Expression, ...] | None:
        if not isinstance(node, yaml.SequenceNode):
            self.problem(node, field, "must be a list of event fields, e.g. [host]")
            return None
        if not node.value and not allow_empty:
            self.problem(node, field, "must name at least one event field")
            return None
        result: list[Expression] = []
        for item in node.value:
            text = self.string(item, field)
            if text is None:
                continue
            try:
                result.append(parse_field(text.strip()))
            except ExpressionError as exc:
                self.problem(item, field, str(exc))
        return tuple(result) if len(result) == len(node.value) else None
