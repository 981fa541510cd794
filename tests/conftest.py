"""Shared fixtures: a small inventory on disk and a fresh SQLite store."""

from __future__ import annotations

from pathlib import Path

import pytest

from automator.inventory import Inventory, load_inventory
from automator.store import Store

SMALL_INVENTORY = {
    "hosts.yaml": """\
web1:
  hostname: 192.0.2.11
  platform: linux
  groups: [servers]
  data: {role: web, owner: alice@example.net}
web2:
  hostname: 192.0.2.12
  platform: linux
  groups: [servers]
  data: {role: web, owner: alice@example.net}
sw1:
  hostname: 192.0.2.21
  platform: cisco_ios
  groups: [switches]
  data: {role: access, owner: bob@example.net}
""",
    "groups.yaml": "servers:\n  username: root\nswitches:\n  data: {role: access}\n",
    "defaults.yaml": "data: {site: dc1, tenant: acme}\n",
}


@pytest.fixture
def small_inventory(tmp_path: Path) -> Inventory:
    directory = tmp_path / "inventory"
    directory.mkdir()
    for name, text in SMALL_INVENTORY.items():
        (directory / name).write_text(text)
    return load_inventory(directory)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store.open(f"sqlite:///{tmp_path / 'automator.db'}")
    yield store  # type: ignore[misc]
    store.dispose()
