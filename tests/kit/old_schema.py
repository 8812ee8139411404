"""A database as it was before sites (0005_report_days), for the upgrade tests
(tests/cli/test_upgrade.py): every kind of row that schema holds, written with Core inserts,
and read back table by table; a schema as the inspector sees it."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import NullPool
from werkzeug.security import generate_password_hash

from tests.kit.database import fresh_postgres_database
from tests.kit.live import LiveServer

NOW = datetime.now(UTC).replace(microsecond=0)
TOKEN = "bob-token-" + "x" * 20
CODE = "A" * 22  # a follow code's shape (secrets.token_urlsafe(16))
EVERY_TABLE = ("staff", "staff_sessions", "visitors", "tickets", "table_assignments",
               "device_keys", "settings", "follow_codes", "mail_outbox", "report_days",
               "report_epoch")



def database_url(workdir: Path, name: str) -> str:
    """A new, empty database: PostgreSQL's with TEST_DATABASE_URL, else a SQLite file."""
    if os.environ.get("TEST_DATABASE_URL"):
        return fresh_postgres_database()
    return f"sqlite:///{workdir / name}"


def sha256(text: str) -> str:
    from tablequeue.service.identity import hash_token

    return hash_token(text)


def put(conn: sa.Connection, table: str, **values: Any) -> None:
    """One row through a typed Core insert (datetimes bound as each database stores them)."""
    kinds = {datetime: sa.DateTime(timezone=True), date: sa.Date(), bool: sa.Boolean()}
    columns = [sa.column(k, kinds.get(type(v), sa.types.NULLTYPE)) for k, v in values.items()]
    conn.execute(sa.table(table, *columns).insert().values(**values))


def ident(conn: sa.Connection, sql: str, **params: Any) -> int:
    return int(conn.execute(sa.text(sql), params).scalar_one())


def populate(server: LiveServer) -> dict[str, int]:
    """Every kind of row today's schema holds; the ids a later check needs."""
    engine = server.engine()
    ago = lambda minutes: NOW - timedelta(minutes=minutes)  # noqa: E731
    with engine.begin() as conn:
        for name, admin, active in (("ada", True, True), ("bob", False, True),
                                    ("cy", False, True), ("dee", False, False)):
            put(conn, "staff", username=name, password_hash=generate_password_hash("password123"),
                is_admin=admin, active=active, created_at=ago(600))
        staff = {name: ident(conn, "SELECT id FROM staff WHERE username = :n", n=name)
                 for name in ("ada", "bob", "cy", "dee")}
        put(conn, "staff_sessions", staff_id=staff["bob"], token_hash=sha256(TOKEN),
            created_at=ago(60), expires_at=NOW + timedelta(days=1), revoked_at=None)
        put(conn, "staff_sessions", staff_id=staff["ada"], token_hash=sha256("old"),
            created_at=ago(600), expires_at=ago(1), revoked_at=ago(30))
        people = {"linus": ("linus@example.org", "Linus Torvalds", False),
                  "margaret": ("margaret@example.org", "Margaret Hamilton", False),
                  "alan": ("alan@example.org", "Alan Turing", False),
                  "grace": ("grace@example.org", "Grace Hopper", True),
                  "edsger": ("edsger@example.org", "Edsger Dijkstra", False)}
        ids = dict(staff)
        for key, (email, name, wants) in people.items():
            put(conn, "visitors", email=email, name=name, updated_at=ago(200), wants_email=wants)
            visitor = ident(conn, "SELECT id FROM visitors WHERE email = :e", e=email)
            ids[key] = _ticket(conn, key, visitor, email, name, staff)
        put(conn, "table_assignments", table_number=4, staff_id=staff["bob"], picked_at=ago(90),
            away_since=None)
        put(conn, "table_assignments", table_number=7, staff_id=staff["cy"], picked_at=ago(80),
            away_since=ago(5))
        for kind, name in (("kiosk", "lobby"), ("display", "tv")):
            put(conn, "device_keys", kind=kind, name=name, key_hash=sha256(name), created_at=ago(9),
                revoked_at=None)
        for key, value in (("table_count", "12"), ("announcement", "The printer is down"),
                           ("announcement_until", (NOW + timedelta(days=1)).isoformat()),
                           ("hours", "mon-sun 00:00-24:00"),
                           ("line", f"open {ago(1).isoformat()}")):
            put(conn, "settings", key=key, value=value)
        put(conn, "follow_codes", ticket_id=ids["grace"], code_hash=sha256(CODE), email_me=True,
            almost_sent=False, created_at=ago(10))
        put(conn, "mail_outbox", ticket_id=ids["grace"], kind="signin",
            recipient="grace@example.org", subject="You are in line", body_text="text",
            body_html="<p>html</p>",
            created_at=ago(10), attempts=2, next_attempt_at=ago(1), claimed_until=None,
            last_error="421 try later")
        put(conn, "report_days", zone="Europe/Berlin", day=(NOW - timedelta(days=2)).date(),
            start_utc=ago(3 * 1440), end_utc=ago(2 * 1440), figures='{"served": 1}')
        conn.execute(sa.text("UPDATE report_epoch SET generation = 3"))
    engine.dispose()
    return ids


