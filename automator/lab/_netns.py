"""Network namespaces: entering one, and seeing and probing into the lab's ones.

``setns()`` moves only the calling thread; threads and subprocesses started by that thread
afterwards inherit its namespace. That is why ``enter_netns`` insists on a single-threaded
process, and why the lab's own probes switch the calling thread only for as long as they
create their sockets (a socket stays in the namespace it was created in).
"""

from __future__ import annotations

import ctypes
import os
import re
import selectors
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from automator.errors import LabError

NETNS_DIR = Path("/run/netns")  # where `ip netns add` names namespaces
_CLONE_NEWNET = 0x40000000
_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_os_setns: Callable[[int, int], None] | None = getattr(os, "setns", None)  # Python >= 3.12


class _Origin:
    """The namespace the process was in before ``enter_netns`` moved it: the lab's safety
    route belongs there, not in the controller namespace the process now lives in."""

    fd: int | None = None


def enter_netns(name: str) -> None:
    """Move the whole process into the named network namespace, like ``ip netns exec``.

    Call it before any thread starts: threads that already exist would stay behind.
    """
    path = netns_path(name)
    if not path.exists():
        raise LabError(f"network namespace {name!r} does not exist: run `automator lab up` first")
    if threading.active_count() > 1:
        raise LabError(
            f"cannot enter network namespace {name!r}: {threading.active_count() - 1} other"
            " threads are running and setns() would leave them behind; enter it before"
            " starting any thread"
        )
    origin = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        _setns_path(path)
    except OSError as exc:
        os.close(origin)
        raise LabError(f"cannot enter network namespace {name!r}: {exc}") from exc
    if _Origin.fd is None:
        _Origin.fd = origin
    else:
        os.close(origin)


def netns_path(name: str) -> Path:
    if not _NAME.fullmatch(name):
        raise LabError(f"invalid network namespace name {name!r}")
    return NETNS_DIR / name


def list_netns() -> list[str]:
    try:
        return sorted(os.listdir(NETNS_DIR))
    except FileNotFoundError:
        return []


@contextmanager
def thread_in_netns(path: Path) -> Iterator[None]:
    """Run the calling thread, and the subprocesses it starts, in another namespace."""
    back = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        _setns_path(path)
        try:
            yield
        finally:
            _setns(back)
    finally:
        os.close(back)


@contextmanager
def in_origin_netns() -> Iterator[None]:
    """Run the calling thread in the namespace the process started in."""
    if _Origin.fd is None:
        yield
        return
    with thread_in_netns(Path(f"/proc/self/fd/{_Origin.fd}")):
        yield


def pids_by_netns(names: list[str]) -> dict[str, list[int]]:
    """The pids of the processes in each named namespace (what ``ip netns pids`` lists)."""
    wanted: dict[tuple[int, int], str] = {}
    for name in names:
        try:
            st = netns_path(name).stat()
        except FileNotFoundError:
            continue
        wanted[(st.st_dev, st.st_ino)] = name
    found: dict[str, list[int]] = {name: [] for name in wanted.values()}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            st = os.stat(f"/proc/{entry.name}/ns/net")
        except OSError:  # gone, or a zombie
            continue
        owner = wanted.get((st.st_dev, st.st_ino))
        if owner is not None:
            found[owner].append(int(entry.name))
    return found


def tcp_open(netns: str, targets: list[tuple[str, int]], timeout: float) -> list[bool]:
    """Whether each (address, port) accepts a TCP connection from inside ``netns``."""
    results = [False] * len(targets)
    socks: list[socket.socket] = []
    try:
        with thread_in_netns(netns_path(netns)):
            socks += [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in targets]
        with selectors.DefaultSelector() as selector:
            for index, (sock, target) in enumerate(zip(socks, targets, strict=True)):
                sock.setblocking(False)
                sock.connect_ex(target)
                selector.register(sock, selectors.EVENT_WRITE, index)
            deadline = time.monotonic() + timeout
            while selector.get_map() and (left := deadline - time.monotonic()) > 0:
                for key, _ in selector.select(left):
                    sock = socks[key.data]
                    results[key.data] = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
                    selector.unregister(sock)
    finally:
        for sock in socks:
            sock.close()
    return results


def _setns_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        _setns(fd)
    finally:
        os.close(fd)


def _setns(fd: int) -> None:
    if _os_setns is not None:
        _os_setns(fd, _CLONE_NEWNET)
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, _CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))
