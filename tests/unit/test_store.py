"""The store: migrations, the schema revision shortcut, SQLite pragmas, PostgreSQL."""

from __future__ import annotations

import sqlite3
import uuid
from contextlib import closing

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from automator.errors import StoreError
from automator.store import Store, _snapshot
from automator.store._db import MIGRATIONS, SCHEMA_REVISION
from automator.store._snapshot import read_snapshot, schema_of
from automator.tickets import TicketKind, TicketService


def test_schema_revision_is_alembics_head():
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_REVISION


def test_sqlite_store_is_migrated_and_in_wal_mode(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path / 'sub' / 'a.db'}")
    assert store.revision() == SCHEMA_REVISION
    with store.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    Store.open(store.url)  # opening again is a no-op
    store.dispose()


def test_bad_urls_and_unreachable_databases_are_store_errors(tmp_path):
    with pytest.raises(StoreError, match="database URL is not valid"):
        Store.open("not a url")
    (tmp_path / "plain-file").write_text("")
    with pytest.raises(StoreError, match=r"cannot create .*plain-file: File exists"):
        Store.open(f"sqlite:///{tmp_path}/plain-file/x.db")
    (tmp_path / "garbage.db").write_text("this is not a database" * 100)
    with pytest.raises(StoreError, match="cannot open the database: file is not a database"):
        Store.open(f"sqlite:///{tmp_path}/garbage.db")


@pytest.mark.postgres
def test_postgresql_store_round_trip():
    """The scale-out store: the same migrations and ticket service on PostgreSQL (over its
    local socket, which every network namespace can reach)."""
    name = f"automator_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        "postgresql+psycopg://postgres@/postgres?host=/var/run/postgresql",
        isolation_level="AUTOCOMMIT",
    )
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        pytest.fail(f"PostgreSQL is not running on this machine: {exc}")
    try:
        store = Store.open(f"postgresql://postgres@/{name}?host=/var/run/postgresql")
        assert store.dialect == "postgresql"
        assert store.revision() == SCHEMA_REVISION
        tickets = TicketService(store)
        ticket_id = tickets.open(kind=TicketKind.INCIDENT, title="pg", actor="t", hosts=["a"])
        tickets.add_entry(ticket_id, "comment", "t", "hello", {"k": [1, 2]})
        ticket = tickets.get(ticket_id)
        assert [e.kind for e in ticket.entries] == ["opened", "comment"]
        assert ticket.entries[1].data == {"k": [1, 2]}
        assert ticket.created_at.tzinfo is not None
        store.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def _master(path):
    with closing(sqlite3.connect(path)) as connection:
        return (
            sorted(schema_of(connection)),
            connection.execute("SELECT version_num FROM alembic_version").fetchall(),
        )


def test_the_schema_snapshot_is_what_the_migrations_make(tmp_path):
    """A new SQLite store is made from migrations/sqlite_schema.sql; it must be exactly what
    Alembic's migrations make. If this fails after a new migration, regenerate it:
    ``python -m automator.store._snapshot``."""
    assert read_snapshot() is not None and read_snapshot()[0] == SCHEMA_REVISION, (
        "the schema snapshot is stale: run python -m automator.store._snapshot"
    )
    migrated = Store(f"sqlite:///{tmp_path / 'migrated.db'}")
    migrated.migrate(use_snapshot=False)
    migrated.dispose()
    snapshot = Store.open(f"sqlite:///{tmp_path / 'snapshot.db'}")
    snapshot.dispose()
    assert _master(tmp_path / "snapshot.db") == _master(tmp_path / "migrated.db")
    # the snapshot's triggers keep the title index as the migration's do
    store = Store.open(f"sqlite:///{tmp_path / 'snapshot.db'}")
    tickets = TicketService(store)
    tickets.open(kind=TicketKind.INCIDENT, title="disk full on web1", actor="t", hosts=["a"])
    with store.engine.connect() as connection:
        found = connection.execute(
            text("SELECT rowid FROM tickets_title_fts WHERE title MATCH '\"full\"'")
        ).fetchall()
    assert len(found) == 1
    store.dispose()


def test_a_stale_snapshot_falls_back_to_the_migrations(tmp_path, monkeypatch):
    stale = tmp_path / "stale.sql"
    stale.write_text("-- automator SQLite schema at revision 0001\nCREATE TABLE bogus (x);\n")
    monkeypatch.setattr(_snapshot, "SNAPSHOT", stale)
    store = Store.open(f"sqlite:///{tmp_path / 'a.db'}")
    assert store.revision() == SCHEMA_REVISION
    with store.engine.connect() as connection:
        assert not inspect(connection).has_table("bogus")
    store.dispose()


def test_a_database_made_meanwhile_by_another_process_is_taken_as_it_is(tmp_path):
    """Two processes opening one new store at once: the second's snapshot fails on the
    first's tables, rolled back, and leaves the store the first made as it was."""
    first = Store.open(f"sqlite:///{tmp_path / 'a.db'}")
    late = Store(first.url)
    raw = late.engine.raw_connection()
    try:
        with pytest.raises(sqlite3.OperationalError, match="already exists"):
            _snapshot.create_from_snapshot(raw.driver_connection, read_snapshot()[1])
    finally:
        raw.close()
    assert late.revision() == SCHEMA_REVISION
    late.dispose()
    first.dispose()
