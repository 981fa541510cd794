"""The lab's network simulator: many Cisco IOS devices answering from recorded outputs.

Run inside the lab's controller namespace by ``Lab.up()``::

    python -m automator.lab._simulator --count N --base-port P --host 127.0.0.1 \\
        --password-file F --enable-secret-file F --hostname-prefix sim --outputs-dir DIR

Device *i* (1-based) is ``<prefix><i>`` on TCP port ``P + i - 1``, all of them served by one
asyncio loop. Tools that have no port field (RANCID's router.db) need one address per device
instead: with ``--address-base A --port 22`` in place of ``--base-port``, device *i* listens on
address ``A + i - 1`` (``127.1.0.255`` is followed by ``127.1.1.0``), port 22, all in
127.0.0.0/8, which is all on the loopback interface. Secrets are read from files so that they
never show on a command line. Prints ``READY ...`` once every device listens.

fake-switches (the switch farm) models a switch's configuration but has no BGP, OSPF,
environment or CPU figures, which health checks read. These devices model no state at all:
a ``show`` command is answered with the file

    DIR/<device>/<command>.txt, else DIR/_default/<command>.txt

read again on every command (``command_filename`` names it: spaces become ``_``), so a test
changes what a device reports by writing a file (``set_output``). In a file, ``{hostname}``
stands for the device's name and ``{clock}`` for the time now as ``show clock`` prints it.

What netmiko's ``cisco_ios`` driver relies on behaves as on IOS: the ``NAME>`` prompt,
``enable`` with the secret, ``terminal length|width``, the echo of what is typed, the
``% Invalid input detected at '^' marker.`` answer, ``configure terminal`` with its sub-modes,
``end`` and ``exit``, and ``write memory`` / ``copy running-config startup-config``.
Configuration lines are merged into the device's running-config file and saving copies it to
the startup-config file, so a "configuration saved" check sees a difference and its repair.
Commands may be abbreviated (``sh ip bgp sum``) where the abbreviation is unambiguous among the
recorded commands, and filtered with ``| include``, ``| exclude`` or ``| begin``. RANCID 3.13
(``clogin``, its ``ios`` module) collects from it unpatched: of the ~70 commands it sends, those
with no recorded output are refused as IOS refuses a command a model lacks, and it skips them.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import hmac
import ipaddress
import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple
from urllib.parse import unquote

import asyncssh

DEFAULT_DEVICE = "_default"
RUNNING = "show running-config"
STARTUP = "show startup-config"
_NVRAM_BYTES = 262144
# Recorded commands that IOS offers in privileged EXEC only.
_PRIVILEGED = frozenset({RUNNING, STARTUP})
# Configuration commands that open a sub-mode, and the prompt of that sub-mode.
_SUBMODES = {
    "interface": "config-if",
    "router": "config-router",
    "line": "config-line",
    "vlan": "config-vlan",
    "class-map": "config-cmap",
    "policy-map": "config-pmap",
}
# Configuration commands that hold one value: a new one replaces the old.
_SINGLE_VALUED = (
    "description",
    "hostname",
    "ip address",
    "switchport mode",
    "switchport access vlan",
    "speed",
    "duplex",
    "mtu",
    "router-id",
)
_UNSAFE = re.compile(r"[^A-Za-z0-9.\-]")


def command_filename(command: str) -> str:
    """The file that holds a command's output: ``show ip bgp summary`` ->
    ``show_ip_bgp_summary.txt``.

    Words are joined by ``_``; anything but letters, digits, ``.`` and ``-`` inside a word is
    %-escaped, so ``show interfaces Gi0/1`` is ``show_interfaces_Gi0%2F1.txt``: never a path.
    """
    words = command.split()
    if not words:
        raise ValueError("an empty command has no output file")
    return "_".join(_UNSAFE.sub(_escape, word) for word in words) + ".txt"


def _escape(match: re.Match[str]) -> str:
    return "".join(f"%{byte:02X}" for byte in match.group().encode())


def _clock() -> str:
    """Now as a synchronised IOS clock shows it: ``18:57:38.347 UTC Mon Oct 5 2015``."""
    now = datetime.now(UTC)
    return f"{now:%H:%M:%S}.{now.microsecond // 1000:03d} UTC {now:%a %b} {now.day} {now:%Y}"


def set_output(outputs_dir: Path, device: str, command: str, text: str) -> None:
    """Make ``device`` answer ``command`` with ``text`` from its next command on."""
    _write_atomic(outputs_dir / device / command_filename(command), text)


def reset_output(outputs_dir: Path, device: str, command: str) -> None:
    """Make ``device`` answer ``command`` with the recorded default again."""
    (outputs_dir / device / command_filename(command)).unlink(missing_ok=True)


def _write_atomic(path: Path, text: str) -> None:
    """Replace a file at once: the simulator never reads half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class Outputs:
    """The recorded outputs under ``root``: per device, falling back to ``_default``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def read(self, device: str, command: str) -> str | None:
        """The device's output for a full command, placeholders filled in; None if none."""
        filename = command_filename(command)
        for folder in (device, DEFAULT_DEVICE):
            try:
                text = (self.root / folder / filename).read_text(errors="replace")
            except FileNotFoundError:
                continue
            except OSError as exc:  # the device answers as if it had no such command
                logging.warning("cannot read %s for %s: %s", filename, device, exc)
                continue
            return text.replace("{hostname}", device).replace("{clock}", _clock())
        return None

    def has(self, device: str, command: str) -> bool:
        filename = command_filename(command)
        return any((self.root / folder / filename).is_file() for folder in (device, DEFAULT_DEVICE))

    def write(self, device: str, command: str, text: str) -> None:
        set_output(self.root, device, command, text)

    def commands(self, device: str) -> set[tuple[str, ...]]:
        """Every command the device has an output for, as words."""
        found = set()
        for folder in (device, DEFAULT_DEVICE):
            try:
                names = os.listdir(self.root / folder)
            except FileNotFoundError:
                continue
            found |= {
                tuple(unquote(word) for word in name.removesuffix(".txt").split("_"))
                for name in names
                if name.endswith(".txt") and not name.startswith(".")
            }
        return found


