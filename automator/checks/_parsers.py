"""Parsers: turn the outputs a check collected into records of measured values.

A parser gets the outputs of the check's commands, in the order the check lists them, and a
context (the host's platform, the time of the run, the check's ``parse:`` options). It returns
records: one dict per thing measured, named by its ``item`` (a mount, an interface, a BGP
neighbour, a sensor), or a single record without ``item`` for a single-valued answer. The
values a check judges are numbers: yes/no as 1/0, device states mapped to numbers as each
parser's docstring says. Strings ride along for the operator (a reload reason, a state).

Output that should have had data and did not parse raises ``ParseError`` (one line naming the
command and what did not parse): the check then ends ``unknown`` with the raw output kept, and
never passes silently. An empty list is returned only where the output itself says there is
nothing to measure (``% BGP not active``, a JSON ``[]``); the check's ``allow_empty`` decides
whether that is fine.

Network gear is read with TextFSM: automator's own templates (``templates/``, for outputs
ntc-templates has no template for) are searched first, then ntc-templates' index.
"""

from __future__ import annotations

import difflib
import fnmatch
import json
import re
import shlex
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import textfsm  # type: ignore[import-untyped]
from ntc_templates.parse import (  # type: ignore[import-untyped]
    ParsingException,
    parse_output,
)
from ntc_templates.parse import _get_template_dir as ntc_template_dir
from textfsm import clitable

from automator.errors import AutomatorError

Record = dict[str, float | int | str | None]
Row = dict[str, Any]

TEMPLATES = Path(__file__).with_name("templates")
_ENVIRONMENT_TEMPLATE = TEMPLATES / "cisco_ios_show_environment_all.textfsm"


@dataclass(frozen=True)
class CommandOutput:
    """What one command printed; ``rc`` is its exit status where there is one (Linux)."""

    command: str
    output: str
    rc: int | None = None


@dataclass(frozen=True)
class ParseContext:
    """What a parser may need besides the output."""

    platform: str
    now: datetime
    options: Mapping[str, Any]


class ParseError(AutomatorError):
    """The output did not parse; the message says which command and what, on one line."""


Parser = Callable[[Sequence[CommandOutput], ParseContext], list[Record]]


# ---------------------------------------------------------------------------------------------
# Shared helpers


def _quote(text: str, limit: int = 80) -> str:
    """A piece of output, shortened, quoted, on one line, for an error message."""
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def _outputs(outputs: Sequence[CommandOutput], count: int) -> Sequence[CommandOutput]:
    if len(outputs) != count:
        commands = "command" if count == 1 else "commands"
        raise ParseError(f"expects the output of {count} {commands}, got {len(outputs)}")
    return outputs


def _text(output: CommandOutput) -> str:
    text = output.output.strip()
    if not text:
        raise ParseError(f"{output.command}: empty output")
    return text


def _number(text: str) -> int | float | None:
    """``text`` as an int or a float (decimal notation), None if it is not a plain number."""
    text = text.strip()
    if re.fullmatch(r"[-+]?\d+", text):
        return int(text)
    if re.fullmatch(r"[-+]?(\d+\.\d*|\.\d+)([eE][-+]?\d+)?", text):
        return float(text)
    return None


def _value(text: str) -> int | float | str:
    """A number where the text is one, the text otherwise."""
    number = _number(text)
    return text if number is None else number


def _required_number(text: str, what: str, command: str) -> int | float:
    number = _number(text)
    if number is None:
        raise ParseError(f"{command}: {what} is not a number: {_quote(text)}")
    return number


def _percent(part: float, whole: float) -> float:
    return round(part * 100 / whole, 2)


# ---------------------------------------------------------------------------------------------
# Linux


_DF_LINE = re.compile(
    r"(?P<source>\S.*?)\s+(?P<total>\d+)\s+(?P<used>\d+)\s+(?P<free>\d+)\s+"
    r"(?P<pct>\d+%|-)\s+(?P<mount>/.*)"
)
# Memory-backed or kernel filesystems a disk check has nothing to say about. A tmpfs elsewhere
# (a scratch area mounted on /srv/...) is kept: it can fill up like a disk.
_PSEUDO_SOURCES = frozenset({"devtmpfs", "udev", "proc", "sysfs", "devpts", "cgroup", "none"})
_RUNTIME_MOUNTS = ("/dev", "/run", "/sys", "/proc")


@dataclass(frozen=True)
class _DfLine:
    source: str
    total: int
    used: int
    free: int
    pct: int | None
    mount: str

    @property
    def pseudo(self) -> bool:
        if self.source in _PSEUDO_SOURCES or self.total == 0:
            return True
        runtime = any(self.mount == m or self.mount.startswith(m + "/") for m in _RUNTIME_MOUNTS)
        return self.source == "tmpfs" and runtime


def _df_lines(outputs: Sequence[CommandOutput]) -> list[_DfLine]:
    (output,) = _outputs(outputs, 1)
    lines = _text(output).splitlines()
    if not lines[0].startswith("Filesystem"):
        raise ParseError(f"{output.command}: no 'Filesystem' header: {_quote(lines[0])}")
    result: dict[str, _DfLine] = {}
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip() or line.startswith("df: "):
            continue  # df names a mount it could not read on stderr and goes on with the rest
        match = _DF_LINE.fullmatch(line.rstrip())
        if match is None:
            raise ParseError(f"{output.command}: line {number} does not parse: {_quote(line)}")
        pct = match["pct"]
        entry = _DfLine(
            match["source"],
            int(match["total"]),
            int(match["used"]),
            int(match["free"]),
            None if pct == "-" else int(pct[:-1]),
            match["mount"],
        )
        result[entry.mount] = entry  # the last mount on a path hides the ones under it
    real = [entry for entry in result.values() if not entry.pseudo]
    if not real:
        raise ParseError(f"{output.command}: no real filesystem in the output")
    return real


