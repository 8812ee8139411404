"""The event log (tablequeue.service.eventlog, docs/design-27.md §1): numbers per site in
commit order without holes, one row per transaction and site, the catch-up reads, the
trim by age and the door check; on the server's own database (SQLite, PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from tablequeue.db import read_only, transaction, unit_of_work
from tablequeue.extensions import db
from tablequeue.outcomes import (
    Event,
    FloorChanged,
    SiteId,
    TableAway,
    TablePicked,
    TicketCreated,
    TicketView,
)
from tablequeue.service import eventlog
from tests.kit.database import default_site_id, first_line_id, rows
from tests.kit.live import LiveServer

T = TicketView(7, "a@b.org", "Vera", "", datetime(2026, 12, 5, 9, tzinfo=UTC), None, "waiting")


@pytest.fixture
def app(fresh: LiveServer) -> Iterator[Flask]:
    """The server's app in this process, with a clean log and counters."""
    with fresh.engine().begin() as conn:
        conn.execute(sa.text("DELETE FROM event_counters"))
    with fresh.app.app_context():
        yield fresh.app


def main(server: LiveServer) -> SiteId:
    with server.engine().connect() as conn:
        return SiteId(default_site_id(server, conn))


def other_site(server: LiveServer, slug: str = "other") -> SiteId:
    with server.engine().begin() as conn:
        conn.execute(sa.text("INSERT INTO sites (slug, name, tables, timezone, created_at) "
                             "VALUES (:slug, :slug, 5, 'UTC', :now)")
                     .bindparams(sa.bindparam("now", type_=sa.DateTime(timezone=True))),
                     {"slug": slug, "now": datetime.now(UTC)})
        return SiteId(int(conn.execute(sa.text("SELECT id FROM sites WHERE slug = :s"),
                                       {"s": slug}).scalar_one()))


def sealed(events: list[Event], core: bool = True) -> list[Event]:
    if core:
        with transaction() as conn:
            return eventlog.seal(conn, events)
    with unit_of_work() as session:
        return eventlog.seal(session, events)


def log_of(server: LiveServer) -> list[tuple]:
    return rows(server, "SELECT site_id, seq, body FROM event_log ORDER BY site_id, seq")


def test_seal_numbers_each_site_with_one_row(app: Flask, fresh: LiveServer) -> None:
    a = main(fresh)
    b = other_site(fresh)
    first = sealed([TicketCreated(T, site=a), TablePicked(3, site=b), TableAway(3, True, site=a)])
    assert [e.seq for e in first] == [1, 1, 1]
    second = sealed([TablePicked(4, site=b)], core=False)  # through a Session too
    assert [e.seq for e in second] == [2]
    log = log_of(fresh)
    assert [(s, n) for s, n, _ in log] == [(a, 1), (b, 1), (b, 2)]
    assert json.loads(log[0][2]) == eventlog.events_json([first[0], first[2]])
    assert eventlog.events_from(json.loads(log[0][2]), 1) == [first[0], first[2]]
    assert rows(fresh, "SELECT site_id, last FROM event_counters ORDER BY site_id") == [
        (a, 1), (b, 2)]


def test_no_events_no_statement(app: Flask, fresh: LiveServer) -> None:
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


def test_a_rollback_takes_its_number_back(app: Flask, fresh: LiveServer) -> None:
    site = main(fresh)
    sealed([TablePicked(1, site=site)])
    with pytest.raises(RuntimeError), transaction() as conn:
        eventlog.seal(conn, [TablePicked(2, site=site)])
        raise RuntimeError("refused after all")
    assert [e.seq for e in sealed([TablePicked(3, site=site)])] == [2]
    assert [n for _, n, _ in log_of(fresh)] == [1, 2]


def test_newest_and_since(app: Flask, fresh: LiveServer) -> None:
    site, never = main(fresh), SiteId(9999)
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


