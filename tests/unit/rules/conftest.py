from __future__ import annotations

from pathlib import Path

import pytest

from automator.runbooks import Catalogue
from tests.unit.rules._support import FakeClock, make_project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "project")


@pytest.fixture
def catalogue(project: Path) -> Catalogue:
    return Catalogue(project / "runbooks", project / "playbooks")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
