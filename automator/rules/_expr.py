"""The rule expression language: a hand-written tokenizer and recursive-descent parser that
build a small tree, evaluated by walking it. There is no ``eval`` and no template engine, so
nothing in an event (a label holding ``$(rm -rf /)`` or ``{{ 7*7 }}``) is ever more than a
string compared with other strings.

Grammar (lowest precedence first)::

    expression  := or
    or          := and ("or" and)*
    and         := not ("and" not)*
    not         := "not" not | comparison
    comparison  := operand [operator operand]        # no chains: a == b == c is refused
    operator    := "==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not" "in"
                 | "matches" | "startswith" | "endswith"
    operand     := literal | list | field | "(" expression ")"
    list        := "[" [literal ("," literal)* [","]] "]"
    literal     := STRING | NUMBER | "true" | "false" | "null"
    field       := "source" | "status" | "name" | "host" | "severity" | "fingerprint"
                 | ("labels" | "annotations") ("." NAME | "[" STRING "]")

Meaning, chosen so that evaluation is total (it never raises, whatever the event holds):

- A missing label, annotation or host is ``null``. ``==`` and ``!=`` compare values, null
  included (``labels.team == null`` tests for absence). Every other operator is false when a
  side is null or the two sides do not fit (a number against a word, ``not in`` included), so
  a rule never fires on data it cannot read.
- Labels are strings; a string that reads as a number compares as a number with a number
  (``labels.value > 90``), and two such strings order as numbers. Two strings are otherwise
  equal only when identical.
- ``in``: membership in a list, or a substring of a string. ``matches``: a regular expression
  searched in the string (anchor it with ``^...$``), compiled when the rule is loaded.
"""

from __future__ import annotations

import operator
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from automator.events import Event
from automator.rules._errors import ExpressionError

Value = str | int | float | bool | None | tuple[Any, ...]

EVENT_FIELDS = ("source", "status", "name", "host", "severity", "fingerprint")
MAPPING_FIELDS = ("labels", "annotations")
_KEYWORDS = frozenset(
    {"and", "or", "not", "in", "matches", "startswith", "endswith", "true", "false", "null"}
)
_MAX_PATTERN = 256
# Deep enough for any real condition, shallow enough that neither the parser nor the
# evaluator can run out of stack.
_MAX_DEPTH = 32
_NUMERIC = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_ESCAPES = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "t": "\t"}


class Kind(Enum):
    """What an expression yields, known when it is parsed."""

    CONDITION = "condition"
    FIELD = "field"  # an event field: a string, or null when missing
    STRING = "string"
    NUMBER = "number"
    BOOLEAN = "boolean"
    NULL = "null"
    LIST = "list"


# -- the tree ---------------------------------------------------------------------------------


class Node(ABC):
    __slots__ = ("column",)
    kind: Kind

    def __init__(self, column: int) -> None:
        self.column = column

    @abstractmethod
    def evaluate(self, event: Event) -> Value:
        """The node's value for this event; never raises."""


class Literal(Node):
    __slots__ = ("kind", "value")

    def __init__(self, column: int, value: str | int | float | bool | None) -> None:
        super().__init__(column)
        self.value = value
        if value is None:
            self.kind = Kind.NULL
        elif isinstance(value, bool):
            self.kind = Kind.BOOLEAN
        elif isinstance(value, str):
            self.kind = Kind.STRING
        else:
            self.kind = Kind.NUMBER

    def evaluate(self, event: Event) -> Value:
        return self.value


class ListLiteral(Node):
    """A list of literals, with its strings and numbers kept in sets for ``in``."""

    __slots__ = ("has_booleans", "numbers", "strings", "values")
    kind = Kind.LIST

    def __init__(self, column: int, values: tuple[str | int | float | bool | None, ...]) -> None:
        super().__init__(column)
        self.values = values
        self.strings = frozenset(v for v in values if isinstance(v, str))
        self.numbers = frozenset(
            n for n in (_number(v) for v in values if not isinstance(v, str)) if n is not None
        )
        self.has_booleans = any(isinstance(v, bool) for v in values)

    def evaluate(self, event: Event) -> Value:
        return self.values

    def contains(self, value: Value) -> bool | None:
        """Membership; None when it does not apply (a null, or a list, looked for)."""
        if isinstance(value, str):
            if value in self.strings:
                return True
            number = _number(value) if self.numbers else None
            return number is not None and number in self.numbers
        if value is None or isinstance(value, tuple):
            return None
        if isinstance(value, bool):
            return self.has_booleans and any(v is value for v in self.values)
        return value in self.numbers or any(_number(s) == value for s in self.strings)


