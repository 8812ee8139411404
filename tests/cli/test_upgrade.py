"""`flask db upgrade` from a populated database at 0005_report_days (the head before sites):
every row survives, now in the default site, staff are its members, the table count moves
into the site; the upgraded schema is exactly the models'; and a real server on the
upgraded database shows a seed client on the old URLs the state it had before; then
0008_lines puts every site's tickets in its one line (docs/lines.md), and 0009_sms (the head)
adds the texts' and webhooks' tables above it. On SQLite, and on
PostgreSQL when TEST_DATABASE_URL is set."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy.pool import NullPool
from werkzeug.security import generate_password_hash

from tests.kit.client import ticket
from tests.kit.database import drop_postgres_database, fresh_postgres_database
from tests.kit.live import ROOT, LiveServer

BEFORE = "0005_report_days"
HEAD = ScriptDirectory(str(ROOT / "migrations")).get_current_head()
SITES = "0006_sites"
# What 0008_lines upgrades from (its own test starts there).
BEFORE_LINES = ScriptDirectory(str(ROOT / "migrations")).get_revision("0008_lines").down_revision
SLUG = "front-desk"  # not "main": the migration reads DEFAULT_SITE
SERVER_ENV = {"DEFAULT_SITE": SLUG, "SITE_NAME": "Front Desk", "TIMEZONE": "Europe/Berlin",
              "RATE_LIMITS": "off"}
NOW = datetime.now(UTC).replace(microsecond=0)
TOKEN = "bob-token-" + "x" * 20
CODE = "A" * 22  # a follow code's shape (secrets.token_urlsafe(16))
PER_SITE = ("tickets", "visitors", "table_assignments", "device_keys", "settings",
            "report_days")
EVERY_TABLE = ("staff", "staff_sessions", "visitors", "tickets", "table_assignments",
               "device_keys", "settings", "follow_codes", "mail_outbox", "report_days",
               "report_epoch")


def database_url(workdir: Path, name: str) -> str:
    """A new, empty database: PostgreSQL's with TEST_DATABASE_URL, else a SQLite file."""
    if os.environ.get("TEST_DATABASE_URL"):
        return fresh_postgres_database()
    return f"sqlite:///{workdir / name}"


@pytest.fixture
def old(tmp_path: Path) -> Iterator[LiveServer]:
    """A server (not started) on a database migrated up to BEFORE only."""
    url = database_url(tmp_path, "old.sqlite3")
    server = LiveServer(tmp_path, SERVER_ENV, database_url=url)
    server.flask("db", "upgrade", BEFORE)
    try:
        yield server
    finally:
        server.close()
        if url.startswith("postgresql"):
            drop_postgres_database(url)


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


def test_every_row_survives_in_the_default_site(old: LiveServer) -> None:
    ids = populate(old)
    engine = old.engine()
    before = snapshot(old)
    columns = {t: [c["name"] for c in sa.inspect(engine).get_columns(t)] for t in EVERY_TABLE}
    old.flask("db", "upgrade")  # to the head: 0006_sites, 0007_oidc, 0008_lines, 0009_sms
    after = snapshot(old, columns)
    moved = {row for row in before["settings"] if row[0] == "table_count"}
    assert moved == {("table_count", "12")}
    assert after == {**before, "settings": before["settings"] - moved}
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).all() == [
            (HEAD,)]
        sites = conn.execute(sa.text("SELECT id, slug, name, tables, timezone FROM sites")).all()
        assert [tuple(s[1:]) for s in sites] == [(SLUG, "Front Desk", 12, "Europe/Berlin")]
        site = sites[0][0]
        for table in PER_SITE:
            assert conn.execute(sa.text(f"SELECT DISTINCT site_id FROM {table}")).all() == [
                (site,)], table
        members = conn.execute(sa.text("SELECT staff_id, site_id, is_admin FROM staff_sites"))
        assert {(s, t, bool(a)) for s, t, a in members} == {
            (ids[name], site, False) for name in ("ada", "bob", "cy", "dee")}
        # 0007_oidc: nobody is linked to a provider's account, nor admin through its group.
        assert {tuple(r) for r in conn.execute(sa.text(
            "SELECT email, oidc_subject, group_admin FROM staff"))} == {(None, None, False)}
        if conn.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
    engine.dispose()


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


def test_the_upgraded_schema_is_the_models(old: LiveServer, tmp_path: Path) -> None:
    """The migration builds exactly what tablequeue/models/ declares (PostgreSQL: names included);
    alembic's own comparison (`db check`) agrees."""
    from tablequeue.extensions import db

    old.flask("db", "upgrade")
    old.flask("db", "check")
    url = database_url(tmp_path, "models.sqlite3")
    try:
        engine = sa.create_engine(url, poolclass=NullPool)
        with old.app.app_context():
            db.metadata.create_all(engine)
        engine.dispose()
        assert describe(old.database_url) == describe(url)
    finally:
        if url.startswith("postgresql"):
            drop_postgres_database(url)