def test_since_is_none_once_the_next_run_is_gone(app: Flask, fresh: LiveServer) -> None:
    site = main(fresh)
    for i in range(3):
        sealed([TablePicked(i, site=site)])
    with fresh.engine().begin() as conn:
        conn.execute(sa.text("DELETE FROM event_log WHERE seq <= 1"))
    with read_only() as conn:
        assert eventlog.since(conn, site, 0) is None  # 1 is gone, 2 and 3 are there
        assert [n for n, _ in eventlog.since(conn, site, 1) or []] == [2, 3]
    with fresh.engine().begin() as conn:
        conn.execute(sa.text("DELETE FROM event_log"))
    with read_only() as conn:
        assert eventlog.since(conn, site, 1) is None  # all gone, the counter is at 3
        assert eventlog.since(conn, site, 1, upto=2) is None
        assert eventlog.since(conn, site, 3) == []


def test_trim_deletes_by_age_only(app: Flask, fresh: LiveServer) -> None:
    site = main(fresh)
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
    assert [e.seq for e in sealed([TablePicked(9, site=site)])] == [5]  # counters stay


def test_forget_deletes_the_sites_rows(app: Flask, fresh: LiveServer) -> None:
    a, b = main(fresh), other_site(fresh)
    sealed([TablePicked(1, site=a), TablePicked(1, site=b)])
    with transaction() as conn:
        assert eventlog.forget(conn, [b]) == 1
        assert eventlog.forget(conn, []) == 0
    assert [(s, n) for s, n, _ in log_of(fresh)] == [(a, 1)]


def test_a_reused_site_id_keeps_counting_up(app: Flask, fresh: LiveServer) -> None:
    """Removing a site removes its rows, not its counter: SQLite hands its id out again."""
    b = other_site(fresh)
    sealed([TablePicked(1, site=b)])
    sealed([TablePicked(2, site=b)])
    with db.engine.begin() as conn:  # the app's engine: on SQLite, foreign keys on
        conn.execute(sa.text("DELETE FROM sites WHERE id = :id"), {"id": b})
        assert conn.execute(sa.text("SELECT count(*) FROM event_log")).scalar_one() == 0
        conn.execute(sa.text("INSERT INTO sites (id, slug, name, tables, timezone, created_at)"
                             " VALUES (:id, 'again', 'again', 5, 'UTC', :now)")
                     .bindparams(sa.bindparam("now", type_=sa.DateTime(timezone=True))),
                     {"id": b, "now": datetime.now(UTC)})
    assert [e.seq for e in sealed([TablePicked(1, site=b)])] == [3]


def test_the_door_check(app: Flask) -> None:
    site = SiteId(1)
    eventlog.check([FloorChanged(site=site), TablePicked(1, site=site, seq=4)], strict=True)
    with pytest.raises(eventlog.UnsealedError, match="TablePicked"):
        eventlog.check([TablePicked(1, site=site)], strict=True)
    eventlog.check([TablePicked(1, site=site)], strict=False)  # logged only


# ---- every transaction owner seals: one row per site, none for a refusal ----------------


class Log:
    """The rows written since the last look: [(site, [event type, ...]), ...]."""

    def __init__(self, server: LiveServer) -> None:
        self.server, self.seen = server, set[tuple[int, int]]()

    def new(self) -> list[tuple[int, list[str]]]:
        found = [r for r in rows(self.server, "SELECT site_id, seq, body FROM event_log "
                                 "ORDER BY at, site_id, seq") if r[:2] not in self.seen]
        self.seen.update(r[:2] for r in found)
        return [(site, [e["type"] for e in json.loads(body)]) for site, _, body in found]


def staff_token(name: str, sites: list[SiteId] | None = None) -> str:
    from tablequeue.service import identity

    identity.add_staff(name, "password123", sites=sites)
    return identity.hash_token(identity.issue_token(name))


