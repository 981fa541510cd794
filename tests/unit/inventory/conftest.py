from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from automator.errors import InventoryError
from automator.inventory import Inventory, load_inventory

DATA = Path(__file__).resolve().parent.parent / "inventory_data"


@pytest.fixture
def data_dir(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Work from the fixtures' root, so that problems name files as ``<case>/hosts.yaml``."""
    monkeypatch.chdir(DATA)
    return DATA


@pytest.fixture
def load(data_dir: Path) -> Callable[[str], Inventory]:
    return load_inventory


@pytest.fixture
def problems(data_dir: Path) -> Callable[[str], list[str]]:
    def problems_of(case: str) -> list[str]:
        with pytest.raises(InventoryError) as raised:
            load_inventory(case)
        return [str(problem) for problem in raised.value.problems]

    return problems_of
