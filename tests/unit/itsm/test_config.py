"""itsm.yaml: defaults, merged mappings, and every problem as FILE:LINE: field: message."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from automator.errors import ConfigError
from automator.itsm import ItsmConfigError, RedmineSettings, load_itsm_config
from automator.itsm._sync import NOTE_KINDS

PROJECT_EXAMPLE = Path(__file__).resolve().parents[3] / "itsm.yaml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "itsm.yaml"
    path.write_text(text)
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ItsmConfigError) as caught:
        load_itsm_config(path)
    return [str(problem).removeprefix(f"{path}:") for problem in caught.value.problems]


def test_the_smallest_file_takes_every_default(tmp_path):
    config = load_itsm_config(write(tmp_path, "redmine: {url: 'http://rm.example:3000'}\n"))
    assert config.system == "redmine"
    assert config.redmine.project == "automator"
    assert config.redmine.priorities["P1"] == "Immediate"
    assert config.redmine.statuses["waiting_on_customer"] == "Feedback"
    assert config.redmine.from_redmine["Rejected"] == "closed"
    assert config.mirror.kinds == frozenset() and config.mirror.notes == NOTE_KINDS
    assert config.sync.interval == 30


def test_given_values_are_read_and_mappings_merged(tmp_path):
    path = write(
        tmp_path,
        """\
redmine:
  url: https://rm.example/redmine
  project: ops
  api_key_file: secrets/redmine.key
  timeout: 3s
  priorities: {P1: Urgent}
  from_redmine: {Reopened: in_progress}
mirror:
  kinds: [incident, complaint]
  tenants: [acme]
  since: 2025-02-01
  notes: [comment, gate]
sync: {interval: 1m, batch: 20, retry_first: 5, retry_max: 2h}
""",
    )
    config = load_itsm_config(path)
    assert config.redmine.url == "https://rm.example/redmine"
    assert config.redmine.api_key_file == tmp_path / "secrets" / "redmine.key"
    assert config.redmine.timeout == 3
    assert config.redmine.priorities == {
        "P1": "Urgent",
        "P2": "Urgent",
        "P3": "Normal",
        "P4": "Low",
    }
    assert config.redmine.from_redmine["Reopened"] == "in_progress"
    assert config.redmine.from_redmine["Closed"] == "closed"
    assert config.mirror.kinds == {"incident", "complaint"}
    assert config.mirror.tenants == {"acme"}
    assert config.mirror.since == datetime(2025, 2, 1, tzinfo=UTC)
    assert config.mirror.notes == {"comment", "gate"}
    assert (config.sync.interval, config.sync.batch) == (60, 20)
    assert (config.sync.retry_first, config.sync.retry_max) == (5, 7200)


def test_the_projects_example_is_valid():
    config = load_itsm_config(PROJECT_EXAMPLE)
    assert config.redmine.api_key_file == Path("/var/lib/automator-redmine/api_key")


def test_every_problem_is_reported_with_its_line(tmp_path):
    path = write(
        tmp_path,
        """\
system: servicenow
redmine:
  url: ftp://rm.example
  api_key_env: "not a name"
  timeout: soon
  trackers: {outage: Bug}
  statuses: {new: 5}
  from_redmine: {Closed: done}
  colour: red
mirror:
  kinds: [incident, outage]
  since: yesterday
  notes: [comment, itsm, status]
sync: {batch: 0, interval: -1}
""",
    )
    assert problems(path) == [
        "1: system: must be one of redmine",
        "3: redmine.url: must be an http:// or https:// URL",
        "4: redmine.api_key_env: must be an environment variable name",
        "5: redmine.timeout: must be a duration like 30s, 10m or 1h",
        "6: redmine.trackers.outage: must be one of incident, change, problem, request, drill, "
        "complaint",
        "7: redmine.statuses.new: must be a string",
        "8: redmine.from_redmine.Closed: must be one of new, acknowledged, in_progress, "
        "waiting_on_customer, escalated, resolved, closed",
        "9: redmine.colour: unknown field (allowed: url, project, api_key_env, api_key_file, "
        "timeout, trackers, priorities, statuses, from_redmine)",
        "11: mirror.kinds: 'outage' is not one of incident, change, problem, request, drill, "
        "complaint",
        "12: mirror.since: must be a date (2025-01-31) or a date and time",
        "13: mirror.notes: 'itsm' is not a timeline kind to send as a note (opened, status and "
        "assign are always sent; itsm never)",
        "13: mirror.notes: 'status' is not a timeline kind to send as a note (opened, status and "
        "assign are always sent; itsm never)",
        "14: sync.batch: must be a whole number from 1",
        "14: sync.interval: must be a duration like 30s, 10m or 1h",
    ]


def test_a_missing_url_an_empty_file_and_bad_yaml(tmp_path):
    assert problems(write(tmp_path, "redmine: {project: ops}\n")) == ["1: redmine.url: is required"]
    assert problems(write(tmp_path, "mirror: {}\n")) == ["1: redmine: is required"]
    assert problems(write(tmp_path, "")) == [" itsm.yaml: is empty: it needs at least redmine.url"]
    assert problems(write(tmp_path, "redmine: [\n")) == [
        "2: yaml: expected the node content, but found '<stream end>'"
    ]


def test_the_api_key_comes_from_the_environment_or_a_file(tmp_path):
    key_file = tmp_path / "key"
    settings = RedmineSettings(url="http://x", project="p", api_key_file=key_file)
    with pytest.raises(ConfigError, match=r"the Redmine API key file .*/key cannot be read"):
        settings.api_key(environ={})
    key_file.write_text("  \n")
    with pytest.raises(ConfigError, match="is empty"):
        settings.api_key(environ={})
    key_file.write_text("abc123\n")
    assert settings.api_key(environ={}) == "abc123"
    assert settings.api_key(environ={"AUTOMATOR_REDMINE_API_KEY": "fromenv"}) == "fromenv"
    bare = RedmineSettings(url="http://x", project="p")
    with pytest.raises(
        ConfigError, match=r"set AUTOMATOR_REDMINE_API_KEY or redmine\.api_key_file"
    ):
        bare.api_key(environ={})