def _ticket(conn: sa.Connection, key: str, visitor: int, email: str, name: str,
            staff: dict[str, int]) -> int:
    """linus completed and margaret cancelled by ada, alan served by bob at table 4, grace
    and edsger (put back once) waiting."""
    status, by, table, start = {
        "linus": ("completed", "ada", 2, 180), "margaret": ("cancelled", "ada", 2, 170),
        "alan": ("serving", "bob", 4, 30), "grace": ("waiting", None, None, 20),
        "edsger": ("waiting", None, None, 10)}[key]
    started = NOW - timedelta(minutes=start)
    claimed = started + timedelta(minutes=5) if by else None
    ended = claimed + timedelta(minutes=5) if claimed and status != "serving" else None
    put(conn, "tickets", visitor_id=visitor, email=email, name=name, status=status,
        staff_id=staff[by] if by else None, table_number=table, created_at=started,
        claimed_at=claimed, ended_at=ended, requeue_count=1 if key == "edsger" else 0)
    return ident(conn, "SELECT id FROM tickets WHERE visitor_id = :v", v=visitor)


def snapshot(server: LiveServer, columns: dict[str, list[str]] | None = None
             ) -> dict[str, set[tuple[Any, ...]]]:
    """Every row of every table of today's schema, by the columns it had before sites."""
    engine = server.engine()
    inspector = sa.inspect(engine)
    columns = columns or {t: [c["name"] for c in inspector.get_columns(t)] for t in EVERY_TABLE}
    with engine.connect() as conn:
        rows = {t: {tuple(r) for r in conn.execute(sa.text(
            f"SELECT {', '.join(columns[t])} FROM {t}"))} for t in EVERY_TABLE}
    engine.dispose()
    return rows


def describe(url: str) -> dict[str, Any]:
    """A schema as the inspector reads it: columns, keys, foreign keys, uniques, indexes
    (partial ones with their condition), table by table."""
    engine = sa.create_engine(url, poolclass=NullPool)
    inspector = sa.inspect(engine)
    tables: dict[str, Any] = {}
    for t in sorted(set(inspector.get_table_names()) - {"alembic_version"}):
        tables[t] = {
            "columns": sorted((c["name"], str(c["type"]), c["nullable"])
                              for c in inspector.get_columns(t)),
            "primary key": inspector.get_pk_constraint(t)["constrained_columns"],
            "foreign keys": sorted(
                (tuple(f["constrained_columns"]), f["referred_table"],
                 tuple(f["referred_columns"]), str(f["options"]))
                for f in inspector.get_foreign_keys(t)),
            "uniques": sorted((str(u["name"]), tuple(u["column_names"]))
                              for u in inspector.get_unique_constraints(t)),
            "indexes": sorted(
                (str(i["name"]), tuple(i["column_names"]), bool(i["unique"]),
                 str({k: str(v) for k, v in i.get("dialect_options", {}).items()}))
                for i in inspector.get_indexes(t)),
        }
    engine.dispose()
    return tables
