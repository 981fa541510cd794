"""The backup store: a real git repository and a real SQLite index (PostgreSQL when marked)."""

from __future__ import annotations

import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from automator.backups._store import (
    BackupError,
    BackupNotFound,
    BackupStore,
    RetentionPolicy,
    check_host_name,
)
from automator.store import Store
from automator.store._backups import BackupLatest, BackupVersion

T0 = datetime(2024, 5, 1, 2, 0, tzinfo=UTC)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout


def commits(repo: Path) -> list[str]:
    return git(repo, "rev-list", "refs/heads/main").split()


def commits_or_none(repo: Path) -> list[str] | None:
    done = subprocess.run(
        ["git", "--git-dir", str(repo), "rev-parse", "-q", "--verify", "refs/heads/main"],
        capture_output=True,
        check=False,
    )
    return commits(repo) if done.returncode == 0 else None


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The repository of a BackupStore given ``$AUTOMATOR_HOME/backups``."""
    return tmp_path / "home" / "backups" / "repo"


@pytest.fixture
def backups(store: Store, repo: Path) -> BackupStore:
    return BackupStore(store, repo.parent)


def test_the_repository_is_created_bare_on_first_use(backups, repo):
    assert git(repo, "rev-parse", "--is-bare-repository").strip() == "true"
    assert commits_or_none(repo) is None
    assert backups.latest_all() == {}


def test_one_commit_per_run_holds_only_the_changed_hosts(backups, repo):
    first = backups.save({"sw1": "hostname sw1\n", "sw2": "hostname sw2\n"}, 1, 10, T0)
    assert first.changed == ["sw1", "sw2"] and first.unchanged == []
    second = backups.save(
        {"sw1": "hostname sw1\nntp server 192.0.2.1\n", "sw2": "hostname sw2\n", "sw3": "x\n"},
        2,
        11,
        T0 + timedelta(days=1),
    )
    assert second.changed == ["sw1", "sw3"] and second.unchanged == ["sw2"]
    assert commits(repo) == [second.commit, first.commit]
    touched = git(repo, "show", "--name-only", "--format=", second.commit).split()
    assert touched == ["sw1", "sw3"]
    # the tree still holds every host; only the commit's changes are limited
    assert git(repo, "ls-tree", "--name-only", second.commit).split() == ["sw1", "sw2", "sw3"]
    assert {h: v.version for h, v in second.versions.items()} == {"sw1": 2, "sw2": 1, "sw3": 1}
    assert second.versions["sw2"] == first.versions["sw2"]


def test_nothing_changed_means_no_commit(backups, repo):
    backups.save({"sw1": "a\n"}, 1, None, T0)
    again = backups.save({"sw1": "a\n"}, 2, None, T0 + timedelta(hours=1))
    assert again.commit is None and again.changed == [] and again.unchanged == ["sw1"]
    assert len(commits(repo)) == 1
    assert [v.version for v in backups.history("sw1")] == [1]


def test_commit_message_author_and_dates(backups, repo):
    berlin = timezone(timedelta(hours=2))
    at = datetime(2024, 5, 1, 4, 30, tzinfo=berlin)
    saved = backups.save(
        {"sw1": "a\n", "sw2": "b\n", "sw3": "c\n"}, 12, 34, at, message="nightly schedule"
    )
    body = git(repo, "log", "-1", "--format=%B", saved.commit)
    assert body.rstrip("\n").splitlines() == [
        "backup run #12 (ticket #34): 3 changed of 3",
        "",
        "nightly schedule",
        "",
        "changed:",
        "  sw1 v1",
        "  sw2 v1",
        "  sw3 v1",
        "",
        "Run: 12",
        "Ticket: 34",
    ]
    who = git(repo, "log", "-1", "--format=%an <%ae>|%cn <%ce>|%cI|%aI", saved.commit).strip()
    assert who == (
        "automator <automator@localhost>|automator <automator@localhost>|"
        "2024-05-01T04:30:00+02:00|2024-05-01T04:30:00+02:00"
    )
    later = backups.save({"sw1": "a2\n", "sw2": "b\n", "sw3": "c\n"}, None, None, at)
    assert git(repo, "log", "-1", "--format=%s", later.commit).strip() == "backup: 1 changed of 3"


def test_index_rows_name_the_blob_git_stored(backups, repo):
    config = "hostname sw1\nbanner ünïcode\nno newline"
    saved = backups.save({"sw1": config}, 3, None, T0)
    version = saved.versions["sw1"]
    assert version.blob == git(repo, "rev-parse", f"{saved.commit}:sw1").strip()
    assert (version.size, version.lines) == (len(config) + 2, 3)  # ü and ï are 2 bytes each
    assert version.at == T0 and version.run_id == 3 and version.ticket_id is None
    assert backups.content(version) == config


def test_history_show_and_versions(backups):
    for day, vlan in enumerate([10, 20, 30, 40]):
        backups.save(
            {"sw1": f"vlan {vlan}\n", "sw2": "same\n"}, day + 1, None, T0 + timedelta(days=day)
        )
    history = backups.history("sw1")
    assert [v.version for v in history] == [4, 3, 2, 1]
    assert [v.run_id for v in history] == [4, 3, 2, 1]
    assert [v.version for v in backups.history("sw1", limit=2)] == [4, 3]
    assert [v.version for v in backups.history("sw2")] == [1]
    assert backups.history("nobody") == []
    assert backups.get("sw1").version == 4
    assert backups.content(backups.get("sw1", 2)) == "vlan 20\n"
    assert backups.latest("sw1") == history[0]
    assert backups.latest("nobody") is None
    assert {h: v.version for h, v in backups.latest_all().items()} == {"sw1": 4, "sw2": 1}


def test_diff_defaults_labels_and_equal_versions(backups):
    config = "hostname sw1\n" + "".join(f"interface Gi0/{i}\n!\n" for i in range(10))
    backups.save({"sw1": config, "sw2": "only\n"}, 1, None, T0)
    changed = config.replace("interface Gi0/5\n", "interface Gi0/5\n shutdown\n")
    backups.save({"sw1": changed}, 2, None, T0 + timedelta(days=1))
    backups.save({"sw1": changed + "end\n"}, 3, None, T0 + timedelta(days=2))

    assert backups.diff("sw1", 1, 2) == (
        "--- sw1 v1 (2024-05-01 02:00:00 UTC)\n"
        "+++ sw1 v2 (2024-05-02 02:00:00 UTC)\n"
        "@@ -10,6 +10,7 @@\n"
        " interface Gi0/4\n"
        " !\n"
        " interface Gi0/5\n"
        "+ shutdown\n"
        " !\n"
        " interface Gi0/6\n"
        " !\n"
    )
    # defaults: the latest against the one before it
    assert backups.diff("sw1").splitlines()[:2] == [
        "--- sw1 v2 (2024-05-02 02:00:00 UTC)",
        "+++ sw1 v3 (2024-05-03 02:00:00 UTC)",
    ]
    assert backups.diff("sw1", v2=2).startswith("--- sw1 v1 ")
    assert backups.diff("sw1", 1, 2, context=0).splitlines()[2:] == [
        "@@ -12,0 +13 @@",
        "+ shutdown",
    ]
    assert backups.diff("sw1", 2, 2) == ""
    # a host's first version diffs against nothing
    assert (
        backups.diff("sw2")
        == "--- /dev/null\n+++ sw2 v1 (2024-05-01 02:00:00 UTC)\n@@ -0,0 +1 @@\n+only\n"
    )


def test_unknown_hosts_and_versions_are_clear_errors(backups):
    for day in range(5):
        backups.save({"sw1": f"v{day}\n"}, None, None, T0 + timedelta(days=day))
    with pytest.raises(BackupNotFound, match=r"^no backup of sw9$"):
        backups.get("sw9")
    with pytest.raises(BackupNotFound, match=r"^sw1 has no version 7 \(versions 1-5\)$"):
        backups.get("sw1", 7)
    with pytest.raises(BackupNotFound, match="no backup of sw9"):
        backups.diff("sw9")
    with pytest.raises(BackupNotFound, match="sw1 has no version 0"):
        backups.diff("sw1", 0, 5)
    backups.prune(RetentionPolicy(keep_last=2), T0 + timedelta(days=10))
    with pytest.raises(BackupNotFound, match=r"sw1 has no version 1 \(versions 4-5\)"):
        backups.get("sw1", 1)


@pytest.mark.parametrize(
    "host",
    ["../etc/passwd", "a/b", "..", ".git", ".hidden", "-option", "", "sw 1", "sw1\n", "a\\b",
     'q"uote', "x" * 201],
)  # fmt: skip
def test_host_names_that_could_escape_the_repository_are_refused(backups, repo, host):
    with pytest.raises(BackupError, match="cannot name a backup file"):
        backups.save({"sw1": "fine\n", host: "evil\n"}, 1, None, T0)
    assert commits_or_none(repo) is None  # nothing of the run was written
    assert backups.latest_all() == {}


def test_names_inventories_use_are_accepted():
    for host in ["sw1", "core-rtr-01.dc1.example.net", "pdu_a", "fw1@site:2", "10.0.0.1"]:
        assert check_host_name(host) == host


def test_an_empty_configuration_never_replaces_a_stored_one(backups):
    backups.save({"sw1": "good\n"}, 1, None, T0)
    with pytest.raises(BackupError, match=r"empty configuration for sw1, sw2"):
        backups.save({"sw1": " \n", "sw2": "", "sw3": "ok\n"}, 2, None, T0)
    assert backups.content(backups.get("sw1")) == "good\n"
    assert backups.latest("sw3") is None


def test_naive_dates_are_refused(backups):
    with pytest.raises(ValueError, match="naive"):
        backups.save({"sw1": "a\n"}, 1, None, datetime(2024, 5, 1))


CRASHING_SAVE = """
import os, sys
from datetime import datetime, UTC
from pathlib import Path
from automator.store import Store
from automator.backups import _store

