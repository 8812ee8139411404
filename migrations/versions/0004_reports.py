"""reports: indexes for /admin/reports and the CSV export

A period is a range of start times (created_at). The index also carries every other column
a report reads, so reports never visit the table (its name and email make rows twice as
wide): an index-only range scan on both databases. Its cost on the ticket path is within
measurement noise (bench.service_calls, docs/performance.md). Returning visitors look up
a visitor's earlier tickets (visitor_id, created_at).

Revision ID: 0004_reports
Revises: 0004_follow (written on 0003; chained after 0004_floor and 0004_follow when main
was merged)
"""
from alembic import op

revision = "0004_reports"
down_revision = "0004_follow"
branch_labels = None
depends_on = None
REPORT_COLUMNS = ("created_at", "status", "claimed_at", "ended_at", "staff_id", "table_number",
                  "visitor_id")


def upgrade():
    op.create_index("ix_tickets_report", "tickets", list(REPORT_COLUMNS))
    op.create_index("ix_tickets_visitor_created", "tickets", ["visitor_id", "created_at"])


def downgrade():
    op.drop_index("ix_tickets_visitor_created", table_name="tickets")
    op.drop_index("ix_tickets_report", table_name="tickets")
