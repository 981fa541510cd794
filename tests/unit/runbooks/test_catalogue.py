"""Runbook files: resolution, validation with exact FILE:LINE messages, parameters."""

from __future__ import annotations

from pathlib import Path

import pytest

from automator.errors import ActionNotFound, ConfigError, RunbookError
from automator.runbooks import Catalogue
from automator.runners import CommandsTask, ConfigTask


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "runbooks").mkdir()
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "restart.yml").write_text("- name: Restart\n  hosts: all\n")
    (tmp_path / "playbooks" / "ping.yml").write_text("- name: Ping all\n  hosts: all\n")
    return tmp_path


def write(project: Path, name: str, text: str) -> Catalogue:
    (project / "runbooks" / f"{name}.yaml").write_text(text)
    return Catalogue(project / "runbooks", project / "playbooks")


def problems(project: Path, text: str) -> list[str]:
    catalogue = write(project, "bad", text)
    with pytest.raises(RunbookError) as caught:
        catalogue.get("bad")
    prefix = f"{project}/runbooks/"
    return [str(p).removeprefix(prefix) for p in caught.value.problems]


def test_commands_runbook(project):
    action = write(project, "show", "task: commands\ncommands:\n  network: [show version]\n").get(
        "show"
    )
    assert action.kind == "nornir" and not action.changes
    assert action.task == CommandsTask(commands={"network": ("show version",)}, changes=False)


def test_config_runbook_with_verify(project):
    action = write(
        project,
        "ntp",
        """\
task: config
config: {cisco_ios: [ntp server 192.0.2.1]}
verify:
  cisco_ios:
    - {command: show run | include ntp, expect: 192.0.2.1}
""",
    ).get("ntp")
    assert isinstance(action.task, ConfigTask)
    assert action.changes and action.task.save
    assert action.task.verify["cisco_ios"][0].expect == "192.0.2.1"


def test_bare_playbook_and_wrapped_playbook(project):
    catalogue = write(
        project,
        "restart-svc",
        """\
task: playbook
playbook: restart.yml
params: {service: {type: str, required: true, pattern: "^[a-z]+$"}}
""",
    )
    assert catalogue.get("ping").description == "Ping all"
    assert [a.name for a in catalogue.list()] == ["ping", "restart-svc"]
    with pytest.raises(ActionNotFound, match="run through runbook 'restart-svc'"):
        catalogue.get("restart")


def test_unknown_and_invalid_names(project):
    catalogue = Catalogue(project / "runbooks", project / "playbooks")
    with pytest.raises(ActionNotFound, match=r"no runbook or playbook named 'nope' \(known: ping"):
        catalogue.get("nope")
    with pytest.raises(ActionNotFound, match="not a valid runbook name"):
        catalogue.get("../etc/passwd")


def test_every_problem_with_its_line(project):
    assert problems(
        project,
        """\
description: 42
task: commands
colour: blue
commands:
  server: uptime
timeout: -1
""",
    ) == [
        "bad.yaml:3: colour: unknown field (allowed: changes, commands, config, description, "
        "limit, params, playbook, save, task, timeout, verify)",
        "bad.yaml:1: description: must be a string",
        "bad.yaml:6: timeout: must be a positive number of seconds",
        "bad.yaml:5: commands.server: must be a list of strings",
    ]


def test_missing_and_wrong_task(project):
    assert problems(project, "description: x\n") == ["bad.yaml:1: task: is required"]
    assert problems(project, "task: shell\n") == [
        "bad.yaml:1: task: must be commands, config or playbook"
    ]
    assert problems(project, "task: config\n") == ["bad.yaml:1: config: is required"]


def test_playbook_must_stay_inside_playbooks(project):
    found = problems(project, "task: playbook\nplaybook: ../../etc/shadow\n")
    assert found == [f"bad.yaml:2: playbook: no playbook '../../etc/shadow' in {project}/playbooks"]


def test_yaml_syntax_error(project):
    assert problems(project, "task: [commands\n") == [
        "bad.yaml:2: yaml: expected ',' or ']', but got '<stream end>'"
    ]


def test_bad_param_declarations(project):
    assert problems(
        project,
        """\
task: playbook
playbook: restart.yml
params:
  Service: {type: str}
  count: {type: float}
  name: {pattern: "([a-z"}
""",
    ) == [
        "bad.yaml:4: params.Service: parameter names are lower_snake_case",
        "bad.yaml:5: params.count.type: must be one of ('str', 'int', 'bool', 'choice')",
        "bad.yaml:6: params.name.pattern: bad regex: unterminated character set at position 1",
    ]


def test_params_are_typed_and_validated(project):
    action = write(
        project,
        "p",
        """\
task: playbook
playbook: restart.yml
params:
  service: {type: str, required: true, pattern: "^[a-z]+$"}
  count: {type: int, default: 3}
  force: {type: bool}
  mode: {type: choice, choices: [soft, hard]}
""",
    ).get("p")
    assert action.bind({"service": "nginx", "force": "yes", "mode": "hard"}) == {
        "service": "nginx",
        "count": 3,
        "force": True,
        "mode": "hard",
    }
    for given, message in [
        ({}, "--param service is required"),
        ({"service": "a;b"}, "'a;b' does not match"),
        ({"service": "x", "count": "many"}, "'many' is not a whole number"),
        ({"service": "x", "force": "perhaps"}, "'perhaps' is not true or false"),
        ({"service": "x", "mode": "medium"}, "'medium' is not one of soft, hard"),
        ({"service": "x", "colour": "red"}, "unknown --param colour"),
    ]:
        with pytest.raises(ConfigError, match=message):
            action.bind(given)
    bare = Catalogue(project / "runbooks", project / "playbooks").get("ping")
    assert bare.bind({"anything": "goes"}) == {"anything": "goes"}