def test_a_server_on_the_upgraded_database_serves_the_old_state(old: LiveServer) -> None:
    ids = populate(old)
    old.flask("db", "upgrade")
    old.start()
    display = old.connect("/ws/display")
    staff = old.connect("/ws/staff")
    kiosk = old.connect("/ws/kiosk")
    try:
        shown = display.sync()
        assert shown[:2] == ["pick 4", "pick 7"]
        assert [m.split(" ", 3)[:3] for m in shown[2:]] == [["claimed", "bob", "4"]]
        assert f'"id":{ids["alan"]},' in shown[2]
        assert staff.recv() == "taken 4 7"
        assert staff.answer(f"pick 4 {TOKEN}") == "success pick 4"
        replay = staff.sync()
        assert [m.split(" ", 1)[0] for m in replay] == ["new", "new", "claimed"]
        assert f'"id":{ids["grace"]},' in replay[0] and f'"id":{ids["edsger"]},' in replay[1]
        assert f'"id":{ids["alan"]},' in replay[2]  # still theirs
        assert staff.answer(f"complete {ids['alan']}") == f"success complete {ids['alan']}"
        assert display.until(lambda m: m == "complete 4")[0] == "complete 4"
        assert kiosk.ask("query grace@example.org") == "success query Grace Hopper"
        made = kiosk.ask("new ida@example.org Ida Rhodes")
        assert made.startswith("success new ")
        tickets = [ids[key] for key in ("linus", "margaret", "alan", "grace", "edsger")]
        assert ticket(made.removeprefix("success new "))["id"] > max(tickets)  # one sequence
        assert old.http("GET", f"/v/{CODE}")[0] == 200
        assert old.login("bob") is not None and old.login("dee") is None
    finally:
        for client in (display, staff, kiosk):
            client.close()


def test_downgrade_keeps_the_default_site_only(old: LiveServer, tmp_path: Path) -> None:
    """Best effort, as the migration says: the default site's rows return to today's
    schema exactly; another site's rows are gone."""
    populate(old)
    before = snapshot(old)
    old.flask("db", "upgrade", SITES)
    engine = old.engine()
    with engine.begin() as conn:
        put(conn, "sites", slug="career", name="Career office", tables=3, timezone="UTC",
            created_at=NOW)
        site = ident(conn, "SELECT id FROM sites WHERE slug = 'career'")
        put(conn, "visitors", site_id=site, email="grace@example.org", name="G. Hopper",
            updated_at=NOW, wants_email=False)
        visitor = ident(conn, "SELECT id FROM visitors WHERE site_id = :s", s=site)
        put(conn, "tickets", site_id=site, visitor_id=visitor, email="grace@example.org",
            name="G. Hopper", status="waiting", created_at=NOW, requeue_count=0)
        put(conn, "settings", site_id=site, key="announcement", value="Elsewhere")
    engine.dispose()
    old.flask("db", "downgrade", BEFORE)
    assert snapshot(old) == before
    url = database_url(tmp_path, "reference.sqlite3")
    reference = LiveServer(tmp_path, SERVER_ENV, database_url=url)
    try:
        reference.flask("db", "upgrade", BEFORE)
        assert describe(old.database_url) == describe(url)
    finally:
        reference.close()
        if url.startswith("postgresql"):
            drop_postgres_database(url)


def test_a_broken_foreign_key_fails_the_sqlite_upgrade_and_changes_nothing(
        tmp_path: Path) -> None:
    """SQLite rebuilds tables with foreign keys off (migrations/env.py); the check before
    the commit fails loudly on a row whose key finds nothing, and rolls everything back.
    (SQLite in both runs: PostgreSQL never stores such a row.)"""
    server = LiveServer(tmp_path, SERVER_ENV,
                        database_url=f"sqlite:///{tmp_path / 'broken.sqlite3'}")
    try:
        server.flask("db", "upgrade", BEFORE)
        engine = server.engine()  # foreign keys off: tablequeue.db.prepare is not on it
        with engine.begin() as conn:
            put(conn, "follow_codes", ticket_id=999, code_hash=sha256(CODE), email_me=False,
                almost_sent=False, created_at=NOW)
        engine.dispose()
        failed = server.flask_run("db", "upgrade")
        assert failed.returncode != 0
        assert "rows whose foreign key finds nothing (rolled back): follow_codes" in (
            failed.stderr)
        assert "sites" not in sa.inspect(server.engine()).get_table_names()
        assert describe(server.database_url)["tickets"]["indexes"][0][0] == "ix_tickets_report"
        assert "0005_report_days" in server.flask("db", "current")
    finally:
        server.close()


def test_lines_give_every_site_one_line_holding_its_tickets(old: LiveServer) -> None:
    """0008_lines: each site gets one open line, "General", and every ticket goes in its
    site's; the downgrade takes the columns and tables away and keeps every ticket."""
    populate(old)
    old.flask("db", "upgrade", str(BEFORE_LINES))
    engine = old.engine()
    with engine.begin() as conn:
        put(conn, "sites", slug="career", name="Career office", tables=3, timezone="UTC",
            created_at=NOW)
        site = ident(conn, "SELECT id FROM sites WHERE slug = 'career'")
        put(conn, "visitors", site_id=site, email="grace@example.org", name="G. Hopper",
            updated_at=NOW, wants_email=False)
        visitor = ident(conn, "SELECT id FROM visitors WHERE site_id = :s", s=site)
        put(conn, "tickets", site_id=site, visitor_id=visitor, email="grace@example.org",
            name="G. Hopper", status="waiting", created_at=NOW, requeue_count=0)
    before = snapshot(old)
    old.flask("db", "upgrade")
    with engine.connect() as conn:
        lines = conn.execute(sa.text(
            "SELECT site_id, id, name, position, open, removed_at FROM lines")).all()
        assert sorted((name, position, bool(is_open), removed)
                      for _, _, name, position, is_open, removed in lines) == [
            ("General", 0, True, None), ("General", 0, True, None)]
        line_of = {row[0]: row[1] for row in lines}
        tickets = conn.execute(sa.text(
            "SELECT site_id, line_id, priority_reason, passed, transferred_from FROM tickets"
        )).all()
        assert len(tickets) == 6
        assert all(line == line_of[site] and (reason, passed, moved) == (None, 0, None)
                   for site, line, reason, passed, moved in tickets), tickets
    engine.dispose()
    old.flask("db", "downgrade", str(BEFORE_LINES))
    assert snapshot(old) == before
