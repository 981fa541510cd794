"""ticket title search: an FTS5 trigram index on SQLite, pg_trgm on PostgreSQL

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# An external-content FTS5 table: the titles stay in `tickets`, the index follows them through
# triggers. Trigrams find any part of a title of 3 characters or more, case-insensitively.
_SQLITE_UP = (
    "CREATE VIRTUAL TABLE tickets_title_fts USING fts5("
    "title, content='tickets', content_rowid='id', tokenize='trigram')",
    "INSERT INTO tickets_title_fts(tickets_title_fts) VALUES ('rebuild')",
    "CREATE TRIGGER tickets_title_ai AFTER INSERT ON tickets BEGIN "
    "INSERT INTO tickets_title_fts(rowid, title) VALUES (new.id, new.title); END",
    "CREATE TRIGGER tickets_title_ad AFTER DELETE ON tickets BEGIN "
    "INSERT INTO tickets_title_fts(tickets_title_fts, rowid, title) "
    "VALUES ('delete', old.id, old.title); END",
    "CREATE TRIGGER tickets_title_au AFTER UPDATE OF title ON tickets BEGIN "
    "INSERT INTO tickets_title_fts(tickets_title_fts, rowid, title) "
    "VALUES ('delete', old.id, old.title); "
    "INSERT INTO tickets_title_fts(rowid, title) VALUES (new.id, new.title); END",
)
_SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS tickets_title_au",
    "DROP TRIGGER IF EXISTS tickets_title_ad",
    "DROP TRIGGER IF EXISTS tickets_title_ai",
    "DROP TABLE IF EXISTS tickets_title_fts",
)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in _SQLITE_UP:
            op.execute(statement)
    elif dialect == "postgresql":
        # ILIKE '%text%' uses a trigram GIN index by itself
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE INDEX IF NOT EXISTS ix_tickets_title_trgm ON tickets "
            "USING gin (title gin_trgm_ops)"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in _SQLITE_DOWN:
            op.execute(statement)
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_tickets_title_trgm")