def test_each_command_writes_one_row_and_a_refusal_none(app: Flask, fresh: LiveServer) -> None:
    from tablequeue import service
    from tablequeue.service import away, putback, taking

    site, log = main(fresh), Log(fresh)
    ada, bob = staff_token("ada"), staff_token("bob")
    assert service.pick(ada, 1, site=site).ok
    assert log.new() == [(site, ["TablePicked", "TablesChanged"])]
    assert service.pick(ada, 1, site=site).ok  # already there: no change, no row
    assert not service.pick(bob, 1, site=site).ok
    assert not service.new("not an email", "Vi", site=site).ok
    assert log.new() == []
    first = service.new("vi@example.org", "Vi", site=site)
    assert [e.seq for e in first.events] == [2]  # the pick was 1
    second = service.new("wu@example.org", "Wu", site=site).value.id
    assert log.new() == [(site, ["TicketCreated"]), (site, ["TicketCreated"])]
    assert not service.accept(ada, 999, site=site).ok
    assert not service.complete(ada, first.value.id, site=site).ok
    assert log.new() == []
    assert service.accept(ada, first.value.id, site=site).ok
    assert log.new() == [(site, ["TicketClaimed"])]
    assert putback.requeue(ada, first.value.id, site=site).ok
    assert log.new() == [(site, ["TicketRequeued"])]
    assert taking.mark_priority(ada, second, "elderly", site=site).ok
    assert log.new() == [(site, ["TicketMarked"])]
    assert taking.next_ticket(ada, site=site).ok
    assert log.new() == [(site, ["TicketClaimed"])]
    assert not taking.next_ticket(ada, site=site).ok  # serving already
    assert log.new() == []
    assert service.complete(ada, second, site=site).ok
    assert log.new() == [(site, ["TicketEnded"])]
    assert service.accept(ada, first.value.id, site=site).ok
    assert service.cancel(ada, first.value.id, site=site).ok
    assert log.new() == [(site, ["TicketClaimed"]), (site, ["TicketEnded"])]
    assert away.away(ada, site=site).ok
    assert away.away(ada, site=site).ok  # said twice: no change, no row
    assert away.back(ada, site=site).ok
    assert log.new() == [(site, ["TableAway"]), (site, ["TableAway"])]
    assert not taking.serve(ada, [], site=site).ok
    with fresh.engine().connect() as conn:
        assert taking.serve(ada, [first_line_id(conn, site)], site=site).ok
    assert log.new() == [(site, ["ServeChanged"])]
    assert service.unpick(ada, site=site).ok
    assert not service.unpick(ada, site=site).ok
    assert log.new() == [(site, ["TableUnpicked", "TablesChanged"])]


def test_a_transfer_and_a_line_change(app: Flask, fresh: LiveServer) -> None:
    from tablequeue import service
    from tablequeue.service import lines, taking

    site, log = main(fresh), Log(fresh)
    with unit_of_work() as session:
        other = eventlog.sealed(session, lines.add(session, site, "Bursar")).value.id
    assert log.new() == [(site, ["LinesChanged"])]
    ada = staff_token("ada")
    assert service.pick(ada, 1, site=site).ok
    ticket = service.new("vi@example.org", "Vi", site=site).value.id
    assert service.accept(ada, ticket, site=site).ok
    log.new()
    assert not taking.transfer(ada, ticket, 999, site=site).ok
    assert taking.transfer(ada, ticket, other, site=site).ok
    assert log.new() == [(site, ["TicketTransferred"])]