# --- the running configuration ---------------------------------------------------------------


def apply_config(config: str, section: str | None, line: str) -> str:
    """``config`` (a ``show running-config`` text) with one configuration line applied.

    ``section`` is the sub-mode's header (``interface Gi0/1``) the line was typed in, or None
    for global configuration. ``no X`` removes ``X`` (with its block, for a header); a
    single-valued command (``description``, ``ip address``, ...) replaces the old value; any
    other line is added once. A section header that does not exist yet is added.
    """
    lines = config.split("\n")
    if section is not None and section not in lines:
        lines[_end_index(lines) : _end_index(lines)] = [section, "!"]
    negate = line.startswith("no ")
    target = line.removeprefix("no ") if negate else line
    if section is None:
        first, last, indent = 0, _end_index(lines), ""
    else:
        first = lines.index(section) + 1
        last = first
        while last < len(lines) and lines[last].startswith(" "):
            last += 1
        indent = " "
    level = [i for i in range(first, last) if _at_level(lines[i], indent)]
    if negate:
        doomed = {i for i in level if _same_command(lines[i], indent + target)}
        if section is None:
            doomed |= {j for i in doomed for j in _block(lines, i)}
        lines = [text for i, text in enumerate(lines) if i not in doomed]
    elif indent + target not in (lines[i] for i in level):
        key = next((k for k in _SINGLE_VALUED if target.startswith(k + " ")), None)
        same = [i for i in level if key is not None and lines[i].startswith(indent + key + " ")]
        if same:
            lines[same[0]] = indent + target
        else:
            lines.insert(last, indent + target)
    return _with_size("\n".join(lines))


def startup_from_running(running: str) -> str:
    """What ``write memory`` leaves in ``show startup-config``."""
    body = _body(running)
    return f"Using {len(body.encode())} out of {_NVRAM_BYTES} bytes\n{body}"


