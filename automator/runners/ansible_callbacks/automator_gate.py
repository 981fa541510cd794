"""ansible-playbook's side of automator's held start (see automator/runners/_ansible.py).

automator starts ansible-playbook while its pipeline is still recording the job and asking
the gate, so that the two start-ups overlap. This callback holds the playbook before its first
play, where nothing has touched a host yet, until automator writes a word on the FIFO named by
``AUTOMATOR_GATE``: ``go`` lets the plays run; anything else, or the FIFO closing because
automator has gone, ends ansible-playbook. Without ``AUTOMATOR_GATE`` it does nothing.

Loaded by ansible-core from ``ANSIBLE_CALLBACK_PLUGINS`` (not an automator module: it runs in
ansible-playbook's interpreter and imports only ansible and the standard library).
"""

from __future__ import annotations

import os
import sys
from typing import Any

from ansible.plugins.callback import CallbackBase  # type: ignore[import-untyped]

DOCUMENTATION = """
name: automator_gate
type: aggregate
short_description: hold the playbook before its first play until automator admits the run
description:
  - Reads one word from the FIFO named by the AUTOMATOR_GATE environment variable.
"""

NOT_ADMITTED = 3  # ansible-playbook's exit code when the run was not let through


class CallbackModule(CallbackBase):  # type: ignore[misc]
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "automator_gate"
    CALLBACK_NEEDS_ENABLED = False

    def v2_playbook_on_start(self, playbook: Any) -> None:
        path = os.environ.pop("AUTOMATOR_GATE", None)  # once: the first playbook holds
        if path is None:
            return
        if _word(path) != b"go":
            self._display.display("automator: the run was not admitted; no host was touched")
            sys.exit(NOT_ADMITTED)


def _word(path: str) -> bytes:
    """The first word written on the FIFO ``path``; empty once its writer has gone."""
    try:
        # non-blocking open: it would otherwise wait forever for a writer that has died
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return b""
    try:
        os.set_blocking(fd, True)
        return os.read(fd, 64).split(b"\n", 1)[0].strip()
    finally:
        os.close(fd)
