"""The backup store: every device's configuration in a git repository, indexed in the database.

The repository (bare, branch ``main``, one file per host at its root) is the record: one commit
per backup run holding only the hosts whose configuration changed, written by one
``git fast-import`` process. The ``backup_versions`` table is the index: version N of a host is
a row naming its commit and blob, so that a history is one indexed query and a diff reads two
blobs by id with one ``git cat-file --batch``, however long the history grows.

Git is written first, then the index in one transaction. A crash between the two leaves the
repository ahead of the index; every ``BackupStore`` start and every save first indexes the
commits the index lacks (run and ticket come from the commit's ``Run:``/``Ticket:`` trailers),
so nothing is lost and nothing is indexed twice. Saves, prunes and gc hold an exclusive
``flock`` on ``repo.lock`` next to the repository: a fresh descriptor per call, so that it
excludes other threads as well as other processes.
"""

from __future__ import annotations

import difflib
import fcntl
import hashlib
import os
import re
import subprocess
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import groupby
from pathlib import Path
from typing import IO, Any

from sqlalchemy import delete, func, insert, select, tuple_, update
from sqlalchemy.orm import Session

import automator.store._backups  # noqa: F401  (registers the tables in Base.metadata)
from automator.errors import AutomatorError
from automator.store import Store
from automator.store._backups import BackupLatest, BackupVersion

BRANCH = "refs/heads/main"
IDENTITY = "automator <automator@localhost>"
REPOSITORY = "repo"
LOCK_FILE = "repo.lock"

# A host's file name in the repository. Inventory names are free text, so anything that could
# leave the repository's root or be read as an option is refused: no "/", no "\", no leading
# "." or "-", no whitespace or control characters.
_HOST_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:@+=~-]{0,199}")
# cat-file requests written before their answers are read: 500 ids of 41 bytes stay well
# inside a pipe's buffer, so that writing never waits on git while git waits on us.
_CAT_FILE_CHUNK = 500
# rows per DELETE ... WHERE id IN (...) in prune (SQLite allows 32766 parameters)
_DELETE_CHUNK = 500


class BackupError(AutomatorError):
    """The backup repository or its index cannot be used or written."""


class BackupNotFound(AutomatorError):
    """A host with no backup, or a version of it that does not exist."""


@dataclass(frozen=True)
class Version:
    """One stored version of one host's configuration."""

    host: str
    version: int
    commit: str
    blob: str
    sha256: str
    size: int
    lines: int
    at: datetime
    run_id: int | None
    ticket_id: int | None


@dataclass(frozen=True)
class Saved:
    """What a save stored. ``versions`` has every host given: its new version when it changed,
    its existing latest version when it did not. ``commit`` is None when nothing changed."""

    commit: str | None
    changed: list[str]
    unchanged: list[str]
    versions: dict[str, Version]