def _end_index(lines: list[str]) -> int:
    """Where new global lines go: before the final ``end``."""
    for i in range(len(lines) - 1, -1, -1):
        if lines[i] == "end":
            return i
    return len(lines)


def _at_level(text: str, indent: str) -> bool:
    return text.startswith(indent) and not text[len(indent) :].startswith(" ")


def _same_command(text: str, target: str) -> bool:
    return text == target or text.startswith(target + " ")


def _block(lines: list[str], header: int) -> Iterable[int]:
    """The indented lines under a section header, and the ``!`` that closes it."""
    i = header + 1
    while i < len(lines) and lines[i].startswith(" "):
        yield i
        i += 1
    if i < len(lines) and lines[i] == "!":
        yield i


_SIZE = re.compile(r"^Current configuration : \d+ bytes$", re.MULTILINE)


def _body(running: str) -> str:
    """The configuration itself, after the ``Current configuration : N bytes`` header."""
    match = _SIZE.search(running)
    return running[match.end() + 1 :] if match else running


def _with_size(running: str) -> str:
    size = len(_body(running).encode())
    return _SIZE.sub(f"Current configuration : {size} bytes", running, count=1)


# --- the command line ------------------------------------------------------------------------


@dataclass(frozen=True)
class Device:
    name: str
    enable_secret: str
    outputs: Outputs


class Reply(NamedTuple):
    """What a typed line produced: ``text`` to print before the next prompt, or ``close``."""

    text: str
    close: bool = False


class _Invalid(Exception):
    """A command IOS would not take; ``word`` is the index of the word the caret points at."""

    def __init__(self, word: int, message: str = "% Invalid input detected at '^' marker.") -> None:
        super().__init__(message)
        self.word = word
        self.message = message