def _df(outputs: Sequence[CommandOutput], context: ParseContext) -> list[Record]:
    """``df -P -k``: one record per mount (item), size_kb, used_kb, avail_kb, used_pct.

    used_pct is df's own Capacity column (rounded up, as operators see it). Kernel and runtime
    filesystems are skipped: devtmpfs, proc, sysfs, cgroup, any of size 0, and tmpfs under
    /dev, /run, /sys and /proc; a tmpfs mounted elsewhere is kept.
    """
    return [
        {
            "item": line.mount,
            "size_kb": line.total,
            "used_kb": line.used,
            "avail_kb": line.free,
            "used_pct": line.pct,
        }
        for line in _df_lines(outputs)
    ]


def _df_inodes(outputs: Sequence[CommandOutput], context: ParseContext) -> list[Record]:
    """``df -P -i``: one record per mount (item), inodes, iused, ifree, iused_pct.

    A filesystem without inodes (IUse% ``-``: vfat, btrfs) is skipped, as are the kernel and
    runtime filesystems the ``df`` parser skips.
    """
    return [
        {
            "item": line.mount,
            "inodes": line.total,
            "iused": line.used,
            "ifree": line.free,
            "iused_pct": line.pct,
        }
        for line in _df_lines(outputs)
        if line.pct is not None
    ]


_MEMINFO_LINE = re.compile(r"(?P<key>[\w()]+):\s+(?P<value>\d+)(?: kB)?")


def _meminfo(outputs: Sequence[CommandOutput], context: ParseContext) -> list[Record]:
    """``cat /proc/meminfo``: total_kb, available_kb, used_pct, swap_total_kb, swap_used_pct.

    used_pct is the memory not available to new programs (MemAvailable; on kernels before 3.14
    MemFree + Buffers + Cached). swap_used_pct is 0 on a host without swap.
    """
    (output,) = _outputs(outputs, 1)
    values: dict[str, int] = {}
    for line in _text(output).splitlines():
        match = _MEMINFO_LINE.fullmatch(line.strip())
        if match:
            values[match["key"]] = int(match["value"])
    total = values.get("MemTotal")
    if not total:
        raise ParseError(f"{output.command}: no MemTotal in {_quote(output.output)}")
    available = values.get("MemAvailable")
    if available is None:
        available = sum(values.get(key, 0) for key in ("MemFree", "Buffers", "Cached"))
    swap_total = values.get("SwapTotal", 0)
    swap_used = swap_total - values.get("SwapFree", swap_total)
    return [
        {
            "total_kb": total,
            "available_kb": available,
            "used_pct": _percent(total - available, total),
            "swap_total_kb": swap_total,
            "swap_used_pct": _percent(swap_used, swap_total) if swap_total else 0.0,
        }
    ]


def _loadavg(outputs: Sequence[CommandOutput], context: ParseContext) -> list[Record]:
    """``cat /proc/loadavg`` then ``nproc``: load1, load5, load15, cpus, load{1,5,15}_per_core."""
    loadavg, nproc = _outputs(outputs, 2)
    fields = _text(loadavg).split()
    if len(fields) < 3:
        raise ParseError(f"{loadavg.command}: not a load average: {_quote(loadavg.output)}")
    loads = [_required_number(field, "a load", loadavg.command) for field in fields[:3]]
    cpus = _required_number(_text(nproc), "the CPU count", nproc.command)
    if not isinstance(cpus, int) or cpus < 1:
        raise ParseError(f"{nproc.command}: not a CPU count: {_quote(nproc.output)}")
    record: Record = {"cpus": cpus}
    for minutes, load in zip((1, 5, 15), loads, strict=True):
        record[f"load{minutes}"] = load
        record[f"load{minutes}_per_core"] = round(load / cpus, 3)
    return [record]


def _service(outputs: Sequence[CommandOutput], context: ParseContext) -> list[Record]:
    """A status command (``systemctl is-active NAME``, ``service NAME status``): running 1/0.

    Exit status 0 is running, anything else is not. item is ``options["service"]`` when set;
    state is the first line the command printed.
    """
    (output,) = _outputs(outputs, 1)
    if output.rc is None:
        raise ParseError(f"{output.command}: no exit status to tell whether it runs")
    lines = output.output.strip().splitlines()
    record: Record = {"running": int(output.rc == 0), "state": lines[0].strip() if lines else ""}
    service = context.options.get("service")
    if service:
        record["item"] = str(service)
    return [record]


_CHRONY_FIELD = re.compile(r"(?P<key>[^:]+?)\s*:\s*(?P<value>.*)")
_CHRONY_OFFSET = re.compile(r"(?P<seconds>\d+(?:\.\d+)?) seconds (?:slow|fast) of NTP time")
_CHRONY_LEAP = {
    "Normal": 1,
    "Insert second": 1,
    "Delete second": 1,
    "Not synchronised": 0,
}


