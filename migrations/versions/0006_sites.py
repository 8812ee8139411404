"""sites: many offices on one deployment; today's data becomes the default site

Creates `sites` and `staff_sites`, then the default site (slug DEFAULT_SITE, name
SITE_NAME, time zone TIMEZONE, tables: the stored `table_count` setting, else TABLE_COUNT;
that setting row moves into sites.tables). Every row of tickets, visitors,
table_assignments, device_keys, settings and report_days gains site_id = the default site,
keys and indexes become per site (docs/sites.md), and every staff account becomes a member
of the default site (Staff.is_admin still means admin of every site).

PostgreSQL alters the tables in place. SQLite cannot add a foreign key or change a primary
key, so each of the six tables is rebuilt (created anew, copied, the old one dropped, the
new one renamed); migrations/env.py turns foreign keys off for this (with them on,
dropping `tickets` would delete every follow code and outbox row) and runs
`PRAGMA foreign_key_check` before the commit.

Online only (`flask db upgrade`, not `--sql`): it reads the stored table count and the
default site's id back from the database.

Downgrade (best effort): only the default site's rows survive; every other site's tickets,
visitors, follow links, mail, table holders, device keys, settings and report days are
deleted, as are the sites and memberships. Staff accounts and sessions are kept.

Revision ID: 0006_sites
Revises: 0005_report_days
"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from flask import current_app

revision = "0006_sites"
down_revision = "0005_report_days"
branch_labels = None
depends_on = None

# Every table that gains site_id, parents before children (the order rows are deleted in
# reverse on downgrade).
PER_SITE = ("visitors", "tickets", "table_assignments", "device_keys", "settings",
            "report_days")
TABLE_COUNT_KEY = "table_count"
REPORT_COLUMNS = ["created_at", "status", "claimed_at", "ended_at", "staff_id",
                  "table_number", "visitor_id"]


def upgrade():
    bind = op.get_bind()
    _create_sites()
    site = _default_site(bind)
    op.execute(sa.text("INSERT INTO staff_sites (staff_id, site_id, is_admin) "
                       "SELECT id, :site, :no FROM staff").bindparams(site=site, no=False))
    if bind.dialect.name == "sqlite":
        for table in PER_SITE:
            _rebuild(table, sited=True, site=site)
    else:
        _alter_in_place(bind, site)


def downgrade():
    bind = op.get_bind()
    slug = current_app.config["DEFAULT_SITE"]
    site = bind.execute(sa.text("SELECT id FROM sites WHERE slug = :slug"),
                        {"slug": slug}).scalar()
    if site is None:
        raise RuntimeError(f"cannot downgrade: no default site {slug!r} to keep")
    _forget_other_sites(site)
    op.execute(sa.text("INSERT INTO settings (site_id, key, value) "
                       "SELECT id, :key, CAST(tables AS VARCHAR(16)) FROM sites WHERE id = :site")
               .bindparams(key=TABLE_COUNT_KEY, site=site))
    if bind.dialect.name == "sqlite":
        for table in PER_SITE:
            _rebuild(table, sited=False, site=site)
    else:
        _unalter_in_place()
    op.drop_index("ix_staff_sites_site_id", table_name="staff_sites")
    op.drop_table("staff_sites")
    op.drop_table("sites")


def _create_sites():
    op.create_table(
        "sites",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("slug", sa.String(40), nullable=False, unique=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("tables", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "staff_sites",
        sa.Column("staff_id", sa.Integer(), sa.ForeignKey("staff.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("site_id", sa.Integer(), sa.ForeignKey("sites.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("is_admin", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_staff_sites_site_id", "staff_sites", ["site_id"])


def _default_site(bind):
    """Insert the default site from today's configuration and settings; its id (whatever the
    sequence hands out: not assumed to be 1)."""
    config = current_app.config
    stored = bind.execute(sa.text("SELECT value FROM settings WHERE key = :key"),
                          {"key": TABLE_COUNT_KEY}).scalar()
    zone = config["TIMEZONE"]
    sites = sa.table("sites", sa.column("slug", sa.String), sa.column("name", sa.String),
                     sa.column("tables", sa.Integer), sa.column("timezone", sa.String),
                     sa.column("created_at", sa.DateTime(timezone=True)))
    bind.execute(sites.insert().values(
        slug=config["DEFAULT_SITE"], name=config["SITE_NAME"],
        tables=int(stored) if stored is not None else int(config["TABLE_COUNT"]),
        timezone=getattr(zone, "key", str(zone)),
        created_at=datetime.now(UTC).replace(microsecond=0),
    ))
    op.execute(sa.text("DELETE FROM settings WHERE key = :key").bindparams(key=TABLE_COUNT_KEY))
    return bind.execute(sa.text("SELECT id FROM sites WHERE slug = :slug"),
                        {"slug": config["DEFAULT_SITE"]}).scalar_one()


# -- PostgreSQL: in place ------------------------------------------------------------------

def _alter_in_place(bind, site):
    for table in PER_SITE:
        # NOT NULL with a constant default fills every row without rewriting the table
        # (PostgreSQL 11+); the default goes again, as the models have none.
        op.add_column(table, sa.Column("site_id", sa.Integer(), nullable=False,
                                       server_default=sa.text(str(int(site)))))
        op.alter_column(table, "site_id", server_default=None)
        op.create_foreign_key(f"{table}_site_id_fkey", table, "sites", ["site_id"], ["id"],
                              ondelete="CASCADE")
    inspector = sa.inspect(bind)
    op.drop_constraint(_unique_named(inspector, "visitors", ["email"]), "visitors",
                       type_="unique")
    op.create_unique_constraint("uq_visitors_site_email", "visitors", ["site_id", "email"])
    op.drop_constraint(_unique_named(inspector, "device_keys", ["name"]), "device_keys",
                       type_="unique")
    op.create_unique_constraint("uq_device_keys_site_name", "device_keys", ["site_id", "name"])
    for table, key in (("table_assignments", ["table_number"]), ("settings", ["key"]),
                       ("report_days", ["zone", "day"])):
        op.drop_constraint(inspector.get_pk_constraint(table)["name"], table, type_="primary")
        op.create_primary_key(f"{table}_pkey", table, ["site_id", *key])
    op.drop_index("ix_tickets_status_id", table_name="tickets")
    op.create_index("ix_tickets_site_status_id", "tickets", ["site_id", "status", "id"])
    op.drop_index("ix_tickets_report", table_name="tickets")
    op.create_index("ix_tickets_report", "tickets", ["site_id", *REPORT_COLUMNS])


def _unalter_in_place():
    for table in PER_SITE:
        # Drops its foreign key and every key and index it is part of along with it.
        op.drop_column(table, "site_id")
    op.create_unique_constraint("visitors_email_key", "visitors", ["email"])
    op.create_unique_constraint("device_keys_name_key", "device_keys", ["name"])
    for table, key in (("table_assignments", ["table_number"]), ("settings", ["key"]),
                       ("report_days", ["zone", "day"])):
        op.create_primary_key(f"{table}_pkey", table, key)
    op.create_index("ix_tickets_status_id", "tickets", ["status", "id"])
    op.create_index("ix_tickets_report", "tickets", REPORT_COLUMNS)


def _unique_named(inspector, table, columns):
    """The name PostgreSQL gave an unnamed unique constraint (visitors_email_key, usually)."""
    for unique in inspector.get_unique_constraints(table):
        if unique["column_names"] == columns:
            return unique["name"]
    raise RuntimeError(f"no unique constraint on {table} {columns} to replace")


# -- SQLite: rebuilt -----------------------------------------------------------------------

def _rebuild(table, *, sited, site):
    """Create the table's new shape beside it, copy every row (site_id = `site` on the way
    up), drop the old one and take its name; then its indexes. Foreign keys are off
    (env.py), so dropping the old table deletes nothing that refers to it, and the other
    tables' references name the table, not the old copy."""
    items = _shape(table, sited)
    columns = [c.name for c in items if isinstance(c, sa.Column) and c.name != "site_id"]
    op.create_table(f"_new_{table}", *items)
    listed = ", ".join(columns)
    if sited:
        op.execute(sa.text(f"INSERT INTO _new_{table} (site_id, {listed}) "
                           f"SELECT :site, {listed} FROM {table}").bindparams(site=site))
    else:
        op.execute(f"INSERT INTO _new_{table} ({listed}) SELECT {listed} FROM {table}")
    op.drop_table(table)
    op.rename_table(f"_new_{table}", table)
    _indexes(table, sited)