store = Store.open(sys.argv[1])
backups = _store.BackupStore(store, Path(sys.argv[2]))
_store._index = lambda *args: os._exit(17)  # the process dies between git and the index
backups.save({"sw1": "after\\n", "sw2": "new\\n"}, 7, 8, datetime(2024, 5, 3, 1, 0, tzinfo=UTC))
"""


def test_a_crash_between_git_and_the_index_is_repaired_on_start(store, repo, tmp_path):
    BackupStore(store, repo.parent).save({"sw1": "before\n"}, 6, None, T0)
    script = tmp_path / "crash.py"
    script.write_text(CRASHING_SAVE)
    done = subprocess.run([sys.executable, str(script), store.url, str(repo.parent)], check=False)
    assert done.returncode == 17
    tip = commits(repo)[0]
    with store.session() as session:  # git has the commit, the index does not
        assert session.scalar(select(func.count()).where(BackupVersion.commit == tip)) == 0

    backups = BackupStore(store, repo.parent)
    sw1, sw2 = backups.get("sw1"), backups.get("sw2")
    assert (sw1.version, sw1.commit, sw1.run_id, sw1.ticket_id) == (2, tip, 7, 8)
    assert sw1.at == datetime(2024, 5, 3, 1, 0, tzinfo=UTC)
    assert (sw2.version, sw2.lines, sw2.size) == (1, 1, 4)
    assert backups.content(sw2) == "new\n"
    assert backups.diff("sw1") == (
        "--- sw1 v1 (2024-05-01 02:00:00 UTC)\n+++ sw1 v2 (2024-05-03 01:00:00 UTC)\n"
        "@@ -1 +1 @@\n-before\n+after\n"
    )
    # the repair happens once: a second start and the next save find nothing to add
    BackupStore(store, repo.parent)
    backups.save({"sw1": "after\n", "sw2": "newer\n"}, 9, None, T0 + timedelta(days=3))
    assert [v.version for v in backups.history("sw2")] == [2, 1]
    assert [v.version for v in backups.history("sw1")] == [2, 1]


def test_a_new_database_is_rebuilt_from_the_repository(store, repo, tmp_path):
    first = BackupStore(store, repo.parent)
    for day in range(3):
        first.save({"sw1": f"v{day}\n", "sw2": "same\n"}, day, 100 + day, T0 + timedelta(days=day))
    fresh = Store.open(f"sqlite:///{tmp_path / 'fresh.db'}")
    rebuilt = BackupStore(fresh, repo.parent)
    assert rebuilt.history("sw1") == first.history("sw1")
    assert rebuilt.latest_all() == first.latest_all()
    fresh.dispose()


def test_an_index_the_repository_does_not_know_is_refused(store, repo, tmp_path):
    BackupStore(store, repo.parent).save({"sw1": "a\n"}, 1, None, T0)
    with pytest.raises(BackupError, match="has no commit: restore the repository"):
        BackupStore(store, tmp_path / "other-home")
    other = tmp_path / "other"
    BackupStore(Store.open(f"sqlite:///{tmp_path / 'other.db'}"), other).save(
        {"sw1": "b\n"}, 1, None, T0
    )
    with pytest.raises(BackupError, match="not in the history of"):
        BackupStore(store, other)


def test_concurrent_saves_neither_lose_nor_corrupt(store, repo):
    """Two stores (two lock descriptors, as two processes would have) saving at once."""
    stores = [BackupStore(store, repo.parent), BackupStore(store, repo.parent)]
    errors: list[BaseException] = []

    def worker(number: int) -> None:
        try:
            for round_ in range(15):
                configs = {f"sw{i}": f"{number}-{round_}-{i}\n" for i in range(20)}
                stores[number].save(configs, number * 100 + round_, None, T0)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(commits(repo)) == 30  # every save changed every host: 30 commits in one line
    for i in range(20):
        history = stores[0].history(f"sw{i}")
        assert [v.version for v in history] == list(range(30, 0, -1))
        assert len({v.commit for v in history}) == 30
    last = stores[1].get("sw7")
    assert stores[1].content(last) == git(repo, "show", "refs/heads/main:sw7")


def prune_fixture(backups: BackupStore) -> datetime:
    """sw1: versions 1-8, two a day at 06:00 and 18:00 from 2024-05-01; sw2: one version."""
    for n in range(8):
        at = datetime(2024, 5, 1 + n // 2, 6 + 12 * (n % 2), tzinfo=UTC)
        backups.save({"sw1": f"v{n + 1}\n"} | ({"sw2": "x\n"} if n == 0 else {}), n, None, at)
    return datetime(2024, 5, 4, 20, tzinfo=UTC)


@pytest.mark.parametrize(
    ("policy", "kept"),
    [
        (RetentionPolicy(), [8, 7, 6, 5, 4, 3, 2, 1]),
        (RetentionPolicy(keep_last=3), [8, 7, 6]),
        (RetentionPolicy(keep_days=2), [8, 7, 6, 5]),  # since 2024-05-02 20:00
        (RetentionPolicy(keep_daily_for_days=3), [8, 6, 4]),  # newest of 05-04, 05-03, 05-02
        (RetentionPolicy(keep_last=1, keep_daily_for_days=1), [8]),
        (RetentionPolicy(keep_last=2, keep_daily_for_days=4), [8, 7, 6, 4, 2]),
    ],
)
def test_prune_keeps_what_any_rule_keeps(backups, repo, policy, kept):
    now = prune_fixture(backups)
    before = commits(repo)
    result = backups.prune(policy, now)
    assert [v.version for v in backups.history("sw1")] == kept
    assert [v.version for v in backups.history("sw2")] == [1]  # the latest is always kept
    assert result.kept == len(kept) + 1
    dropped = sorted(set(range(1, 9)) - set(kept))
    assert result.removed == ({"sw1": dropped} if dropped else {})
    assert result.removed_count == len(dropped)
    assert commits(repo) == before  # git keeps its history
    # the kept versions still read, diff (against the previous kept one) and grow
    assert backups.content(backups.get("sw1")) == "v8\n"
    if len(kept) > 1:
        assert backups.diff("sw1").startswith(f"--- sw1 v{kept[1]} ")
    assert backups.save({"sw1": "v9\n"}, 9, None, now).versions["sw1"].version == 9


def test_the_latest_version_survives_any_policy(backups):
    now = prune_fixture(backups)
    backups.prune(RetentionPolicy(keep_days=1), now + timedelta(days=365))
    assert [v.version for v in backups.history("sw1")] == [8]
    assert {h: v.version for h, v in backups.latest_all().items()} == {"sw1": 8, "sw2": 1}


def test_retention_rules_must_be_positive():
    with pytest.raises(BackupError, match="keep_last must be 1 or more, not 0"):
        RetentionPolicy(keep_last=0)


def test_gc_consolidates_packs_and_writes_a_commit_graph(backups, repo):
    git(repo, "config", "gc.autoPackLimit", "2")
    git(repo, "config", "fastimport.unpackLimit", "0")  # every run its own pack
    for n in range(4):
        backups.save({f"sw{i}": f"{n}-{i}\n" for i in range(5)}, n, None, T0)
    assert len(list((repo / "objects" / "pack").glob("*.pack"))) == 4
    backups.gc()
    assert len(list((repo / "objects" / "pack").glob("*.pack"))) == 1
    assert (repo / "objects" / "info" / "commit-graph").exists()
    assert backups.content(backups.get("sw3", 2)) == "1-3\n"


def build_history(repo: Path, hosts: int, runs: int) -> None:
    """``runs`` backup runs changing every one of ``hosts`` devices, written as automator
    writes them (a fast-import per run would cost 20 s; one stream for all costs 4)."""
    subprocess.run(["git", "init", "-q", "--bare", "--initial-branch=main", str(repo)], check=True)
    stream = subprocess.Popen(
        ["git", "--git-dir", str(repo), "fast-import", "--quiet", "--date-format=raw"],
        stdin=subprocess.PIPE,
    )
    assert stream.stdin is not None
    for run in range(1, runs + 1):
        message = f"backup run #{run}: {hosts} changed of {hosts}\n\nRun: {run}\n".encode()
        when = int((T0 + timedelta(hours=run)).timestamp())
        parts = [
            b"commit refs/heads/main\ncommitter automator <automator@localhost> %d +0000\n" % when,
            b"data %d\n%s\n" % (len(message), message),
        ]
        for host in range(hosts):
            data = device_config(host, run)
            parts.append(b"M 100644 inline sw%03d\ndata %d\n%s\n" % (host, len(data), data))
        stream.stdin.write(b"".join(parts) + b"\n")
    stream.stdin.close()
    assert stream.wait() == 0


def device_config(host: int, run: int) -> bytes:
    lines = [f"hostname sw{host:03d}", f"! generation {run}"]
    for port in range(24):
        vlan = (port + run) % 7 + 10
        lines += [f"interface GigabitEthernet0/{port}", f" switchport access vlan {vlan}", "!"]
    return ("\n".join(lines) + "\n").encode()


def median_ms(call: object) -> float:
    assert callable(call)
    times = []
    for _ in range(5):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def test_history_and_diff_take_under_50_ms_at_100000_versions(store, repo):
    build_history(repo, hosts=300, runs=334)
    backups = BackupStore(store, repo.parent)  # indexes all 100,200 versions from the repository
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(BackupVersion)) == 100_200
        assert session.scalar(select(func.count()).select_from(BackupLatest)) == 300
    history_ms = median_ms(lambda: backups.history("sw150"))
    diff_ms = median_ms(lambda: backups.diff("sw150", 10, 300))
    latest_ms = median_ms(backups.latest_all)
    assert len(backups.history("sw150")) == 334
    assert "+ switchport access vlan" in backups.diff("sw150", 10, 300)
    assert history_ms <= 50, history_ms
    assert diff_ms <= 50, diff_ms
    assert latest_ms <= 50, latest_ms


@pytest.mark.postgres
def test_the_store_on_postgresql(tmp_path):
    """The same index on PostgreSQL: bulk insert, latest by (host, version), prune."""
    name = f"automator_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        "postgresql+psycopg://postgres@/postgres?host=/var/run/postgresql",
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        store = Store.open(f"postgresql://postgres@/{name}?host=/var/run/postgresql")
        backups = BackupStore(store, tmp_path / "backups")
        now = prune_fixture(backups)
        assert {h: v.version for h, v in backups.latest_all().items()} == {"sw1": 8, "sw2": 1}
        assert backups.diff("sw1", 1, 8).endswith("-v1\n+v8\n")
        assert backups.prune(RetentionPolicy(keep_last=2), now).removed == {
            "sw1": [1, 2, 3, 4, 5, 6]
        }
        assert [v.version for v in backups.history("sw1")] == [8, 7]
        assert backups.history("sw1")[0].at == datetime(2024, 5, 4, 18, tzinfo=UTC)
        store.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
