"""`flask db upgrade` from a populated database at 0005_report_days (the head before sites):
every row survives, now in the default site, staff are its members, the table count moves
into the site; the upgraded schema is exactly the models'; and a real server on the
upgraded database shows a seed client on the old URLs the state it had before; then
0008_lines puts every site's tickets in its one line (docs/lines.md), 0009_sms adds the
texts' and webhooks' tables above it, and 0010_admin_group (the head) records which group
made an admin. On SQLite, and on PostgreSQL when TEST_DATABASE_URL is set."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy.pool import NullPool

from tests.kit.client import ticket
from tests.kit.database import drop_postgres_database
from tests.kit.live import ROOT, LiveServer
from tests.kit.old_schema import (
    CODE,
    EVERY_TABLE,
    NOW,
    TOKEN,
    database_url,
    describe,
    ident,
    populate,
    put,
    sha256,
    snapshot,
)

BEFORE = "0005_report_days"
HEAD = ScriptDirectory(str(ROOT / "migrations")).get_current_head()
SITES = "0006_sites"
# What 0008_lines upgrades from (its own test starts there).
BEFORE_LINES = ScriptDirectory(str(ROOT / "migrations")).get_revision("0008_lines").down_revision
SLUG = "front-desk"  # not "main": the migration reads DEFAULT_SITE
SERVER_ENV = {"DEFAULT_SITE": SLUG, "SITE_NAME": "Front Desk", "TIMEZONE": "Europe/Berlin",
              "RATE_LIMITS": "off"}
PER_SITE = ("tickets", "visitors", "table_assignments", "device_keys", "settings",
            "report_days")


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


def test_every_row_survives_in_the_default_site(old: LiveServer) -> None:
    ids = populate(old)
    engine = old.engine()
    before = snapshot(old)
    columns = {t: [c["name"] for c in sa.inspect(engine).get_columns(t)] for t in EVERY_TABLE}
    old.flask("db", "upgrade")  # to the head: 0006_sites … 0009_sms, 0010_admin_group
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
            "SELECT email, oidc_subject, admin_group FROM staff"))} == {(None, None, None)}
        if conn.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
    engine.dispose()


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


def test_admin_through_a_group_is_not_carried_across_0010(old: LiveServer) -> None:
    """0010_admin_group cannot know which group set a true group_admin: nobody is admin
    through a group until their next sign-in, either way; admins by the CLI stay admins."""
    populate(old)
    old.flask("db", "upgrade", "0009_sms")
    engine = old.engine()
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE staff SET group_admin = :yes WHERE username IN ('bob', 'cy')"),
                     {"yes": True})
    admins = "SELECT username FROM staff WHERE is_admin = :yes ORDER BY username"
    old.flask("db", "upgrade")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT DISTINCT admin_group FROM staff")).all() == [(None,)]
        assert conn.execute(sa.text(admins), {"yes": True}).all() == [("ada",)]
        conn.execute(sa.text("UPDATE staff SET admin_group = 'tq-admins' WHERE username = 'bob'"))
        conn.commit()
    old.flask("db", "downgrade", "0009_sms")
    with engine.connect() as conn:
        assert {bool(flag) for flag, in conn.execute(sa.text(
            "SELECT group_admin FROM staff"))} == {False}
        assert conn.execute(sa.text(admins), {"yes": True}).all() == [("ada",)]
    engine.dispose()