class Cli:
    """One SSH session's command line on a device: modes, prompts and answers.

    Pure but for the outputs folder, so it is tested without SSH.
    """

    def __init__(self, device: Device) -> None:
        self.device = device
        self.privileged = False
        self.submode: str | None = None  # None outside configuration, "config", "config-if"...
        self.section: str | None = None  # the sub-mode's header line, e.g. "interface Gi0/1"
        self._question: str | None = None  # "password" or "destination" while one is asked

    @property
    def prompt(self) -> str:
        if self._question == "password":
            return "Password: "
        if self._question == "destination":
            return "Destination filename [startup-config]? "
        if self.submode is not None:
            return f"{self.device.name}({self.submode})#"
        return self.device.name + ("#" if self.privileged else ">")

    @property
    def echo(self) -> bool:
        """False while a password is typed: IOS does not echo it."""
        return self._question != "password"

    def enter(self, line: str) -> Reply:
        """Handle one typed line."""
        if self._question is not None:
            return self._answer(line)
        words = line.split()
        try:
            if self.submode is not None:
                return self._configure(line, words)
            return self._exec(words)
        except _Invalid as invalid:
            return Reply(self._marker(line, invalid))

    def end_configuration(self) -> Reply:
        """Ctrl-Z: back to privileged EXEC from any configuration mode."""
        if self.submode is not None:
            self.submode = self.section = None
        return Reply("")

    def _answer(self, line: str) -> Reply:
        question, self._question = self._question, None
        if question == "password":
            if hmac.compare_digest(line.encode(), self.device.enable_secret.encode()):
                self.privileged = True
                return Reply("")
            return Reply("% Bad secrets\n\n")
        if line.strip() in ("", "startup-config"):
            return Reply(self._save())
        return Reply("%Error opening flash:" + line.strip() + " (Permission denied)\n")

    def _exec(self, words: list[str]) -> Reply:
        if not words:
            return Reply("")
        first = words[0].lower()
        if _abbreviates(first, "enable", 2) and len(words) == 1:
            if not self.privileged:
                self._question = "password"
            return Reply("")
        if _abbreviates(first, "disable", 4) and len(words) == 1:
            self.privileged = False
            return Reply("")
        if _abbreviates(first, "terminal", 4):
            return Reply(self._terminal(words))
        if first in ("exit", "logout", "quit") and len(words) == 1:
            return Reply("", close=True)
        if self.privileged and (reply := self._privileged(words)) is not None:
            return Reply(reply)
        return Reply(self._recorded(words))

    def _terminal(self, words: list[str]) -> str:
        if len(words) < 2:
            raise _Invalid(-1, "% Incomplete command.")
        setting = words[1].lower()
        if _abbreviates(setting, "monitor", 3) and len(words) == 2:
            return ""
        if not (_abbreviates(setting, "length", 3) or _abbreviates(setting, "width", 1)):
            raise _Invalid(1)
        if len(words) < 3:
            raise _Invalid(-1, "% Incomplete command.")
        if len(words) > 3 or not words[2].isdigit():
            raise _Invalid(2)
        return ""

    def _privileged(self, words: list[str]) -> str | None:
        """The answer to a privileged-only built-in command; None if it is not one."""
        first, rest = words[0].lower(), [word.lower() for word in words[1:]]
        if _abbreviates(first, "configure", 4):
            if rest and not _abbreviates(rest[0], "terminal", 1):
                raise _Invalid(1)
            self.submode = "config"
            return "Enter configuration commands, one per line.  End with CNTL/Z.\n"
        if _abbreviates(first, "write", 2) and (
            not rest or (len(rest) == 1 and _abbreviates(rest[0], "memory", 1))
        ):
            return self._save()
        if (
            _abbreviates(first, "copy", 3)
            and len(rest) == 2
            and _abbreviates(rest[0], "running-config", 3)
            and _abbreviates(rest[1], "startup-config", 3)
        ):
            self._question = "destination"
            return ""
        return None

    def _recorded(self, words: list[str]) -> str:
        """The recorded output of a command, which may be abbreviated and filtered with
        ``| include|exclude|begin REGEX``."""
        if "|" in words:
            bar = words.index("|")
            return _filtered(self._recorded(words[:bar]), words[bar + 1 :], bar + 1)
        command = self._resolve(words)
        if command in _PRIVILEGED and not self.privileged:
            raise _Invalid(1)
        text = self.device.outputs.read(self.device.name, command)
        if text is None:  # removed since _resolve saw it
            raise _Invalid(0)
        return text if text.endswith("\n") or not text else text + "\n"

    def _resolve(self, words: list[str]) -> str:
        """The recorded command that the typed words name, abbreviations allowed."""
        typed = " ".join(words)
        outputs, name = self.device.outputs, self.device.name
        if outputs.has(name, typed):
            return typed
        known = outputs.commands(name)
        matches = [
            command
            for command in known
            if len(command) == len(words) and _matching_words(words, command) == len(words)
        ]
        if len(matches) == 1:
            return " ".join(matches[0])
        if matches:
            raise _Invalid(-1, f'% Ambiguous command:  "{typed}"')
        matched = max((_matching_words(words, command) for command in known), default=0)
        if matched == len(words):
            raise _Invalid(-1, "% Incomplete command.")
        raise _Invalid(matched)

    def _configure(self, line: str, words: list[str]) -> Reply:
        if not words:
            return Reply("")
        first = words[0].lower()
        if _abbreviates(first, "end", 3) and len(words) == 1:
            return self.end_configuration()
        if _abbreviates(first, "exit", 3) and len(words) == 1:
            if self.section is not None:
                self.submode, self.section = "config", None
            else:
                self.submode = None
            return Reply("")
        if first == "do":
            if len(words) == 1:
                raise _Invalid(0, "% Incomplete command.")
            return self._exec(words[1:])
        keyword = next((k for k in _SUBMODES if _abbreviates(first, k, 3)), None)
        text = " ".join(words)
        if keyword is not None:
            if len(words) == 1:
                raise _Invalid(-1, "% Incomplete command.")
            self.submode = _SUBMODES[keyword]
            self.section = " ".join([keyword, *words[1:]])
            self._change(None, self.section)
        else:
            self._change(self.section, text)
        return Reply("")

    def _change(self, section: str | None, line: str) -> None:
        outputs, name = self.device.outputs, self.device.name
        running = outputs.read(name, RUNNING) or "end\n"
        outputs.write(name, RUNNING, apply_config(running, section, line))

    def _save(self) -> str:
        outputs, name = self.device.outputs, self.device.name
        running = outputs.read(name, RUNNING) or "end\n"
        outputs.write(name, STARTUP, startup_from_running(running))
        return "Building configuration...\n[OK]\n"

    def _marker(self, line: str, invalid: _Invalid) -> str:
        if invalid.word < 0:
            return f"{invalid.message}\n\n"
        starts = [match.start() for match in re.finditer(r"\S+", line)]
        column = starts[invalid.word] if invalid.word < len(starts) else len(line.rstrip())
        # The caret sits under the word, counted from the start of the prompt's line.
        return " " * (len(self.prompt) + column) + f"^\n{invalid.message}\n\n"