@dataclass(frozen=True)
class RetentionPolicy:
    """Which versions prune keeps. A version is kept when ANY rule keeps it, a host's latest
    version always is, and with no rule at all every version is kept.

    keep_last: the newest N versions of each host. keep_days: every version of the last N
    days. keep_daily_for_days: the newest version of each UTC day of the last N days.
    """

    keep_last: int | None = None
    keep_days: int | None = None
    keep_daily_for_days: int | None = None

    def __post_init__(self) -> None:
        for name in ("keep_last", "keep_days", "keep_daily_for_days"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise BackupError(f"retention {name} must be 1 or more, not {value}")

    @property
    def keeps_everything(self) -> bool:
        return (
            self.keep_last is None and self.keep_days is None and self.keep_daily_for_days is None
        )

    def kept(self, newest_first: list[tuple[int, datetime]], now: datetime) -> set[int]:
        """The versions kept of one host's ``(version, at)`` list, newest first."""
        if self.keeps_everything:
            return {version for version, _ in newest_first}
        kept = {newest_first[0][0]}
        if self.keep_last is not None:
            kept.update(version for version, _ in newest_first[: self.keep_last])
        if self.keep_days is not None:
            since = now - timedelta(days=self.keep_days)
            kept.update(version for version, at in newest_first if at >= since)
        if self.keep_daily_for_days is not None:
            since = now - timedelta(days=self.keep_daily_for_days)
            days: set[date] = set()
            for version, at in newest_first:
                day = at.astimezone(UTC).date()
                if at >= since and day not in days:
                    days.add(day)
                    kept.add(version)
        return kept


@dataclass(frozen=True)
class PruneResult:
    """What prune removed from the index: host -> its removed version numbers, ascending."""

    kept: int
    removed: dict[str, list[int]] = field(default_factory=dict)

    @property
    def removed_count(self) -> int:
        return sum(len(versions) for versions in self.removed.values())


def check_host_name(host: str) -> str:
    """The host's file name in the repository, or BackupError when it could escape it."""
    if not _HOST_NAME.fullmatch(host):
        raise BackupError(
            f"host name {host!r} cannot name a backup file: use letters, digits and "
            "'_.:@+=~-', not starting with '.' or '-', at most 200 characters"
        )
    return host


class BackupStore:
    """Configurations in the git repository ``directory/repo`` (``directory`` is usually
    ``$AUTOMATOR_HOME/backups``), indexed in ``store``. The repository is created on first
    use; the index is brought up to the repository's last commit on start."""

    def __init__(self, store: Store, directory: Path) -> None:
        self._store = store
        self.directory = directory
        self.repository = directory / REPOSITORY
        self._git = _Git(self.repository)
        self._git.init()
        with self._locked():
            self._reconcile()

    # -- writing ---------------------------------------------------------------------------

    def save(
        self,
        configs: Mapping[str, str],
        run_id: int | None,
        ticket_id: int | None,
        at: datetime,
        message: str | None = None,
    ) -> Saved:
        """Store one backup run: ``configs`` maps host -> its scrubbed configuration. Hosts
        whose content (by sha256) equals their latest version are left alone; the others go
        into one commit, message naming the run and ticket, dated ``at``; ``message`` adds a
        paragraph to it. No commit when nothing changed."""
        if at.tzinfo is None:
            raise ValueError("naive datetime given to the backup store")
        contents = {check_host_name(host): text.encode() for host, text in configs.items()}
        empty = sorted(host for host, data in contents.items() if not data.strip())
        if empty:
            raise BackupError(
                f"empty configuration for {', '.join(empty)}: an empty backup never replaces "
                "a stored one"
            )
        with self._locked():
            self._reconcile()
            latest = self.latest_all()
            digests = {host: hashlib.sha256(data).hexdigest() for host, data in contents.items()}
            changed = sorted(
                h for h in contents if h not in latest or latest[h].sha256 != digests[h]
            )
            unchanged = sorted(contents.keys() - set(changed))
            versions = {host: latest[host] for host in unchanged}
            if not changed:
                return Saved(None, [], unchanged, versions)
            numbers = {h: latest[h].version + 1 if h in latest else 1 for h in changed}
            text = _message(run_id, ticket_id, numbers, len(contents), message)
            commit = self._git.commit({h: contents[h] for h in changed}, text, at, self._git.tip())
            when = at.astimezone(UTC)
            for host in changed:
                data = contents[host]
                versions[host] = _stored(
                    host, numbers[host], commit, _blob_id(data), data, when, run_id, ticket_id
                )
            with self._store.session() as session:
                _index(session, [versions[h] for h in changed], set(latest))
            return Saved(commit, changed, unchanged, versions)

    def prune(self, policy: RetentionPolicy, now: datetime) -> PruneResult:
        """Remove from the index the versions ``policy`` does not keep. The repository keeps
        its history (see docs/backups.md, "Store"): pruned versions leave ``history``,
        ``diff`` and ``show``, not ``git log``."""
        removed: dict[str, list[int]] = {}
        kept = 0
        with self._locked(), self._store.session() as session:
            rows = session.execute(
                select(
                    BackupVersion.id, BackupVersion.host, BackupVersion.version, BackupVersion.at
                ).order_by(BackupVersion.host, BackupVersion.version.desc())
            ).all()
            doomed: list[int] = []
            for host, group in groupby(rows, key=lambda row: row.host):
                history = list(group)
                keep = policy.kept([(row.version, row.at) for row in history], now)
                kept += len(keep)
                gone = [row for row in reversed(history) if row.version not in keep]
                if gone:
                    removed[host] = [row.version for row in gone]
                    doomed.extend(row.id for row in gone)
            for start in range(0, len(doomed), _DELETE_CHUNK):
                chunk = doomed[start : start + _DELETE_CHUNK]
                session.execute(delete(BackupVersion).where(BackupVersion.id.in_(chunk)))
        return PruneResult(kept, removed)

    def gc(self) -> None:
        """Keep the repository fast: ``git gc --auto`` (consolidates the one pack per run that
        fast-import leaves once there are more than 50, packs loose objects) in the
        foreground, then a commit-graph for the history walks of a re-index."""
        with self._locked():
            self._git.run("-c", "gc.autoDetach=false", "gc", "--auto", "--quiet")
            self._git.run("commit-graph", "write", "--reachable")

    # -- reading ---------------------------------------------------------------------------

    def latest(self, host: str) -> Version | None:
        found = self.history(host, limit=1)
        return found[0] if found else None

    def latest_all(self) -> dict[str, Version]:
        """The latest version of every host: one index search per ``backup_latest`` row. (As a
        join, SQLite without statistics scans the whole index instead: 20 ms at 100,000.)"""
        latest = select(BackupLatest.host, BackupLatest.version)
        query = _VERSION_QUERY.where(tuple_(BackupVersion.host, BackupVersion.version).in_(latest))
        with self._store.session() as session:
            return {row.host: _version(row) for row in session.execute(query)}

    def history(self, host: str, limit: int | None = None) -> list[Version]:
        """The host's versions, newest first (none for an unknown host)."""
        query = (
            _VERSION_QUERY.where(BackupVersion.host == host)
            .order_by(BackupVersion.version.desc())
            .limit(limit)
        )
        with self._store.session() as session:
            return [_version(row) for row in session.execute(query)]

    def get(self, host: str, version: int | None = None) -> Version:
        """Version ``version`` of ``host`` (None: the latest), or BackupNotFound."""
        query = _VERSION_QUERY.where(BackupVersion.host == host)
        if version is None:
            query = query.order_by(BackupVersion.version.desc()).limit(1)
        else:
            query = query.where(BackupVersion.version == version)
        with self._store.session() as session:
            row = session.execute(query).first()
            if row is not None:
                return _version(row)
            raise _not_found(session, host, version)

    def content(self, version: Version) -> str:
        return self._blobs([version.blob])[version.blob].decode()

    def diff(
        self, host: str, v1: int | None = None, v2: int | None = None, context: int = 3
    ) -> str:
        """A unified diff of ``host`` from ``v1`` to ``v2``, labelled with version and date;
        '' when they are equal. ``v2`` defaults to the latest version, ``v1`` to the version
        before ``v2`` (the empty file, labelled /dev/null, when there is none)."""
        new = self.get(host, v2)
        old = self.get(host, v1) if v1 is not None else self._before(new)
        if old is not None and old.sha256 == new.sha256:
            return ""
        blobs = self._blobs([new.blob] if old is None else [old.blob, new.blob])
        before = "" if old is None else blobs[old.blob].decode()
        lines = difflib.unified_diff(
            _split_lines(before),
            _split_lines(blobs[new.blob].decode()),
            "/dev/null" if old is None else _label(old),
            _label(new),
            n=context,
            lineterm="",
        )
        text = "\n".join(lines)
        return text + "\n" if text else ""

    # -- internals -------------------------------------------------------------------------

    def _before(self, version: Version) -> Version | None:
        query = (
            _VERSION_QUERY.where(
                BackupVersion.host == version.host, BackupVersion.version < version.version
            )
            .order_by(BackupVersion.version.desc())
            .limit(1)
        )
        with self._store.session() as session:
            row = session.execute(query).first()
        return None if row is None else _version(row)

    def _blobs(self, ids: list[str]) -> dict[str, bytes]:
        with self._git.cat_file() as reader:
            return reader.read(ids)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self.directory / LOCK_FILE, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _reconcile(self) -> None:
        """Index the commits the index lacks (a crash between git and the index, or an index
        rebuilt from an existing repository). Call with the lock held."""
        tip = self._git.tip()
        with self._store.session() as session:
            indexed = session.execute(
                select(BackupVersion.commit).order_by(BackupVersion.id.desc()).limit(1)
            ).scalar()
        if tip == indexed:
            return
        if tip is None:
            raise BackupError(
                f"the backup index goes up to commit {indexed} but the repository "
                f"{self.repository} has no commit: restore the repository that belongs to "
                "this database"
            )
        if indexed is not None and not self._git.is_ancestor(indexed, tip):
            raise BackupError(
                f"the backup index goes up to commit {indexed}, which is not in the history "
                f"of {self.repository}: restore the repository that belongs to this database"
            )
        with self._store.session() as session:
            previous = {
                row.host: row.version
                for row in session.execute(select(BackupLatest.host, BackupLatest.version))
            }
        with self._git.cat_file() as reader:
            for commit in self._git.commits(since=indexed, tip=tip):
                blobs = reader.read([blob for _, blob in commit.files])
                versions = [
                    _stored(
                        host,
                        previous.get(host, 0) + 1,
                        commit.sha,
                        blob,
                        blobs[blob],
                        commit.at,
                        commit.run_id,
                        commit.ticket_id,
                    )
                    for host, blob in commit.files
                ]
                if not versions:
                    continue
                with self._store.session() as session:
                    _index(session, versions, set(previous))
                previous.update((version.host, version.version) for version in versions)


# -- the index -------------------------------------------------------------------------------

_VERSION_QUERY = select(
    BackupVersion.host,
    BackupVersion.version,
    BackupVersion.commit,
    BackupVersion.blob,
    BackupVersion.sha256,
    BackupVersion.size,
    BackupVersion.lines,
    BackupVersion.at,
    BackupVersion.run_id,
    BackupVersion.ticket_id,
)


def _version(row: Any) -> Version:
    return Version(*row)


def _stored(
    host: str,
    number: int,
    commit: str,
    blob: str,
    data: bytes,
    at: datetime,
    run_id: int | None,
    ticket_id: int | None,
) -> Version:
    """The index entry of ``data`` stored as version ``number`` of ``host``."""
    sha256 = hashlib.sha256(data).hexdigest()
    return Version(
        host, number, commit, blob, sha256, len(data), _count_lines(data), at, run_id, ticket_id
    )


def _index(session: Session, versions: list[Version], known: set[str]) -> None:
    """Insert new versions and move each host's latest to them; ``known`` are the hosts that
    already have a latest row."""
    session.execute(insert(BackupVersion), [vars(version) for version in versions])
    moved = [{"host": v.host, "version": v.version} for v in versions if v.host in known]
    added = [{"host": v.host, "version": v.version} for v in versions if v.host not in known]
    if moved:
        session.execute(update(BackupLatest), moved)
    if added:
        session.execute(insert(BackupLatest), added)


def _not_found(session: Session, host: str, version: int | None) -> BackupNotFound:
    low, high, count = session.execute(
        select(
            func.min(BackupVersion.version),
            func.max(BackupVersion.version),
            func.count(),
        ).where(BackupVersion.host == host)
    ).one()
    if not count:
        return BackupNotFound(f"no backup of {host}")
    kept = f"versions {low}-{high}" if low != high else f"version {low}"
    if count != high - low + 1:
        kept += f", {count} kept after pruning"
    return BackupNotFound(f"{host} has no version {version} ({kept})")


# -- git -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Commit:
    sha: str
    at: datetime
    run_id: int | None
    ticket_id: int | None
    files: list[tuple[str, str]]  # (host, blob) added or modified


class _Git:
    """The git command line on one bare repository, isolated from the user's and the system's
    git configuration so that neither can change what is written."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._env = {
            **os.environ,
            "GIT_DIR": str(directory),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TERMINAL_PROMPT": "0",
        }

    def init(self) -> None:
        if (self.directory / "HEAD").exists():
            return
        if self.directory.exists() and any(self.directory.iterdir()):
            raise BackupError(f"{self.directory} exists and is not a git repository")
        self.directory.parent.mkdir(parents=True, exist_ok=True)
        self.run("init", "--quiet", "--bare", "--initial-branch=main", "--object-format=sha1")

    def run(self, *args: str, stdin: bytes | None = None) -> bytes:
        """``git ARGS``'s output, or BackupError with git's own message."""
        done = self._run(*args, stdin=stdin)
        if done.returncode != 0:
            reason = done.stderr.decode(errors="replace").strip() or f"exit {done.returncode}"
            raise BackupError(f"git {args[0]} failed on {self.directory}: {reason}")
        return done.stdout

    def tip(self) -> str | None:
        """The last commit on ``main``; None before the first backup."""
        done = self._run("rev-parse", "--quiet", "--verify", f"{BRANCH}^{{commit}}")
        return done.stdout.decode().strip() or None

    def is_ancestor(self, commit: str, tip: str) -> bool:
        return self._run("merge-base", "--is-ancestor", commit, tip).returncode == 0

    def commit(
        self, files: Mapping[str, bytes], message: str, at: datetime, parent: str | None
    ) -> str:
        """One commit on ``main`` changing ``files`` (host -> content) on top of ``parent``,
        by one fast-import. fast-import refuses to move the branch anywhere but forward from
        ``parent``, so a writer that bypassed the lock could not silently drop a commit."""
        when = _git_date(at)
        text = message.encode()
        stream = [
            b"feature done\n",
            f"commit {BRANCH}\nmark :1\n".encode(),
            f"author {IDENTITY} {when}\ncommitter {IDENTITY} {when}\n".encode(),
            b"data %d\n%s\n" % (len(text), text),
        ]
        if parent is not None:
            stream.append(f"from {parent}\n".encode())
        for host, data in files.items():
            stream.append(b"M 100644 inline %s\ndata %d\n%s\n" % (host.encode(), len(data), data))
        stream.append(b"\nget-mark :1\ndone\n")
        out = self.run("fast-import", "--quiet", "--date-format=raw", stdin=b"".join(stream))
        return out.decode().strip()

    def commits(self, since: str | None, tip: str) -> Iterator[_Commit]:
        """The commits after ``since`` up to ``tip``, oldest first, with the host files each
        one added or modified (other paths are not automator's and are skipped)."""
        revisions = [tip] if since is None else [tip, f"^{since}"]
        process = self._popen(
            "log",
            "--reverse",
            "--first-parent",
            "--root",
            "--raw",
            "--no-abbrev",
            "--no-renames",
            "--format=commit %H %cI %(trailers:key=Run,valueonly,separator=%x2C) "
            "%(trailers:key=Ticket,valueonly,separator=%x2C)",
            *revisions,
            "--",
        )
        with process:  # on an early exit: close the pipe (git stops) and reap it
            assert process.stdout is not None
            yield from _parse_log(line.decode(errors="replace") for line in process.stdout)
        if process.returncode != 0:
            raise BackupError(f"git log failed on {self.directory} (exit {process.returncode})")

    @contextmanager
    def cat_file(self) -> Iterator[_BlobReader]:
        """A blob reader; its git process ends with the block."""
        with self._popen("cat-file", "--batch", stdin=True) as process:
            yield _BlobReader(process, self.directory)

    def _run(self, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        try:
            return subprocess.run(
                ["git", *args], input=stdin, capture_output=True, env=self._env, check=False
            )
        except FileNotFoundError:
            raise BackupError("git is not installed (the backup store needs it)") from None

    def _popen(self, *args: str, stdin: bool = False) -> subprocess.Popen[bytes]:
        try:
            return subprocess.Popen(
                ["git", *args],
                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=self._env,
            )
        except FileNotFoundError:
            raise BackupError("git is not installed (the backup store needs it)") from None


class _BlobReader:
    """Blobs by id from one ``git cat-file --batch`` process."""

    def __init__(self, process: subprocess.Popen[bytes], directory: Path) -> None:
        assert process.stdin is not None and process.stdout is not None
        self._in: IO[bytes] = process.stdin
        self._out: IO[bytes] = process.stdout
        self._directory = directory

    def read(self, ids: Iterable[str]) -> dict[str, bytes]:
        wanted = list(dict.fromkeys(ids))
        found: dict[str, bytes] = {}
        for start in range(0, len(wanted), _CAT_FILE_CHUNK):
            chunk = wanted[start : start + _CAT_FILE_CHUNK]
            self._in.write("".join(f"{blob}\n" for blob in chunk).encode())
            self._in.flush()
            for blob in chunk:
                header = self._out.readline().decode().split()
                if len(header) != 3 or header[1] != "blob":
                    raise BackupError(f"blob {blob} is missing from {self._directory}")
                found[blob] = self._out.read(int(header[2]) + 1)[:-1]
        return found


def _parse_log(lines: Iterable[str]) -> Iterator[_Commit]:
    commit: _Commit | None = None
    for line in lines:
        if line.startswith("commit "):
            if commit is not None:
                yield commit
            _, sha, at, run, ticket = line.rstrip("\n").split(" ")
            commit = _Commit(
                sha,
                datetime.fromisoformat(at).astimezone(UTC),
                _last_number(run),
                _last_number(ticket),
                [],
            )
        elif line.startswith(":") and commit is not None:
            meta, _, path = line.rstrip("\n").partition("\t")
            fields = meta.split()
            if (
                fields[4] in ("A", "M")
                and fields[1].startswith("100")
                and _HOST_NAME.fullmatch(path)
            ):
                commit.files.append((path, fields[3]))
    if commit is not None:
        yield commit


def _last_number(trailer: str) -> int | None:
    values = [value for value in trailer.split(",") if value.strip().isdigit()]
    return int(values[-1]) if values else None


# -- formats ---------------------------------------------------------------------------------


def _message(
    run_id: int | None, ticket_id: int | None, numbers: dict[str, int], total: int, note: str | None
) -> str:
    """``backup run #12 (ticket #34): 3 changed of 300``, the caller's note, the changed hosts
    with their new version, and ``Run:``/``Ticket:`` trailers that a re-index reads back."""
    head = "backup"
    if run_id is not None:
        head += f" run #{run_id}"
    if ticket_id is not None:
        head += f" (ticket #{ticket_id})"
    head += f": {len(numbers)} changed of {total}"
    paragraphs = [head]
    if note and note.strip():
        paragraphs.append(note.strip())
    paragraphs.append("\n".join(["changed:", *(f"  {h} v{n}" for h, n in numbers.items())]))
    trailers = [f"Run: {run_id}"] if run_id is not None else []
    if ticket_id is not None:
        trailers.append(f"Ticket: {ticket_id}")
    if trailers:
        paragraphs.append("\n".join(trailers))
    return "\n\n".join(paragraphs) + "\n"


def _git_date(at: datetime) -> str:
    """``<epoch seconds> <+hhmm>``: git's raw date, in the caller's own UTC offset."""
    offset = at.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, minutes = divmod(abs(minutes), 60)
    return f"{int(at.timestamp())} {sign}{hours:02d}{minutes:02d}"


def _blob_id(data: bytes) -> str:
    """Git's object id of a blob, what fast-import stores ``data`` under: SHA-1, the format
    the repository is created in."""
    header = b"blob %d\0" % len(data)
    return hashlib.sha1(header + data, usedforsecurity=False).hexdigest()


def _count_lines(data: bytes) -> int:
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def _split_lines(text: str) -> list[str]:
    lines = text.split("\n")
    return lines[:-1] if lines[-1] == "" else lines


def _label(version: Version) -> str:
    return f"{version.host} v{version.version} ({version.at:%Y-%m-%d %H:%M:%S} UTC)"