def _chrony(outputs: Sequence[CommandOutput], context: ParseContext) -> list[Record]:
    """``chronyc tracking``: offset_ms, stratum, synchronised 1/0, reference.

    offset_ms is the absolute "System time" offset (slow or fast alike). synchronised is 0 only
    for "Leap status : Not synchronised"; Normal, Insert second and Delete second are 1.
    """
    (output,) = _outputs(outputs, 1)
    text = _text(output)
    fields: dict[str, str] = {}
    for line in text.splitlines():
        match = _CHRONY_FIELD.fullmatch(line.strip())
        if match:
            fields[match["key"]] = match["value"].strip()
    missing = [key for key in ("System time", "Stratum", "Leap status") if key not in fields]
    if missing:
        raise ParseError(f"{output.command}: no {', '.join(missing)} in {_quote(text)}")
    offset = _CHRONY_OFFSET.fullmatch(fields["System time"])
    if offset is None:
        raise ParseError(f"{output.command}: System time: {_quote(fields['System time'])}")
    leap = fields["Leap status"]
    if leap not in _CHRONY_LEAP:
        raise ParseError(f"{output.command}: unknown Leap status {_quote(leap)}")
    return [
        {
            "offset_ms": round(float(offset["seconds"]) * 1000, 6),
            "stratum": _required_number(fields["Stratum"], "Stratum", output.command),
            "synchronised": _CHRONY_LEAP[leap],
            "reference": fields.get("Reference ID", ""),
        }
    ]


def _cert_expiry(outputs: Sequence[CommandOutput], context: ParseContext) -> list[Record]:
    """``openssl x509 -noout -enddate`` (``notAfter=Nov 27 08:00:00 2025 GMT``): days_left.

    days_left is negative once expired. With several certificates in the output (a bundle)
    the first to expire counts. item is ``options["item"]`` when set; not_after is ISO 8601.
    """
    (output,) = _outputs(outputs, 1)
    text = _text(output)
    dates: list[datetime] = []
    for line in text.splitlines():
        if line.startswith("notAfter="):
            value = line.removeprefix("notAfter=").strip()
            try:
                parsed = datetime.strptime(value, "%b %d %H:%M:%S %Y %Z")
            except ValueError as error:
                raise ParseError(f"{output.command}: notAfter {_quote(value)}") from error
            dates.append(parsed.replace(tzinfo=UTC))
    if not dates:
        raise ParseError(f"{output.command}: no notAfter= line in {_quote(text)}")
    not_after = min(dates)
    record: Record = {
        "days_left": round((not_after - context.now).total_seconds() / 86400, 2),
        "not_after": not_after.isoformat(),
    }
    item = context.options.get("item")
    if item:
        record["item"] = str(item)
    return [record]


def _reboot_required(outputs: Sequence[CommandOutput], context: ParseContext) -> list[Record]:
    """``test -e /var/run/reboot-required && echo yes || echo no``: reboot_required 1/0."""
    (output,) = _outputs(outputs, 1)
    answer = _text(output).lower()
    if answer not in ("yes", "no"):
        raise ParseError(f"{output.command}: expected yes or no, got {_quote(answer)}")
    return [{"reboot_required": int(answer == "yes")}]


_STAT_LINE = re.compile(r"(?P<mtime>\d+) (?P<path>.+)")
_STAT_FAILED = re.compile(r"stat: cannot stat(?:x)? '(?P<path>.+?)': (?P<reason>.+)")
_STAT_FORMAT_OPTIONS = ("-c", "--format", "--printf")


def _stat_paths(command: str) -> list[str]:
    """The paths (or globs) a ``stat`` command line names, skipping its options."""
    try:
        words = shlex.split(command)[1:]
    except ValueError:
        return []
    paths: list[str] = []
    skip_next = False
    for word in words:
        if skip_next:
            skip_next = False
        elif word in _STAT_FORMAT_OPTIONS:
            skip_next = True
        elif not word.startswith("-"):
            paths.append(word)
    return paths


def _file_age(outputs: Sequence[CommandOutput], context: ParseContext) -> list[Record]:
    """``stat -c '%Y %n' PATH...``: one record per file (item=path), age_hours.

    A file that does not exist (or cannot be read) makes stat exit non-zero: that is a
    ParseError naming it, from stat's own message when stderr was kept, else as the paths of
    the command line that the output does not report.
    """
    (output,) = _outputs(outputs, 1)
    records: list[Record] = []
    missing: list[str] = []
    for line in output.output.splitlines():
        if not line.strip():
            continue
        if failed := _STAT_FAILED.search(line):
            missing.append(f"{failed['path']} ({failed['reason'].strip()})")
        elif match := _STAT_LINE.fullmatch(line.strip()):
            age = (context.now.timestamp() - int(match["mtime"])) / 3600
            records.append({"item": match["path"], "age_hours": round(age, 2)})
        else:
            raise ParseError(f"{output.command}: not 'MTIME PATH': {_quote(line)}")
    if output.rc not in (None, 0) and not missing:
        reported = [str(record["item"]) for record in records]
        missing = [
            pattern
            for pattern in _stat_paths(output.command)
            if not any(fnmatch.fnmatchcase(path, pattern) for path in reported)
        ]
    if missing:
        raise ParseError(f"{output.command}: cannot stat {', '.join(missing)}")
    if output.rc not in (None, 0) or not records:
        raise ParseError(f"{output.command}: exit status {output.rc}: {_quote(output.output)}")
    return records


# ---------------------------------------------------------------------------------------------
# Generic structured output


def _take_item(record: Record, key: str | None, where: str) -> Record:
    """Move ``record[key]`` to ``record["item"]``; the key must be there."""
    if key is None:
        return record
    if record.get(key) is None:
        raise ParseError(f"{where}: no {key!r} in a row: {_quote(str(record))}")
    record["item"] = str(record.pop(key))
    return record


def _flatten(prefix: str, value: Any) -> Iterator[tuple[str, float | int | str | None]]:
    """JSON values as record fields: nested objects as dotted keys, true/false as 1/0.

    Lists are left out: a list of rows is the top level's business (one record each).
    """
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _flatten(f"{prefix}.{key}" if prefix else str(key), inner)
    elif isinstance(value, bool):
        yield prefix, int(value)
    elif value is None or isinstance(value, int | float | str):
        yield prefix, value


