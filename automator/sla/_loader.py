"""Read the service contracts: ``contracts/*.yaml``, one contract per file, named after it.

::

    tenants: [demo]                  # whom it covers; default.yaml covers everyone else
    kinds: [incident, request, complaint]   # the ticket kinds with SLA clocks (this default)
    timezone: Europe/Berlin          # business hours, holidays and messages are in this zone
    business_hours: {mon-fri: "08:00-18:00", sat: "09:00-12:00"}
    holidays: [2026-01-01, {from: 2026-12-24, to: 2026-12-26, name: Christmas}]
    targets:                         # every priority; business targets in hours (no d or w)
      P1: {response: 30m, resolution: 4h, hours: 24x7}
      P3: {response: 4h, resolution: 27h, hours: business}
    warn_at: 0.75                    # warn when this share of a target is used
    people: {noc: {name: NOC, email: noc@example.net, chat: "U024BE7LH"}}
    channels: {mail: {type: email, host: smtp.example.net, from: desk@example.net}}
    escalation:                      # the first chain matching the ticket's site and priority
      - {priorities: [P1, P2], levels: [{who: [owner], channels: [mail], wait: 15m}, ...]}
    complaints: [{who: [service-manager], channels: [mail], wait: 4h}, ...]
    notes: On site within 12 hours for a major incident.

Every problem of every file is reported at once as ``FILE:LINE: field: message``. Channel
options are checked by ``automator.notify`` (its channel types), against the same lines.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import date, time, timedelta
from pathlib import Path
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from automator._durations import parse_duration
from automator._yamlsource import Fields, YamlSource, plain
from automator.errors import Problem, ProblemsError
from automator.sla._calendar import BusinessCalendar, DayHours
from automator.sla._contract import (
    DEFAULT,
    OWNER,
    Chain,
    ChannelSpec,
    Contract,
    Contracts,
    Level,
    Person,
    Target,
)
from automator.tickets import Priority, TicketKind

_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,49}")
_FIELDS = (
    "business_hours",
    "channels",
    "complaints",
    "escalation",
    "holidays",
    "kinds",
    "notes",
    "people",
    "targets",
    "tenants",
    "timezone",
    "warn_at",
)
_TARGET_FIELDS = ("response", "resolution", "hours")
_PERSON_FIELDS = ("name", "email", "chat")
_CHAIN_FIELDS = ("name", "sites", "priorities", "levels")
_LEVEL_FIELDS = ("who", "channels", "wait")
_HOLIDAY_FIELDS = ("date", "from", "to", "name")
_DEFAULT_KINDS = frozenset({"incident", "request", "complaint"})
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"([0-2][0-9]):([0-5][0-9])\s*-\s*([0-2][0-9]):([0-5][0-9])")
_HOURS_KINDS = {"business": True, "24x7": False}
_LONGEST_HOLIDAY = 366


class ContractError(ProblemsError):
    """A contract file is invalid."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems, what="contracts")


def load_contracts(directory: Path) -> Contracts:
    """Load every ``*.yaml`` of ``directory`` (none when it does not exist); ContractError
    lists every problem found, including those between files (a tenant covered twice, a
    person or channel nobody declares)."""
    problems: list[Problem] = []
    contracts: dict[str, Contract] = {}
    channels: dict[str, ChannelSpec] = {}
    files = sorted(directory.glob("*.yaml")) if directory.is_dir() else []
    for path in files:
        if not _NAME.fullmatch(path.stem):
            problems.append(
                Problem(str(path), None, "file", "contract names are lowercase: a-z 0-9 _ . -")
            )
            continue
        reader = _Reader(path, problems)
        contract = reader.contract()
        if contract is None:
            continue
        contracts[contract.name] = contract
        for spec in reader.channels:
            known = channels.get(spec.name)
            if known is not None:
                problems.append(
                    Problem(
                        spec.file,
                        spec.line,
                        f"channels.{spec.name}",
                        f"already declared in {known.file}:{known.line}",
                    )
                )
                continue
            channels[spec.name] = spec
    problems.extend(_cross_problems(contracts, channels))
    if problems:
        raise ContractError(problems)
    return Contracts(contracts, channels)


