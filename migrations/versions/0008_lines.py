"""lines: service lines, priority and transfer (docs/lines.md)

Creates `lines`, `staff_lines` and `transfers`; every existing site gets one open line
named "General" and every ticket goes in it. Tickets gain `line_id` (NOT NULL),
`priority_reason`, `passed` and `transferred_from`.

PostgreSQL alters `tickets` in place; SQLite cannot make a column NOT NULL or add a
foreign key to a table, so Alembic's batch mode rebuilds it (with foreign keys off, as
migrations/env.py sets them for every upgrade).

Downgrade: drops the three tables and the four columns (lines, choices, priority marks and
transfer records are lost; every ticket stays).

Revision ID: 0008_lines
Revises: 0007_oidc
"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0008_lines"
down_revision = "0007_oidc"
branch_labels = None
depends_on = None

FIRST_LINE = "General"
STAMP = sa.DateTime(timezone=True)


def upgrade():
    _create_lines()
    op.execute(sa.text("INSERT INTO lines (site_id, name, position, open, created_at) "
                       "SELECT id, :name, 0, :yes, :now FROM sites")
               .bindparams(name=FIRST_LINE, yes=True,
                           now=datetime.now(UTC).replace(microsecond=0)))
    op.add_column("tickets", sa.Column("line_id", sa.Integer(), nullable=True))
    op.execute("UPDATE tickets SET line_id = "
               "(SELECT lines.id FROM lines WHERE lines.site_id = tickets.site_id)")
    with op.batch_alter_table("tickets") as tickets:
        tickets.alter_column("line_id", existing_type=sa.Integer(), nullable=False)
        tickets.add_column(sa.Column("priority_reason", sa.String(60), nullable=True))
        tickets.add_column(sa.Column("passed", sa.Integer(), nullable=False,
                                     server_default="0"))
        tickets.add_column(sa.Column("transferred_from", sa.Integer(), nullable=True))
        tickets.create_foreign_key("tickets_line_id_fkey", "lines", ["line_id"], ["id"],
                                   ondelete="CASCADE")
        tickets.create_foreign_key("tickets_transferred_from_fkey", "lines",
                                   ["transferred_from"], ["id"], ondelete="SET NULL")
        tickets.create_index("ix_tickets_line_status_id", ["line_id", "status", "id"])
    _create_choices_and_transfers()


def downgrade():
    op.drop_table("transfers")
    op.drop_table("staff_lines")
    with op.batch_alter_table("tickets") as tickets:
        tickets.drop_index("ix_tickets_line_status_id")
        tickets.drop_constraint("tickets_transferred_from_fkey", type_="foreignkey")
        tickets.drop_constraint("tickets_line_id_fkey", type_="foreignkey")
        for column in ("transferred_from", "passed", "priority_reason", "line_id"):
            tickets.drop_column(column)
    op.drop_index("uq_lines_site_name", table_name="lines")
    op.drop_table("lines")


def _create_lines():
    op.create_table(
        "lines",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("site_id", sa.Integer(), sa.ForeignKey("sites.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("removed_at", STAMP, nullable=True),
    )
    op.create_index("uq_lines_site_name", "lines", ["site_id", "name"], unique=True,
                    sqlite_where=sa.text("removed_at IS NULL"),
                    postgresql_where=sa.text("removed_at IS NULL"))


def _create_choices_and_transfers():
    op.create_table(
        "staff_lines",
        sa.Column("staff_id", sa.Integer(), sa.ForeignKey("staff.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("line_id", sa.Integer(), sa.ForeignKey("lines.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("site_id", sa.Integer(), sa.ForeignKey("sites.id", ondelete="CASCADE"),
                  nullable=False),
    )
    op.create_table(
        "transfers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("site_id", sa.Integer(), sa.ForeignKey("sites.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("tickets.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("from_line_id", sa.Integer(),
                  sa.ForeignKey("lines.id", ondelete="CASCADE"), nullable=False),
        sa.Column("to_line_id", sa.Integer(),
                  sa.ForeignKey("lines.id", ondelete="CASCADE"), nullable=False),
        sa.Column("staff_id", sa.Integer(), sa.ForeignKey("staff.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("table_number", sa.Integer(), nullable=True),
        sa.Column("claimed_at", STAMP, nullable=True),
        sa.Column("transferred_at", STAMP, nullable=False),
    )
    op.create_index("ix_transfers_ticket_id", "transfers", ["ticket_id"])
    op.create_index("ix_transfers_transferred_at", "transfers", ["transferred_at"])