def _json(outputs: Sequence[CommandOutput], context: ParseContext) -> list[Record]:
    """A JSON object (one record) or a list of objects (one record each).

    Nested objects become dotted keys (``disk.used``), true/false 1/0; lists inside a row are
    left out. ``options["item_key"]`` names the field that becomes item. An explicit ``[]`` is
    an answer with no rows.
    """
    (output,) = _outputs(outputs, 1)
    try:
        document = json.loads(_text(output))
    except json.JSONDecodeError as error:
        raise ParseError(f"{output.command}: not JSON: {error}") from error
    rows = document if isinstance(document, list) else [document]
    if not all(isinstance(row, dict) for row in rows):
        raise ParseError(f"{output.command}: JSON is not an object or a list of objects")
    item_key = context.options.get("item_key")
    return [_take_item(dict(_flatten("", row)), item_key, output.command) for row in rows]


_KV_LINE = re.compile(r"(?P<key>[^=:#\s][^=:]*?)\s*[=:]\s*(?P<value>.*?)\s*")


def _kv(outputs: Sequence[CommandOutput], context: ParseContext) -> list[Record]:
    """``key=value`` or ``key: value`` lines: one record, numbers converted, true/false as 1/0.

    Blank lines and ``#`` comments are skipped; any other line is a ParseError.
    """
    (output,) = _outputs(outputs, 1)
    record: Record = {}
    for line in _text(output).splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _KV_LINE.fullmatch(line.strip())
        if match is None:
            raise ParseError(f"{output.command}: not key=value: {_quote(line)}")
        value = match["value"]
        flag = {"true": 1, "false": 0}.get(value.lower())
        record[match["key"]] = _value(value) if flag is None else flag
    return [record]


def _regex(outputs: Sequence[CommandOutput], context: ParseContext) -> list[Record]:
    """``options["pattern"]`` with named groups: one record per matching line.

    Group values become numbers where they are; ``options["item"]`` names the group that
    becomes item. Lines that do not match are skipped; no matching line is a ParseError.
    """
    pattern = str(context.options.get("pattern") or "")
    try:
        compiled = re.compile(pattern)
    except re.error as error:
        raise ParseError(f"regex: pattern {pattern!r} does not compile: {error}") from error
    if not compiled.groupindex:
        raise ParseError("regex: options.pattern must be a pattern with named groups")
    records: list[Record] = []
    for output in outputs:
        for line in output.output.splitlines():
            match = compiled.search(line)
            if match:
                record: Record = {
                    name: _value(value)
                    for name, value in match.groupdict().items()
                    if value is not None
                }
                records.append(_take_item(record, context.options.get("item"), output.command))
    if not records:
        where = ", ".join(output.command for output in outputs)
        raise ParseError(f"{where}: no line matches {pattern!r}")
    return records


def _lowered(rows: list[dict[str, Any]]) -> list[Row]:
    return [{key.lower(): value for key, value in row.items()} for row in rows]


def _template_rows(template: Path, output: CommandOutput) -> list[Row]:
    """Rows of one output read with a TextFSM template file, keys lower-cased."""
    try:
        with template.open() as handle:
            fsm = textfsm.TextFSM(handle)
        return _lowered(fsm.ParseTextToDicts(output.output))
    except OSError as error:
        raise ParseError(f"template {template}: {error.strerror}") from error
    except textfsm.TextFSMTemplateError as error:
        raise ParseError(f"template {template}: {error}") from error
    except textfsm.TextFSMError as error:
        raise ParseError(f"{output.command}: {template.name}: {error}") from error


def _index_rows(platform: str, output: CommandOutput) -> list[Row]:
    """Rows of one output, the template chosen by platform and command (ours first).

    A sweep parses thousands of outputs with a handful of templates: each template is found
    in the index once and compiled about once (a few times when threads parse at the same
    moment), where ntc-templates' ``parse_output`` would compile it again for every output."""
    template = _template_for(platform, output.command)
    if template is not None:
        fsm = _borrow(template)
        try:
            fsm.Reset()
            return _lowered(fsm.ParseTextToDicts(output.output))
        except textfsm.TextFSMError as error:
            raise ParseError(f"{output.command}: {error}") from error
        finally:
            with _FOUND_LOCK:
                _IDLE.setdefault(template, []).append(fsm)
    try:
        rows = parse_output(
            platform=platform,
            command=output.command,
            data=output.output,
            template_dir=str(TEMPLATES),
            try_fallback=True,
        )
    except ParsingException as error:
        raise ParseError(f"{output.command}: no TextFSM template for {platform}") from error
    except textfsm.TextFSMError as error:
        raise ParseError(f"{output.command}: {error}") from error
    return _lowered(rows)


_FOUND: dict[tuple[str, str], Path | None] = {}
_FOUND_LOCK = threading.Lock()
# compiled templates not in use, by file: a TextFSM object keeps its parse state, so a thread
# borrows one (or compiles another when all are busy) and gives it back
_IDLE: dict[Path, list[Any]] = {}


def _borrow(template: Path) -> Any:
    with _FOUND_LOCK:
        idle = _IDLE.get(template)
        if idle:
            return idle.pop()
    with template.open() as handle:
        return textfsm.TextFSM(handle)