def _cross_problems(
    contracts: dict[str, Contract], channels: dict[str, ChannelSpec]
) -> Iterator[Problem]:
    """What only the whole folder shows: a tenant under two contracts, and chain levels that
    name a person or a channel that no file declares."""
    covered: dict[str, str] = {}
    default = contracts.get(DEFAULT)
    for contract in contracts.values():
        for tenant in sorted(contract.tenants):
            if tenant in covered:
                yield Problem(
                    contract.file,
                    None,
                    "tenants",
                    f"tenant {tenant!r} is already covered by contract {covered[tenant]!r}",
                )
            covered[tenant] = contract.name
        chains = [*contract.chains, *([contract.complaints] if contract.complaints else [])]
        for chain in chains:
            for number, level in enumerate(chain.levels, 1):
                where = f"{chain.name}.levels[{number}]"
                for who in level.who:
                    known = who == OWNER or who in contract.people
                    if not known and (default is None or who not in default.people):
                        yield Problem(
                            contract.file,
                            level.line,
                            f"{where}.who",
                            f"no person {who!r} in people (here or in default.yaml)",
                        )
                for channel in level.channels:
                    if channel not in channels:
                        known_channels = ", ".join(channels) or "none"
                        yield Problem(
                            contract.file,
                            level.line,
                            f"{where}.channels",
                            f"no channel {channel!r} is declared (declared: {known_channels})",
                        )


