"""The store: migrations, the schema revision shortcut, SQLite pragmas, PostgreSQL."""

from __future__ import annotations

import uuid

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from automator.errors import StoreError
from automator.store import Store
from automator.store._db import MIGRATIONS, SCHEMA_REVISION
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
