"""admin_group: which OIDC_ADMIN_GROUP made an account admin of every site

staff.group_admin (a flag: admin through OIDC_ADMIN_GROUP as of the last sign-in) becomes
staff.admin_group (which group it was), so that the flag cannot outlive the setting: the
account is admin of every site only while OIDC_ISSUER is set and admin_group equals
OIDC_ADMIN_GROUP (models/people.py, Staff.admin_everywhere).

The upgrade cannot know which group set a true flag, so every account's admin_group starts
NULL: an admin through the group is one again at its next sign-in through the provider
(its sessions until then are not admin). Admins made with the CLI or at /admin
(staff.is_admin) are untouched. The downgrade likewise leaves every flag false: a recorded
group may no longer be OIDC_ADMIN_GROUP, and the old code would honour the flag anyway.

Revision ID: 0010_admin_group
Revises: 0009_sms
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_admin_group"
down_revision = "0009_sms"
branch_labels = None
depends_on = None


def upgrade():
    # Not batch mode (as in 0007_oidc): SQLite (3.35 and later) adds and drops these in
    # place, where a rebuild of `staff` would cascade into every table that points at it.
    op.add_column("staff", sa.Column("admin_group", sa.String(255), nullable=True))
    op.drop_column("staff", "group_admin")


def downgrade():
    op.add_column("staff", sa.Column("group_admin", sa.Boolean(), nullable=False,
                                     server_default=sa.false()))
    op.drop_column("staff", "admin_group")
