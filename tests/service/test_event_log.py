"""The event log (tablequeue.service.eventlog, docs/design-27.md §1): numbers per site in
commit order without holes, one row per transaction and site, the catch-up reads, the
trim by age and the door check; on the server's own database (SQLite, PostgreSQL).
Which command writes which row: test_event_log_owners.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from tablequeue.db import read_only, transaction, unit_of_work
from tablequeue.extensions import db
from tablequeue.outcomes import (
    FloorChanged,
    SiteId,
    TableAway,
    TablePicked,
    TicketCreated,
    TicketView,
)
from tablequeue.service import eventjson, eventlog, sites
from tests.kit.eventlog import log_of, main_site, other_site, sealed
from tests.kit.live import LiveServer

T = TicketView(7, "a@b.org", "Vera", "", datetime(2026, 12, 5, 9, tzinfo=UTC), None, "waiting")


def test_seal_numbers_each_site_with_one_row(log_app: Flask, fresh: LiveServer) -> None:
    a = main_site(fresh)
    b = other_site(fresh)
    first = sealed([TicketCreated(T, site=a), TablePicked(3, site=b), TableAway(3, True, site=a)])
    assert [e.seq for e in first] == [1, 1, 1]
    second = sealed([TablePicked(4, site=b)], core=False)  # through a Session too
    assert [e.seq for e in second] == [2]
    log = log_of(fresh)
    assert [(s, n) for s, n, _ in log] == [(a, 1), (b, 1), (b, 2)]
    assert json.loads(log[0][2]) == eventjson.events_json([first[0], first[2]])
    assert eventjson.events_from(json.loads(log[0][2]), 1) == [first[0], first[2]]
    with read_only() as conn:
        assert eventlog.newest(conn, [a, b]) == {a: 1, b: 2}


def test_no_events_no_statement(log_app: Flask, fresh: LiveServer) -> None:
    statements: list[str] = []

    def seen(*args: object) -> None:
        statements.append(str(args[2]))

    sa.event.listen(db.engine, "before_cursor_execute", seen)
    try:
        with transaction() as conn:
            assert eventlog.seal(conn, []) == []
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", seen)
    assert not [s for s in statements if "event_" in s]
    assert log_of(fresh) == []


def test_a_rollback_takes_its_number_back(log_app: Flask, fresh: LiveServer) -> None:
    site = main_site(fresh)
    sealed([TablePicked(1, site=site)])
    with pytest.raises(RuntimeError), transaction() as conn:
        eventlog.seal(conn, [TablePicked(2, site=site)])
        raise RuntimeError("refused after all")
    assert [e.seq for e in sealed([TablePicked(3, site=site)])] == [2]
    assert [n for _, n, _ in log_of(fresh)] == [1, 2]


def test_two_seals_in_one_transaction_number_in_their_order(
        log_app: Flask, fresh: LiveServer) -> None:
    """(On PostgreSQL both wait for the COMMIT and are numbered by it, in place.)"""
    a, b = main_site(fresh), other_site(fresh)
    with transaction() as conn:
        first = eventlog.seal(conn, [TablePicked(1, site=a), TablePicked(1, site=b)])
        second = eventlog.seal(conn, [TablePicked(2, site=a)])
    assert [(e.site, e.seq) for e in [*first, *second]] == [(a, 1), (b, 1), (a, 2)]
    assert [(s, n) for s, n, _ in log_of(fresh)] == [(a, 1), (a, 2), (b, 1)]


def test_a_seal_that_fails_takes_its_change_with_it(log_app: Flask, fresh: LiveServer) -> None:
    """The change and its log row commit together or not at all, and the failure is the
    SQLAlchemy exception owners catch. On PostgreSQL the seal runs with the COMMIT
    (pgseal): its failure is the COMMIT's (here: number 2 taken behind the counter's
    back). SQLite numbers from the log itself, so nothing can clash: a trigger refuses."""
    site = main_site(fresh)
    sealed([TablePicked(1, site=site)])
    sqlite = db.engine.dialect.name == "sqlite"
    with fresh.engine().begin() as conn:
        conn.execute(sa.text(REFUSE if sqlite else TAKE_2), {"site": site, "at": datetime.now(UTC)})
    with pytest.raises(sa.exc.IntegrityError), transaction() as conn:
        conn.execute(sa.text("UPDATE sites SET name = 'Changed' WHERE id = :site"), {"site": site})
        eventlog.seal(conn, [TablePicked(2, site=site)])
    with fresh.engine().begin() as conn:
        assert conn.execute(sa.text("SELECT name FROM sites WHERE id = :site"),
                            {"site": site}).scalar_one() != "Changed"
        conn.execute(sa.text("DROP TRIGGER refuse" if sqlite else
                             "DELETE FROM event_log WHERE seq = 2"))
    for n in range(2, 2 + db.engine.pool.size()):  # every pooled connection is fine after
        assert sealed([TablePicked(3, site=site)])[0].seq == n  # the number was given back


def test_a_connection_lost_in_a_transaction_is_the_databases_error(
        log_app: Flask, fresh: LiveServer) -> None:
    """PostgreSQL: a backend terminated under an open, sealed transaction. SQLAlchemy
    invalidates the connection and rolls back; pgseal's rollback hook must leave the error
    as the OperationalError owners answer "unavailable" to (stop 34's CI: it read the
    invalidated connection's info and raised PendingRollbackError, so "internal error")."""
    if db.engine.dialect.name != "postgresql":
        return  # a SQLite file has no connection to lose: test_faults holds its lock instead
    site = main_site(fresh)
    with pytest.raises(sa.exc.OperationalError), transaction() as conn:
        eventlog.seal(conn, [TablePicked(1, site=site)])
        pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        with fresh.engine().connect() as admin:  # waits (5 s at most) until it is gone
            assert admin.execute(sa.text("SELECT pg_terminate_backend(:pid, 5000)"),
                                 {"pid": pid}).scalar_one()
        conn.execute(sa.text("SELECT 1"))
    assert sealed([TablePicked(2, site=site)])[0].seq == 1  # the lost seal took no number


REFUSE = "CREATE TRIGGER refuse BEFORE INSERT ON event_log BEGIN SELECT RAISE(ABORT, 'no'); END"
TAKE_2 = "INSERT INTO event_log (site_id, seq, at, body) VALUES (:site, 2, :at, '[]')"


def test_newest_and_since(log_app: Flask, fresh: LiveServer) -> None:
    site, never = main_site(fresh), SiteId(9999)
    runs = [sealed([TablePicked(i, site=site), TableAway(i, False, site=site)])
            for i in range(1, 5)]
    with read_only() as conn:
        assert eventlog.newest(conn, [site, never]) == {site: 4, never: 0}
        assert eventlog.newest(conn, []) == {}
        assert eventlog.since(conn, site, 4) == []
        assert eventlog.since(conn, site, 7) == []
        assert eventlog.since(conn, never, 0) == []
        assert eventlog.since(conn, site, 0) == [(i + 1, run) for i, run in enumerate(runs)]
        got = eventlog.since(conn, site, 1, upto=3)
        assert got == [(2, runs[1]), (3, runs[2])]
        assert [e.seq for _, events in got for e in events] == [2, 2, 3, 3]
        assert eventlog.since(conn, site, 2, upto=2) == []
        assert eventlog.since(conn, site, 0, limit=2) == [(1, runs[0]), (2, runs[1])]


def test_since_is_none_once_the_next_run_is_gone(log_app: Flask, fresh: LiveServer) -> None:
    site = main_site(fresh)
    for i in range(3):
        sealed([TablePicked(i, site=site)])
    with fresh.engine().begin() as conn:
        conn.execute(sa.text("DELETE FROM event_log WHERE seq <= 1"))
    with read_only() as conn:
        assert eventlog.since(conn, site, 0) is None  # 1 is gone, 2 and 3 are there
        assert [n for n, _ in eventlog.since(conn, site, 1) or []] == [2, 3]
    with transaction() as conn:
        eventlog.forget(conn, [site])
    with read_only() as conn:
        assert eventlog.since(conn, site, 1) is None  # all gone, the number is still 3
        assert eventlog.since(conn, site, 1, upto=2) is None
        assert eventlog.since(conn, site, 3) == []


def test_trim_deletes_by_age_only(log_app: Flask, fresh: LiveServer) -> None:
    site = main_site(fresh)
    for i in range(4):
        sealed([TablePicked(i, site=site)])
    old = datetime.now(UTC) - timedelta(minutes=61)
    with fresh.engine().begin() as conn:
        conn.execute(sa.text("UPDATE event_log SET at = :old WHERE seq IN (1, 3)")
                     .bindparams(sa.bindparam("old", type_=db.metadata.tables["event_log"]
                                              .c.at.type)), {"old": old})
    with transaction() as conn:
        assert eventlog.trim(conn, 60) == 2
    assert [n for _, n, _ in log_of(fresh)] == [2, 4]
    with transaction() as conn:
        assert eventlog.trim(conn, 60) == 0
    assert [e.seq for e in sealed([TablePicked(9, site=site)])] == [5]
    with transaction() as conn:  # every row gone: numbers still never go back
        conn.execute(sa.text("UPDATE event_log SET at = :old").bindparams(
            sa.bindparam("old", type_=db.metadata.tables["event_log"].c.at.type)),
            {"old": old})
        assert eventlog.trim(conn, 60) == 3
    assert log_of(fresh) == []
    with read_only() as conn:
        assert eventlog.newest(conn, [site]) == {site: 5}
    assert [e.seq for e in sealed([TablePicked(9, site=site)])] == [6]


def test_forget_deletes_the_sites_rows(log_app: Flask, fresh: LiveServer) -> None:
    a, b = main_site(fresh), other_site(fresh)
    sealed([TablePicked(1, site=a), TablePicked(1, site=b)])
    with transaction() as conn:
        assert eventlog.forget(conn, [b]) == 1
        assert eventlog.forget(conn, []) == 0
    assert [(s, n) for s, n, _ in log_of(fresh)] == [(a, 1)]
    assert [e.seq for e in sealed([TablePicked(2, site=b)])] == [2]  # b's number stays


def test_a_reused_site_id_keeps_counting_up(log_app: Flask, fresh: LiveServer) -> None:
    """Removing a site removes its rows, not its number: SQLite hands its id out again."""
    b = other_site(fresh)
    sealed([TablePicked(1, site=b)])
    sealed([TablePicked(2, site=b)])
    with unit_of_work() as session:
        assert sites.remove(session, b).ok
    assert log_of(fresh) == []
    with db.engine.begin() as conn:  # the app's engine: on SQLite, foreign keys on
        conn.execute(sa.text("INSERT INTO sites (id, slug, name, tables, timezone, created_at)"
                             " VALUES (:id, 'again', 'again', 5, 'UTC', :now)")
                     .bindparams(sa.bindparam("now", type_=sa.DateTime(timezone=True))),
                     {"id": b, "now": datetime.now(UTC)})
    assert [e.seq for e in sealed([TablePicked(1, site=b)])] == [3]


def test_the_door_check(log_app: Flask) -> None:
    site = SiteId(1)
    eventlog.check([FloorChanged(site=site), TablePicked(1, site=site, seq=4)], strict=True)
    with pytest.raises(eventlog.UnsealedError, match="TablePicked"):
        eventlog.check([TablePicked(1, site=site)], strict=True)
    eventlog.check([TablePicked(1, site=site)], strict=False)  # logged only


# ---- every transaction owner seals: one row per site, none for a refusal ----------------
