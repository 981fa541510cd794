"""Alembic environment: runs on the connection the Store hands over, or on a URL given to
the ``alembic`` command (``-x url=...``) when a developer makes a new revision."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from automator.store import Base, load_all_tables

load_all_tables()
target_metadata = Base.metadata
connection = context.config.attributes.get("connection")

if connection is not None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    url = context.get_x_argument(as_dictionary=True).get("url", "sqlite:///dev.db")
    with create_engine(url).connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
