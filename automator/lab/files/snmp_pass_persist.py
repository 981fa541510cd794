"""net-snmp ``pass_persist`` helper: answers GET and GETNEXT from a JSON values file.

snmpd starts it once (``pass_persist OID python snmp_pass_persist.py VALUES``) and talks to it
over stdin/stdout for as long as snmpd runs, so, unlike plain ``pass``, no answer is cached:
a value a test changes is served on the next request. The protocol (snmpd.conf(5)):

    PING                      -> PONG
    get\\n<OID>                -> <OID>\\n<type>\\n<value>   or NONE
    getnext\\n<OID>            -> the first OID after <OID>, same format, or NONE
    set\\n<OID>\\n<type value>  -> not-writable

The values file maps numeric OIDs to ``[type, value]`` pairs, e.g.
``{".1.3.6.1.2.1.33.1.2.7.0": ["integer", 31]}``. It is read again whenever it is replaced or
its modification time changes; one that cannot be read or parsed leaves the last good values
in place, with a message on stderr (snmpd's log).

Standalone (standard library only) because snmpd runs it with a bare interpreter.
"""

from __future__ import annotations

import bisect
import json
import os
import sys
from typing import TextIO

# The types snmpd's pass protocol understands.
TYPES = frozenset(
    {
        "integer",
        "unsigned",
        "counter",
        "counter64",
        "gauge",
        "timeticks",
        "string",
        "octet",
        "ipaddress",
        "objectid",
    }
)
_INTEGER_TYPES = frozenset({"integer", "unsigned", "counter", "counter64", "gauge", "timeticks"})


def oid_key(oid: str) -> tuple[int, ...]:
    """A numeric OID as a tuple, which sorts the way SNMP orders OIDs (.1.2.10 after .1.2.9)."""
    parts = oid.strip().strip(".").split(".")
    if not parts or not all(part.isdigit() for part in parts):
        raise ValueError(f"not a numeric OID: {oid!r}")
    return tuple(int(part) for part in parts)


def parse_values(document: object) -> list[tuple[tuple[int, ...], str, str]]:
    """The values file's entries as (key, type, value text), sorted by OID.

    Raises ValueError naming the first bad entry: a value that snmpd would mangle (a newline
    in a string, a non-integer for a numeric type) must never reach it.
    """
    if not isinstance(document, dict):
        raise ValueError("the values file must hold a JSON object of OID -> [type, value]")
    entries = []
    for oid, pair in document.items():
        if not (isinstance(pair, list) and len(pair) == 2 and pair[0] in TYPES):
            raise ValueError(f"{oid}: expected [type, value] with a type of {sorted(TYPES)}")
        kind, value = pair
        if kind in _INTEGER_TYPES and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValueError(f"{oid}: a {kind} needs an integer, not {value!r}")
        text = str(value)
        if "\n" in text or "\r" in text:
            raise ValueError(f"{oid}: values cannot contain line breaks")
        entries.append((oid_key(oid), kind, text))
    entries.sort()
    return entries


class Values:
    """The values file, read again when it changes."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._stamp: tuple[int, int, int] | None = None
        self._entries: list[tuple[tuple[int, ...], str, str]] = []
        self._keys: list[tuple[int, ...]] = []

    def get(self, oid: str) -> tuple[tuple[int, ...], str, str] | None:
        self._refresh()
        key = oid_key(oid)
        index = bisect.bisect_left(self._keys, key)
        if index < len(self._keys) and self._keys[index] == key:
            return self._entries[index]
        return None

    def get_next(self, oid: str) -> tuple[tuple[int, ...], str, str] | None:
        self._refresh()
        index = bisect.bisect_right(self._keys, oid_key(oid))
        return self._entries[index] if index < len(self._entries) else None

    def _refresh(self) -> None:
        try:
            st = os.stat(self.path)
        except OSError as exc:
            self._report(f"cannot read {self.path}: {exc.strerror}")
            return
        # An atomic rewrite gives a new inode even within one mtime tick.
        stamp = (st.st_mtime_ns, st.st_ino, st.st_size)
        if stamp == self._stamp:
            return
        try:
            with open(self.path, encoding="utf-8") as file:
                entries = parse_values(json.load(file))
        except (OSError, ValueError) as exc:
            self._report(f"keeping the previous values, {self.path} is not usable: {exc}")
            return
        self._stamp = stamp
        self._entries = entries
        self._keys = [key for key, _, _ in entries]

    @staticmethod
    def _report(message: str) -> None:
        print(f"snmp_pass_persist: {message}", file=sys.stderr, flush=True)


def serve(values: Values, requests: TextIO, replies: TextIO) -> None:
    """Answer snmpd's requests until it closes our stdin."""
    while True:
        command = requests.readline()
        if not command:
            return
        command = command.strip()
        if command == "PING":
            reply = "PONG"
        elif command in ("get", "getnext"):
            oid = requests.readline().strip()
            try:
                entry = values.get(oid) if command == "get" else values.get_next(oid)
            except ValueError:
                entry = None
            reply = "NONE" if entry is None else _format(entry)
        elif command == "set":
            requests.readline()  # the OID
            requests.readline()  # the type and value
            reply = "not-writable"
        else:
            continue  # a blank line between requests
        replies.write(reply + "\n")
        replies.flush()


def _format(entry: tuple[tuple[int, ...], str, str]) -> str:
    key, kind, text = entry
    return "." + ".".join(map(str, key)) + f"\n{kind}\n{text}"


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: snmp_pass_persist.py VALUES_FILE", file=sys.stderr)
        return 2
    serve(Values(argv[1]), sys.stdin, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
