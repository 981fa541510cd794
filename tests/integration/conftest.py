"""The integration tests' world: one real lab for the whole session.

Every test under tests/integration is marked ``integration``. The ``lab`` fixture brings the
lab up at first use and then moves the whole pytest process into the lab's controller
namespace, so that paramiko, netmiko and the ansible subprocesses reach the hosts and the
switches directly. From then on, 127.0.0.1 is the controller namespace's loopback, not the
machine's.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from automator.lab import Lab, LabSpec, enter_netns

_HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(_HERE):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    # setns() moves only the calling thread: a thread started before would stay outside.
    if threading.active_count() > 1:
        names = [thread.name for thread in threading.enumerate()]
        pytest.fail(f"the lab fixture must run before any thread starts; running: {names}")
    the_lab = Lab(
        LabSpec(
            state_dir=tmp_path_factory.mktemp("lab"),
            prefix="atest",
            subnet="10.124.0",
            switch_base_port=21001,
            hosts=6,
            switches=5,
            sims=3,
            ups=1,
            pdus=1,
            coolers=1,
        )
    )
    the_lab.up()
    try:
        enter_netns(the_lab.controller_netns)
        yield the_lab
    finally:
        the_lab.down()
