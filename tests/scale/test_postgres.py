"""PostgreSQL specifics: migrations both ways, the rules' constraints, a worker that keeps
serving while one query waits on a lock, /healthz, and the one-worker rule without Redis."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import sqlalchemy as sa

from tests.kit.live import ROOT, LiveServer, free_port
from tests.kit.scale import staff_tokens


def test_migrations_run_down_and_up_and_match_the_models(tmp_path: Path) -> None:
    sqlite = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'm.sqlite3'}"}
    _flask(sqlite, "db", "upgrade")
    server = LiveServer(tmp_path)  # PostgreSQL (this run has TEST_DATABASE_URL), upgraded
    try:
        for flask in (lambda *a: _flask(sqlite, *a), server.flask):
            flask("db", "downgrade", "base")
            flask("db", "upgrade")
            assert "No new upgrade operations detected" in flask("db", "check")
    finally:
        server.close()


def _flask(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def test_postgres_schema_enforces_the_rules(tmp_path: Path) -> None:
    server = LiveServer(tmp_path)
    try:
        engine = server.engine()
        with engine.connect() as conn:
            indexes = dict(conn.execute(sa.text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'tickets'")).all())
            unique = conn.execute(sa.text(
                "SELECT count(*) FROM pg_constraint WHERE conrelid = 'table_assignments'::regclass"
                " AND contype IN ('p', 'u')")).scalar()
        engine.dispose()
        assert ("WHERE ((status)::text = 'serving'::text)"
                in indexes["uq_tickets_one_serving_per_staff"])
        assert unique == 2  # table_number is the key, staff_id is unique
    finally:
        server.close()


def test_a_query_waiting_on_a_lock_does_not_stop_the_worker(tmp_path: Path) -> None:
    """psycopg yields to gevent while it waits: with ONE worker, a `pick` blocked on a
    table lock must not stop a kiosk's `query` from being answered meanwhile."""
    server = LiveServer(tmp_path, env={"WEB_CONCURRENCY": "1"}).start()
    clients = []
    try:
        (token,) = staff_tokens(server, ["lou"])
        staff, kiosk = server.connect("/ws/staff"), server.connect("/ws/kiosk")
        clients += [staff, kiosk]
        assert staff.recv() == "taken"
        engine = server.engine()
        with engine.begin() as locker:
            locker.execute(sa.text("LOCK TABLE table_assignments IN ACCESS EXCLUSIVE MODE"))
            staff.send(f"pick 2 {token}")
            _until_a_query_waits_for_a_lock(engine)
            assert kiosk.ask("query x@example.org") == "error query visitor email does not exist"
            assert staff.drain(quiet=0.5) == []  # still waiting
        engine.dispose()
        assert staff.recv() == "success pick 2"
    finally:
        for client in clients:
            client.close()
        server.close()


def _until_a_query_waits_for_a_lock(engine: sa.Engine) -> None:
    with engine.connect() as watcher:
        for _ in range(200):
            waiting = watcher.execute(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND datname = current_database()")).scalar()
            if waiting:
                return
            time.sleep(0.05)
    raise AssertionError("the pick never reached the lock")


def test_healthz_reports_database_relay_and_connections(tmp_path: Path) -> None:
    server = LiveServer(tmp_path, env={"WEB_CONCURRENCY": "1"}).start()
    clients = [server.connect(path) for path in ("/ws/staff", "/ws/display", "/ws/display")]
    try:
        for _ in range(100):  # a websocket counts once its greeting has been worked out
            with urllib.request.urlopen(server.base + "/healthz", timeout=10) as response:
                assert response.status == 200
                body = json.loads(response.read())
            if body["connections"] == {"staff": 1, "kiosk": 0, "display": 2, "visitor": 0}:
                break
            time.sleep(0.05)
        assert body["connections"] == {"staff": 1, "kiosk": 0, "display": 2, "visitor": 0}
        assert body["status"] == "ok" and body["database"] == "ok"
        assert body["relay"]["state"] == "ok"
        assert body["relay"]["channel"].startswith(server.env["REDIS_CHANNEL"])
    finally:
        for client in clients:
            client.close()
        server.close()


def test_several_workers_without_redis_are_refused(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL",)}
    env.update(WEB_CONCURRENCY="3", BIND=f"127.0.0.1:{free_port()}",
               DATABASE_URL=f"sqlite:///{tmp_path / 'q.sqlite3'}")
    done = subprocess.run([sys.executable, "-m", "gunicorn", "wsgi:app", "-c", "gunicorn.conf.py"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "more than one worker needs REDIS_URL" in done.stdout + done.stderr
