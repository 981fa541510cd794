"""What a backup fetches from each kind of device: ``backups.yaml`` in the project folder.

::

    schedule: "30 1 * * *"          # nightly (cron, UTC)
    retention: {keep_last: 365}     # optional; every version is kept by default
    platforms:                      # what to fetch, per platform (or kind)
      cisco_ios: {commands: ["show running-config"]}
      linux:
        files: [/etc/ssh/sshd_config, /etc/hosts, /etc/crontab]
        commands: ["crontab -l", "dpkg-query -W -f='${Package} ${Version}\\n'"]

Without the file the built-in plan below applies. A network device's configuration is the
output of its commands; a server's is a document of sections (``### file PATH`` and
``### command CMD``), one per declared file and command, so that a diff names the file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from automator._yamlsource import YamlSource, plain
from automator.errors import Problem, ProblemsError
from automator.inventory import PLATFORMS

FILE_NAME = "backups.yaml"
_SAFE_PATH = re.compile(r"/[A-Za-z0-9_./@+-]{1,255}")


@dataclass(frozen=True)
class Fetch:
    """What to fetch from one platform."""

    commands: tuple[str, ...] = ()
    files: tuple[str, ...] = ()


@dataclass(frozen=True)
class RetentionSettings:
    keep_last: int | None = None
    keep_days: int | None = None
    keep_daily_for_days: int | None = None


@dataclass(frozen=True)
class BackupPlan:
    platforms: Mapping[str, Fetch]
    schedule: str = "30 1 * * *"
    retention: RetentionSettings = field(default_factory=RetentionSettings)

    def fetch_for(self, platform: str, kind: str) -> Fetch | None:
        return self.platforms.get(platform) or self.platforms.get(kind)


_SHOW_RUN = Fetch(commands=("show running-config",))
DEFAULT_PLAN = BackupPlan(
    platforms={
        "cisco_ios": _SHOW_RUN,
        "cisco_xe": _SHOW_RUN,
        "cisco_nxos": _SHOW_RUN,
        "cisco_asa": _SHOW_RUN,
        "arista_eos": _SHOW_RUN,
        "juniper_junos": Fetch(commands=("show configuration | display set",)),
        "linux": Fetch(
            commands=("crontab -l", "dpkg-query -W -f='${Package} ${Version}\\n'"),
            files=("/etc/ssh/sshd_config", "/etc/hosts", "/etc/crontab"),
        ),
    }
)


class BackupPlanError(ProblemsError):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems, what=FILE_NAME)


def load_plan(project_dir: Path) -> BackupPlan:
    """The project's ``backups.yaml``, or the built-in plan when there is none."""
    path = project_dir / FILE_NAME
    if not path.is_file():
        return DEFAULT_PLAN
    reader = YamlSource(path, top=FILE_NAME)
    root = reader.root()
    if root is None:
        if not reader.problems:
            return DEFAULT_PLAN
        raise BackupPlanError(reader.problems)
    fields = reader.mapping(root, "", ("schedule", "retention", "platforms"))
    schedule = reader.string(fields.value("schedule"), "schedule") or DEFAULT_PLAN.schedule
    if "schedule" in fields:
        _check_cron(reader, fields["schedule"][1], schedule)
    retention = RetentionSettings()
    if "retention" in fields:
        node = fields["retention"][1]
        spec = reader.mapping(node, "retention", ("keep_last", "keep_days", "keep_daily_for_days"))
        values: dict[str, int] = {}
        for key, (_, value_node) in spec.items():
            value = plain(value_node)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                reader.problem(value_node, f"retention.{key}", "must be a whole number >= 1")
            else:
                values[key] = value
        retention = RetentionSettings(**values)
    platforms = dict(DEFAULT_PLAN.platforms)
    if "platforms" in fields:
        platforms = {}
        for name, (key_node, node) in reader.mapping(fields["platforms"][1], "platforms").items():
            where = f"platforms.{name}"
            if name not in PLATFORMS and name not in ("server", "network"):
                reader.problem(key_node, where, f"unknown platform {name!r}")
                continue
            spec = reader.mapping(node, where, ("commands", "files"))
            commands = _strings(reader, spec.value("commands"), f"{where}.commands")
            files = _strings(reader, spec.value("files"), f"{where}.files")
            for file in files:
                if not _SAFE_PATH.fullmatch(file):
                    reader.problem(
                        spec["files"][1], f"{where}.files", f"{file!r}: not a plain absolute path"
                    )
            if not commands and not files:
                reader.problem(node, where, "give commands or files to fetch")
            platforms[name] = Fetch(commands=tuple(commands), files=tuple(files))
    if reader.problems:
        raise BackupPlanError(reader.problems)
    return BackupPlan(platforms=platforms, schedule=schedule, retention=retention)


def _strings(reader: YamlSource, node: yaml.Node | None, where: str) -> list[str]:
    value = plain(node)
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        assert node is not None
        reader.problem(node, where, "must be a string or a list of strings")
        return []
    return list(value)


def _check_cron(reader: YamlSource, node: yaml.Node, cron: str) -> None:
    from automator.schedule import cron_problem

    problem = cron_problem(cron)
    if problem is not None:
        reader.problem(node, "schedule", f"not a cron expression: {problem}")
