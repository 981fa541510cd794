"""breaker resets: an operator closes a rule's circuit breaker

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "breaker_resets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=200), nullable=False),
        sa.Column("reset_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reset_by", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("breaker_resets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_breaker_resets_rule"), ["rule"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("breaker_resets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_breaker_resets_rule"))
    op.drop_table("breaker_resets")
