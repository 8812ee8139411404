"""sms and webhooks: text subscriptions, opted-out numbers, webhook endpoints, the outbox

`sms_subscriptions` (a ticket's number, in E.164, gone with the ticket), `sms_opt_outs`
(numbers that replied STOP), `webhook_endpoints` (per site, each with its secret) and
`outbox` (texts and webhook deliveries, written in the transaction that made them due).
New tables only: nothing existing changes, so the downgrade drops them.

Revision ID: 0009_sms
Revises: 0008_lines
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_sms"
# Written on 0006_sites, then 0007_oidc; after 0008_lines since the lines and sms branches
# were integrated (next). New tables only, so nothing here depends on lines.
down_revision = "0008_lines"
branch_labels = None
depends_on = None


def _when(name, nullable=False):
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade():
    op.create_table(
        "sms_subscriptions",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("almost_sent", sa.Boolean(), nullable=False),
        _when("created_at"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("ticket_id"),
    )
    op.create_index("ix_sms_subscriptions_number", "sms_subscriptions", ["number"])
    op.create_table(
        "sms_opt_outs",
        sa.Column("number", sa.String(length=16), nullable=False),
        _when("created_at"),
        sa.PrimaryKeyConstraint("number"),
    )
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("events", sa.String(length=200), nullable=False),
        sa.Column("personal", sa.Boolean(), nullable=False),
        sa.Column("secret", sa.String(length=100), nullable=False),
        _when("created_at"),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("endpoint_id", sa.Integer(), nullable=True),
        sa.Column("recipient", sa.String(length=16), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("provider_status", sa.String(length=24), nullable=True),
        _when("created_at"),
        _when("sent_at", nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _when("next_attempt_at"),
        _when("claimed_until", nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["endpoint_id"], ["webhook_endpoints.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_outbox_due", "outbox", ["channel", "state", "next_attempt_at"])
    op.create_index("ix_outbox_order", "outbox", ["endpoint_id", "ticket_id", "id"])
    op.create_index("ix_outbox_ticket_id", "outbox", ["ticket_id"])


def downgrade():
    op.drop_index("ix_outbox_ticket_id", table_name="outbox")
    op.drop_index("ix_outbox_order", table_name="outbox")
    op.drop_index("ix_outbox_due", table_name="outbox")
    op.drop_table("outbox")
    op.drop_table("webhook_endpoints")
    op.drop_table("sms_opt_outs")
    op.drop_index("ix_sms_subscriptions_number", table_name="sms_subscriptions")
    op.drop_table("sms_subscriptions")
