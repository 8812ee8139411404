"""follow: follow links for visitors' phones, their email choice, the mail outbox

Revision ID: 0004_follow
Revises: 0004_floor
"""
import sqlalchemy as sa
from alembic import op

revision = "0004_follow"
down_revision = "0004_floor"  # re-chained after issue 13's 0004_floor reached main
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("visitors", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("wants_email", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "follow_codes",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("email_me", sa.Boolean(), nullable=False),
        sa.Column("almost_sent", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("ticket_id"),
        sa.UniqueConstraint("code_hash"),
    )
    op.create_table(
        "mail_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("mail_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_mail_outbox_due", ["next_attempt_at"], unique=False)
        batch_op.create_index("ix_mail_outbox_ticket_id", ["ticket_id"], unique=False)


def downgrade():
    with op.batch_alter_table("mail_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_mail_outbox_ticket_id")
        batch_op.drop_index("ix_mail_outbox_due")
    op.drop_table("mail_outbox")
    op.drop_table("follow_codes")
    with op.batch_alter_table("visitors", schema=None) as batch_op:
        batch_op.drop_column("wants_email")
