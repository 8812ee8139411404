"""A generated queue history for the reports tests, and its figures computed independently
in plain Python (no SQL, no tablequeue code), to compare with the page and the CSV."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from tests.kit.database import default_site_id, first_line_id
from tests.kit.live import LiveServer

ZONE_NAME = "America/Chicago"
ZONE = ZoneInfo(ZONE_NAME)
# Eight local days around the spring DST change (2026-03-08 02:00 -> 03:00 in Chicago),
# plus tickets just outside them on both sides.
FIRST, LAST = date(2026, 3, 5), date(2026, 3, 12)
STAFF = ("boss", "ada", "grace", "linus")
HOSTILE = ("=HYPERLINK(\"http://x\",\"y\")", "+SUM(1,2)", "-2+3", "@cmd", "\tTabbed", "\rCR")


@dataclass
class T:
    id: int
    visitor: int
    email: str
    name: str
    status: str
    staff: str | None
    table: int | None
    start: datetime
    claimed: datetime | None
    end: datetime | None

    @property
    def outcome(self) -> str:
        if self.status == "cancelled":
            return "no-show" if self.claimed else "closed"
        return self.status

    def local(self, zone: ZoneInfo = ZONE) -> datetime:
        return self.start.astimezone(zone)


def generate(seed: int = 14, around: date = FIRST, start_id: int = 1) -> list[T]:
    """600 tickets over the 14 local days from three days before `around`."""
    rng = random.Random(seed)
    tickets: list[T] = []
    serving: set[str] = set()  # one ticket in service per staff member (a unique index)
    first = datetime.combine(around - timedelta(days=3), time(0), ZONE)
    for n in range(start_id, start_id + 600):
        # Local wall-clock moments, some in the small hours (the DST night included).
        hours = rng.choice([0, 1, 2, 3, 8, 9, 10, 11, 14, 16, 22, 23])
        local = first + timedelta(days=rng.randrange(14), hours=hours,
                                  minutes=rng.randrange(60), seconds=rng.randrange(60))
        start = local.astimezone(UTC)
        visitor = rng.randrange(1, 90)
        name = HOSTILE[n % len(HOSTILE)] if n % 37 == 0 else f"Visitor {visitor}"
        email = f"=v{visitor}@example.org" if n % 41 == 0 else f"v{visitor}@example.org"
        roll = rng.random()
        staff, table, claimed, end, status = None, None, None, None, "waiting"
        if roll < 0.08:
            status, end = "cancelled", start + timedelta(hours=3)  # closed at end of day
        elif roll < 0.12:
            pass  # still waiting
        else:
            staff_index = rng.randrange(len(STAFF))
            staff, table = STAFF[staff_index], [3, 7, 0, 12][staff_index]
            claimed = start + timedelta(seconds=rng.randrange(5, 5400))
            if roll < 0.2:
                status, end = "cancelled", claimed + timedelta(seconds=rng.randrange(30, 300))
            elif roll < 0.24 and staff not in serving:
                status = "serving"
                serving.add(staff)
            else:
                status, end = "completed", claimed + timedelta(seconds=rng.randrange(60, 3600))
        tickets.append(T(n, visitor, email, name, status, staff, table, start, claimed, end))
    tickets.sort(key=lambda t: (t.start, t.id))
    return tickets


def load(server: LiveServer, tickets: list[T], accounts: bool = True) -> None:
    """Accounts through the service (boss is the admin), history straight into the tables."""
    for name in STAFF if accounts else ():
        server.add_staff(name)
    engine = server.engine()
    with engine.begin() as conn:
        ids = {row[0]: row[1] for row in conn.execute(sa.text("SELECT username, id FROM staff"))}
        site = default_site_id(server, conn)
        line = first_line_id(conn, site)
        known = {row[0] for row in conn.execute(sa.text("SELECT id FROM visitors"))}
        visitors = {t.visitor: t for t in tickets if t.visitor not in known}
        md = sa.MetaData()
        table_visitors = sa.Table("visitors", md, autoload_with=conn)
        table_tickets = sa.Table("tickets", md, autoload_with=conn)
        if visitors:
            conn.execute(table_visitors.insert(), [
                {"id": v, "site_id": site, "email": f"v{v}@example.org", "name": f"Visitor {v}",
                 "updated_at": _naive(t.start)} for v, t in visitors.items()])
        conn.execute(table_tickets.insert(), [
            {"id": t.id, "site_id": site, "line_id": line, "visitor_id": t.visitor,
             "email": t.email,
             "name": t.name,
             "status": t.status, "staff_id": ids[t.staff] if t.staff else None,
             "table_number": t.table, "created_at": _naive(t.start),
             "claimed_at": _naive(t.claimed), "ended_at": _naive(t.end)}
            for t in tickets])
        if conn.dialect.name == "postgresql":  # explicit ids: move the sequences past them
            for table in ("visitors", "tickets"):
                conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT max(id) FROM {table}))"))
    engine.dispose()


def loaded(server: LiveServer, tickets: list[T]) -> Iterator[list[T]]:
    """A module fixture's body: the tickets in an emptied database, emptied again after."""
    server.reset()
    load(server, tickets)
    yield tickets
    server.reset()


def admin(server: LiveServer) -> str:
    """boss's session cookie (boss, the first account, is the admin)."""
    cookie = server.login("boss")
    assert cookie
    return cookie


def _naive(moment: datetime | None) -> Any:
    """Reflected columns carry no UTC type: SQLite gets its text form, PostgreSQL the instant."""
    return moment


