"""service desk: SLA clocks, notifications, ITSM links and outbox, service reviews,
ticket fields and list indexes

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "service_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant", sa.String(length=100), nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("minutes", sa.Text(), nullable=False),
        sa.Column("attendees", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("service_reviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_service_reviews_tenant"), ["tenant"], unique=False)

    op.create_table(
        "itsm_links",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("system", sa.String(length=50), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_pushed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_pulled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("remote_updated_on", sa.String(length=40), nullable=True),
        sa.Column("last_journal_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
        ),
        sa.PrimaryKeyConstraint("ticket_id", "system"),
        sa.UniqueConstraint("system", "external_id"),
    )
    op.create_table(
        "itsm_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("system", sa.String(length=50), nullable=False),
        sa.Column("operation", sa.String(length=30), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("system", "dedupe_key"),
    )
    with op.batch_alter_table("itsm_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_itsm_outbox_due", ["system", "status", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_itsm_outbox_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=50), nullable=False),
        sa.Column("target", sa.String(length=300), nullable=False),
        sa.Column("reason", sa.String(length=50), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index("ix_notifications_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_notifications_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "ticket_sla",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("contract", sa.String(length=100), nullable=False),
        sa.Column("response_target_s", sa.Float(), nullable=False),
        sa.Column("resolution_target_s", sa.Float(), nullable=False),
        sa.Column("response_due", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolution_due", sa.DateTime(timezone=True), nullable=False),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused_s", sa.Float(), nullable=False),
        sa.Column("response_warned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_warned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("response_breached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_breached_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
        ),
        sa.PrimaryKeyConstraint("ticket_id"),
    )
    with op.batch_alter_table("ticket_sla", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ticket_sla_resolution_due"), ["resolution_due"], unique=False
        )

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("contract", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("satisfaction", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("satisfaction_note", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("analysis", sa.Text(), nullable=True))
        batch_op.create_index("ix_tickets_kind_id", ["kind", "id"], unique=False)
        batch_op.create_index("ix_tickets_owner_id", ["owner", "id"], unique=False)
        batch_op.create_index("ix_tickets_priority_id", ["priority", "id"], unique=False)
        batch_op.create_index("ix_tickets_status_id", ["status", "id"], unique=False)
        batch_op.create_index("ix_tickets_tenant_id", ["tenant", "id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_tenant_id")
        batch_op.drop_index("ix_tickets_status_id")
        batch_op.drop_index("ix_tickets_priority_id")
        batch_op.drop_index("ix_tickets_owner_id")
        batch_op.drop_index("ix_tickets_kind_id")
        batch_op.drop_column("analysis")
        batch_op.drop_column("satisfaction_note")
        batch_op.drop_column("satisfaction")
        batch_op.drop_column("contract")
        batch_op.drop_column("closed_at")
        batch_op.drop_column("acknowledged_at")

    with op.batch_alter_table("ticket_sla", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_sla_resolution_due"))

    op.drop_table("ticket_sla")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notifications_ticket_id"))
        batch_op.drop_index("ix_notifications_due")

    op.drop_table("notifications")
    with op.batch_alter_table("itsm_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_itsm_outbox_ticket_id"))
        batch_op.drop_index("ix_itsm_outbox_due")

    op.drop_table("itsm_outbox")
    op.drop_table("itsm_links")
    with op.batch_alter_table("service_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_reviews_tenant"))

    op.drop_table("service_reviews")
