"""reports: indexes for /admin/reports and the CSV export

A period is a range of start times (created_at); returning visitors look up a visitor's
earlier tickets (visitor_id, created_at).

Revision ID: 0004_reports
Revises: 0003
"""
from alembic import op


revision = "0004_reports"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_tickets_created_at", "tickets", ["created_at"])
    op.create_index("ix_tickets_visitor_created", "tickets", ["visitor_id", "created_at"])


def downgrade():
    op.drop_index("ix_tickets_visitor_created", table_name="tickets")
    op.drop_index("ix_tickets_created_at", table_name="tickets")