def _filtered(text: str, words: list[str], first: int) -> str:
    """``text`` through an output filter; ``first`` is the filter's word index in the line."""
    filters = ("include", "exclude", "begin")
    how = next((f for f in filters if words and _abbreviates(words[0].lower(), f, 1)), None)
    if how is None:
        raise _Invalid(first)
    if len(words) < 2:
        raise _Invalid(-1, "% Incomplete command.")
    try:
        pattern = re.compile(" ".join(words[1:]))
    except re.error:
        raise _Invalid(first + 1) from None
    lines = text.splitlines()
    if how == "begin":
        start = next((i for i, line in enumerate(lines) if pattern.search(line)), len(lines))
        kept = lines[start:]
    else:
        kept = [line for line in lines if (pattern.search(line) is None) == (how == "exclude")]
    return "".join(line + "\n" for line in kept)


def _abbreviates(typed: str, keyword: str, minimum: int) -> bool:
    return len(typed) >= minimum and keyword.startswith(typed)


def _matching_words(typed: list[str], command: tuple[str, ...]) -> int:
    """How many of the typed words, from the first, abbreviate the command's words."""
    count = 0
    for word, keyword in zip(typed, command, strict=False):
        if not _abbreviates(word.lower(), keyword.lower(), 1):
            break
        count += 1
    return count


# --- SSH -------------------------------------------------------------------------------------


class _Session(asyncssh.SSHServerSession[str]):
    """A shell channel: echoes what is typed, as IOS does, and hands each line to the Cli."""

    def __init__(self, cli: Cli) -> None:
        self._cli = cli
        self._chan: asyncssh.SSHServerChannel[str] | None = None
        self._line: list[str] = []
        self._after_cr = False

    def connection_made(self, chan: asyncssh.SSHServerChannel[str]) -> None:
        self._chan = chan

    def pty_requested(self, term_type: str, term_size: object, term_modes: object) -> bool:
        return True

    def shell_requested(self) -> bool:
        return True

    def session_started(self) -> None:
        self._send(["\r\n", self._cli.prompt])

    def data_received(self, data: str, datatype: int | None) -> None:
        out: list[str] = []
        for char in data:
            if char == "\n" and self._after_cr:  # "\r\n" is one Enter
                self._after_cr = False
                continue
            self._after_cr = char == "\r"
            if char in "\r\n":
                if self._enter(self._cli.enter("".join(self._line)), out):
                    return
            elif char == "\x1a":  # Ctrl-Z
                out.append("^Z")
                self._enter(self._cli.end_configuration(), out)
            elif char == "\x03":  # Ctrl-C
                out.append("^C")
                self._enter(Reply(""), out)
            elif char in "\x7f\b":
                if self._line:
                    self._line.pop()
                    if self._cli.echo:
                        out.append("\b \b")
            elif char.isprintable():
                self._line.append(char)
                if self._cli.echo:
                    out.append(char)
        self._send(out)

    def _enter(self, reply: Reply, out: list[str]) -> bool:
        """Print a reply and the next prompt; True once the session is closed."""
        self._line.clear()
        out.append("\r\n")
        out.append(reply.text.replace("\r\n", "\n").replace("\n", "\r\n"))
        if reply.close:
            self._send(out)
            if self._chan is not None:
                self._chan.exit(0)
            return True
        out.append(self._cli.prompt)
        return False

    def _send(self, out: list[str]) -> None:
        if out and self._chan is not None:
            self._chan.write("".join(out))
        out.clear()


