"""Notification channels: the ``Channel`` protocol, the registry of channel types, and the
checked reading of a channel's options from its contract file.

A channel type is a factory from ``ChannelOptions`` (a contract's ``channels.NAME`` mapping,
read with every problem recorded against its line) to a ``Channel``. ``email`` and ``webhook``
are built in; ``register_channel_type`` adds another (an SMS gateway, a pager API).

Secrets (an SMTP password, a webhook token, a webhook URL that carries its token) are never
written in a contract: an option names the environment variable (``password_env``) or the file
(``password_file``) that holds it, and the channel reads it each time it sends. A channel's
``redact`` removes every secret it knows from a text before the text is logged or stored.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

from automator._durations import duration_or_seconds
from automator.errors import ConfigError, Problem
from automator.sla import ChannelSpec, ContractError, Contracts, Person

_REDACTED = "***"


class ChannelError(Exception):
    """A send failed; the message is safe to store (no secret in it)."""


@dataclass(frozen=True)
class Message:
    """One notification as a channel sends it."""

    notification_id: int
    ticket_id: int | None
    reason: str
    level: int
    target: str
    subject: str
    body: str


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: ``first``, twice that, ... at most ``longest`` between attempts;
    given up after ``attempts`` attempts."""

    attempts: int = 8
    first: timedelta = timedelta(seconds=30)
    longest: timedelta = timedelta(minutes=30)

    def delay(self, attempts: int) -> timedelta:
        """How long to wait after the ``attempts``-th failed attempt."""
        doublings = min(max(attempts - 1, 0), 20)
        return min(self.first * (1 << doublings), self.longest)


class Channel(Protocol):
    """A way to reach people: e-mail, a chat webhook, ..."""

    @property
    def name(self) -> str: ...

    @property
    def retry(self) -> RetryPolicy:
        """When to try again after a failed attempt, and when to give up."""
        ...

    def address(self, person: Person) -> str | None:
        """Where this channel reaches ``person`` (None: it cannot)."""
        ...

    def send(self, message: Message) -> None:
        """Deliver the message; raise ChannelError (with no secret in it) when it fails."""
        ...

    def redact(self, text: str) -> str:
        """``text`` with every secret this channel knows replaced by ``***``."""
        ...


@dataclass(frozen=True)
class Secret:
    """Where a secret is: an environment variable or a file. Read on each use, never kept."""

    what: str
    env: str | None = None
    file: Path | None = None

    def read(self) -> str:
        if self.env is not None:
            value = os.environ.get(self.env)
            if not value:
                raise ConfigError(f"{self.what}: environment variable {self.env} is not set")
            return value
        assert self.file is not None
        try:
            value = self.file.read_text(encoding="utf-8").rstrip("\r\n")
        except (OSError, UnicodeDecodeError):
            raise ConfigError(f"{self.what}: cannot read {self.file}") from None
        if not value:
            raise ConfigError(f"{self.what}: {self.file} is empty")
        return value

    def peek(self) -> str | None:
        """The secret if it can be read now (for redaction), else None."""
        try:
            return self.read()
        except ConfigError:
            return None


def redact(text: str, secrets: list[Secret | None]) -> str:
    """``text`` without the values of ``secrets`` (those that can be read)."""
    for secret in secrets:
        value = secret.peek() if secret is not None else None
        if value:
            text = text.replace(value, _REDACTED)
    return text


