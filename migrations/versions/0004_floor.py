"""floor: put-back counter, stepping away, room in settings for an announcement

Revision ID: 0004_floor
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004_floor"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("requeue_count", sa.Integer(), nullable=False,
                                   server_default="0"))
    with op.batch_alter_table("table_assignments") as batch:
        batch.add_column(sa.Column("away_since", sa.DateTime(timezone=True), nullable=True))
    # An announcement is up to 280 characters; hours a few lines.
    with op.batch_alter_table("settings") as batch:
        batch.alter_column("value", type_=sa.String(length=1024),
                           existing_type=sa.String(length=256), existing_nullable=False)


def downgrade():
    with op.batch_alter_table("settings") as batch:
        batch.alter_column("value", type_=sa.String(length=256),
                           existing_type=sa.String(length=1024), existing_nullable=False)
    with op.batch_alter_table("table_assignments") as batch:
        batch.drop_column("away_since")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("requeue_count")