def _template_for(platform: str, command: str) -> Path | None:
    """The one template file the index (ours, then ntc-templates') names for a platform and
    command; None when there is none or several (``parse_output`` then does the work)."""
    key = (platform, command)
    with _FOUND_LOCK:
        if key in _FOUND:
            return _FOUND[key]
        found: Path | None = None
        for directory in (TEMPLATES, Path(ntc_template_dir())):
            try:
                table = clitable.CliTable("index", str(directory))
            except clitable.CliTableError:
                continue
            row = table.index.GetRowMatch({"Platform": platform, "Command": command})
            if row:
                names = table.index.index[row]["Template"].split(":")
                found = directory / names[0] if len(names) == 1 else None
                break
        _FOUND[key] = found
        return found


def _field(value: Any) -> float | int | str | None:
    if isinstance(value, list):
        return ", ".join(str(element) for element in value)
    return _value(value) if isinstance(value, str) else None


def _textfsm(outputs: Sequence[CommandOutput], context: ParseContext) -> list[Record]:
    """Any command through TextFSM: one record per row, keys lower-cased, numbers converted.

    ``options["template"]`` is a template file (the loader makes its path absolute); without
    it the template is found by platform and command: automator's templates, then
    ntc-templates. List values are joined with ", ". ``options["item_key"]`` names the column
    that becomes item. No row at all is a ParseError.
    """
    template = context.options.get("template")
    records: list[Record] = []
    for output in outputs:
        _text(output)  # an empty answer is an error, not a table without rows
        rows = (
            _template_rows(Path(template), output)
            if template
            else _index_rows(context.platform, output)
        )
        for row in rows:
            record = {key: _field(value) for key, value in row.items()}
            records.append(_take_item(record, context.options.get("item_key"), output.command))
    if not records:
        raise ParseError(f"{', '.join(o.command for o in outputs)}: no row in the output")
    return records


# ---------------------------------------------------------------------------------------------
# Cisco IOS

_IOS = "cisco_ios"
_IOS_ERROR = re.compile(
    r"^\s*% ?(Invalid input|Incomplete command|Ambiguous command|Unknown command"
    r"|Unrecognized command).*$",
    re.M,
)


def _ios_text(output: CommandOutput) -> str:
    """The output, or a ParseError for an empty one or the device's own complaint."""
    text = _text(output)
    if complaint := _IOS_ERROR.search(text):
        raise ParseError(f"{output.command}: the device said {_quote(complaint[0])}")
    return text


def _ios_rows(output: CommandOutput) -> list[Row]:
    _ios_text(output)
    rows = _index_rows(_IOS, output)
    if not rows:
        raise ParseError(f"{output.command}: nothing parsed from {_quote(output.output)}")
    return rows


def _int(row: Row, key: str, command: str) -> int:
    value = row.get(key, "")
    if not isinstance(value, str) or not value.isdigit():
        raise ParseError(f"{command}: {key} is not a number: {_quote(str(value))}")
    return int(value)


def _optional_int(row: Row, key: str) -> int | None:
    value = row.get(key, "")
    return int(value) if isinstance(value, str) and value.isdigit() else None


_CPU_TABLE_HEADER = re.compile(r"\s*PID\s+Runtime")


def _without_process_table(output: CommandOutput) -> CommandOutput:
    """The output cut after the first row of its per-process table: the utilisation line is
    all a check reads, and TextFSM spends ~20 ms on a table of 300 processes."""
    lines = _ios_text(output).splitlines()
    for number, line in enumerate(lines):
        if _CPU_TABLE_HEADER.match(line):
            return CommandOutput(output.command, "\n".join(lines[: number + 2]), output.rc)
    return output


def _ios_cpu(outputs: Sequence[CommandOutput], context: ParseContext) -> list[Record]:
    """``show processes cpu``: cpu_5s, cpu_1m, cpu_5m, cpu_interrupt_5s (percent)."""
    (output,) = _outputs(outputs, 1)
    row = _ios_rows(_without_process_table(output))[0]
    return [
        {
            "cpu_5s": _int(row, "cpu_usage_5_sec", output.command),
            "cpu_1m": _int(row, "cpu_usage_1_min", output.command),
            "cpu_5m": _int(row, "cpu_usage_5_min", output.command),
            "cpu_interrupt_5s": _int(row, "cpu_interruption_5_sec", output.command),
        }
    ]


def _memory_record(row: Row, command: str) -> Record | None:
    """Processor memory from a ``show processes memory sorted`` or ``show memory statistics``
    row; None for a row about another pool."""
    if "memory_total" in row:
        total, used = _int(row, "memory_total", command), _int(row, "memory_used", command)
        free = _int(row, "memory_free", command)
    elif row.get("pool") == "Processor":
        total, used = _int(row, "total", command), _int(row, "used", command)
        free = _int(row, "free", command)
    else:
        return None
    if total == 0:
        raise ParseError(f"{command}: processor memory total is 0")
    return {
        "used_pct": _percent(used, total),
        "total_bytes": total,
        "used_bytes": used,
        "free_bytes": free,
    }


def _ios_memory(outputs: Sequence[CommandOutput], context: ParseContext) -> list[Record]:
    """``show processes memory sorted`` and/or ``show memory statistics``: used_pct of the
    processor pool, total_bytes, used_bytes, free_bytes.

    The first output that parses counts; the check may list both commands, for platforms
    that answer only one of them.
    """
    if not outputs:
        raise ParseError("expects the output of show processes memory sorted")
    problems: list[str] = []
    for output in outputs:
        try:
            for row in _ios_rows(output):
                if record := _memory_record(row, output.command):
                    return [record]
            problems.append(f"{output.command}: no Processor pool")
        except ParseError as error:
            problems.append(str(error))
    raise ParseError("; ".join(problems))


