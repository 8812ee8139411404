"""oidc: staff sign in through the organisation's OpenID Connect provider

staff.email (matched at the first sign-in), staff.oidc_subject (the provider's `sub`, which
finds the account from then on), staff.group_admin (admin through OIDC_ADMIN_GROUP as of the
last sign-in); pending_sign_ins holds each sign-in's `state` until its callback takes it.

Revision ID: 0007_oidc
Revises: 0006_sites
"""
import sqlalchemy as sa
from alembic import op

revision = "0007_oidc"
down_revision = "0006_sites"
branch_labels = None
depends_on = None


def upgrade():
    # Added columns and unique indexes, not constraints: on SQLite a constraint would mean
    # rebuilding `staff`, whose drop would cascade into every table that points at it.
    op.add_column("staff", sa.Column("email", sa.String(254), nullable=True))
    op.add_column("staff", sa.Column("oidc_subject", sa.String(255), nullable=True))
    op.add_column("staff", sa.Column("group_admin", sa.Boolean(), nullable=False,
                                     server_default=sa.false()))
    op.create_index("ix_staff_email", "staff", ["email"], unique=True)
    op.create_index("ix_staff_oidc_subject", "staff", ["oidc_subject"], unique=True)
    op.create_table(
        "pending_sign_ins",
        sa.Column("state_hash", sa.String(64), primary_key=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_pending_sign_ins_expires_at", "pending_sign_ins", ["expires_at"])


def downgrade():
    op.drop_index("ix_pending_sign_ins_expires_at", table_name="pending_sign_ins")
    op.drop_table("pending_sign_ins")
    op.drop_index("ix_staff_oidc_subject", table_name="staff")
    op.drop_index("ix_staff_email", table_name="staff")
    # Not batch mode, for the same reason; SQLite (3.35 and later) drops these in place.
    for column in ("group_admin", "oidc_subject", "email"):
        op.drop_column("staff", column)
