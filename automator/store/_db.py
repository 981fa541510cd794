"""Open the store: engine, sessions, and migration to the newest schema."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from automator.errors import StoreError

MIGRATIONS = Path(__file__).parent / "migrations"


def _newest_revision() -> str:
    """Revisions are numbered files ``NNNN_name.py`` each revising the one before: the newest
    is the largest number. Reading the folder costs microseconds; loading Alembic to ask it
    costs 0.4 s of every command's start-up (a test keeps the two answers equal)."""
    return max(path.name[:4] for path in (MIGRATIONS / "versions").glob("[0-9]*.py"))


SCHEMA_REVISION = _newest_revision()


class Store:
    """A database: SQLite in WAL mode by default, or PostgreSQL by URL."""

    def __init__(self, url: str) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise StoreError(f"database URL is not valid: {exc}") from None
        self.url = url
        self.dialect = parsed.get_backend_name()
        connect_args: dict[str, Any] = {}
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                folder = Path(parsed.database).parent
                try:
                    folder.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise StoreError(f"cannot create {folder}: {exc.strerror}") from None
            connect_args = {"timeout": 30, "check_same_thread": False}
        elif parsed.drivername == "postgresql":
            url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        self.engine: Engine = create_engine(url, connect_args=connect_args, pool_pre_ping=True)
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def open(cls, url: str) -> Store:
        """Open and migrate to the newest schema."""
        store = cls(url)
        store.migrate()
        return store

    def revision(self) -> str | None:
        """The schema revision the database is at, or None for an empty database."""
        with self.engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return None
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()

    def migrate(self, use_snapshot: bool = True) -> None:
        """Bring the schema to the newest revision. An empty SQLite database is made from the
        schema snapshot when it is at that revision (``_snapshot``), else by Alembic."""
        try:
            revision = self.revision()
            if revision == SCHEMA_REVISION:
                return
            if revision is None and use_snapshot and self._created_from_snapshot():
                return
            from alembic import command

            with self.engine.begin() as connection:
                config = _alembic_config()
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except DatabaseError as exc:
            raise StoreError(f"cannot open the database: {_reason(exc)}") from None
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot migrate the database: {_reason(exc)}") from None

    def _created_from_snapshot(self) -> bool:
        """Make an empty SQLite database from the snapshot; False when that is not for this
        database (another dialect, tables already there, a stale or missing snapshot)."""
        if self.dialect != "sqlite":
            return False
        from automator.store._snapshot import create_from_snapshot, read_snapshot

        snapshot = read_snapshot()
        if snapshot is None or snapshot[0] != SCHEMA_REVISION:
            return False
        raw = self.engine.raw_connection()
        try:
            connection = raw.driver_connection
            assert isinstance(connection, sqlite3.Connection)
            if connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                return False
            try:
                create_from_snapshot(connection, snapshot[1])
            except sqlite3.OperationalError as exc:
                # another process made the store meanwhile: its schema is the newest
                if self.revision() == SCHEMA_REVISION:
                    return True
                raise StoreError(f"cannot create the database: {exc}") from None
        finally:
            raw.close()
        return True

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed on success, rolled back on error."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except OperationalError as exc:
            session.rollback()
            raise StoreError(f"database error: {_reason(exc)}") from None
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


def _alembic_config() -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _reason(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig or exc).strip().splitlines()[0]
