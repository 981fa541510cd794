"""The ``--limit`` host filter.

Syntax: comma-separated terms. A term is ``key=value`` or a bare word, which means
``name=word``. Keys:

==============  ==============================================================
``name``        the host name
``group``       any of the host's groups, direct or inherited (``all_groups``)
``site``        ``data.site``
``tenant``      ``data.tenant``
``role``        ``data.role``
``platform``    the platform (``linux``, ``cisco_ios``, ...)
``owner``       ``data.owner``
``criticality`` ``low``, ``medium``, ``high`` or ``critical``
``kind``        ``server``, ``network`` or ``facility``
==============  ==============================================================

Values are shell-style globs (``*``, ``?``, ``[abc]``), matched case-sensitively; a host
without a value for the key (no ``site``, say) matches no glob. A term prefixed with ``!``
excludes the hosts it matches.

Positive terms with the same key are OR-ed, terms with different keys AND-ed, and exclusions
are applied last: ``site=dc1,role=web,role=db,!name=web3`` selects the web and db hosts of
dc1 except web3. A filter of exclusions only starts from every host: ``!kind=facility``.
"""

from __future__ import annotations

from collections.abc import Callable
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from automator.errors import ConfigError

if TYPE_CHECKING:
    from automator.inventory._model import Host


def _optional(value: str | None) -> tuple[str, ...]:
    return () if value is None else (value,)


_KEYS: dict[str, Callable[[Host], tuple[str, ...]]] = {
    "name": lambda host: (host.name,),
    "group": lambda host: host.all_groups,
    "site": lambda host: _optional(host.site),
    "tenant": lambda host: _optional(host.tenant),
    "role": lambda host: _optional(host.role),
    "platform": lambda host: (host.platform,),
    "owner": lambda host: _optional(host.owner),
    "criticality": lambda host: (host.criticality.value,),
    "kind": lambda host: (host.kind,),
}


def parse_limit(limit: str) -> Callable[[Host], bool]:
    """Parse ``limit`` into a host predicate; a malformed filter raises ``ConfigError``."""
    wanted: dict[str, list[str]] = {}
    excluded: list[tuple[str, str]] = []
    for raw in limit.split(","):
        term = raw.strip()
        exclude = term.startswith("!")
        body = term[1:].strip() if exclude else term
        if not body:
            raise ConfigError(f"--limit: empty term in {limit!r}")
        key, sep, pattern = body.partition("=")
        key, pattern = (key.strip(), pattern.strip()) if sep else ("name", body)
        if not key:
            raise ConfigError(f"--limit: {term!r} has no key")
        if key not in _KEYS:
            raise ConfigError(f"--limit: unknown key {key!r} (known: {', '.join(_KEYS)})")
        if not pattern:
            raise ConfigError(f"--limit: {term!r} has no value")
        if exclude:
            excluded.append((key, pattern))
        else:
            wanted.setdefault(key, []).append(pattern)

    def matches(host: Host) -> bool:
        included = all(
            any(_matches(host, key, pattern) for pattern in patterns)
            for key, patterns in wanted.items()
        )
        return included and not any(_matches(host, key, pattern) for key, pattern in excluded)

    return matches


def _matches(host: Host, key: str, pattern: str) -> bool:
    return any(fnmatchcase(value, pattern) for value in _KEYS[key](host))