def _shape(table, sited):
    """The table's columns and keys, with site_id (this revision) or without (0005)."""
    site = [sa.Column("site_id", sa.Integer(), sa.ForeignKey("sites.id", ondelete="CASCADE"),
                      nullable=False)] if sited else []
    on_site = ["site_id"] if sited else []
    stamp = sa.DateTime(timezone=True)
    if table == "visitors":
        return [
            sa.Column("id", sa.Integer(), primary_key=True), *site,
            sa.Column("email", sa.String(254), nullable=False),
            sa.Column("name", sa.String(100), nullable=False),
            sa.Column("updated_at", stamp, nullable=False),
            sa.Column("wants_email", sa.Boolean(), nullable=False, server_default=sa.false()),
            sa.UniqueConstraint(*on_site, "email",
                                name="uq_visitors_site_email" if sited else None),
        ]
    if table == "tickets":
        return [
            sa.Column("id", sa.Integer(), primary_key=True), *site,
            sa.Column("visitor_id", sa.Integer(),
                      sa.ForeignKey("visitors.id", ondelete="CASCADE"), nullable=False),
            sa.Column("email", sa.String(254), nullable=False),
            sa.Column("name", sa.String(100), nullable=False),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("staff_id", sa.Integer(), sa.ForeignKey("staff.id", ondelete="SET NULL"),
                      nullable=True),
            sa.Column("table_number", sa.Integer(), nullable=True),
            sa.Column("created_at", stamp, nullable=False),
            sa.Column("claimed_at", stamp, nullable=True),
            sa.Column("ended_at", stamp, nullable=True),
            sa.Column("requeue_count", sa.Integer(), nullable=False, server_default="0"),
        ]
    if table == "table_assignments":
        return [
            *site,
            sa.Column("table_number", sa.Integer(), autoincrement=False, nullable=False),
            sa.Column("staff_id", sa.Integer(), sa.ForeignKey("staff.id", ondelete="CASCADE"),
                      nullable=False, unique=True),
            sa.Column("picked_at", stamp, nullable=False),
            sa.Column("away_since", stamp, nullable=True),
            sa.PrimaryKeyConstraint(*on_site, "table_number"),
        ]
    if table == "device_keys":
        return [
            sa.Column("id", sa.Integer(), primary_key=True), *site,
            sa.Column("kind", sa.String(16), nullable=False),
            sa.Column("name", sa.String(32), nullable=False),
            sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
            sa.Column("created_at", stamp, nullable=False),
            sa.Column("revoked_at", stamp, nullable=True),
            sa.UniqueConstraint(*on_site, "name",
                                name="uq_device_keys_site_name" if sited else None),
        ]
    if table == "settings":
        return [
            *site,
            sa.Column("key", sa.String(64), nullable=False),
            sa.Column("value", sa.String(1024), nullable=False),
            sa.PrimaryKeyConstraint(*on_site, "key"),
        ]
    assert table == "report_days", table
    return [
        *site,
        sa.Column("zone", sa.String(64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("start_utc", stamp, nullable=False),
        sa.Column("end_utc", stamp, nullable=False),
        sa.Column("figures", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint(*on_site, "zone", "day"),
    ]


def _indexes(table, sited):
    """The indexes a rebuilt table had (0005) or has (this revision)."""
    on_site = ["site_id"] if sited else []
    if table == "tickets":
        serving = sa.text("status = 'serving'")
        op.create_index("uq_tickets_one_serving_per_staff", "tickets", ["staff_id"],
                        unique=True, sqlite_where=serving, postgresql_where=serving)
        op.create_index("ix_tickets_site_status_id" if sited else "ix_tickets_status_id",
                        "tickets", [*on_site, "status", "id"])
        op.create_index("ix_tickets_report", "tickets", [*on_site, *REPORT_COLUMNS])
        op.create_index("ix_tickets_visitor_created", "tickets", ["visitor_id", "created_at"])
    elif table == "report_days":
        op.create_index("ix_report_days_start_utc", "report_days", ["start_utc"])


# -- downgrade: what only the default site keeps --------------------------------------------

def _forget_other_sites(site):
    """Delete every other site's rows, children first: on SQLite foreign keys are off
    (env.py), so nothing cascades by itself."""
    others = "(SELECT id FROM tickets WHERE site_id <> :site)"
    for child in ("mail_outbox", "follow_codes"):
        op.execute(sa.text(f"DELETE FROM {child} WHERE ticket_id IN {others}")
                   .bindparams(site=site))
    for table in reversed(PER_SITE):
        op.execute(sa.text(f"DELETE FROM {table} WHERE site_id <> :site").bindparams(site=site))