class _Server(asyncssh.SSHServer):
    """One device's SSH server: password login, then a shell on the device's command line."""

    def __init__(self, device: Device, username: str, password: str) -> None:
        self._device = device
        self._username = username
        self._password = password

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == self._username and hmac.compare_digest(
            password.encode(), self._password.encode()
        )

    def session_requested(self) -> _Session:
        return _Session(Cli(self._device))


def endpoints(
    count: int,
    *,
    host: str = "127.0.0.1",
    base_port: int | None = None,
    address_base: str | None = None,
    port: int = 22,
) -> list[tuple[str, int]]:
    """Where devices 1..count listen: ``host`` on consecutive ports from ``base_port``, or
    consecutive loopback addresses from ``address_base``, all on ``port``."""
    if (base_port is None) == (address_base is None):
        raise ValueError("give either base_port or address_base")
    if base_port is not None:
        return [(host, base_port + i) for i in range(count)]
    first = ipaddress.IPv4Address(address_base)
    loopback = ipaddress.IPv4Network("127.0.0.0/8")
    addresses = [first + i for i in range(count)]  # raises past 255.255.255.255
    if addresses and not (addresses[0] in loopback and addresses[-1] in loopback):
        raise ValueError(
            f"{count} addresses from {first} leave the loopback range 127.0.0.0/8: the"
            " simulator listens on loopback only"
        )
    return [(str(address), port) for address in addresses]


async def serve(
    args: argparse.Namespace, where: list[tuple[str, int]], password: str, enable_secret: str
) -> None:
    outputs = Outputs(args.outputs_dir)
    # One host key for every device, made once: parsing a key per device is what made the
    # switch farm slow to start.
    options = asyncssh.SSHServerConnectionOptions(
        server_host_keys=[asyncssh.generate_private_key("ssh-ed25519")],
        line_editor=False,
        allow_scp=False,
        agent_forwarding=False,
        x11_forwarding=False,
    )
    for i, (host, port) in enumerate(where, start=1):
        device = Device(f"{args.hostname_prefix}{i}", enable_secret, outputs)
        factory = functools.partial(_Server, device, args.username, password)
        await asyncssh.listen(host, port, options=options, server_factory=factory)
    print(f"READY {len(where)} devices on {_describe(where)}", flush=True)
    await asyncio.Event().wait()


def _describe(where: list[tuple[str, int]]) -> str:
    """``127.0.0.1:22001-22300`` or ``127.1.0.1-127.1.1.44:22``."""
    (first_host, first_port), (last_host, last_port) = where[0], where[-1]
    if first_host == last_host:
        return f"{first_host}:{first_port}-{last_port}"
    return f"{first_host}-{last_host}:{first_port}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m automator.lab._simulator")
    parser.add_argument("--count", type=int, required=True)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--base-port", type=int, help="device i on --host, port P + i - 1")
    mode.add_argument("--address-base", help="device i on loopback address A + i - 1, port --port")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=22)
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password-file", type=Path, required=True)
    parser.add_argument("--enable-secret-file", type=Path, required=True)
    parser.add_argument("--hostname-prefix", default="sim")
    parser.add_argument("--outputs-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if args.count < 1:
        parser.error("--count must be at least 1")
    if not (args.outputs_dir / DEFAULT_DEVICE).is_dir():
        parser.error(f"{args.outputs_dir / DEFAULT_DEVICE} is not a folder")
    try:
        where = endpoints(
            args.count,
            host=args.host,
            base_port=args.base_port,
            address_base=args.address_base,
            port=args.port,
        )
    except ValueError as exc:  # also a malformed address
        parser.error(str(exc))
    password = args.password_file.read_text().strip()
    enable_secret = args.enable_secret_file.read_text().strip()
    asyncio.run(serve(args, where, password, enable_secret))


if __name__ == "__main__":
    main()
