"""A year of tickets for the reports bench (bench/reports.py) and the browser test of a
realistic year: generated in Python, bulk-loaded fast (executemany in one transaction on
SQLite, COPY on PostgreSQL)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

STAFF, TABLES, VISITORS = 25, 10, 60_000
# Relative arrivals per local hour, 8:00 to 18:00, and per weekday (Monday first).
HOURS = {8: 3, 9: 8, 10: 12, 11: 12, 12: 7, 13: 9, 14: 12, 15: 11, 16: 8, 17: 4}
WEEKDAYS = [1.2, 1.1, 1.0, 1.0, 0.9, 0.4, 0.2]


def tickets(count: int, last_day: date, zone: ZoneInfo,
            seed: int = 14) -> Iterator[tuple[Any, ...]]:
    """(id, visitor_id, email, name, status, staff_id, table, created, claimed, ended) in
    start order, over the 365 days ending `last_day`; whole seconds, UTC."""
    rng = random.Random(seed)
    days = [last_day - timedelta(days=n) for n in range(364, -1, -1)]
    weights = [WEEKDAYS[d.weekday()] for d in days]
    per_day = [round(count * w / sum(weights)) for w in weights]
    per_day[-1] += count - sum(per_day)
    hours, hour_weights = list(HOURS), list(HOURS.values())
    ticket_id = 0
    for day, n in zip(days, per_day, strict=True):
        opened = datetime.combine(day, time(0), zone)
        starts = sorted(
            opened + timedelta(hours=rng.choices(hours, hour_weights)[0],
                               seconds=rng.randrange(3600))
            for _ in range(n)
        )
        closing = datetime.combine(day, time(19), zone).astimezone(UTC)
        for local in starts:
            ticket_id += 1
            yield _ticket(rng, ticket_id, local.astimezone(UTC), closing)


def _ticket(rng: random.Random, ticket_id: int, start: datetime,
            closing: datetime) -> tuple[Any, ...]:
    visitor = (min(int(rng.paretovariate(1.2)), VISITORS) if rng.random() < 0.4
               else rng.randrange(1, VISITORS + 1))
    staff = rng.randrange(1, STAFF + 1)
    roll = rng.random()
    if roll < 0.05:  # still waiting at closing: closed by the admin
        return (ticket_id, visitor, f"v{visitor}@example.org", f"Visitor {visitor}", "cancelled",
                None, None, start, None, closing)
    claimed = start + timedelta(seconds=int(rng.expovariate(1 / 900)) + 5)
    ended = claimed + timedelta(seconds=int(rng.expovariate(1 / 720)) + 30)
    status = "cancelled" if roll < 0.11 else "completed"
    return (ticket_id, visitor, f"v{visitor}@example.org", f"Visitor {visitor}", status,
            staff, staff % TABLES, start, claimed, ended)


def load(engine: Any, count: int, last_day: date, zone: ZoneInfo) -> None:
    """Staff, visitors and `count` tickets into an empty, migrated database."""
    with engine.begin() as connection:
        dbapi = connection.connection.driver_connection
        now = datetime.now(UTC).replace(microsecond=0)
        staff = [(n, f"staff{n}", "x", n == 1, True, now) for n in range(1, STAFF + 1)]
        # The migrated database's one site, the default: every row is its.
        site = connection.exec_driver_sql("SELECT min(id) FROM sites").scalar()
        # ...and its one line (docs/lines.md), made by the migration.
        line = connection.exec_driver_sql(
            f"SELECT min(id) FROM lines WHERE site_id = {int(site)}").scalar()
        visitors = [(n, f"v{n}@example.org", f"Visitor {n}", now, site)
                    for n in range(1, VISITORS + 1)]
        rows = ((*t, site, line) for t in tickets(count, last_day, zone))
        if engine.dialect.name == "postgresql":
            _copy(dbapi, "staff (id, username, password_hash, is_admin, active, created_at)", staff)
            _copy(dbapi, "visitors (id, email, name, updated_at, site_id)", visitors)
            _copy(dbapi, "tickets (id, visitor_id, email, name, status, staff_id, table_number,"
                  " created_at, claimed_at, ended_at, site_id, line_id)", rows)
            for table in ("staff", "visitors", "tickets"):
                dbapi.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"(SELECT max(id) FROM {table}))")
        else:
            _sqlite_rows(dbapi.cursor(), staff, visitors, rows)
    # As autovacuum would have done to a year-old table long ago: statistics, and on
    # PostgreSQL the visibility map that lets the covering index answer without the heap.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(
            "VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE")


def _sqlite_rows(cursor: Any, staff: list[Any], visitors: list[Any], rows: Any) -> None:
    cursor.executemany("INSERT INTO staff (id, username, password_hash, is_admin, active,"
                       " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                       [(*s[:5], _sqlite(s[5])) for s in staff])
    cursor.executemany("INSERT INTO visitors (id, email, name, updated_at, site_id)"
                       " VALUES (?, ?, ?, ?, ?)",
                       [(*v[:3], _sqlite(v[3]), v[4]) for v in visitors])
    cursor.executemany(
        "INSERT INTO tickets (id, visitor_id, email, name, status, staff_id, table_number,"
        " created_at, claimed_at, ended_at, site_id, line_id)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ((*t[:7], _sqlite(t[7]), _sqlite(t[8]), _sqlite(t[9]), t[10], t[11]) for t in rows),
    )


def _sqlite(moment: datetime | None) -> str | None:
    """SQLAlchemy's SQLite DATETIME text for a UTC instant."""
    return None if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S.000000")


def _copy(dbapi: Any, target: str, rows: Any) -> None:
    with dbapi.cursor().copy(f"COPY {target} FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
