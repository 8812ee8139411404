"""/admin/reports from kept days (report_days) plus live ones, on a live server and a real
database: finished days are counted once and kept, today and a day with a ticket still
open are counted live, and every deletion that changes a past day forgets it. The page is
compared with the independent computation of tests/kit/report_data.py every time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from tablequeue.outcomes import SiteId
from tablequeue.service.reports.period import Period
from tablequeue.service.reports.rollups import RUN_DAYS, runs
from tests.kit import report_data as data
from tests.kit.database import default_site_id, first_line_id
from tests.kit.live import LiveServer

SERVER_ENV = {"TIMEZONE": data.ZONE_NAME}
REMOVED = "(removed account)"


def _dst_day(before: date) -> date:
    """The latest local day before `before` that did not have 24 hours (a clock change)."""
    day = before
    while True:
        start = datetime.combine(day, time(0), data.ZONE)
        end = datetime.combine(day + timedelta(days=1), time(0), data.ZONE)
        if end.astimezone(UTC) - start.astimezone(UTC) != timedelta(hours=24):
            return day
        day -= timedelta(days=1)


TODAY = datetime.now(UTC).astimezone(data.ZONE).date()
DST = _dst_day(TODAY - timedelta(days=12))  # its 14 days of tickets all lie in the past
FIRST, OPEN_DAY = DST - timedelta(days=3), DST + timedelta(days=2)
PERIOD = f"period=range&from={FIRST.isoformat()}&to={TODAY.isoformat()}"


def _settled(tickets: list[data.T]) -> list[data.T]:
    """Every ticket finished except on OPEN_DAY, where one is certainly still waiting."""
    for t in tickets:
        if t.local().date() == OPEN_DAY:
            continue
        if t.status == "waiting":
            t.status, t.end = "cancelled", t.start + timedelta(hours=3)
        elif t.status == "serving":
            assert t.claimed
            t.status, t.end = "completed", t.claimed + timedelta(minutes=10)
    still = next(t for t in tickets if t.local().date() == OPEN_DAY and t.status != "serving")
    still.status, still.staff, still.table = "waiting", None, None
    still.claimed = still.end = None
    return tickets


def _today(start_id: int) -> list[data.T]:
    """Today's tickets so far: some served, some no-shows, some waiting."""
    now = datetime.now(UTC)
    midnight = datetime.combine(TODAY, time(0), data.ZONE).astimezone(UTC)
    span = max(int((now - midnight).total_seconds()) - 60, 1)
    tickets = []
    for n in range(30):
        start = midnight + timedelta(seconds=span * n // 30)
        staff = data.STAFF[n % 3]  # not linus: his account is removed later
        claimed = start + timedelta(seconds=20 + n)
        status, end = ("completed", claimed + timedelta(seconds=90 + 7 * n)) if n % 3 else (
            ("cancelled", claimed + timedelta(seconds=40)) if n % 2 else ("waiting", None))
        if status == "waiting":
            staff, claimed = None, None
        table = None if staff is None else [3, 7, 0][n % 3]
        tickets.append(data.T(start_id + n, 1 + n % 5, f"v{1 + n % 5}@example.org", "Today",
                              status, staff, table, start, claimed, end))
    return tickets


@pytest.fixture(scope="module")
def history(server: LiveServer) -> Iterator[list[data.T]]:
    tickets = _settled(data.generate(seed=15, around=DST)) + _today(5000)
    yield from data.loaded(server, tickets)


@pytest.fixture(scope="module")
def boss(server: LiveServer, history: list[data.T]) -> str:
    return data.admin(server)


def _page(server: LiveServer, cookie: str, query: str = PERIOD) -> dict[str, Any]:
    status, _, html = server.http("GET", f"/admin/reports?{query}", cookie=cookie)
    assert status == 200, html[:500]
    return data.shown(html)


def _kept(server: LiveServer, zone: str = data.ZONE_NAME) -> set[date]:
    with server.engine().connect() as conn:
        rows = conn.execute(sa.text("SELECT day FROM report_days WHERE zone = :z"), {"z": zone})
        return {d if isinstance(d, date) else date.fromisoformat(d) for (d,) in rows}


def _want(history: list[data.T], zone: ZoneInfo = data.ZONE) -> dict[str, Any]:
    return data.expected(history, FIRST, TODAY, zone)


def test_finished_days_are_kept_and_the_page_is_the_same_cold_and_warm(
        server: LiveServer, boss: str, history: list[data.T]) -> None:
    assert _kept(server) == set()
    want = _want(history)
    assert _page(server, boss) == want  # cold: every day counted, the finished ones kept
    kept = _kept(server)
    batch = {FIRST + timedelta(days=n) for n in range(14)}
    assert batch - {OPEN_DAY} <= kept
    assert OPEN_DAY not in kept and TODAY not in kept
    assert _page(server, boss) == want  # warm: kept days merged with the live ones
    # The clock change lies among the kept days: its 23 or 25 hours were counted right.
    assert DST in kept and want["days"][DST.isoformat()][0] > 0


def test_kept_days_are_read_not_recounted_and_forget_clears_them(
        server: LiveServer, boss: str, history: list[data.T]) -> None:
    """A ticket slipped into a kept day behind the application's back is not seen until
    `flask reports forget`: the page really reads the kept figures."""
    day = DST + timedelta(days=4)
    moment = datetime.combine(day, time(12), data.ZONE).astimezone(UTC)
    engine = server.engine()
    with engine.begin() as conn:
        tickets = sa.Table("tickets", sa.MetaData(), autoload_with=conn)
        site = default_site_id(server, conn)
        conn.execute(tickets.insert(), [{"id": 9999, "site_id": site,
                                         "line_id": first_line_id(conn, site),
                                         "visitor_id": 1, "email": "v1@example.org",
                                         "name": "Late", "status": "cancelled",
                                         "created_at": moment, "ended_at": moment}])
    try:
        key = day.isoformat()
        assert _page(server, boss)["days"][key] == _want(history)["days"][key]
        assert "kept day(s) forgotten" in server.flask("reports", "forget")
        assert _kept(server) == set()
        late = data.T(9999, 1, "v1@example.org", "Late", "cancelled", None, None, moment, None,
                      moment)
        assert _page(server, boss) == _want([*history, late])
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM tickets WHERE id = 9999"))
        server.flask("reports", "forget")
        engine.dispose()
    assert "day(s) counted and kept" in server.flask("reports", "warm", "--days", "366")
    assert {FIRST + timedelta(days=n) for n in range(14)} - {OPEN_DAY} <= _kept(server)
    assert _page(server, boss) == _want(history)


@pytest.mark.parametrize("zone", ["Asia/Kolkata", "Europe/London"])
def test_each_zone_keeps_its_own_days(server: LiveServer, history: list[data.T], zone: str) -> None:
    """Another TIMEZONE cuts other days out of the same tickets: kept apart, by zone."""
    from tablequeue.service.reports import report

    tz = ZoneInfo(zone)
    chicago = _kept(server)
    want = _want(history, tz)
    for _ in ("cold", "warm"):
        with server.app.app_context():
            result = report(Period(FIRST, TODAY, tz, site=_site(server)))
        assert result.by_hour == want["hours"]
        assert {d.isoformat(): n for d, n in result.by_day.items()} == {
            d: v[0] for d, v in want["days"].items()}
        assert result.totals.served == want["figures"]["served"]
        assert {r.name: r.served for r in result.staff} == {
            k: v[0] for k, v in want["staff"].items()}
        assert len(_kept(server, zone)) >= 12
    assert _kept(server) == chicago


def test_days_counted_before_a_forget_are_not_kept(server: LiveServer,
                                                   history: list[data.T]) -> None:
    """A report that counted from a snapshot older than a purge must not write its days
    back: keep() compares the epoch its snapshot read with the current one."""
    from tablequeue.db import read_only, unit_of_work
    from tablequeue.service.reports import days, rollups
    from tablequeue.service.reports.period import Period

    day = DST + timedelta(days=5)
    epoch = "SELECT generation FROM report_epoch"
    with server.app.app_context():
        period = Period(day, day, data.ZONE, site=_site(server))
        with unit_of_work() as session:
            rollups.forget_all(session)
        with read_only() as connection:
            seen = connection.execute(sa.text(epoch)).scalar_one()
            counted = days.count(connection, period)
        with unit_of_work() as session:  # e.g. a purge, committed meanwhile
            rollups.forget_before(session, datetime(2000, 1, 1, tzinfo=UTC))
        rollups.keep(period, counted, seen)
        assert day not in _kept(server)
        with read_only() as connection:
            assert connection.execute(sa.text(epoch)).scalar_one() == seen + 1
        rollups.keep(period, counted, seen + 1)
        assert day in _kept(server)


def test_a_day_kept_in_another_format_is_counted_again_and_replaced(
        server: LiveServer, boss: str, history: list[data.T]) -> None:
    from tablequeue.models import ReportDay
    from tablequeue.service.reports.days import FORMAT

    assert _page(server, boss) == _want(history)
    table, day = ReportDay.__table__, DST + timedelta(days=6)
    engine = server.engine()
    with engine.begin() as conn:
        assert conn.execute(table.update().where(table.c.day == day)
                            .values(figures='{"v": 0}')).rowcount == 1
    assert _page(server, boss) == _want(history)
    with engine.connect() as conn:
        figures = conn.execute(select_figures(table, day)).scalar_one()
    engine.dispose()
    assert f'"v":{FORMAT},' in figures


def select_figures(table: sa.Table, day: date) -> sa.Select[tuple[str]]:
    return sa.select(table.c.figures).where(table.c.zone == data.ZONE_NAME, table.c.day == day)


def test_purge_forgets_the_days_it_changes(server: LiveServer, boss: str,
                                           history: list[data.T]) -> None:
    from tablequeue.service import privacy

    assert _page(server, boss) == _want(history)  # its days are kept
    keep_days = (TODAY - (DST + timedelta(days=1))).days
    with server.app.app_context():
        purged = privacy.purge(keep_days)
    assert purged.tickets > 0
    _only_remaining(server, history)
    assert _page(server, boss) == _want(history)


def test_deleting_a_visitor_forgets_their_days(server: LiveServer, boss: str,
                                               history: list[data.T]) -> None:
    from tablequeue.service import privacy

    open_ = {t.visitor for t in history if t.status in ("waiting", "serving")}
    past = [t for t in history if t.visitor not in open_ and t.local().date() < OPEN_DAY]
    visitor = max({t.visitor for t in past}, key=lambda v: sum(t.visitor == v for t in past))
    with server.app.app_context():
        assert privacy.delete_visitor(f"v{visitor}@example.org") > 0
    _only_remaining(server, history)
    assert _page(server, boss) == _want(history)


def test_removing_a_staff_account_forgets_their_days(server: LiveServer, boss: str,
                                                     history: list[data.T]) -> None:
    """linus has the highest id: SQLite gives it to the next account, which must not
    inherit his kept service figures."""
    from tablequeue.service import identity

    assert _page(server, boss) == _want(history)
    with server.app.app_context():
        identity.remove_staff("linus")
    for t in history:
        if t.staff == "linus" and t.status == "serving":  # put back in line
            t.status, t.staff, t.table, t.claimed = "waiting", None, None, None
        elif t.staff == "linus":
            t.staff = REMOVED
    server.add_staff("newbie")
    shown = _page(server, boss)
    assert REMOVED in shown["staff"] and "newbie" not in shown["staff"]
    assert shown == _want(history)


def _site(server: LiveServer) -> SiteId:
    """The default site, whose reports these are (call inside the app's context)."""
    from tablequeue.service.directory import directory_of

    return directory_of(server.app).default().id


def _only_remaining(server: LiveServer, history: list[data.T]) -> None:
    """Drops from `history` the tickets the database no longer has."""
    with server.engine().connect() as conn:
        ids = {row[0] for row in conn.execute(sa.text("SELECT id FROM tickets"))}
    history[:] = [t for t in history if t.id in ids]


def test_days_are_counted_in_runs_of_a_week_at_most() -> None:
    """A cold year is counted a week at a time, the worker's other greenlets running in
    between (rollups.RUN_DAYS): runs never cross a gap and never exceed a week."""
    first = date(2026, 1, 1)
    missing = [first + timedelta(days=n) for n in range(20)] + [first + timedelta(days=25)]
    period = Period(first, first + timedelta(days=25), ZoneInfo("America/Chicago"),
                    site=SiteId(1))
    pieces = runs(missing, period)
    assert [(p.first.day, p.last.day) for p in pieces] == [(1, 7), (8, 14), (15, 20), (26, 26)]
    assert all(len(p.days) <= RUN_DAYS for p in pieces)
