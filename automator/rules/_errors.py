"""The errors of the rules package, under automator's one root.

::

    AutomatorError
    ├── ProblemsError
    │   └── RuleError          rule files are invalid (FILE:LINE: field: message, every one)
    └── ExpressionError        an expression does not parse; names the column
"""

from __future__ import annotations

from automator.errors import AutomatorError, Problem, ProblemsError


class RuleError(ProblemsError):
    """One or more rule files are invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems, what="rule book")


class ExpressionError(AutomatorError):
    """An expression that does not parse or cannot mean anything; ``column`` is 1-based."""

    def __init__(self, column: int, message: str) -> None:
        self.column = column
        self.message = message
        super().__init__(f"column {column}: {message}")
