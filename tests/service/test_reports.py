"""/admin/reports and /admin/reports.csv on a live server and a real database: a generated
history (tests/kit/report_data.py) whose figures are computed independently in Python."""

from __future__ import annotations

import csv
import io
import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.kit import report_data as data
from tests.kit.database import default_site_id, first_line_id
from tests.kit.live import LiveServer

SERVER_ENV = {"TIMEZONE": data.ZONE_NAME}
PERIOD = f"from={data.FIRST.isoformat()}&to={data.LAST.isoformat()}"


@pytest.fixture(scope="module")
def history(server: LiveServer) -> Iterator[list[data.T]]:
    tickets = data.generate()
    yield from data.loaded(server, tickets)


@pytest.fixture(scope="module")
def boss(server: LiveServer, history: list[data.T]) -> str:
    return data.admin(server)


def test_page_figures_match_an_independent_computation(server: LiveServer, boss: str,
                                                        history: list[data.T]) -> None:
    status, _, html = server.http("GET", f"/admin/reports?period=range&{PERIOD}", cookie=boss)
    assert status == 200, html[:500]
    want = data.expected(history)
    assert data.shown(html) == want
    # The DST night: 2026-03-08 has 23 hours and its 2 o'clock never happened.
    assert want["heat"][6][2] == 0 and want["days"]["2026-03-08"][0] > 0
    assert len(re.findall(r'<svg class="chart', html)) == 6


def test_csv_matches_and_neutralises_formulas(server: LiveServer, boss: str,
                                              history: list[data.T]) -> None:
    status, headers, body = server.http("GET", f"/admin/reports.csv?{PERIOD}", cookie=boss)
    assert status == 200
    assert headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="tablequeue-2026-03-05-to-2026-03-12.csv"' in headers["content-disposition"]
    assert body.startswith("\ufeff")  # the BOM: Excel reads UTF-8
    rows = list(csv.reader(io.StringIO(body.removeprefix("\ufeff"), newline="")))
    assert rows[0] == ["id", "start", "claimed", "end", "outcome", "wait_minutes",
                       "service_minutes", "staff", "table", "name", "email", "site", "line",
                       "priority", "transferred_from"]
    assert rows[1:] == data.csv_rows(history)
    hostile = [r for r in rows[1:] if not r[9].startswith("Visitor")]
    assert hostile and all(r[9].startswith("'") for r in hostile)
    assert any(r[10].startswith("'=") for r in rows[1:])
    assert not any(cell[:1] in "=+-@\t\r" and cell for r in rows[1:] for cell in r[7:])


def test_csv_without_dates_is_today(server: LiveServer, boss: str) -> None:
    status, headers, _ = server.http("GET", "/admin/reports.csv", cookie=boss)
    assert status == 200 and re.search(r'filename="tablequeue-(\S+)-to-\1\.csv"',
                                       headers["content-disposition"])


@pytest.mark.parametrize("query", ["from=2026-13-01", "from=2026-03-05&to=2026-03-01",
                                   "from=2020-01-01&to=2026-01-01"])
def test_bad_periods_are_refused_with_a_reason(server: LiveServer, boss: str, query: str) -> None:
    status, _, body = server.http("GET", f"/admin/reports.csv?{query}", cookie=boss)
    assert status == 400 and "period" in body or "dates" in body
    status, _, html = server.http("GET", f"/admin/reports?{query}", cookie=boss)
    assert status == 400 and 'class="error"' in html


def test_admins_only(server: LiveServer, history: list[data.T]) -> None:
    for path in ("/admin/reports", f"/admin/reports.csv?{PERIOD}"):
        status, headers, _ = server.http("GET", path)
        assert status == 302 and "/login" in headers["location"]
        ada = server.login("ada")
        assert ada
        status, _, body = server.http("GET", path, cookie=ada)
        assert status == 403 and "Visitor" not in body


def _chunks(server: LiveServer, path: str, cookie: str) -> tuple[str, list[int]]:
    """GET over a raw socket: the response head and the size of each chunk as it came."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n"
                     "Connection: close\r\n\r\n".encode())
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    sizes = []
    while body:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        sizes.append(size)
        body = body[size + 2:]
    return head.decode(), sizes


def test_csv_is_streamed_in_chunks(server: LiveServer, boss: str, history: list[data.T]) -> None:
    """A large export leaves as many chunks, not one body built in memory first."""
    import sqlalchemy as sa

    engine = server.engine()
    with engine.begin() as conn:
        md = sa.MetaData()
        tickets = sa.Table("tickets", md, autoload_with=conn)
        start = datetime(2026, 2, 2, 15, tzinfo=UTC)
        site = default_site_id(server, conn)
        line = first_line_id(conn, site)
        conn.execute(tickets.insert(), [
            {"id": 100_000 + n, "site_id": site, "line_id": line, "visitor_id": 1,
             "email": "v1@example.org", "name": "Bulk", "status": "waiting",
             "created_at": start} for n in range(20_000)])
    engine.dispose()
    head, sizes = _chunks(server, "/admin/reports.csv?from=2026-02-02&to=2026-02-02", boss)
    assert "Transfer-Encoding: chunked" in head and "Content-Length" not in head, head
    assert len(sizes) >= 10, sizes
    assert max(sizes) < 200_000


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "Europe/London", "Australia/Lord_Howe",
                                  "America/Chicago, SQLite before 3.38"])
def test_figures_in_other_zones(server: LiveServer, history: list[data.T], zone: str,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    """report() on the server's database for other site zones: a half-hour offset (SQLite
    then groups by minute), no DST in the period (London changes on 2026-03-29), and a
    half-hour DST step (Lord Howe, 2026-04-05 is outside; its +10:30/+11 offsets are not
    whole hours). Compared with the independent computation, like the page."""
    from zoneinfo import ZoneInfo

    from tablequeue.service.directory import directory_of
    from tablequeue.service.reports import report
    from tablequeue.service.reports.period import from_dates

    if zone.endswith("before 3.38"):  # no unixepoch(): julianday() arithmetic instead
        import types

        from tablequeue.service.reports import sql

        monkeypatch.setattr(sql, "sqlite3", types.SimpleNamespace(sqlite_version_info=(3, 37, 2)))
        zone = zone.split(",")[0]
    tz = ZoneInfo(zone)
    with server.app.app_context():
        site = directory_of(server.app).default().id
        result = report(from_dates(data.FIRST.isoformat(), data.LAST.isoformat(), tz, site=site))
    want = data.expected(history, zone=tz)
    assert result.by_hour == want["hours"]
    assert result.heat == want["heat"]
    assert {d.isoformat(): n for d, n in result.by_day.items()} == {
        d: v[0] for d, v in want["days"].items()}
    assert result.totals.visitors == want["figures"]["visitors"]
    assert result.totals.returning == want["figures"]["returning"]
    days = {d.isoformat(): s for d, s in result.wait_by_day.items()}
    from tablequeue.pages.reports import minutes

    assert {d: (minutes(s.median), minutes(s.p90)) for d, s in days.items()} == {
        d: (v[1], v[2]) for d, v in want["days"].items()}
    durations = [(minutes(s.median), minutes(s.p90), minutes(s.longest), str(s.count))
                 for s in (result.wait, result.service)]
    assert durations == [want["wait"], want["service"]]