def in_period(tickets: list[T], first: date = FIRST, last: date = LAST,
              zone: ZoneInfo = ZONE) -> list[T]:
    return [t for t in tickets if first <= t.local(zone).date() <= last]


def nearest_rank(values: list[float], percent: int) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = -(-percent * len(ordered) // 100)  # ceil
    return ordered[k - 1]


def minutes(seconds: float | None) -> str:
    """One decimal, half up: 0.05 min (3 s) shows as 0.1 (Python's format would round the
    binary float, sometimes down)."""
    if seconds is None:
        return "–"
    tenths = (int(seconds) + 3) // 6
    return f"{tenths // 10}.{tenths % 10}"


def spread(values: list[float]) -> tuple[str, str, str, str]:
    return (minutes(nearest_rank(values, 50)), minutes(nearest_rank(values, 90)),
            minutes(max(values) if values else None), str(len(values)))


def expected(tickets: list[T], first: date = FIRST, last: date = LAST,
             zone: ZoneInfo = ZONE) -> dict[str, Any]:
    period = in_period(tickets, first, last, zone)
    end = datetime.combine(last + timedelta(days=1), time(0), zone)
    before_end = [t for t in tickets if t.start < end]
    visitors = {t.visitor for t in period}
    returning = {v for v in visitors if sum(1 for t in before_end if t.visitor == v) >= 2}
    claimed = [t for t in period if t.claimed]
    done = [t for t in period if t.status == "completed"]

    def wait(t: T) -> float:
        return (t.claimed - t.start).total_seconds()

    def service(t: T) -> float:
        return (t.end - t.claimed).total_seconds()

    def waits_on(day: date) -> list[float]:
        return [wait(t) for t in claimed if t.local(zone).date() == day]

    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    heat = [[0] * 24 for _ in range(7)]
    for t in period:
        heat[t.local(zone).weekday()][t.local(zone).hour] += 1
    per: dict[str, dict[str, tuple[int, int, str]]] = {"staff": {}, "table": {}}
    for kind, key in (("staff", lambda t: t.staff), ("table", lambda t: str(t.table))):
        for k in sorted({key(t) for t in claimed}):
            mine = [t for t in claimed if key(t) == k]
            served = [t for t in mine if t.status == "completed"]
            per[kind][k] = (len(served), sum(1 for t in mine if t.outcome == "no-show"),
                            minutes(nearest_rank([service(t) for t in served], 50)))
    return {
        "figures": {
            "visitors": len(period), "unique": len(visitors), "returning": len(returning),
            "served": len(done), "no_shows": sum(1 for t in period if t.outcome == "no-show"),
            "closed": sum(1 for t in period if t.outcome == "closed"),
            "waiting": sum(1 for t in period if t.status == "waiting"),
            "serving": sum(1 for t in period if t.status == "serving"),
        },
        "wait": spread([wait(t) for t in claimed]),
        "service": spread([service(t) for t in done]),
        "hours": [sum(1 for t in period if t.local(zone).hour == h) for h in range(24)],
        "days": {d.isoformat(): (sum(1 for t in period if t.local(zone).date() == d),
                                 minutes(nearest_rank(waits_on(d), 50)),
                                 minutes(nearest_rank(waits_on(d), 90)))
                 for d in days},
        "heat": heat,
        "staff": per["staff"],
        "tables": per["table"],
    }


def csv_rows(tickets: list[T], first: date = FIRST, last: date = LAST,
             site: str = "main", line: str = "General") -> list[list[str]]:
    def when(m: datetime | None) -> str:
        return "" if m is None else m.astimezone(ZONE).isoformat()

    def mins(a: datetime | None, b: datetime | None) -> str:
        return "" if a is None or b is None else minutes((a - b).total_seconds())

    def safe(text: str) -> str:
        return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text

    return [[str(t.id), when(t.start), when(t.claimed), when(t.end), t.outcome,
             mins(t.claimed, t.start), mins(t.end, t.claimed), safe(t.staff or ""),
             "" if t.table is None else str(t.table), safe(t.name), safe(t.email), site,
             line, "", ""]
            for t in in_period(tickets, first, last)]


def _cells(html: str, attribute: str) -> dict[str, list[str]]:
    """{attribute value: [text of each th/td after the row's header]} for data-* rows."""
    rows = {}
    for key, body in re.findall(rf'<tr {attribute}="([^"]*)">(.*?)</tr>', html, re.DOTALL):
        cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", body, re.DOTALL)
        rows[key] = [c.strip() for c in cells[1:]]
    return rows


def shown(html: str) -> dict[str, Any]:
    """The page's figures, read from its tables, in the shape expected() returns."""
    figures = dict(re.findall(r'<div data-figure="(\w+)"><dt>[^<]*</dt><dd>(\d+)</dd>', html))
    durations = _cells(html, "data-duration")
    hours = dict(re.findall(r'<td data-hour="(\d+)">(\d+)</td>', html))
    heat = _cells(html, "data-weekday")
    return {
        "figures": {k: int(v) for k, v in figures.items()},
        "wait": tuple(durations["wait"]), "service": tuple(durations["service"]),
        "hours": [int(hours[str(h)]) for h in range(24)],
        "days": {d: (int(v[0]), v[1], v[2]) for d, v in _cells(html, "data-day").items()},
        "heat": [[int(n) for n in heat[str(w)]] for w in range(7)],
        "staff": {k: (int(v[0]), int(v[1]), v[2]) for k, v in _cells(html, "data-staff").items()},
        "tables": {k: (int(v[0]), int(v[1]), v[2]) for k, v in _cells(html, "data-table").items()},
    }