class Field(Node):
    """An event field; ``path`` is its canonical spelling (``labels.alertname``)."""

    __slots__ = ("path",)
    kind = Kind.FIELD

    def __init__(self, column: int, path: str) -> None:
        super().__init__(column)
        self.path = path


class EventField(Field):
    __slots__ = ("attribute",)

    def __init__(self, column: int, attribute: str) -> None:
        super().__init__(column, attribute)
        self.attribute = attribute

    def evaluate(self, event: Event) -> Value:
        value = getattr(event, self.attribute)
        return value if isinstance(value, str) else None


class MappingField(Field):
    __slots__ = ("key", "mapping")

    def __init__(self, column: int, mapping: str, key: str) -> None:
        plain = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) and key not in _KEYWORDS
        super().__init__(column, f"{mapping}.{key}" if plain else f"{mapping}[{_quote(key)}]")
        self.mapping = mapping
        self.key = key

    def evaluate(self, event: Event) -> Value:
        values: Mapping[str, Any] = getattr(event, self.mapping)
        value = values.get(self.key)
        return value if isinstance(value, str) else None


class Not(Node):
    __slots__ = ("operand",)
    kind = Kind.CONDITION

    def __init__(self, column: int, operand: Node) -> None:
        super().__init__(column)
        self.operand = operand

    def evaluate(self, event: Event) -> Value:
        return self.operand.evaluate(event) is not True


class And(Node):
    __slots__ = ("operands",)
    kind = Kind.CONDITION

    def __init__(self, column: int, operands: tuple[Node, ...]) -> None:
        super().__init__(column)
        self.operands = operands

    def evaluate(self, event: Event) -> Value:
        # A plain loop: all() over a generator costs a third more on the hot path.
        for operand in self.operands:  # noqa: SIM110
            if operand.evaluate(event) is not True:
                return False
        return True


class Or(Node):
    __slots__ = ("operands",)
    kind = Kind.CONDITION

    def __init__(self, column: int, operands: tuple[Node, ...]) -> None:
        super().__init__(column)
        self.operands = operands

    def evaluate(self, event: Event) -> Value:
        for operand in self.operands:  # noqa: SIM110  (as And.evaluate)
            if operand.evaluate(event) is True:
                return True
        return False


class Compare(Node):
    __slots__ = ("left", "right", "test")
    kind = Kind.CONDITION

    def __init__(
        self, column: int, left: Node, right: Node, test: Callable[[Value, Value], bool]
    ) -> None:
        super().__init__(column)
        self.left = left
        self.right = right
        self.test = test

    def evaluate(self, event: Event) -> Value:
        return self.test(self.left.evaluate(event), self.right.evaluate(event))


class FieldIs(Node):
    """``field == "text"`` (or ``!=``), most rules' condition, as one string comparison: a
    field is a string or null, for which ``_equal`` with a string is ``==`` (the general
    comparison cost three times as much, for every rule on every alert)."""

    __slots__ = ("field", "negated", "text")
    kind = Kind.CONDITION

    def __init__(self, column: int, field: Field, text: str, negated: bool) -> None:
        super().__init__(column)
        self.field = field
        self.text = text
        self.negated = negated

    def evaluate(self, event: Event) -> Value:
        return (self.field.evaluate(event) == self.text) is not self.negated


class InList(Node):
    """``x in [...]`` / ``x not in [...]`` against a literal list: a set lookup."""

    __slots__ = ("choices", "left", "negated")
    kind = Kind.CONDITION

    def __init__(self, column: int, left: Node, choices: ListLiteral, negated: bool) -> None:
        super().__init__(column)
        self.left = left
        self.choices = choices
        self.negated = negated

    def evaluate(self, event: Event) -> Value:
        found = self.choices.contains(self.left.evaluate(event))
        return found is (not self.negated)


