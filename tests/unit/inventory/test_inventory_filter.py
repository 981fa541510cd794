from __future__ import annotations

from collections.abc import Callable
from fnmatch import fnmatchcase
from types import SimpleNamespace

import pytest

from automator.errors import ConfigError, LimitMatchesNothing
from automator.inventory import Inventory
from automator.inventory._filter import _Patterns, parse_limit


@pytest.fixture
def inventory(load: Callable[[str], Inventory]) -> Inventory:
    return load("filter")


def names(inventory: Inventory, limit: str | None) -> list[str]:
    return [host.name for host in inventory.select(limit)]


@pytest.mark.parametrize("limit", [None, "", "  "])
def test_no_limit_selects_every_host(inventory: Inventory, limit: str | None) -> None:
    assert names(inventory, limit) == ["db1", "lab1", "sw1", "ups1", "web1", "web2", "web3"]


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        ("web1", ["web1"]),
        ("name=db1", ["db1"]),
        ("web*", ["web1", "web2", "web3"]),
        ("name=web[12]", ["web1", "web2"]),
        ("name=?b1", ["db1"]),
        ("group=dc2", ["web2"]),
        ("group=servers", ["db1", "web1", "web2", "web3"]),  # a parent of web and db
        ("site=dc2", ["web2"]),
        ("tenant=globex", ["db1", "web3"]),
        ("role=switch", ["sw1"]),
        ("platform=cisco_*", ["sw1"]),
        ("owner=*@example.net", ["web1", "web2", "web3"]),
        ("owner=carol@*", ["db1"]),
        ("criticality=critical", ["db1"]),
        ("criticality=medium", ["lab1", "sw1", "ups1", "web2", "web3"]),
        ("kind=network", ["sw1"]),
        ("kind=facility", ["ups1"]),
        ("kind=server", ["db1", "lab1", "web1", "web2", "web3"]),
    ],
)
def test_each_key(inventory: Inventory, limit: str, expected: list[str]) -> None:
    assert names(inventory, limit) == expected


def test_host_without_the_value_matches_no_glob(inventory: Inventory) -> None:
    assert "lab1" not in names(inventory, "site=*")
    assert "lab1" not in names(inventory, "tenant=*")


def test_same_key_is_or_different_keys_are_and(inventory: Inventory) -> None:
    assert names(inventory, "role=web,role=db") == ["db1", "web1", "web2", "web3"]
    assert names(inventory, "site=dc1,role=web") == ["web1", "web3"]
    assert names(inventory, "site=dc1,role=web,role=db,tenant=acme") == ["web1"]


def test_exclusions_apply_last(inventory: Inventory) -> None:
    assert names(inventory, "site=dc1,role=web,role=db,!name=web3") == ["db1", "web1"]
    assert names(inventory, "!name=web3,site=dc1,role=web") == ["web1"]
    assert names(inventory, "web*,!web2") == ["web1", "web3"]


def test_only_exclusions_start_from_every_host(inventory: Inventory) -> None:
    assert names(inventory, "!kind=facility,!group=servers") == ["lab1", "sw1"]


def test_whitespace_around_terms_is_ignored(inventory: Inventory) -> None:
    assert names(inventory, " site = dc2 , ! name=web3 ") == ["web2"]


def test_globs_are_case_sensitive(inventory: Inventory) -> None:
    with pytest.raises(LimitMatchesNothing) as raised:
        inventory.select("WEB*")
    assert str(raised.value) == "--limit 'WEB*' matches no host in the inventory"
    assert raised.value.limit == "WEB*"


def test_nothing_matched(inventory: Inventory) -> None:
    with pytest.raises(LimitMatchesNothing):
        inventory.select("site=dc1,site=dc2,role=db,!tenant=globex")


@pytest.mark.parametrize(
    ("limit", "message"),
    [
        (
            "colour=red",
            "--limit: unknown key 'colour' "
            "(known: name, group, site, tenant, role, platform, owner, criticality, kind)",
        ),
        ("web1,,db1", "--limit: empty term in 'web1,,db1'"),
        ("web1,", "--limit: empty term in 'web1,'"),
        ("!", "--limit: empty term in '!'"),
        ("site=", "--limit: 'site=' has no value"),
        ("=dc1", "--limit: '=dc1' has no key"),
    ],
)
def test_malformed_filters(inventory: Inventory, limit: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        inventory.select(limit)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    "pattern",
    ["web1", "web*", "web?", "w[ae]b1", "w[!a]b1", "*", "web[", "a\\b", "web1*", "*1", ""],
)
def test_patterns_match_as_shell_globs_do(pattern: str) -> None:
    """Plain values go to a set, globs to one expression: the same answers as fnmatchcase."""
    values = ["web1", "web12", "wab1", "web", "Web1", "web[", "a\\b", "x", ""]
    for value in values:
        assert _Patterns([pattern]).match([value]) == fnmatchcase(value, pattern), value


def test_a_limit_naming_many_hosts_selects_exactly_them() -> None:
    names = [f"h{i}" for i in range(1000)]
    matches = parse_limit(",".join([*names[::2], "!h10"]))
    picked = [n for n in names if matches(SimpleNamespace(name=n))]  # type: ignore[arg-type]
    assert picked == [n for n in names[::2] if n != "h10"]
