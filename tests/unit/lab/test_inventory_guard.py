"""``lab up`` rewrites its inventory folder, never one a person keeps."""

from __future__ import annotations

from pathlib import Path

import pytest

from automator.cli._lab import _refuse_foreign_inventory
from automator.errors import LabError


def test_a_kept_inventory_is_refused_and_a_lab_one_is_rewritten(tmp_path: Path) -> None:
    _refuse_foreign_inventory(tmp_path / "new")  # nothing there yet
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "hosts.yaml").write_text("web1:\n  hostname: 10.0.0.1\n")
    with pytest.raises(LabError, match="did not write; it would be overwritten"):
        _refuse_foreign_inventory(kept)
    lab = tmp_path / "lab"
    lab.mkdir()
    (lab / "hosts.yaml").write_text("# Lab 'lab' (state in /x), rewritten by `automator lab up`.\n")
    _refuse_foreign_inventory(lab)
