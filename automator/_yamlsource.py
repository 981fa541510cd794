"""Reading a hand-written YAML file as nodes, so that every problem names
``FILE:LINE: field: message``.

The loaders of runbooks, ``hooks.yaml`` and rule files read with ``yaml.compose`` rather than
``yaml.safe_load``: a node keeps its line, and a key given twice is seen rather than silently
overwritten. ``YamlSource`` reads one file that way and records every problem it finds as a
``Problem``, going on after each one, so that the loader can report all of them at once. Each
loader subclasses it with the readers of its own domain (durations, field paths, ...) and decides
what its problems mean (usually: raise its ``ProblemsError``).

A field is named by its dotted path from the top of the document (``params.service.type``); a
problem with the top level itself is named after what the document is (``runbook``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml

from automator.errors import Problem

STR_TAG = "tag:yaml.org,2002:str"


class Fields(dict[str, tuple[yaml.Node, yaml.Node]]):
    """A YAML mapping's entries, (key node, value node) by key, and the mapping's own node.

    Empty when the node is not a mapping (``is_mapping`` tells)."""

    def __init__(self, node: yaml.Node) -> None:
        super().__init__()
        self.node = node

    @property
    def is_mapping(self) -> bool:
        return isinstance(self.node, yaml.MappingNode)

    def value(self, key: str) -> yaml.Node | None:
        """The value node of ``key``; None when the key is absent."""
        entry = self.get(key)
        return None if entry is None else entry[1]


class YamlSource:
    """One YAML file read as nodes, with every problem recorded against its line.

    ``top`` names the top level of field paths in problems (``runbook``, ``hooks.yaml``);
    ``problems`` may be a list shared by the readers of several files.
    """

    def __init__(self, path: Path, *, top: str, problems: list[Problem] | None = None) -> None:
        self.path = path
        self.top = top
        self.problems: list[Problem] = [] if problems is None else problems

    def root(self) -> yaml.Node | None:
        """The document's root node; None when there is none: the file holds no document, or it
        cannot be read or parsed (that problem is recorded)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError as exc:
            self._record(None, "file", exc.strerror or str(exc))
            return None
        except UnicodeDecodeError:
            self._record(None, "file", "not UTF-8 text")
            return None
        try:
            return yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            self._record(mark.line + 1 if mark else None, "yaml", str(exc.problem))
        except yaml.YAMLError as exc:
            self._record(None, "yaml", str(exc))
        return None

    def problem(self, node: yaml.Node, field: str, message: str) -> None:
        """Record a problem at the line where ``node`` starts."""
        self._record(node.start_mark.line + 1, field, message)

    def mapping(self, node: yaml.Node, field: str, allowed: Sequence[str] | None = None) -> Fields:
        """The mapping's entries by key (``field`` is its path, "" for the top level). Not a
        mapping, a key given twice, and a key not in ``allowed`` (when given; the key is then
        left out) are problems."""
        result = Fields(node)
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, field or self.top, "must be a mapping")
            return result
        for key, value in node.value:
            name = str(key.value)
            where = f"{field}.{name}" if field else name
            if allowed is not None and name not in allowed:
                self.problem(key, where, f"unknown field (allowed: {', '.join(allowed)})")
                continue
            if name in result:
                self.problem(key, where, "appears twice")
            result[name] = (key, value)
        return result

    def required(self, fields: Fields, key: str, field: str | None = None) -> yaml.Node | None:
        """The value node of ``key``; absent, it is a problem (of ``field``, default ``key``)."""
        if key not in fields:
            self.problem(fields.node, field or key, "is required")
            return None
        return fields[key][1]

    def string(self, node: yaml.Node | None, field: str) -> str | None:
        """A string (a plain YAML number or true is not one); None when absent or wrong."""
        if node is None:
            return None
        if not isinstance(node, yaml.ScalarNode) or node.tag != STR_TAG:
            self.problem(node, field, "must be a string")
            return None
        return str(node.value)

    def boolean(self, node: yaml.Node | None, field: str, default: bool) -> bool:
        """true or false; ``default`` when absent or wrong."""
        if node is None:
            return default
        value = plain(node)
        if not isinstance(value, bool):
            self.problem(node, field, "must be true or false")
            return default
        return value

    def _record(self, line: int | None, field: str, message: str) -> None:
        self.problems.append(Problem(str(self.path), line, field, message))


def plain(node: yaml.Node | None) -> object:
    """The node as a plain Python value (None when absent), to check its type."""
    return None if node is None else yaml.safe_load(yaml.serialize(node))