def _ios_interfaces(outputs: Sequence[CommandOutput], context: ParseContext) -> list[Record]:
    """``show interfaces``: one record per interface (item), up, admin_down, input_errors,
    output_errors, crc, state.

    up is 1 when the link is up and the line protocol is up. admin_down is 1 for an interface
    shut on purpose ("administratively down"), so a check can tell it from a failed one.
    down is 1 for a fault: not up and not shut on purpose, or not up at all for an interface
    named in option ``expected_up`` (an uplink someone shut). state is ``LINK/PROTOCOL`` as
    the device printed it.
    """
    (output,) = _outputs(outputs, 1)
    expected_up = set(context.options.get("expected_up") or ())
    records: list[Record] = []
    for row in _ios_rows(output):
        link, protocol = row["link_status"], row["protocol_status"]
        up = link == "up" and protocol.startswith("up")
        admin_down = link == "administratively down"
        records.append(
            {
                "item": row["interface"],
                "up": int(up),
                "admin_down": int(admin_down),
                "down": int(not up and (not admin_down or row["interface"] in expected_up)),
                "input_errors": _optional_int(row, "input_errors"),
                "output_errors": _optional_int(row, "output_errors"),
                "crc": _optional_int(row, "crc"),
                "state": f"{link}/{protocol}",
            }
        )
    return records


_DURATION_UNITS = {
    "y": 365 * 86400,
    "w": 7 * 86400,
    "d": 86400,
    "h": 3600,
    "m": 60,
    "s": 1,
}


def _duration_s(text: str) -> int | None:
    """Seconds in an IOS duration: ``00:20:06``, ``3w0d``, ``1y10w``, ``4d12h``,
    ``1 year, 2 weeks, 3 days, 4 hours, 5 minutes``; None if it is none of those."""
    text = text.strip()
    if clock := re.fullmatch(r"(\d+):(\d\d):(\d\d)", text):
        hours, minutes, seconds = (int(part) for part in clock.groups())
        return hours * 3600 + minutes * 60 + seconds
    parts = re.findall(r"(\d+)\s*([ywdhms])[a-z]*", text)
    if not parts or re.sub(r"(\d+)\s*[ywdhms][a-z]*|[\s,]", "", text):
        return None
    return sum(int(amount) * _DURATION_UNITS[unit] for amount, unit in parts)


_BGP_NOT_ACTIVE = re.compile(r"^\s*%\s*BGP not active", re.M)
_BGP_HEADER = re.compile(r"^BGP router identifier", re.M)


def _ios_bgp(outputs: Sequence[CommandOutput], context: ParseContext) -> list[Record]:
    """``show ip bgp summary``: one record per IPv4 neighbour (item), established 1/0,
    admin_down 1/0, prefixes_received, uptime_s, state.

    established is 1 when State/PfxRcd is a prefix count. prefixes_received and uptime_s are 0
    for a neighbour that is not established. admin_down is 1 for "Idle (Admin)", a neighbour
    shut on purpose. With several address families (``show ip bgp all summary``) the item is
    ``NEIGHBOR (FAMILY)``. No BGP at all (``% BGP not active``) or BGP without neighbours (the
    header and no table) is an empty answer: no rows.
    """
    (output,) = _outputs(outputs, 1)
    text = _ios_text(output)
    if _BGP_NOT_ACTIVE.search(text):
        return []
    rows = _index_rows(_IOS, output)
    if not rows:
        if _BGP_HEADER.search(text):
            return []
        raise ParseError(f"{output.command}: no neighbour table in {_quote(text)}")
    records: list[Record] = []
    for row in rows:
        state = row["state_or_prefixes_received"]
        established = state.isdigit()
        family = row.get("address_family", "")
        records.append(
            {
                "item": f"{row['bgp_neighbor']} ({family})" if family else row["bgp_neighbor"],
                "established": int(established),
                "admin_down": int("(Admin)" in state),
                "prefixes_received": int(state) if established else 0,
                "uptime_s": _duration_s(row["up_down"]) if established else 0,
                "state": "Established" if established else state,
            }
        )
    return records


def _ospf_healthy(state: str) -> bool:
    """FULL, or 2WAY with a DROTHER: two routers that are neither DR nor BDR on a broadcast
    segment stay in 2WAY by design."""
    return state.startswith("FULL/") or state == "FULL" or state.startswith("2WAY/DROTHER")


def _ios_ospf(outputs: Sequence[CommandOutput], context: ParseContext) -> list[Record]:
    """``show ip ospf neighbor``: one record per adjacency, full 1/0, state.

    item is ``NEIGHBOR-ID INTERFACE`` (a router can be a neighbour on several interfaces).
    full is 1 for FULL, and for 2WAY/DROTHER (normal between two DROTHERs on a broadcast
    segment); INIT, EXSTART, EXCHANGE, LOADING and DOWN are 0. A lost neighbour simply
    vanishes from the output, so ``options["neighbors"]`` may list the neighbour ids
    expected: each one absent gets a record (item=the id, full 0, state "missing"). IOS prints
    nothing when there is no neighbour: empty output is an error unless neighbours are
    expected (then each is missing).
    """
    (output,) = _outputs(outputs, 1)
    expected = [str(neighbor) for neighbor in context.options.get("neighbors") or []]
    if not output.output.strip() and expected:
        rows: list[Row] = []
    else:
        rows = _ios_rows(output)
    records: list[Record] = []
    for row in rows:
        state = row["state"].replace(" ", "")  # "FULL/  -" on point-to-point links
        records.append(
            {
                "item": f"{row['neighbor_id']} {row['interface']}",
                "full": int(_ospf_healthy(state)),
                "state": state,
            }
        )
    seen = {row["neighbor_id"] for row in rows}
    records += [
        {"item": neighbor, "full": 0, "state": "missing"}
        for neighbor in expected
        if neighbor not in seen
    ]
    return records


