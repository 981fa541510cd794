"""Who owns a run, a lock or a held run's folder: ``host:pid``, and whether it still lives."""

from __future__ import annotations

import os
import socket


def process_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def owner_is_alive(owner: str) -> bool:
    machine, _, pid = owner.rpartition(":")
    if machine != socket.gethostname() or not pid.isdigit():
        return True  # another machine's process: assume alive, never steal its lock
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