class Matches(Node):
    __slots__ = ("left", "regex")
    kind = Kind.CONDITION

    def __init__(self, column: int, left: Node, regex: re.Pattern[str]) -> None:
        super().__init__(column)
        self.left = left
        self.regex = regex

    def evaluate(self, event: Event) -> Value:
        value = self.left.evaluate(event)
        return isinstance(value, str) and self.regex.search(value) is not None


# -- the operators ----------------------------------------------------------------------------


def _number(value: Value) -> int | float | None:
    """A number, or a string that reads as one; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str) and len(value) <= 64 and _NUMERIC.fullmatch(value):
        return float(value)
    return None


def _equal(a: Value, b: Value) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    if a is None or b is None or isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, tuple) or isinstance(b, tuple):
        return isinstance(a, tuple) and isinstance(b, tuple) and a == b
    left, right = _number(a), _number(b)
    return left is not None and right is not None and left == right


def _not_equal(a: Value, b: Value) -> bool:
    return not _equal(a, b)


def _ordering(compare: Callable[[Any, Any], bool]) -> Callable[[Value, Value], bool]:
    def test(a: Value, b: Value) -> bool:
        left, right = _number(a), _number(b)
        if left is not None and right is not None:
            return compare(left, right)
        return isinstance(a, str) and isinstance(b, str) and compare(a, b)

    return test


def _member(a: Value, b: Value) -> bool | None:
    """``a in b``: True, False, or None when the question does not apply."""
    if a is None:
        return None
    if isinstance(b, tuple):
        return any(_equal(a, item) for item in b)
    if isinstance(a, str) and isinstance(b, str):
        return a in b
    return None


def _in(a: Value, b: Value) -> bool:
    return _member(a, b) is True


def _not_in(a: Value, b: Value) -> bool:
    return _member(a, b) is False


def _startswith(a: Value, b: Value) -> bool:
    return isinstance(a, str) and isinstance(b, str) and a.startswith(b)


def _endswith(a: Value, b: Value) -> bool:
    return isinstance(a, str) and isinstance(b, str) and a.endswith(b)


_COMPARISONS: dict[str, Callable[[Value, Value], bool]] = {
    "==": _equal,
    "!=": _not_equal,
    "<": _ordering(operator.lt),
    "<=": _ordering(operator.le),
    ">": _ordering(operator.gt),
    ">=": _ordering(operator.ge),
    "in": _in,
    "not in": _not_in,
    "startswith": _startswith,
    "endswith": _endswith,
}


# -- tokens -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # "string", "number", "name", "op", "end"
    text: str
    column: int
    value: str | int | float | None = None


_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>-?(?:\d+\.\d+|\d+)(?:[eE][-+]?\d+)?(?![A-Za-z0-9_.]))
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,|\.)
  | (?P<quote>["'])
    """,
    re.VERBOSE,
)
_MISTAKES = {
    "=": "use == to compare",
    "&": "use and",
    "|": "use or",
    "!": "use not, or != to compare",
}


def _tokens(text: str) -> Iterator[_Token]:
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        column = position + 1
        if match is None:
            char = text[position]
            hint = _MISTAKES.get(char)
            raise ExpressionError(column, hint or f"unexpected character {char!r}")
        kind = match.lastgroup
        if kind == "quote":
            value, position = _string(text, position)
            yield _Token("string", text[column - 1 : position], column, value)
            continue
        position = match.end()
        word = match.group()
        if kind == "number":
            number: int | float = float(word) if any(c in word for c in ".eE") else int(word)
            yield _Token("number", word, column, number)
        elif kind in ("name", "op"):
            yield _Token(str(kind), word, column)
    yield _Token("end", "", len(text) + 1)


def _string(text: str, start: int) -> tuple[str, int]:
    quote = text[start]
    chars: list[str] = []
    position = start + 1
    while position < len(text):
        char = text[position]
        if char == quote:
            return "".join(chars), position + 1
        if char == "\\":
            escaped = text[position + 1 : position + 2]
            if escaped not in _ESCAPES:
                raise ExpressionError(position + 1, "unknown escape (known: \\\\ \\\" \\' \\n \\t)")
            chars.append(_ESCAPES[escaped])
            position += 2
            continue
        chars.append(char)
        position += 1
    raise ExpressionError(start + 1, "string is not closed")


def _quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n").replace("\t", "\\t") + '"'


