"""The lab's Linux hosts: files, keys and sshd of each, booting them, stopping their sshd.

A host is its network namespace plus new PID, UTS, IPC and mount namespaces made by
``unshare``; the boot script (``files/labhost_boot.sh``) runs as their PID 1. Its ``/run``,
``/root``, ``/var/log``, ``/srv`` and ``/etc/init.d`` are bind mounts of folders under
``<state_dir>/hosts/<name>/``; everything else is the machine's, shared.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import string
import time
from pathlib import Path

from automator.errors import LabError
from automator.lab._netns import pids_by_netns
from automator.lab._spec import Layout
from automator.lab._system import SSHD, is_alive, run, spawn_detached, tail, wait_gone

FILES = Path(__file__).parent / "files"
BOOT = FILES / "labhost_boot.sh"

# As the host sees them: its /run and /var/log are its own folders.
_SSHD_CONFIG = "/run/lab/sshd_config"
_SSHD_LOG = "/var/log/sshd.log"
_SSHD_PID = "run/sshd.pid"  # in the host's folder

# folder under the host's folder -> where the host sees it
_PRIVATE_DIRS = {
    "run": "/run",
    "root": "/root",
    "log": "/var/log",
    "srv": "/srv",
    "init.d": "/etc/init.d",
}


def ensure_client_key(layout: Layout) -> str:
    """The controller's key pair, kept across runs; returns the public key line."""
    layout.ssh_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    comment = f"{layout.spec.prefix} lab controller"
    return _ensure_key(layout.client_key, comment)


def prepare(layout: Layout, name: str, address: str, authorized_key: str) -> str:
    """Give a host fresh private folders and its sshd config; returns its known_hosts line.

    Its host key is kept across runs, so known_hosts files elsewhere stay valid.
    """
    home = layout.host_dir(name)
    home.mkdir(parents=True, exist_ok=True)
    host_key = _ensure_key(home / "ssh_host_ed25519_key", name)
    for folder in _PRIVATE_DIRS:
        shutil.rmtree(home / folder, ignore_errors=True)
        (home / folder).mkdir(mode=0o755)
    (home / "run" / "sshd").mkdir(mode=0o755)  # sshd's privilege separation folder
    # sshd reads these after the bind mounts, which may hide the state folder inside the host
    # (a state folder under /root), so they live in the host's own /run.
    lab = home / "run" / "lab"
    lab.mkdir(mode=0o700)
    shutil.copy2(home / "ssh_host_ed25519_key", lab / "ssh_host_ed25519_key")
    (lab / "authorized_keys").write_text(authorized_key)
    template = string.Template((FILES / "sshd_config.in").read_text())
    (lab / "sshd_config").write_text(
        template.substitute(
            name=name,
            address=address,
            host_key="/run/lab/ssh_host_ed25519_key",
            authorized_keys="/run/lab/authorized_keys",
        )
    )
    shutil.copy2(FILES / "labsvc.py", home / "srv" / "labsvc.py")
    shutil.copy2(FILES / "init.d" / "labsvc", home / "init.d" / "labsvc")
    for script in (home / "srv" / "labsvc.py", home / "init.d" / "labsvc"):
        script.chmod(0o755)
    key_type, key_data = host_key.split()[:2]
    return f"{address} {key_type} {key_data}\n"


def launch(layout: Layout, name: str) -> int:
    """Boot a host in the background; returns the pid of its launcher (``unshare``).

    SIGKILL to the launcher takes the whole host down: ``--kill-child`` kills its PID 1, and
    with PID 1 goes every process of the host's PID namespace.
    """
    home = layout.host_dir(name).resolve()
    # A bind over a folder above the host's own folder (a state folder under /root) would hide
    # the sources of the binds after it, so that one goes last.
    mounts = sorted(_PRIVATE_DIRS.items(), key=lambda item: home.is_relative_to(item[1]))
    mount_args = [arg for folder, target in mounts for arg in (str(home / folder), target)]
    return spawn_detached(
        [
            "ip", "netns", "exec", name,
            "unshare", "--uts", "--ipc", "--pid", "--kill-child", "--mount-proc",
            "--propagation", "private",
            "sh", str(BOOT), name, _SSHD_CONFIG, _SSHD_LOG, *mount_args,
        ],
        home / "boot.log",
    )  # fmt: skip


def wait_sshd(layout: Layout, launchers: dict[str, int], timeout: float) -> None:
    """Wait until every host's sshd has written its pidfile (it does so once listening)."""
    deadline = time.monotonic() + timeout
    waiting = dict(launchers)
    while waiting:
        for name, launcher in list(waiting.items()):
            if (layout.host_dir(name) / _SSHD_PID).is_file():
                del waiting[name]
            elif not is_alive(launcher):
                raise LabError(f"lab host {name} did not boot:\n{_logs(layout, name)}")
        if waiting and time.monotonic() > deadline:
            first = next(iter(waiting))
            raise LabError(
                f"{len(waiting)} lab hosts have no sshd after {timeout:.0f} s:"
                f" {', '.join(sorted(waiting))}\n{_logs(layout, first)}"
            )
        time.sleep(0.02)


def stop_sshd(layout: Layout, name: str) -> None:
    """Stop a host's sshd as `service ssh stop` would; open sessions stay."""
    pid = _sshd_pid(layout, name)
    if pid is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    wait_gone([pid], timeout=5)
    (layout.host_dir(name) / _SSHD_PID).unlink(missing_ok=True)


def start_sshd(layout: Layout, name: str, timeout: float = 10.0) -> None:
    """Start a host's sshd again, inside the host's namespaces."""
    if _sshd_pid(layout, name) is not None:
        return
    init = _outer_pid(name, inner=1)
    if init is None:
        raise LabError(f"lab host {name} is not running: run `automator lab up`")
    run(
        ["nsenter", "--target", str(init), "--net", "--pid", "--mount", "--uts", "--ipc",
         SSHD, "-f", _SSHD_CONFIG, "-E", _SSHD_LOG]
    )  # fmt: skip
    pidfile = layout.host_dir(name) / _SSHD_PID
    deadline = time.monotonic() + timeout
    while not pidfile.is_file():
        if time.monotonic() > deadline:
            raise LabError(f"sshd of lab host {name} did not start:\n{_logs(layout, name)}")
        time.sleep(0.02)


def _sshd_pid(layout: Layout, name: str) -> int | None:
    """sshd's pid as the machine sees it; its pidfile has the pid inside the host."""
    try:
        inner = int((layout.host_dir(name) / _SSHD_PID).read_text())
    except (OSError, ValueError):
        return None
    return _outer_pid(name, inner)


def _outer_pid(netns: str, inner: int) -> int | None:
    """The machine's pid of the process that has pid ``inner`` inside host ``netns``."""
    for pid in pids_by_netns([netns]).get(netns, []):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            # NSpid lists the pid in each PID namespace, outermost first.
            if line.startswith("NSpid:"):
                pids = line.split()[1:]
                if len(pids) > 1 and int(pids[-1]) == inner:
                    return pid
    return None


def _ensure_key(path: Path, comment: str) -> str:
    if not path.exists():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)])
    return path.with_suffix(".pub").read_text()


def _logs(layout: Layout, name: str) -> str:
    home = layout.host_dir(name)
    return "\n".join(tail(path) for path in (home / "boot.log", home / "log" / "sshd.log"))
