"""The one exception root of automator and its tree.

::

    AutomatorError
    ├── ConfigError            a setting is missing or wrong (env var, flag, config file)
    ├── InventoryError         the inventory files are invalid; carries every Problem found
    │   └── HostNotFound       a host name that is not in the inventory
    ├── LimitMatchesNothing    a --limit filter selected no host
    ├── ActionNotFound         a runbook / playbook name that does not exist
    ├── RunbookError           a runbook file is invalid (FILE:LINE: field: message)
    ├── RuleError              a remediation rule file is invalid (automator.rules)
    ├── ExpressionError        a rule expression does not parse, with its column (automator.rules)
    ├── HooksConfigError       hooks.yaml is invalid (automator.api)
    ├── PayloadError           a webhook body is invalid, with its JSON path (automator.events)
    ├── EventNotFound          an event id that does not exist (automator.events)
    ├── StoreError             the database cannot be opened, migrated or written
    ├── TicketNotFound         a ticket id that does not exist
    ├── LockConflict           another job holds a lock on one of the job's hosts
    └── LabError               the lab cannot be brought up or down

Per-host failures are never exceptions: they are ``HostResult`` data (see
``automator.runners``). Exceptions are for what stops a whole command, and every message is
written for the operator: it names the file, line and field, or the host and command at fault.
"""

from __future__ import annotations

from dataclasses import dataclass


class AutomatorError(Exception):
    """Root of every error automator raises on purpose."""


class ConfigError(AutomatorError):
    """A setting is missing or has a wrong value."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in an input file, rendered as ``FILE:LINE: field: message``."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.field}: {self.message}"


class ProblemsError(AutomatorError):
    """An input file has one or more problems; ``problems`` lists every one of them."""

    def __init__(self, problems: list[Problem], what: str = "input") -> None:
        self.problems = problems
        lines = "\n".join(str(p) for p in problems)
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(f"{what} has {len(problems)} {noun}:\n{lines}")


class InventoryError(ProblemsError):
    """The inventory is invalid."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems, what="inventory")


class HostNotFound(AutomatorError):
    """A host name that is not in the inventory."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"host {name!r} is not in the inventory")


class LimitMatchesNothing(AutomatorError):
    """A ``--limit`` filter selected no host."""

    def __init__(self, limit: str) -> None:
        self.limit = limit
        super().__init__(f"--limit {limit!r} matches no host in the inventory")


class ActionNotFound(AutomatorError):
    """A runbook or playbook name that does not exist."""


class RunbookError(ProblemsError):
    """A runbook file is invalid."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems, what="runbook")


class StoreError(AutomatorError):
    """The store cannot be opened, migrated or written."""


class TicketNotFound(AutomatorError):
    """A ticket id that does not exist."""

    def __init__(self, ticket_id: int) -> None:
        self.ticket_id = ticket_id
        super().__init__(f"ticket #{ticket_id} does not exist")


class LockConflict(AutomatorError):
    """Another job holds a lock on one or more of the job's hosts."""

    def __init__(self, held: dict[str, int]) -> None:
        self.held = held
        detail = ", ".join(f"{host} (job {job})" for host, job in sorted(held.items()))
        super().__init__(f"hosts are locked by another job: {detail}")


class LabError(AutomatorError):
    """The lab cannot be brought up, down or inspected."""