# -- the parser -------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = list(_tokens(text))
        self.index = 0
        self.depth = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def next(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def at(self, kind: str, *texts: str) -> bool:
        token = self.token
        return token.kind == kind and (not texts or token.text in texts)

    def expect(self, kind: str, text: str, what: str) -> _Token:
        if not self.at(kind, text):
            raise ExpressionError(self.token.column, f"expected {what}, found {_shown(self.token)}")
        return self.next()

    def parse(self) -> Node:
        node = self.or_()
        if not self.at("end"):
            token = self.token
            if token.text in _COMPARISONS or token.text in _OPERATOR_WORDS:
                raise ExpressionError(
                    token.column, "comparisons do not chain: join them with and / or"
                )
            raise ExpressionError(token.column, f"unexpected {_shown(token)}")
        return node

    def or_(self) -> Node:
        return self._chain("or", self.and_, Or)

    def and_(self) -> Node:
        return self._chain("and", self.not_, And)

    def _chain(self, word: str, operand: Callable[[], Node], node: type[And | Or]) -> Node:
        """``operand (word operand)*``: one node over every operand, or the operand alone."""
        first = operand()
        operands = [first]
        while self.at("name", word):
            self.next()
            operands.append(operand())
        if len(operands) == 1:
            return first
        return node(first.column, tuple(_condition(each, word) for each in operands))

    def not_(self) -> Node:
        if self.at("name", "not"):
            token = self.next()
            with self.nested(token):
                return Not(token.column, _condition(self.not_(), "not"))
        return self.comparison()

    def comparison(self) -> Node:
        left = self.operand()
        token = self.token
        if token.kind == "name" and token.text == "not":
            self.next()
            if not self.at("name", "in"):
                raise ExpressionError(self.token.column, "expected in after not")
            self.next()
            symbol = "not in"
        elif (token.kind == "op" and token.text in _COMPARISONS) or (
            token.kind == "name" and token.text in _OPERATOR_WORDS
        ):
            self.next()
            symbol = token.text
        else:
            return left
        right = self.operand()
        for side in (left, right):
            if side.kind is Kind.CONDITION:
                raise ExpressionError(
                    side.column, f"a condition cannot be an operand of {symbol}: use and / or"
                )
        if symbol == "matches":
            return Matches(left.column, left, _regex(right))
        if symbol in ("in", "not in") and isinstance(right, ListLiteral):
            return InList(left.column, left, right, negated=symbol == "not in")
        if symbol in ("==", "!=") and left.kind is not right.kind:
            field, text = (left, right) if isinstance(left, Field) else (right, left)
            if isinstance(field, Field) and isinstance(text, Literal) and text.kind is Kind.STRING:
                assert isinstance(text.value, str)
                return FieldIs(left.column, field, text.value, negated=symbol == "!=")
        return Compare(left.column, left, right, _COMPARISONS[symbol])

    def operand(self) -> Node:
        token = self.token
        if token.kind == "op" and token.text == "(":
            self.next()
            with self.nested(token):
                node = self.or_()
            self.expect("op", ")", ")")
            return node
        if token.kind == "op" and token.text == "[":
            return self.list_()
        if token.kind in ("string", "number") or token.text in ("true", "false", "null"):
            return self.literal()
        if token.kind == "name" and token.text not in _KEYWORDS:
            return self.field()
        raise ExpressionError(token.column, f"expected a value, found {_shown(token)}")

    def literal(self) -> Literal:
        token = self.next()
        if token.kind in ("string", "number"):
            return Literal(token.column, token.value)
        if token.kind == "name" and token.text in ("true", "false", "null"):
            return Literal(token.column, {"true": True, "false": False, "null": None}[token.text])
        raise ExpressionError(token.column, f"expected a literal, found {_shown(token)}")

    def list_(self) -> ListLiteral:
        start = self.next()
        values: list[str | int | float | bool | None] = []
        while not self.at("op", "]"):
            if self.at("op", "["):
                raise ExpressionError(self.token.column, "lists do not nest")
            values.append(self.literal().value)
            if not self.at("op", ","):
                break
            self.next()
        self.expect("op", "]", "]")
        return ListLiteral(start.column, tuple(values))

    def field(self) -> Field:
        token = self.next()
        root = token.text
        if self.at("op", "("):
            raise ExpressionError(token.column, "there are no function calls")
        if root in EVENT_FIELDS:
            node: Field = EventField(token.column, root)
        elif root in MAPPING_FIELDS:
            if self.at("op", "."):
                self.next()
                key_token = self.next()
                if key_token.kind != "name":
                    raise ExpressionError(
                        key_token.column, f"expected a {root[:-1]} name after {root}."
                    )
                key = key_token.text
            elif self.at("op", "["):
                self.next()
                key_token = self.next()
                if key_token.kind != "string":
                    raise ExpressionError(key_token.column, f'{root}[...] takes a "string"')
                key = str(key_token.value)
                self.expect("op", "]", "]")
            else:
                raise ExpressionError(
                    token.column, f'name one of the {root}: {root}.NAME or {root}["NAME"]'
                )
            node = MappingField(token.column, root, key)
        else:
            hint = {"True": "true", "False": "false", "None": "null"}.get(root)
            known = ", ".join((*EVENT_FIELDS, *(f"{m}.NAME" for m in MAPPING_FIELDS)))
            raise ExpressionError(
                token.column,
                f"write {hint}" if hint else f"unknown name {root!r} (known: {known})",
            )
        if self.at("op", ".") or self.at("op", "["):
            raise ExpressionError(self.token.column, f"{node.path} is a string: it has no parts")
        return node

    def nested(self, token: _Token) -> _Depth:
        return _Depth(self, token)


class _Depth:
    def __init__(self, parser: _Parser, token: _Token) -> None:
        self.parser = parser
        self.token = token

    def __enter__(self) -> None:
        self.parser.depth += 1
        if self.parser.depth > _MAX_DEPTH:
            raise ExpressionError(self.token.column, f"nested more than {_MAX_DEPTH} deep")

    def __exit__(self, *exc: object) -> None:
        self.parser.depth -= 1


_OPERATOR_WORDS = frozenset({"in", "matches", "startswith", "endswith"})


def _shown(token: _Token) -> str:
    return "the end" if token.kind == "end" else repr(token.text)


def _condition(node: Node, where: str) -> Node:
    if node.kind not in (Kind.CONDITION, Kind.BOOLEAN):
        raise ExpressionError(
            node.column,
            f"{where} needs a condition, not a {node.kind.value}: compare it "
            "(==, !=, <, in, matches, ...)",
        )
    return node


def _regex(node: Node) -> re.Pattern[str]:
    if not isinstance(node, Literal) or not isinstance(node.value, str):
        raise ExpressionError(node.column, 'matches takes a "regular expression" string')
    if len(node.value) > _MAX_PATTERN:
        raise ExpressionError(node.column, f"regular expression longer than {_MAX_PATTERN}")
    try:
        return re.compile(node.value)
    except re.error as exc:
        raise ExpressionError(node.column, f"bad regular expression: {exc}") from None


# -- the public face --------------------------------------------------------------------------


class Expression:
    """A parsed expression: its text, what it yields, and its evaluation on an event."""

    __slots__ = ("root", "text")

    def __init__(self, text: str, root: Node) -> None:
        self.text = text
        self.root = root

    @property
    def kind(self) -> Kind:
        return self.root.kind

    @property
    def field(self) -> str | None:
        """The canonical field name when the expression is a single field, else None."""
        return self.root.path if isinstance(self.root, Field) else None

    def evaluate(self, event: Event) -> Value:
        return self.root.evaluate(event)

    def test(self, event: Event) -> bool:
        return self.root.evaluate(event) is True

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Expression) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


def parse_expression(text: str) -> Expression:
    """Parse any expression; raise ExpressionError naming the column at fault."""
    if not text.strip():
        raise ExpressionError(1, "empty expression")
    return Expression(text, _Parser(text).parse())


def parse_condition(text: str) -> Expression:
    """Parse an expression that must be true or false (a rule's ``when``)."""
    expression = parse_expression(text)
    _condition(expression.root, "the expression")
    return expression


def parse_field(text: str) -> Expression:
    """Parse a single event field (a ``group_by`` or correlation ``key`` entry)."""
    expression = parse_expression(text)
    if expression.field is None:
        raise ExpressionError(1, "must be one event field, e.g. host or labels.site")
    return expression


def format_value(value: Value) -> str:
    """A value as the language writes it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)
