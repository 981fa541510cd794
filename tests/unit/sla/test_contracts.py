"""Contract files: the shipped ones load, and every problem of a bad one is reported at
once as FILE:LINE: field: message."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from textwrap import dedent

import pytest

from automator.notify import load_desk
from automator.sla import ContractError, load_contracts
from automator.tickets import Priority

REPO = Path(__file__).resolve().parents[3]

VALID = """\
tenants: [acme]
timezone: Europe/Berlin
business_hours: {mon-fri: "08:00-18:00"}
targets:
  P1: {response: 30m, resolution: 4h, hours: 24x7}
  P2: {response: 2h, resolution: 20h, hours: business}
  P3: {response: 4h, resolution: 50h, hours: business}
  P4: {response: 1h30m, resolution: 100h, hours: business}
people: {boss: {name: The boss, email: boss@example.net}}
channels:
  mail: {type: email, host: localhost, from: desk@example.net, starttls: false}
escalation:
  - levels:
      - {who: [owner], channels: [mail], wait: 15m}
      - {who: [boss], channels: [mail]}
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(dedent(text))
    return path


def problems(folder: Path) -> list[str]:
    with pytest.raises(ContractError) as raised:
        load_desk(folder)
    return [str(problem) for problem in raised.value.problems]


def test_the_shipped_contracts_load() -> None:
    contracts, channels = load_desk(REPO / "contracts")
    assert set(contracts.contracts) == {"default", "demo"}
    assert {"email", "chat", "demo-dingtalk"} <= set(channels)
    default = contracts.contracts["default"]
    assert default.target(Priority.P1).response == timedelta(minutes=30)
    assert not default.target(Priority.P1).business_hours
    assert default.target(Priority.P3).business_hours
    assert "12 hours" in default.notes
    demo = contracts.for_ticket("demo")
    assert demo is not None and demo.name == "demo"
    assert contracts.for_ticket("someone-else") is default
    assert contracts.for_ticket(None) is default
    assert contracts.for_ticket("demo", named="default") is default


def test_a_valid_contract(tmp_path: Path) -> None:
    write(tmp_path, "acme.yaml", VALID)
    contracts = load_contracts(tmp_path)
    acme = contracts.contracts["acme"]
    assert acme.tenants == {"acme"}
    assert acme.warn_at == 0.75
    assert acme.kinds == {"incident", "request", "complaint"}
    assert acme.target(Priority.P4).response == timedelta(hours=1, minutes=30)
    assert acme.chains[0].levels[0].wait == timedelta(minutes=15)
    assert acme.chains[0].levels[1].wait is None
    assert contracts.default is None
    assert contracts.for_ticket("other") is None


def test_every_problem_of_a_bad_file_with_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "acme.yaml",
        """\
        tenants: [acme]
        timezone: Mars/Olympus
        business_hours: {mon-fri: "08:00-18:00", sat: "13:00-12:00", funday: "09:00-10:00"}
        holidays: [2026-12-25, 2026-13-01, {from: 2026-12-31, to: 2026-12-24}]
        targets:
          P1: {response: 30m, resolution: 4h, hours: 24x7}
          P2: {response: 2h, resolution: 2d, hours: business}
          P3: {response: soon, resolution: 50h, hours: business}
          P4: {response: 9h, resolution: 8h, hours: weekdays}
        warn_at: 1.5
        colour: blue
        escalation:
          - levels:
              - {who: [owner], channels: [mail]}
              - {who: [nobody], channels: [pager], wait: 5m}
        """,
    )
    found = problems(tmp_path)
    file = str(path)
    expected = [
        f"{file}:2: timezone: unknown time zone 'Mars/Olympus' (e.g. Europe/Berlin)",
        f"{file}:3: business_hours.sat: '13:00-12:00' is not a span like 08:00-18:00",
        f"{file}:3: business_hours.funday: a day (mon..sun) or a range of days (mon-fri)",
        f"{file}:4: holidays[2]: must be a date like 2026-12-25",
        f"{file}:4: holidays[3]: to must be on or after from, within a year",
        f"{file}:7: targets.P2.resolution: a business-hours target counts working hours: "
        "write hours (18h for two 9-hour days), not days or weeks",
        f"{file}:8: targets.P3.response: must be a duration like 30m, 4h, 1h30m or 2d",
        f"{file}:9: targets.P4.hours: must be business or 24x7",
        f"{file}:9: targets.P4: the response target is longer than resolution",
        f"{file}:10: warn_at: must be a share of the target between 0 and 1 (0.75)",
        f"{file}:11: colour: unknown field (allowed: business_hours, channels, complaints, "
        "escalation, holidays, kinds, notes, people, targets, tenants, timezone, warn_at)",
        f"{file}:14: escalation[1].levels[1].wait: how long before the next level is required",
        f"{file}:15: escalation[1].levels[2].wait: the last level has no next level",
    ]
    for line in expected:
        assert line in found
    assert len(found) == len(expected), found