def test_admin_accounts_and_sweeps(app: Flask, fresh: LiveServer) -> None:
    from tablequeue import service
    from tablequeue.service import admin, away, follow, identity, staffing

    site, b = main(fresh), other_site(fresh, "b")
    log = Log(fresh)
    staff_token("root")  # the first account is admin of every site: works at each
    ada, bob = staff_token("ada", [site, b]), staff_token("bob")
    assert service.pick(ada, 1, site=site).ok and service.pick(bob, 2, site=site).ok
    ticket = service.new("vi@example.org", "Vi", site=site).value.id
    assert service.accept(ada, ticket, site=site).ok
    log.new()
    assert admin.set_table_count(30, site=site)[0].seq > 0
    assert log.new() == [(site, ["TableCountChanged"])]
    waiting = service.new("wu@example.org", "Wu", site=site).value.id
    log.new()
    assert admin.close_waiting(site=site)[0] == 1
    assert admin.close_waiting(site=site) == (0, [])
    assert log.new() == [(site, ["TicketWithdrawn"])]
    assert [e.site for e in staffing.work_at("ada", [b])] == [site] * 3
    assert log.new() == [(site, ["TableUnpicked", "TicketRequeued", "TablesChanged"])]
    assert identity.revoke_sessions("ada").ok
    assert log.new() == [(b, ["SessionsRevoked"])]
    identity.set_password("bob", "another password")
    assert log.new() == [(site, ["SessionsRevoked"])]
    staff_token("cy")
    identity.set_active("cy", False)  # no table: only its session ends
    assert log.new() == [(site, ["SessionsRevoked"])]
    identity.issue_token("bob")
    identity.remove_staff("bob")
    assert log.new() == [(site, ["TableUnpicked", "TablesChanged", "SessionsRevoked"])]
    # A visitor leaves from their phone.
    code, hashed = follow.new_code()
    follow.issue(ticket, hashed, False, "http://x/f/" + code, site=site)
    log.new()
    assert follow.leave(code).ok
    assert not follow.leave(code).ok
    assert log.new() == [(site, ["TicketWithdrawn"])]
    # The away sweep frees a table whose staff member stayed away too long.
    dan = staff_token("dan")
    assert service.pick(dan, 3, site=site).ok and away.away(dan, site=site).ok
    log.new()
    with fresh.engine().begin() as conn:
        conn.execute(sa.text("UPDATE table_assignments SET away_since = :old")
                     .bindparams(sa.bindparam("old", type_=sa.DateTime(timezone=True))),
                     {"old": datetime.now(UTC) - timedelta(hours=2)})
    assert away.release_overdue(60)
    assert away.release_overdue(60) == []
    assert log.new() == [(site, ["TableUnpicked", "TablesChanged"])]
    assert waiting


def test_n_kiosks_at_once_number_without_holes(fresh: LiveServer) -> None:
    """The counter's row lock orders the storm: n runs take the next n numbers."""
    from tests.kit.races import at_once

    n = 12
    with fresh.engine().connect() as conn:
        site = default_site_id(fresh, conn)
    before = rows(fresh, "SELECT last FROM event_counters WHERE site_id = :s", s=site)
    base = before[0][0] if before else 0  # counters outlive LiveServer.reset
    kiosks = [fresh.connect("/ws/kiosk") for _ in range(n)]
    try:
        replies = at_once(kiosks, [f"new v{i}@example.org Visitor {i}" for i in range(n)])
    finally:
        for kiosk in kiosks:
            kiosk.close()
    assert all(r.startswith("success new ") for r in replies), replies
    assert [seq for _, seq, _ in log_of(fresh)] == list(range(base + 1, base + n + 1))
    assert rows(fresh, "SELECT last FROM event_counters WHERE site_id = :s", s=site) == [
        (base + n,)]
    ids = sorted(json.loads(body)[0]["ticket"]["id"] for _, _, body in log_of(fresh))
    assert ids == sorted(int(r.split('"id":')[1].split(",")[0]) for r in replies)


def test_deleting_a_visitor_empties_their_sites_logs(app: Flask, fresh: LiveServer) -> None:
    from tablequeue import service
    from tablequeue.service import admin, privacy

    site, b = main(fresh), other_site(fresh, "b")
    sealed([TablePicked(1, site=b)])
    service.new("vi@example.org", "Vi", site=site)
    admin.close_waiting(site=site)
    assert {s for s, _, _ in log_of(fresh)} == {site, b}
    assert privacy.delete_visitor("VI@example.org") == 1
    assert [(s, n) for s, n, _ in log_of(fresh)] == [(b, 1)]
    with read_only() as conn:  # numbers go on; what was before is lost to catch-up
        assert eventlog.since(conn, site, 0) is None