class _Reader(YamlSource):
    def __init__(self, path: Path, problems: list[Problem]) -> None:
        super().__init__(path, top="contract", problems=problems)
        self.channels: list[ChannelSpec] = []

    def contract(self) -> Contract | None:
        before = len(self.problems)
        root = self.root()
        if root is None:
            if len(self.problems) == before:
                self._record(1, "contract", "the file is empty")
            return None
        fields = self.mapping(root, "", _FIELDS)
        if not fields.is_mapping:
            return None
        name = self.path.stem
        tenants = self._words(fields, "tenants")
        if not tenants and name != DEFAULT:
            self.problem(
                fields.value("tenants") or root,
                "tenants",
                "name the tenants this contract covers (only default.yaml covers everyone else)",
            )
        zone = self._zone(fields)
        targets = self._targets(fields)
        business = self._business(fields, zone, targets)
        self.channels = self._channels(fields)
        people = self._people(fields)
        chains = self._chains(fields)
        complaints_node = fields.value("complaints")
        complaints = (
            None
            if complaints_node is None
            else Chain("complaints", self._levels(complaints_node, "complaints"))
        )
        contract = Contract(
            name=name,
            file=str(self.path),
            tenants=frozenset(tenants),
            kinds=self._kinds(fields),
            timezone=zone,
            targets=MappingProxyType(targets),
            warn_at=self._share(fields),
            business=business,
            people=MappingProxyType(people),
            chains=chains,
            complaints=complaints,
            notes=self.string(fields.value("notes"), "notes") or "",
        )
        return contract if len(self.problems) == before else None

    # --- scalars and lists -------------------------------------------------------------

    def _words(self, fields: Fields, key: str) -> list[str]:
        node = fields.value(key)
        value = plain(node)
        if value is None:
            return []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            assert node is not None
            self.problem(node, key, "must be a name or a list of names")
            return []
        return list(value)

    def _kinds(self, fields: Fields) -> frozenset[str]:
        kinds = self._words(fields, "kinds")
        if not kinds:
            return _DEFAULT_KINDS
        known = [kind.value for kind in TicketKind]
        for kind in kinds:
            if kind not in known:
                node = fields.value("kinds")
                assert node is not None
                self.problem(node, "kinds", f"unknown ticket kind {kind!r} ({', '.join(known)})")
        return frozenset(kinds)

    def _zone(self, fields: Fields) -> ZoneInfo:
        node = fields.value("timezone")
        name = self.string(node, "timezone")
        if name is None:
            return ZoneInfo("UTC")
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            assert node is not None
            self.problem(node, "timezone", f"unknown time zone {name!r} (e.g. Europe/Berlin)")
            return ZoneInfo("UTC")

    def _share(self, fields: Fields) -> float:
        node = fields.value("warn_at")
        value = plain(node)
        if value is None:
            return 0.75
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
            assert node is not None
            self.problem(node, "warn_at", "must be a share of the target between 0 and 1 (0.75)")
            return 0.75
        return float(value)

    def _duration(self, node: yaml.Node | None, field: str, business: bool) -> timedelta | None:
        if node is None:
            return None
        text = plain(node)
        found = parse_duration(text) if isinstance(text, str) else None
        if found is None:
            self.problem(node, field, "must be a duration like 30m, 4h, 1h30m or 2d")
            return None
        if business and isinstance(text, str) and re.search(r"[dw]", text):
            self.problem(
                node,
                field,
                "a business-hours target counts working hours: write hours (18h for two "
                "9-hour days), not days or weeks",
            )
            return None
        return found

    # --- targets and calendar ----------------------------------------------------------

    def _targets(self, fields: Fields) -> dict[Priority, Target]:
        node = self.required(fields, "targets")
        if node is None:
            return {}
        entries = self.mapping(node, "targets", [p.value for p in Priority])
        targets: dict[Priority, Target] = {}
        for priority in Priority:
            if priority.value not in entries:
                if entries.is_mapping:
                    self.problem(node, f"targets.{priority.value}", "is required")
                continue
            where = f"targets.{priority.value}"
            spec = self.mapping(entries[priority.value][1], where, _TARGET_FIELDS)
            hours_node = self.required(spec, "hours", f"{where}.hours")
            hours = self.string(hours_node, f"{where}.hours")
            business = _HOURS_KINDS.get(hours or "", False)
            if hours is not None and hours not in _HOURS_KINDS:
                assert hours_node is not None
                self.problem(hours_node, f"{where}.hours", "must be business or 24x7")
            response = self._duration(
                self.required(spec, "response", f"{where}.response"), f"{where}.response", business
            )
            resolution = self._duration(
                self.required(spec, "resolution", f"{where}.resolution"),
                f"{where}.resolution",
                business,
            )
            if response is None or resolution is None:
                continue
            if response > resolution:
                self.problem(spec.node, where, "the response target is longer than resolution")
            targets[priority] = Target(response, resolution, business)
        return targets

    def _business(
        self, fields: Fields, zone: ZoneInfo, targets: dict[Priority, Target]
    ) -> BusinessCalendar | None:
        node = fields.value("business_hours")
        needed = any(target.business_hours for target in targets.values())
        if node is None:
            if needed:
                self.problem(
                    fields.node, "business_hours", "is required: a target runs in business hours"
                )
            return None
        week = self._week(node)
        holidays = self._holidays(fields)
        if not any(week.values()):
            self.problem(node, "business_hours", "name the working hours of at least one day")
            return None
        return BusinessCalendar(zone, MappingProxyType(week), frozenset(holidays))

    def _week(self, node: yaml.Node) -> dict[int, DayHours]:
        week: dict[int, DayHours] = {}
        for key, (key_node, value_node) in self.mapping(node, "business_hours").items():
            where = f"business_hours.{key}"
            days = _day_range(key)
            if days is None:
                self.problem(key_node, where, "a day (mon..sun) or a range of days (mon-fri)")
                continue
            hours = self._day_hours(value_node, where)
            for day in days:
                if day in week:
                    self.problem(key_node, where, f"{_DAYS[day]} is given twice")
                week[day] = hours
        return week

    def _day_hours(self, node: yaml.Node, where: str) -> DayHours:
        value = plain(node)
        texts: list[object] = value if isinstance(value, list) else [value]
        if value == "closed":
            return ()
        if not all(isinstance(t, str) for t in texts):
            self.problem(node, where, 'must be "HH:MM-HH:MM" (quoted), a list of them, or closed')
            return ()
        spans: list[tuple[time, time | None]] = []
        for text in ",".join(str(t) for t in texts).split(","):
            match = _HOURS.fullmatch(text.strip())
            span = _span(match) if match else None
            if span is None:
                self.problem(node, where, f"{text.strip()!r} is not a span like 08:00-18:00")
                continue
            spans.append(span)
        spans.sort(key=lambda s: s[0])
        for (_, end), (start, _) in itertools.pairwise(spans):
            if end is None or end > start:
                self.problem(node, where, "spans overlap")
        return tuple(spans)

    def _holidays(self, fields: Fields) -> set[date]:
        node = fields.value("holidays")
        if node is None:
            return set()
        if not isinstance(node, yaml.SequenceNode):
            self.problem(node, "holidays", "must be a list of dates or {from, to, name}")
            return set()
        days: set[date] = set()
        for index, item in enumerate(node.value):
            where = f"holidays[{index + 1}]"
            if isinstance(item, yaml.MappingNode):
                spec = self.mapping(item, where, _HOLIDAY_FIELDS)
                self.string(spec.value("name"), f"{where}.name")
                if "date" in spec:
                    first = last = self._date(spec.value("date"), f"{where}.date")
                else:
                    first = self._date(self.required(spec, "from", f"{where}.from"), where)
                    last = self._date(self.required(spec, "to", f"{where}.to"), where)
            else:
                first = last = self._date(item, where)
            if first is None or last is None:
                continue
            span = (last - first).days
            if not 0 <= span < _LONGEST_HOLIDAY:
                self.problem(item, where, "to must be on or after from, within a year")
                continue
            days.update(first + timedelta(days=n) for n in range(span + 1))
        return days

    def _date(self, node: yaml.Node | None, where: str) -> date | None:
        if node is None:
            return None
        # the text itself: YAML would raise on a timestamp that is no date (2026-13-01)
        if isinstance(node, yaml.ScalarNode):
            try:
                return date.fromisoformat(str(node.value))
            except ValueError:
                pass
        self.problem(node, where, "must be a date like 2026-12-25")
        return None

    # --- people, channels, chains ------------------------------------------------------

    def _people(self, fields: Fields) -> dict[str, Person]:
        node = fields.value("people")
        if node is None:
            return {}
        people: dict[str, Person] = {}
        for key, (key_node, spec_node) in self.mapping(node, "people").items():
            where = f"people.{key}"
            if not _NAME.fullmatch(key) or key == OWNER:
                self.problem(key_node, where, "a lowercase key (a-z 0-9 _ . -), not 'owner'")
                continue
            spec = self.mapping(spec_node, where, _PERSON_FIELDS)
            email = self.string(spec.value("email"), f"{where}.email")
            if email is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+", email):
                self.problem(spec.node, f"{where}.email", "must be an e-mail address")
            chat = plain(spec.value("chat"))
            if chat is not None and not isinstance(chat, str | int):
                self.problem(spec.node, f"{where}.chat", "must be a chat id or a mobile number")
            people[key] = Person(
                key=key,
                name=self.string(spec.value("name"), f"{where}.name") or key,
                email=email,
                chat=None if chat is None else str(chat),
            )
        return people

    def _channels(self, fields: Fields) -> list[ChannelSpec]:
        node = fields.value("channels")
        if node is None:
            return []
        specs = []
        for name, (key_node, spec_node) in self.mapping(node, "channels").items():
            where = f"channels.{name}"
            if not _NAME.fullmatch(name):
                self.problem(key_node, where, "channel names are lowercase: a-z 0-9 _ . -")
                continue
            spec = self.mapping(spec_node, where)
            kind = self.string(self.required(spec, "type", f"{where}.type"), f"{where}.type")
            if kind is None:
                continue
            options = {}
            for key, (_, value) in spec.items():
                try:
                    options[key] = plain(value)
                except (yaml.YAMLError, ValueError):
                    self.problem(value, f"{where}.{key}", "is not a valid value")
            options.pop("type", None)
            lines = {k: v.start_mark.line + 1 for k, (_, v) in spec.items()}
            specs.append(
                ChannelSpec(
                    name=name,
                    type=kind,
                    options=MappingProxyType(options),
                    file=str(self.path),
                    line=key_node.start_mark.line + 1,
                    lines=MappingProxyType(lines),
                )
            )
        return specs

    def _chains(self, fields: Fields) -> tuple[Chain, ...]:
        node = fields.value("escalation")
        if node is None:
            return ()
        if not isinstance(node, yaml.SequenceNode):
            self.problem(node, "escalation", "must be a list of chains")
            return ()
        chains = []
        for index, item in enumerate(node.value):
            where = f"escalation[{index + 1}]"
            spec = self.mapping(item, where, _CHAIN_FIELDS)
            if not spec.is_mapping:
                continue
            name = self.string(spec.value("name"), f"{where}.name") or where
            levels_node = self.required(spec, "levels", f"{where}.levels")
            levels = () if levels_node is None else self._levels(levels_node, name)
            priorities = set()
            for text in self._words(spec, "priorities"):
                try:
                    priorities.add(Priority(text.upper()))
                except ValueError:
                    self.problem(item, f"{where}.priorities", f"{text!r} is not P1, P2, P3 or P4")
            chains.append(
                Chain(name, levels, frozenset(self._words(spec, "sites")), frozenset(priorities))
            )
        return tuple(chains)

    def _levels(self, node: yaml.Node, name: str) -> tuple[Level, ...]:
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            self.problem(node, f"{name}.levels", "must be a list of levels (owner, on-call, ...)")
            return ()
        levels = []
        last = len(node.value) - 1
        for index, item in enumerate(node.value):
            where = f"{name}.levels[{index + 1}]"
            spec = self.mapping(item, where, _LEVEL_FIELDS)
            who = self._words(spec, "who")
            channels = self._words(spec, "channels")
            if spec.is_mapping and not who:
                self.problem(item, f"{where}.who", "name whom to notify (owner or people keys)")
            if spec.is_mapping and not channels:
                self.problem(item, f"{where}.channels", "name the channels to notify them on")
            wait_node = spec.value("wait")
            wait = self._duration(wait_node, f"{where}.wait", business=False)
            if index < last and wait_node is None and spec.is_mapping:
                self.problem(item, f"{where}.wait", "how long before the next level is required")
            if index == last and wait_node is not None:
                self.problem(wait_node, f"{where}.wait", "the last level has no next level")
            levels.append(Level(tuple(who), tuple(channels), wait, item.start_mark.line + 1))
        return tuple(levels)


def _day_range(key: str) -> list[int] | None:
    first, _, last = key.lower().partition("-")
    if first not in _DAYS or (last and last not in _DAYS):
        return None
    start, end = _DAYS.index(first), _DAYS.index(last or first)
    return list(range(start, end + 1)) if start <= end else None


def _span(match: re.Match[str]) -> tuple[time, time | None] | None:
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 24 or (h2 == 24 and m2):
        return None
    start = time(h1, m1)
    end = None if h2 == 24 else time(h2, m2)
    if end is not None and end <= start:
        return None
    return start, end
