"""The server's database seen from the tests: a PostgreSQL database of its own per server
(with TEST_DATABASE_URL), rows read straight from it, waiting tickets written in bulk, a
SQLite file's write lock held, and every table emptied between tests (LiveServer.reset)."""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from tablequeue.outcomes import SiteId
from tablequeue.service import eventlog

if TYPE_CHECKING:
    from tests.kit.live import LiveServer


def fresh_postgres_database() -> str:
    """A new, empty database on the TEST_DATABASE_URL server (dropped by LiveServer.close)."""
    base = os.environ["TEST_DATABASE_URL"]
    name = "tq_" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.rsplit("/", 1)[0] + "/" + name


def drop_postgres_database(url: str) -> None:
    admin = sa.create_engine(os.environ["TEST_DATABASE_URL"], isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


@contextmanager
def sqlite_write_lock(server: LiveServer) -> Iterator[None]:
    """Another process holds the SQLite file's write lock: each of the server's write
    transactions waits for it (its busy timeout is 5 s), until the block ends."""
    holder = sqlite3.connect(server.database_url.removeprefix("sqlite:///"),
                             isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def default_site_id(server: LiveServer, conn: sa.Connection) -> int:
    """The id of the site today's URLs serve (DEFAULT_SITE, "main" unless the server says)."""
    slug = server.env.get("DEFAULT_SITE") or "main"
    return int(conn.execute(sa.text("SELECT id FROM sites WHERE slug = :slug"),
                            {"slug": slug}).scalar_one())


def first_line_id(conn: sa.Connection, site: int) -> int:
    """The site's first line (every site has one, docs/lines.md): where rows written
    behind the application's back put their tickets."""
    return int(conn.execute(sa.text(
        "SELECT id FROM lines WHERE site_id = :site AND removed_at IS NULL "
        "ORDER BY position, id LIMIT 1"), {"site": site}).scalar_one())


def rows(server: LiveServer, sql: str, **params: object) -> list[tuple]:
    """The rows `sql` reads from the server's database, as tuples."""
    engine = server.engine()
    with engine.connect() as conn:
        result = [tuple(r) for r in conn.execute(sa.text(sql), params)]
    engine.dispose()
    return result


def status_of(server: LiveServer, ticket_id: int) -> tuple[str, str | None, object]:
    """(status, staff username, ended_at) straight from the database."""
    engine = server.engine()
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT t.status, s.username, t.ended_at FROM tickets t "
                "LEFT JOIN staff s ON s.id = t.staff_id WHERE t.id = :id"
            ),
            {"id": ticket_id},
        ).one()
    engine.dispose()
    return row[0], row[1], row[2]


def seed_waiting(server: LiveServer, count: int) -> None:
    """`count` waiting tickets, written in two statements rather than `count` kiosk visits."""
    from tablequeue.extensions import db
    from tablequeue.models import Ticket, Visitor

    with server.app.app_context():
        site = default_site_id(server, db.session.connection())
        line = first_line_id(db.session.connection(), site)
        people = [{"site_id": site, "email": f"visitor{i}@example.org",
                   "name": f"Visitor Number {i}"} for i in range(count)]
        returning = sa.insert(Visitor).returning(Visitor.id, sort_by_parameter_order=True)
        ids = db.session.scalars(returning, people).all()
        db.session.execute(sa.insert(Ticket), [
            {"visitor_id": visitor_id, "line_id": line, **person}
            for visitor_id, person in zip(ids, people, strict=True)])
        db.session.commit()
        db.session.remove()


def empty_but_the_default_site(conn: sa.Connection, env: Mapping[str, str]) -> None:
    """LiveServer.reset, in the caller's transaction: every table emptied but the schema's;
    the default site left as the server's configuration (`env`) makes it, with its one
    line. The event log goes as the app lets it go (eventlog.forget: numbers stay)."""
    slug = env.get("DEFAULT_SITE") or "main"
    every = conn.execute(sa.text("SELECT id FROM sites")).scalars()
    eventlog.forget(conn, [SiteId(site) for site in every])
    for table in (
        "mail_outbox", "outbox", "sms_subscriptions", "sms_opt_outs",
        "webhook_endpoints", "follow_codes", "transfers", "staff_lines", "tickets",
        "lines", "visitors", "table_assignments",
        "staff_sessions", "staff_sites", "staff", "settings", "report_days",
    ):
        conn.execute(sa.text(f"DELETE FROM {table}"))
    others = "(SELECT id FROM sites WHERE slug != :slug)"
    conn.execute(sa.text(f"DELETE FROM device_keys WHERE site_id IN {others}"),
                 {"slug": slug})
    conn.execute(sa.text("DELETE FROM sites WHERE slug != :slug"), {"slug": slug})
    conn.execute(sa.text("UPDATE sites SET tables = :n, timezone = :zone, name = :name"
                         " WHERE slug = :slug"),
                 {"n": int(env.get("TABLE_COUNT") or 10), "slug": slug,
                  "zone": env.get("TIMEZONE") or "UTC",
                  "name": env.get("SITE_NAME") or "tablequeue"})
    # Its one line, as a new site starts (docs/lines.md).
    conn.execute(sa.text("INSERT INTO lines (site_id, name, position, open, created_at)"
                         " SELECT id, 'General', 0, :yes, :now FROM sites")
                 .bindparams(sa.bindparam("now", type_=sa.DateTime(timezone=True))),
                 {"yes": True, "now": datetime.now(UTC).replace(microsecond=0)})