_HEALTHY_STATES = frozenset({"OK", "GOOD", "GREEN", "NORMAL"})


def _healthy(state: str) -> int:
    return int(state.strip().upper() in _HEALTHY_STATES)


def _environment_record(row: Row) -> Record | None:
    """One sensor row of the environment template as a record; None for an empty bay."""
    switch = f"switch {row['switch']} " if row["switch"] else ""
    if row["fan"]:
        return {
            "item": f"fan {row['switch']}/{row['fan']}",
            "fan_ok": _healthy(row["fan_state"]),
            "fan_rpm": int(row["fan_rpm"]),
        }
    if row["temp_c"]:
        return {
            "item": f"{switch}{row['temp_sensor'].lower() or 'temperature'}",
            "temperature_c": int(row["temp_c"]),
            "temperature_ok": _healthy(row["temp_state"]),
        }
    if row["psu"]:
        if not row["psu_status"] and not row["psu_sys_pwr"]:
            return None
        status_ok = row["psu_status"] in ("", "OK")
        return {
            "item": f"psu {row['psu']}",
            "psu_ok": int(status_ok and row["psu_sys_pwr"] == "Good"),
        }
    unit, state = " ".join(row["unit"].split()), row["unit_state"]
    if state.upper() == "NOT PRESENT":
        return None
    if unit.startswith("FAN"):
        return {"item": f"{switch}{unit.replace('FAN', 'fan', 1)}", "fan_ok": _healthy(state)}
    if unit.endswith("TEMPERATURE"):
        return {"item": f"{switch}system temperature", "temperature_ok": _healthy(state)}
    return {"item": f"{switch}{unit.lower()}", "psu_ok": _healthy(state)}


def _ios_environment(outputs: Sequence[CommandOutput], context: ParseContext) -> list[Record]:
    """``show environment all`` (or ``show environment temperature`` / ``power all``): one
    record per sensor.

    Fans: item ``fan SWITCH/N`` or ``fan``, ``fan PS-1``: fan_ok 1/0 (and fan_rpm). Temperature:
    item ``switch 1 inlet``, ``temperature``: temperature_c and temperature_ok (GREEN/OK 1,
    YELLOW/RED 0); ``system temperature``: temperature_ok. Power: item ``psu 1A``, ``power``,
    ``rps``: psu_ok (status OK and system power Good). Empty bays and absent units (NOT
    PRESENT) are skipped. Read with automator's template, which knows the classic and the
    Catalyst 9000 layouts.
    """
    records: list[Record] = []
    for output in outputs:
        _ios_text(output)
        for row in _template_rows(_ENVIRONMENT_TEMPLATE, output):
            if record := _environment_record(row):
                records.append(record)
    if not records:
        where = ", ".join(output.command for output in outputs) or "show environment all"
        raise ParseError(f"{where}: no sensor in the output")
    return records


def _ios_uptime(outputs: Sequence[CommandOutput], context: ParseContext) -> list[Record]:
    """``show version``: uptime_s (from "1 year, 2 weeks, 3 days, 4 hours, 5 minutes"),
    reload_reason (the device's words)."""
    (output,) = _outputs(outputs, 1)
    row = _ios_rows(output)[0]
    uptime = _duration_s(row.get("uptime", ""))
    if uptime is None:
        raise ParseError(f"{output.command}: uptime {_quote(row.get('uptime', ''))}")
    return [{"uptime_s": uptime, "reload_reason": row.get("reload_reason", "")}]


_VOLATILE_CONFIG = re.compile(
    r"Building configuration"
    r"|Current configuration\s*:"
    r"|Using \d+ out of \d+ bytes"
    r"|! Last configuration change"
    r"|! NVRAM config last updated"
    r"|! No configuration change since last restart"
    r"|ntp clock-period"  # IOS rewrites it in the running config as the clock drifts
)
_NO_STARTUP = re.compile(r"startup-config is not present|configuration memory is not present")


def _config_lines(output: CommandOutput) -> list[str]:
    text = _ios_text(output)
    lines = [line.rstrip() for line in text.splitlines()]
    kept = [line for line in lines if line and not _VOLATILE_CONFIG.match(line)]
    if "end" not in kept:
        raise ParseError(f"{output.command}: no 'end' line: the configuration is cut short")
    return kept


