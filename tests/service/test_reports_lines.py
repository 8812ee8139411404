"""Reports per service line (docs/lines.md) on a live server: a small day worked out by hand
(arrivals in the line first joined, a transfer served in the line it left, the wait in the
new line from the transfer on), on the page (counted, then again from the kept day) and in
the CSV's line, priority and transferred_from columns."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from tests.kit.database import default_site_id, first_line_id
from tests.kit.live import LiveServer

DAY = "2026-01-05"
PAGE = f"/admin/reports?period=range&from={DAY}&to={DAY}"


def at(hhmm: str) -> datetime:
    hours, minutes = hhmm.split(":")
    return datetime(2026, 1, 5, int(hours), int(minutes), tzinfo=UTC)


def _history(server: LiveServer) -> None:
    """Lines General (the site's first), Aid, Records, Passport (nobody came) and Old
    (removed, nobody came); six tickets, two of them transferred."""
    engine = server.engine()
    with engine.begin() as conn:
        site = default_site_id(server, conn)
        general = first_line_id(conn, site)
        md = sa.MetaData()
        lines, tickets, moves, visitors = (sa.Table(name, md, autoload_with=conn) for name in
                                           ("lines", "tickets", "transfers", "visitors"))
        made = {}
        for position, name in enumerate(("Aid", "Records", "Passport", "Old"), start=1):
            made[name] = conn.execute(lines.insert().values(
                site_id=site, name=name, position=position, open=True, created_at=at("08:00"),
                removed_at=at("08:30") if name == "Old" else None)).inserted_primary_key[0]
        aid, records = made["Aid"], made["Records"]
        conn.execute(visitors.insert().values(id=1, site_id=site, email="v@example.org",
                                              name="V", updated_at=at("08:00")))
        row = {"site_id": site, "visitor_id": 1, "email": "v@example.org", "status": "completed",
               "claimed_at": None, "ended_at": None, "priority_reason": None,
               "transferred_from": None, "requeue_count": 0}
        conn.execute(tickets.insert(), [
            {**row, "id": 1, "name": "T1", "line_id": general, "created_at": at("09:00"),
             "claimed_at": at("09:10"), "ended_at": at("09:15")},
            {**row, "id": 2, "name": "T2", "line_id": general, "status": "cancelled",
             "created_at": at("09:01"), "claimed_at": at("09:21"), "ended_at": at("09:22")},
            {**row, "id": 3, "name": "T3", "line_id": aid, "created_at": at("09:02"),
             "claimed_at": at("09:05"), "ended_at": at("09:07")},
            # General 09:03, served 09:06-09:08, transferred to Aid, served 09:18-09:30.
            {**row, "id": 4, "name": "T4", "line_id": aid, "transferred_from": general,
             "requeue_count": 1, "created_at": at("09:03"), "claimed_at": at("09:18"),
             "ended_at": at("09:30")},
            # Aid 09:04, 09:09-09:10 to Records, 09:12-09:14 to General, closed unserved.
            {**row, "id": 5, "name": "T5", "line_id": general, "status": "cancelled",
             "transferred_from": records, "requeue_count": 2, "created_at": at("09:04"),
             "ended_at": at("17:00")},
            {**row, "id": 6, "name": "T6", "line_id": records, "status": "left",
             "priority_reason": "wheelchair", "created_at": at("10:00"), "ended_at": at("10:05")},
        ])
        conn.execute(moves.insert(), [
            {"site_id": site, "ticket_id": 4, "from_line_id": general, "to_line_id": aid,
             "claimed_at": at("09:06"), "transferred_at": at("09:08")},
            {"site_id": site, "ticket_id": 5, "from_line_id": aid, "to_line_id": records,
             "claimed_at": at("09:09"), "transferred_at": at("09:10")},
            {"site_id": site, "ticket_id": 5, "from_line_id": records, "to_line_id": general,
             "claimed_at": at("09:12"), "transferred_at": at("09:14")},
        ])
        if conn.dialect.name == "postgresql":  # explicit ids: move the sequences past them
            for table in ("visitors", "tickets"):
                conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT max(id) FROM {table}))"))
    engine.dispose()


@pytest.fixture
def boss(server: LiveServer) -> str:
    """The history above in an emptied database; the admin's session cookie."""
    server.reset()
    server.add_staff("boss")
    _history(server)
    cookie = server.login("boss")
    assert cookie
    return cookie


# Line: arrivals, served, no-shows, transfers out, wait median / p90, service median / p90.
WANT = {
    "General": ["3", "2", "1", "1", "10.0", "20.0", "2.0", "5.0"],
    "Aid": ["2", "3", "0", "1", "5.0", "10.0", "2.0", "12.0"],
    "Records": ["1", "1", "0", "1", "2.0", "2.0", "2.0", "2.0"],
    "Passport": ["0", "0", "0", "0", "–", "–", "–", "–"],
}


def _lines_table(html: str) -> dict[str, list[str]]:
    table = re.search(r'<table class="numbers" id="table-lines">(.*?)</table>', html, re.DOTALL)
    assert table, html[:2000]
    rows = {}
    for name, body in re.findall(r'<tr data-line="([^"]*)">(.*?)</tr>', table.group(1), re.DOTALL):
        rows[name] = [c.strip() for c in re.findall(r"<td>(.*?)</td>", body)]
    return rows


def test_per_line_figures_counted_then_kept(server: LiveServer, boss: str) -> None:
    for _ in range(2):  # the second read comes from the kept day (report_days)
        status, _, html = server.http("GET", PAGE, cookie=boss)
        assert status == 200, html[:500]
        shown = _lines_table(html)
        assert list(shown) == list(WANT)  # the site's order; a removed, empty line left out
        assert shown == WANT
    engine = server.engine()
    with engine.connect() as conn:
        kept = conn.execute(sa.text("SELECT count(*) FROM report_days")).scalar_one()
    engine.dispose()
    assert kept == 1


def test_csv_line_priority_and_transferred_from(server: LiveServer, boss: str) -> None:
    status, _, body = server.http("GET", f"/admin/reports.csv?from={DAY}&to={DAY}", cookie=boss)
    assert status == 200
    rows = list(csv.reader(io.StringIO(body.removeprefix("\ufeff"), newline="")))
    assert rows[0][-4:] == ["site", "line", "priority", "transferred_from"]
    assert [r[-3:] for r in rows[1:]] == [
        ["General", "", ""], ["General", "", ""], ["Aid", "", ""], ["Aid", "", "General"],
        ["General", "", "Records"], ["Records", "wheelchair", ""]]


def test_one_line_shows_no_table_of_lines(server: LiveServer, boss: str) -> None:
    status, _, html = server.http("GET", "/admin/reports?period=range&from=2026-01-06"
                                  "&to=2026-01-06", cookie=boss)
    assert status == 200 and 'id="table-lines"' in html  # the site has several lines
    server.reset()  # one line again
    server.add_staff("boss")
    cookie = server.login("boss")
    status, _, html = server.http("GET", PAGE, cookie=cookie)
    assert status == 200 and 'id="table-lines"' not in html  # one line: as before


def test_a_site_of_one_line_counts_it_from_the_days_own_figures(server: LiveServer) -> None:
    """The shortcut for a site that has only ever had one line gives what counting its
    tickets line by line gives, day by day (a generated week with every outcome)."""
    from tablequeue.db import read_only
    from tablequeue.service.reports import days, lines
    from tablequeue.service.reports.period import Period
    from tests.kit import report_data as data

    server.reset()
    data.load(server, data.generate())
    with server.app.app_context(), read_only() as connection:
        site = default_site_id(server, connection)
        period = Period(data.FIRST, data.LAST, data.ZONE, site=site)
        assert lines.only_line(connection, site) is not None
        shortcut = days.count(connection, period)
        counted = lines.count(connection, connection.dialect.name, period)
    assert any(doc["l"] for doc in shortcut.values())
    for day, doc in shortcut.items():
        assert doc["l"] == lines.encode(counted[day], days.flat), day
