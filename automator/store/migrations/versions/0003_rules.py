"""rules: the state behind throttles, once-after waits and storm correlation

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 07:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "rule_alerts",
        sa.Column("rule", sa.String(length=100), nullable=False),
        sa.Column("fingerprint", sa.String(length=200), nullable=False),
        sa.Column("host", sa.String(length=200), nullable=True),
        sa.Column("group_key", sa.String(length=1000), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("rule", "fingerprint"),
    )
    with op.batch_alter_table("rule_alerts", schema=None) as batch_op:
        batch_op.create_index("ix_rule_alerts_fingerprint", ["fingerprint"], unique=False)

    op.create_table(
        "rule_fired",
        sa.Column("rule", sa.String(length=100), nullable=False),
        sa.Column("group_key", sa.String(length=1000), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("rule", "group_key"),
    )

    op.create_table(
        "rule_hits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=100), nullable=False),
        sa.Column("group_key", sa.String(length=1000), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rule_hits", schema=None) as batch_op:
        batch_op.create_index("ix_rule_hits_rule_group", ["rule", "group_key"], unique=False)

    op.create_table(
        "rule_incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=100), nullable=False),
        sa.Column("correlation_key", sa.String(length=1000), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rule_incidents", schema=None) as batch_op:
        batch_op.create_index(
            "ix_rule_incidents_rule_key", ["rule", "correlation_key"], unique=False
        )

    op.create_table(
        "rule_incident_members",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=200), nullable=False),
        sa.Column("host", sa.String(length=200), nullable=False),
        sa.Column("firing", sa.Boolean(), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["rule_incidents.id"],
        ),
        sa.PrimaryKeyConstraint("incident_id", "fingerprint"),
    )
    with op.batch_alter_table("rule_incident_members", schema=None) as batch_op:
        batch_op.create_index("ix_rule_incident_members_fingerprint", ["fingerprint"], unique=False)

    op.create_table(
        "rule_pending",
        sa.Column("rule", sa.String(length=100), nullable=False),
        sa.Column("group_key", sa.String(length=1000), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("fingerprint", sa.String(length=200), nullable=False),
        sa.Column("host", sa.String(length=200), nullable=True),
        sa.Column("vars", sa.JSON(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("firing", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["rule_incidents.id"],
        ),
        sa.PrimaryKeyConstraint("rule", "group_key"),
    )
    with op.batch_alter_table("rule_pending", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rule_pending_due_at"), ["due_at"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("rule_pending", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rule_pending_due_at"))

    op.drop_table("rule_pending")
    with op.batch_alter_table("rule_incident_members", schema=None) as batch_op:
        batch_op.drop_index("ix_rule_incident_members_fingerprint")

    op.drop_table("rule_incident_members")
    with op.batch_alter_table("rule_incidents", schema=None) as batch_op:
        batch_op.drop_index("ix_rule_incidents_rule_key")

    op.drop_table("rule_incidents")
    with op.batch_alter_table("rule_hits", schema=None) as batch_op:
        batch_op.drop_index("ix_rule_hits_rule_group")

    op.drop_table("rule_hits")
    op.drop_table("rule_fired")
    with op.batch_alter_table("rule_alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_rule_alerts_fingerprint")

    op.drop_table("rule_alerts")
