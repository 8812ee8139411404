"""report days: finished days' report figures, so /admin/reports does not recount a year

A local day's figures are final once the day is over and none of its tickets still waits
or is being served; report_days keeps them per (zone, day) as mergeable aggregates (counts,
arrivals per hour, duration histograms). report_epoch is bumped by whatever forgets days
(purge, deleting a visitor, removing a staff account) so a report computed from an older
snapshot does not write them back.

Revision ID: 0005_report_days
Revises: 0004_reports
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_report_days"
down_revision = "0004_reports"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "report_days",
        sa.Column("zone", sa.String(64), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("start_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("figures", sa.Text(), nullable=False),
    )
    op.create_index("ix_report_days_start_utc", "report_days", ["start_utc"])
    op.create_table(
        "report_epoch",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("generation", sa.Integer(), nullable=False),
    )
    op.execute("INSERT INTO report_epoch (id, generation) VALUES (1, 0)")


def downgrade():
    op.drop_table("report_epoch")
    op.drop_index("ix_report_days_start_utc", table_name="report_days")
    op.drop_table("report_days")
