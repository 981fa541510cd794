from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from automator.errors import HostNotFound
from automator.inventory import Credentials, Criticality, Group, Inventory, load_inventory


@pytest.fixture
def valid(load: Callable[[str], Inventory]) -> Inventory:
    return load("valid")


def test_hosts_are_ordered_by_name(valid: Inventory) -> None:
    assert list(valid.hosts) == ["sw1", "ups1", "web1", "web2"]
    assert valid.directory == Path("valid")


def test_host_fields_resolve_through_groups_then_defaults(valid: Inventory, data_dir: Path) -> None:
    web1 = valid.get("web1")
    assert web1.hostname == "10.0.0.11"
    assert web1.port == 22  # defaults
    assert web1.platform == "linux"  # servers, a parent of web
    assert web1.kind == "server"
    assert web1.groups == ("web", "dc1")
    assert web1.all_groups == ("web", "servers", "dc1")
    assert (web1.site, web1.tenant, web1.role) == ("dc1", "acme", "web")
    assert web1.owner == "ops@example.net"
    assert web1.criticality is Criticality.HIGH  # dc1 beats defaults' low
    assert web1.maintenance == ()
    assert (web1.source_file, web1.source_line) == ("valid/hosts.yaml", 1)


def test_group_order_decides_between_groups(valid: Inventory) -> None:
    assert valid.get("web1").data["shared"] == "web"
    assert valid.get("web2").data["shared"] == "dc1"
    assert valid.get("web2").all_groups == ("dc1", "web", "servers")


def test_host_value_beats_groups(valid: Inventory) -> None:
    web2 = valid.get("web2")
    assert web2.criticality is Criticality.MEDIUM
    assert web2.hostname == "web2"  # no hostname anywhere: the host name
    sw1 = valid.get("sw1")
    assert (sw1.platform, sw1.kind, sw1.port) == ("cisco_xe", "network", 2222)


def test_credentials_merge_field_by_field(valid: Inventory, data_dir: Path) -> None:
    assert valid.get("web1").credentials == Credentials(
        username="root",  # top-level username of servers
        # servers names a password file: defaults' password_env is not used alongside it
        password_file=data_dir / "valid/secrets/server.password",
        key_file=data_dir / "keys/id_ed25519",  # relative to the inventory directory
        known_hosts_file=Path("/etc/ssh/ssh_known_hosts"),
    )
    assert valid.get("sw1").credentials == Credentials(
        username="admin",
        password_env="SW_PASSWORD",
        known_hosts_file=Path("/etc/ssh/ssh_known_hosts"),
    )
    assert valid.get("ups1").credentials == Credentials(
        username="nobody",
        password_env="DEFAULT_PASSWORD",
        known_hosts_file=Path("/etc/ssh/ssh_known_hosts"),
    )


def test_data_and_ansible_vars_merge_key_by_key(valid: Inventory) -> None:
    assert dict(valid.get("ups1").data) == {
        "note": "from defaults",
        "shared": "defaults",
        "rack": "A01",
        "vlans": {10: "users"},
    }
    assert dict(valid.get("web1").ansible_vars) == {
        "ansible_python_interpreter": "/usr/bin/python3",
        "level": "servers",
    }
    assert valid.get("sw1").ansible_vars["level"] == "defaults"
    assert valid.get("ups1").kind == "facility"


def test_known_data_keys_are_not_in_free_form_data(valid: Inventory) -> None:
    for key in ("site", "tenant", "role", "owner", "criticality", "credentials", "ansible_vars"):
        assert key not in valid.get("web1").data


def test_groups_keep_parents_and_source(valid: Inventory) -> None:
    assert list(valid.groups) == ["dc1", "servers", "switches", "web"]
    assert valid.groups["web"] == Group("web", ("servers",), "valid/groups.yaml", 10)


def test_get_unknown_host(valid: Inventory) -> None:
    with pytest.raises(HostNotFound, match="host 'nope' is not in the inventory"):
        valid.get("nope")


def test_hosts_are_immutable_and_hashable(valid: Inventory) -> None:
    web1 = valid.get("web1")
    assert {web1, valid.get("web1")} == {web1}
    with pytest.raises(TypeError):
        web1.data["note"] = "changed"  # type: ignore[index]


def test_minimal_host_gets_defaults(load: Callable[[str], Inventory]) -> None:
    web1 = load("minimal").get("web1")
    assert (web1.hostname, web1.port, web1.platform) == ("web1", None, "linux")
    assert web1.criticality is Criticality.MEDIUM
    assert (web1.site, web1.tenant, web1.role, web1.owner) == (None, None, None, None)
    assert web1.credentials == Credentials()
    assert dict(web1.data) == {}
    assert web1.groups == web1.all_groups == ()


def test_sample_inventory_at_the_top_level_is_valid() -> None:
    assert load_inventory(Path(__file__).resolve().parents[3] / "inventory").hosts