def test_problems_between_files(tmp_path: Path) -> None:
    write(tmp_path, "acme.yaml", VALID)
    second = write(
        tmp_path,
        "acme2.yaml",
        VALID.replace("people: {boss: {name: The boss, email: boss@example.net}}\n", "").replace(
            "who: [boss]", "who: [ghost]"
        ),
    )
    write(tmp_path, "default.yaml", "targets: {}\n")
    found = problems(tmp_path)
    assert f"{second}: tenants: tenant 'acme' is already covered by contract 'acme'" in found
    assert f"{second}:10: channels.mail: already declared in {tmp_path / 'acme.yaml'}:11" in found
    assert (
        f"{second}:14: escalation[1].levels[2].who: no person 'ghost' in people "
        "(here or in default.yaml)"
    ) in found
    assert f"{tmp_path / 'default.yaml'}:1: targets.P1: is required" in found


def test_missing_pieces(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "acme.yaml",
        """\
        targets:
          P1: {response: 30m, resolution: 4h, hours: business}
          P2: {response: 30m, resolution: 4h, hours: business}
          P3: {response: 30m, resolution: 4h, hours: business}
          P4: {response: 30m}
        """,
    )
    write(tmp_path, "empty.yaml", "")
    found = problems(tmp_path)
    assert (
        f"{path}:1: tenants: name the tenants this contract covers "
        "(only default.yaml covers everyone else)"
    ) in found
    assert f"{path}:1: business_hours: is required: a target runs in business hours" in found
    assert f"{path}:5: targets.P4.hours: is required" in found
    assert f"{path}:5: targets.P4.resolution: is required" in found
    assert f"{tmp_path / 'empty.yaml'}:1: contract: the file is empty" in found


def test_channel_options_are_checked_against_their_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "default.yaml",
        """\
        targets:
          P1: {response: 30m, resolution: 4h, hours: 24x7}
          P2: {response: 30m, resolution: 4h, hours: 24x7}
          P3: {response: 30m, resolution: 4h, hours: 24x7}
          P4: {response: 30m, resolution: 4h, hours: 24x7}
        channels:
          mail:
            type: email
            from: desk@example.net
            username: desk
            password: hunter2
            port: 99999
          hook:
            type: webhook
            format: teams
            url: ftp://example.net/x
            token: abc
            colour: red
          pager:
            type: carrier-pigeon
        """,
    )
    found = problems(tmp_path)
    file = str(path)
    for line in [
        f"{file}:7: channels.mail: host is required",
        f"{file}:11: channels.mail.password: never write a secret in a contract: "
        "use password_env or password_file instead",
        f"{file}:7: channels.mail: password_env or password_file is required",
        f"{file}:12: channels.mail.port: must be a whole number from 1 to 65535",
        f"{file}:15: channels.hook.format: must be one of generic, slack, dingtalk, wecom",
        f"{file}:16: channels.hook.url: must be an http:// or https:// URL",
        f"{file}:17: channels.hook.token: never write a secret in a contract: "
        "use token_env or token_file instead",
        f"{file}:18: channels.hook.colour: unknown option",
        f"{file}:20: channels.pager.type: unknown channel type 'carrier-pigeon' "
        "(known: email, webhook)",
    ]:
        assert line in found, found
    assert not any("hunter2" in problem or "abc" in problem for problem in found)