def _ios_config_saved(outputs: Sequence[CommandOutput], context: ParseContext) -> list[Record]:
    """``show running-config`` then ``show startup-config``: saved 1/0, changed_lines.

    saved is 1 when both are equal once the lines IOS rewrites on its own are left out
    (Building configuration, Current configuration : N bytes, Using N out of N bytes, the
    "! Last configuration change" / "! NVRAM config last updated" comments, ntp
    clock-period). changed_lines counts lines added or removed. A device that says it has no
    startup-config was never saved: saved 0. A configuration without its final ``end`` was
    cut short and is a ParseError, as is an empty answer.
    """
    running, startup = _outputs(outputs, 2)
    if _NO_STARTUP.search(startup.output):
        return [{"saved": 0, "changed_lines": len(_config_lines(running))}]
    diff = difflib.unified_diff(_config_lines(running), _config_lines(startup), n=0)
    changed = sum(1 for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---")))
    return [{"saved": int(changed == 0), "changed_lines": changed}]


_NTP_DISABLED = re.compile(r"^\s*%\s*NTP is not enabled", re.M)


def _ios_ntp(outputs: Sequence[CommandOutput], context: ParseContext) -> list[Record]:
    """``show ntp status``: synchronised 1/0, stratum, offset_ms (absolute), reference.

    ``%NTP is not enabled.`` is an answer: synchronised 0, no stratum or offset.
    """
    (output,) = _outputs(outputs, 1)
    if _NTP_DISABLED.search(_ios_text(output)):
        return [{"synchronised": 0, "stratum": None, "offset_ms": None, "reference": ""}]
    row = _ios_rows(output)[0]
    offset = _number(row["offset_ms"])
    return [
        {
            "synchronised": int(row["status"] == "synchronized"),
            "stratum": _int(row, "stratum", output.command),
            "offset_ms": None if offset is None else abs(offset),
            "reference": row["reference"],
        }
    ]


# ---------------------------------------------------------------------------------------------
# SNMP


def _snmp_values(outputs: Sequence[CommandOutput]) -> dict[str, int | float | str | None]:
    """Value name -> value; an empty output (an OID the agent does not have) is None."""
    if not outputs:
        raise ParseError("no SNMP value was collected")
    values = {
        output.command: _value(output.output.strip()) if output.output.strip() else None
        for output in outputs
    }
    if all(value is None for value in values.values()):
        raise ParseError(f"the agent answered none of {', '.join(values)}")
    return values


def _snmp(outputs: Sequence[CommandOutput], context: ParseContext) -> list[Record]:
    """SNMP values (command = the value's name, output = its text): one record, the names as
    fields, numbers converted.

    ``options["scale"]`` multiplies named values (``{upsBatteryVoltage: 0.1}``). A value the
    agent does not have is None; none at all is a ParseError.
    """
    values = _snmp_values(outputs)
    record: Record = dict(values)
    for name, factor in (context.options.get("scale") or {}).items():
        value = values.get(name)
        if value is None:
            continue
        if isinstance(value, str):
            raise ParseError(f"SNMP {name}: cannot scale {_quote(value)}, not a number")
        record[name] = round(value * float(factor), 6)
    return [record]


# RFC 1628 (UPS-MIB) name -> (field, factor). Voltages and the load are line 1 of the tables.
UPS_MIB_FIELDS: Mapping[str, tuple[str, float]] = MappingProxyType(
    {
        "upsBatteryStatus": ("battery_status", 1),
        "upsSecondsOnBattery": ("seconds_on_battery", 1),
        "upsEstimatedMinutesRemaining": ("minutes_remaining", 1),
        "upsEstimatedChargeRemaining": ("charge_pct", 1),
        "upsBatteryVoltage": ("battery_voltage_v", 0.1),
        "upsBatteryTemperature": ("battery_temperature_c", 1),
        "upsInputVoltage": ("input_voltage_v", 1),
        "upsOutputVoltage": ("output_voltage_v", 1),
        "upsOutputPercentLoad": ("output_load_pct", 1),
    }
)
_UPS_OUTPUT_SOURCE_BATTERY = 5


def _ups_mib(outputs: Sequence[CommandOutput], context: ParseContext) -> list[Record]:
    """The RFC 1628 UPS-MIB values (named as in the MIB: upsBatteryStatus, ...) as friendly
    fields: battery_status, on_battery, seconds_on_battery, minutes_remaining, charge_pct,
    battery_voltage_v, battery_temperature_c, input_voltage_v, output_voltage_v,
    output_load_pct.

    battery_status is the MIB's: 1 unknown, 2 normal, 3 low, 4 depleted. on_battery is 1 when
    upsOutputSource is 5 (battery). battery_voltage_v is upsBatteryVoltage (0.1 V) in volts.
    A value the UPS does not have is None.
    """
    values = _snmp_values(outputs)
    record: Record = {}
    for name, (field, factor) in UPS_MIB_FIELDS.items():
        value = values.get(name)
        if isinstance(value, str):
            raise ParseError(f"SNMP {name}: {_quote(value)} is not a number")
        record[field] = None if value is None else round(value * factor, 6)
    source = values.get("upsOutputSource")
    if isinstance(source, str):
        raise ParseError(f"SNMP upsOutputSource: {_quote(source)} is not a number")
    record["on_battery"] = None if source is None else int(source == _UPS_OUTPUT_SOURCE_BATTERY)
    if all(value is None for value in record.values()):
        raise ParseError(f"no UPS-MIB value among {', '.join(values)}")
    return [record]


PARSERS: Mapping[str, Parser] = MappingProxyType(
    {
        "df": _df,
        "df_inodes": _df_inodes,
        "meminfo": _meminfo,
        "loadavg": _loadavg,
        "service": _service,
        "chrony": _chrony,
        "cert_expiry": _cert_expiry,
        "reboot_required": _reboot_required,
        "file_age": _file_age,
        "json": _json,
        "kv": _kv,
        "regex": _regex,
        "textfsm": _textfsm,
        "ios_cpu": _ios_cpu,
        "ios_memory": _ios_memory,
        "ios_interfaces": _ios_interfaces,
        "ios_bgp": _ios_bgp,
        "ios_ospf": _ios_ospf,
        "ios_environment": _ios_environment,
        "ios_uptime": _ios_uptime,
        "ios_config_saved": _ios_config_saved,
        "ios_ntp": _ios_ntp,
        "snmp": _snmp,
        "ups_mib": _ups_mib,
    }
)


def parse(name: str, outputs: Sequence[CommandOutput], context: ParseContext) -> list[Record]:
    """Records from the outputs with the parser called ``name``; ParseError if they do not
    parse or no parser has that name."""
    parser = PARSERS.get(name)
    if parser is None:
        raise ParseError(f"unknown parser {name!r} (known: {', '.join(sorted(PARSERS))})")
    return parser(outputs, context)
