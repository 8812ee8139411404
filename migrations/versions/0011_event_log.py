"""event_log: every change screens see, numbered per site (issue 27)

`event_counters` (each site's last number; no foreign key, on purpose: it outlives its
site, so a reused site id keeps counting up) and `event_log` (one row per transaction and
site: its number, when, and its events as JSON; gone with the site, trimmed by age).
New tables only, no seed rows (the counter is an upsert), so the downgrade drops them.

Revision ID: 0011_event_log
Revises: 0010_admin_group
"""
import sqlalchemy as sa
from alembic import op

revision = "0011_event_log"
down_revision = "0010_admin_group"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "event_counters",
        sa.Column("site_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("site_id"),
    )
    op.create_table(
        "event_log",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("site_id", "seq"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_event_log_at", "event_log", ["at"])


def downgrade():
    op.drop_index("ix_event_log_at", table_name="event_log")
    op.drop_table("event_log")
    op.drop_table("event_counters")