class ChannelOptions:
    """A channel's options, read with every problem recorded at its line (``FILE:LINE:
    channels.NAME.option: message``)."""

    def __init__(self, spec: ChannelSpec, problems: list[Problem]) -> None:
        self.spec = spec
        self.name = spec.name
        self.problems = problems
        self._used = {"type"}

    def problem(self, key: str | None, message: str) -> None:
        line = self.spec.lines.get(key, self.spec.line) if key else self.spec.line
        field = f"channels.{self.name}" + (f".{key}" if key else "")
        self.problems.append(Problem(self.spec.file, line, field, message))

    def raw(self, key: str) -> Any:
        self._used.add(key)
        return self.spec.options.get(key)

    def string(self, key: str, *, required: bool = False, default: str | None = None) -> str | None:
        value = self.raw(key)
        if value is None:
            if required:
                self.problem(None, f"{key} is required")
            return default
        if not isinstance(value, str) or not value:
            self.problem(key, "must be a string")
            return default
        return value

    def integer(self, key: str, default: int, lowest: int, highest: int) -> int:
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or not lowest <= value <= highest:
            self.problem(key, f"must be a whole number from {lowest} to {highest}")
            return default
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.raw(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.problem(key, "must be true or false")
            return default
        return value

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        value = self.string(key, default=default) or default
        if value not in choices:
            self.problem(key, f"must be one of {', '.join(choices)}")
            return default
        return value

    def duration(self, key: str, default: timedelta) -> timedelta:
        value = self.raw(key)
        if value is None:
            return default
        found = duration_or_seconds(value)
        if found is None:
            self.problem(key, "must be a duration like 10s or 2m (or seconds)")
            return default
        return found

    def secret(self, key: str, *, required: bool = False) -> Secret | None:
        """``KEY_env`` or ``KEY_file`` (never ``KEY`` itself: a secret in a file is refused)."""
        if self.raw(key) is not None:
            self.problem(
                key, f"never write a secret in a contract: use {key}_env or {key}_file instead"
            )
        env = self.string(f"{key}_env")
        file = self.string(f"{key}_file")
        if env is not None and file is not None:
            self.problem(f"{key}_file", f"give {key}_env or {key}_file, not both")
        if env is None and file is None:
            if required:
                self.problem(None, f"{key}_env or {key}_file is required")
            return None
        what = f"channels.{self.name}.{key}"
        return Secret(what, env=env, file=Path(file) if file else None)

    def retry(self) -> RetryPolicy:
        value = self.raw("retry")
        if value is None:
            return RetryPolicy()
        if not isinstance(value, dict) or set(value) - {"attempts", "first", "max"}:
            self.problem("retry", "must be {attempts: N, first: 30s, max: 30m}")
            return RetryPolicy()
        sub = ChannelOptions(
            ChannelSpec(
                name=f"{self.name}.retry",
                type="retry",
                options=value,
                file=self.spec.file,
                line=self.spec.lines.get("retry", self.spec.line),
            ),
            self.problems,
        )
        default = RetryPolicy()
        return RetryPolicy(
            attempts=sub.integer("attempts", default.attempts, 1, 100),
            first=sub.duration("first", default.first),
            longest=sub.duration("max", default.longest),
        )

    def finish(self) -> None:
        """Options nobody read are unknown: a problem each."""
        for key in sorted(set(self.spec.options) - self._used):
            self.problem(key, "unknown option")


ChannelFactory = Callable[[ChannelOptions], Channel]
_TYPES: dict[str, ChannelFactory] = {}


def register_channel_type(name: str, factory: ChannelFactory) -> None:
    """Make ``type: NAME`` in a contract's channels build its channel with ``factory``."""
    _TYPES[name] = factory


def build_channels(contracts: Contracts) -> dict[str, Channel]:
    """Every channel the contracts declare; ContractError lists every bad option."""
    problems: list[Problem] = []
    channels: dict[str, Channel] = {}
    for spec in contracts.channels.values():
        factory = _TYPES.get(spec.type)
        if factory is None:
            known = ", ".join(sorted(_TYPES))
            problems.append(
                Problem(
                    spec.file,
                    spec.lines.get("type", spec.line),
                    f"channels.{spec.name}.type",
                    f"unknown channel type {spec.type!r} (known: {known})",
                )
            )
            continue
        options = ChannelOptions(spec, problems)
        channel = factory(options)
        options.finish()
        channels[spec.name] = channel
    if problems:
        raise ContractError(problems)
    return channels


def is_http_url(url: str) -> bool:
    return re.fullmatch(r"https?://[^\s/]+(/\S*)?", url) is not None
