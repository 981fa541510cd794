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

import re
from collections.abc import Callable, Iterable, Sequence
from fnmatch import translate
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

    including = [(_KEYS[key], _Patterns(patterns)) for key, patterns in wanted.items()]
    excluding: dict[str, list[str]] = {}
    for key, pattern in excluded:
        excluding.setdefault(key, []).append(pattern)
    exclusions = [(_KEYS[key], _Patterns(patterns)) for key, patterns in excluding.items()]

    def matches(host: Host) -> bool:
        return all(p.match(values(host)) for values, p in including) and not any(
            p.match(values(host)) for values, p in exclusions
        )

    return matches


class _Patterns:
    """Globs of one key, as a set of plain values and one regular expression for the rest: a
    limit naming 1,000 hosts (a storm's job) is a lookup per host, not 1,000 globs."""

    def __init__(self, patterns: Sequence[str]) -> None:
        plain: set[str] = set()
        globs: list[str] = []
        for pattern in patterns:
            if _GLOB.search(pattern):
                globs.append(pattern)
            else:
                plain.add(pattern)
        self.plain = frozenset(plain)
        self.glob = re.compile("|".join(translate(g) for g in globs)) if globs else None

    def match(self, values: Iterable[str]) -> bool:
        glob = self.glob
        return any(v in self.plain or (glob is not None and glob.match(v)) for v in values)


_GLOB = re.compile(r"[*?\[]")
