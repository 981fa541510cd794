"""Every kind of inventory problem, as the operator reads it: ``FILE:LINE: field: message``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from automator.errors import InventoryError, Problem
from automator.inventory import load_inventory

KNOWN_PLATFORMS = (
    "arista_eos, cisco_asa, cisco_ios, cisco_nxos, cisco_xe, cooling_snmp, juniper_junos, "
    "linux, pdu_snmp, ups_snmp"
)
USE_PASSWORD_SOURCE = (
    "secrets are not kept in the inventory: "
    "use credentials.password_env or credentials.password_file"
)
USE_ENABLE_SOURCE = (
    "secrets are not kept in the inventory: "
    "use credentials.enable_secret_env or credentials.enable_secret_file"
)

Problems = Callable[[str], list[str]]


def test_missing_directory(data_dir: Path) -> None:
    with pytest.raises(InventoryError) as raised:
        load_inventory("no_such_dir")
    assert raised.value.problems == [Problem("no_such_dir", None, "directory", "does not exist")]
    assert str(raised.value) == "inventory has 1 problem:\nno_such_dir: directory: does not exist"


def test_directory_that_is_a_file(data_dir: Path) -> None:
    with pytest.raises(InventoryError) as raised:
        load_inventory("valid/hosts.yaml")
    assert [str(p) for p in raised.value.problems] == [
        "valid/hosts.yaml: directory: is not a directory"
    ]


def test_missing_hosts_file_does_not_stop_the_other_checks(problems: Problems) -> None:
    assert problems("missing_hosts") == [
        "missing_hosts/hosts.yaml: file: does not exist",
        f"missing_hosts/groups.yaml:2: servers.platform: unknown platform 'solaris' "
        f"(known: {KNOWN_PLATFORMS})",
    ]


def test_yaml_syntax_error_has_the_line_of_the_error(problems: Problems) -> None:
    assert problems("syntax") == [
        "syntax/hosts.yaml:4: yaml: syntax error: did not find expected ',' or ']'"
    ]


def test_top_level_must_be_a_mapping(problems: Problems) -> None:
    assert problems("not_mapping") == [
        "not_mapping/hosts.yaml:1: hosts: must be a mapping of host name to host",
        "not_mapping/groups.yaml:1: groups: must be a mapping of group name to group",
        "not_mapping/defaults.yaml:1: defaults: must be a mapping of field to value",
    ]


def test_duplicates_are_seen_though_yaml_would_overwrite_them(problems: Problems) -> None:
    assert problems("duplicates") == [
        "duplicates/hosts.yaml:4: web1.port: duplicate key (first on line 3)",
        "duplicates/hosts.yaml:7: web1: duplicate host (first on line 1)",
        "duplicates/groups.yaml:2: servers: duplicate group (first on line 1)",
    ]


def test_platform_unknown_missing_or_not_a_string(problems: Problems) -> None:
    # web3's group has a wrong platform: reported there, not also as missing on web3;
    # web4 gets its platform from its group.
    assert problems("platforms") == [
        f"platforms/hosts.yaml:2: web1.platform: unknown platform 'windows' "
        f"(known: {KNOWN_PLATFORMS})",
        "platforms/hosts.yaml:3: web2.platform: "
        "missing: set it on the host, one of its groups or defaults",
        "platforms/hosts.yaml:9: web5.platform: must be a string",
        f"platforms/groups.yaml:2: odd.platform: unknown platform 'solaris' "
        f"(known: {KNOWN_PLATFORMS})",
    ]


def test_group_references_and_cycles(problems: Problems) -> None:
    assert problems("groups") == [
        "groups/hosts.yaml:3: web1.groups[1]: group 'nope' is not in groups.yaml",
        "groups/hosts.yaml:6: web2.groups: must be a list of group names",
        "groups/hosts.yaml:9: web3.groups[1]: must be a string",
        "groups/hosts.yaml:9: web3.groups[2]: group 'servers' is listed twice",
        "groups/groups.yaml:2: servers.groups[0]: group 'all_dc' is not in groups.yaml",
        "groups/groups.yaml:8: c.groups[0]: group cycle: a -> b -> c -> a",
        "groups/groups.yaml:10: selfish.groups[0]: group cycle: selfish -> selfish",
    ]


def test_wrong_types_and_unknown_keys(problems: Problems) -> None:
    credential_keys = (
        "username, password_env, password_file, key_file, enable_secret_env, "
        "enable_secret_file, known_hosts_file"
    )
    assert problems("types") == [
        "types/hosts.yaml:3: web1.port: must be an integer from 1 to 65535",
        "types/hosts.yaml:4: web1.hostname: must be a string",
        "types/hosts.yaml:5: web1.colour: unknown key "
        "(allowed: hostname, port, username, platform, groups, data, connection_options)",
        "types/hosts.yaml:8: web2.port: must be an integer from 1 to 65535",
        "types/hosts.yaml:9: web2.data: must be a mapping",
        "types/hosts.yaml:12: web3.port: must be an integer from 1 to 65535",
        "types/hosts.yaml:14: web3.data.site: must be a string",
        "types/hosts.yaml:15: web3.data.tenant: must be a string",
        "types/hosts.yaml:16: web3.data.criticality: must be one of low, medium, high, critical",
        "types/hosts.yaml:17: web3.data.credentials: must be a mapping",
        "types/hosts.yaml:22: web4.data.credentials.user: "
        f"unknown key (allowed: {credential_keys})",
        "types/hosts.yaml:23: web4.data.credentials.key_file: must be a string",
        "types/hosts.yaml:25: web4.data.credentials.password_file: "
        "set only one of password_env and password_file",
        "types/hosts.yaml:26: web4.data.ansible_vars: must be a mapping",
        "types/hosts.yaml:27: web4.data.maintenance: must be a list of windows",
        "types/hosts.yaml:28: web4.connection_options: must be a mapping",
        "types/hosts.yaml:31: web5.username: "
        "set only one of username and data.credentials.username",
        "types/hosts.yaml:36: web6.<<: merge keys (<<) are not supported here",
        "types/hosts.yaml:37: web6.1: key must be a string: quote it",
        "types/hosts.yaml:38: 123: host name must be a string: quote it",
    ]


def test_secrets_are_refused_wherever_they_are(problems: Problems) -> None:
    found = problems("secrets")
    # A host may well be called "password": only keys of settings are secrets.
    assert found == [
        f"secrets/hosts.yaml:3: web1.password: {USE_PASSWORD_SOURCE}",
        f"secrets/hosts.yaml:6: web1.data.credentials.password: {USE_PASSWORD_SOURCE}",
        f"secrets/hosts.yaml:7: web1.data.credentials.enable_secret: {USE_ENABLE_SOURCE}",
        f"secrets/hosts.yaml:9: web1.data.ansible_vars.ansible_become_password: "
        f"{USE_ENABLE_SOURCE}",
        f"secrets/hosts.yaml:12: web1.data.app.db[0].password: {USE_PASSWORD_SOURCE}",
        f"secrets/defaults.yaml:1: defaults.password: {USE_PASSWORD_SOURCE}",
    ]
    assert not any("hunter2" in problem or "s3cret" in problem for problem in found)


def test_bad_maintenance_windows(problems: Problems) -> None:
    window = "maintenance/hosts.yaml:{}: web1.data.maintenance[{}]{}".format
    assert problems("maintenance") == [
        window(6, 0, ".days[1]: unknown day 'funday' (known: mon, tue, wed, thu, fri, sat, sun)"),
        window(11, 1, ".start: must be a time of day HH:MM, got '25:00'"),
        window(12, 1, ".end: must be a time of day HH:MM, got '4am'"),
        window(16, 2, ".end: must differ from start"),
        window(17, 2, ".timezone: unknown timezone 'Mars/Olympus'"),
        window(18, 3, ": mixes recurring (days, start, end) and one-off (starts, ends) fields"),
        window(25, 4, ".ends: must be after starts"),
        window(26, 5, ".name: missing"),
        window(26, 5, ".end: missing"),
        window(28, 6, ": needs days, start and end, or starts and ends"),
        window(30, 7, ".starts: must be a date and time like 2026-12-05T20:00:00+00:00"),
        window(
            32, 7, ".colour: unknown key (allowed: name, days, start, end, timezone, starts, ends)"
        ),
        window(33, 8, ": must be a mapping"),
        window(35, 9, ".days: must name at least one day"),
    ]


def test_every_problem_of_every_file_is_reported_at_once(data_dir: Path) -> None:
    with pytest.raises(InventoryError) as raised:
        load_inventory("many")
    assert str(raised.value) == "\n".join(
        [
            "inventory has 5 problems:",
            "many/hosts.yaml:3: web1.port: must be an integer from 1 to 65535",
            "many/hosts.yaml:4: web2.platform: "
            "missing: set it on the host, one of its groups or defaults",
            "many/hosts.yaml:5: web2.groups[0]: group 'missing' is not in groups.yaml",
            "many/groups.yaml:3: servers.data.criticality: "
            "must be one of low, medium, high, critical",
            "many/defaults.yaml:1: defaults.groups: unknown key "
            "(allowed: hostname, port, username, platform, data, connection_options)",
        ]
    )


def test_file_name_is_the_directory_as_given(tmp_path: Path) -> None:
    (tmp_path / "hosts.yaml").write_text("web1:\n  platform: linux\n  port: 0\n")
    with pytest.raises(InventoryError) as raised:
        load_inventory(str(tmp_path))
    assert raised.value.problems == [
        Problem(f"{tmp_path}/hosts.yaml", 3, "web1.port", "must be an integer from 1 to 65535")
    ]


def test_free_form_data_is_read_safely(tmp_path: Path) -> None:
    (tmp_path / "hosts.yaml").write_text(
        "web1:\n  platform: linux\n  data:\n    x: !!python/object/apply:os.system [true]\n"
    )
    with pytest.raises(InventoryError) as raised:
        load_inventory(tmp_path)
    assert [p.message for p in raised.value.problems] == [
        "cannot be read: could not determine a constructor for the tag "
        "'tag:yaml.org,2002:python/object/apply:os.system'"
    ]
    assert raised.value.problems[0].line == 4


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "hosts.yaml").write_bytes(b"web1:\n  platform: \xff\n")
    with pytest.raises(InventoryError) as raised:
        load_inventory(tmp_path)
    assert [str(p) for p in raised.value.problems] == [
        f"{tmp_path}/hosts.yaml: yaml: unacceptable character #x00ff: invalid leading UTF-8 octet"
    ]
