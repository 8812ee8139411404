"""Median, 90th percentile and longest of a duration, per group, in one SQL statement that
runs the same on SQLite (no percentile function) and PostgreSQL.

Method: nearest rank. The P-th percentile of n values is the value at rank ceil(P*n/100)
in ascending order, always a value that really occurred (the median of 1, 2, 3, 4 is 2).
Durations are counted in tenths of a minute (seconds + 3) // 6, rounded half up), the
precision the page and the CSV show. Rounding is monotonic, so the nearest-rank value of
the rounded durations IS the rounded nearest-rank duration: nothing is approximated at
the precision shown, and the page's median equals the nearest-rank median of the CSV's
wait_minutes column.

Why not ROW_NUMBER() over the tickets: a year is a million rows to sort per grouping,
seconds on either database. The statement instead builds a histogram (GROUP BY group,
tenths: a few thousand rows per grouping), re-aggregates it for the coarser groupings,
and runs the rank windows over the histogram: a running SUM of counts; the rank sits in
the bucket where the running sum first reaches it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, String, and_, cast, func, literal, or_, select, union_all
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

PERCENTS = (50, 90)


@dataclass(frozen=True)
class Spread:
    """A duration's distribution in tenths of a minute; None when nothing was measured."""

    count: int = 0
    median: int | None = None
    p90: int | None = None
    longest: int | None = None


def rank(percent: int, count: int) -> int:
    """The nearest rank, ceil(percent/100 * count), in integers (what the SQL computes)."""
    return (percent * count + 99) // 100


def tenths(seconds: ColumnElement[Any]) -> ColumnElement[int]:
    """Whole seconds to tenths of a minute, half up: 2 s -> 0, 3 s -> 1 (0.1 min)."""
    return (seconds + 3) // 6


def spreads(connection: Connection, seconds: ColumnElement[Any],
            keys: dict[str, ColumnElement[Any]], groupings: dict[str, str | None],
            where: list[ColumnElement[bool]]) -> dict[str, dict[str | None, Spread]]:
    """For each grouping (name -> one of `keys`, or None for all rows), {key as text or
    None: Spread} of `seconds` over the rows `where` selects."""
    # Grouped outside the row query: PostgreSQL sees two bound copies of one expression in
    # SELECT and GROUP BY as different expressions.
    rows = select(*[k.label(name) for name, k in keys.items()],
                  tenths(seconds).label("t")).where(*where).subquery()
    group = [rows.c[name] for name in keys] + [rows.c.t]
    histogram = select(*group, func.count().label("c")).group_by(*group).cte("histogram")
    names = list(groupings)
    parts = []
    for kind, name in enumerate(names):
        column = groupings[name]
        key = cast(histogram.c[column] if column else literal(None), String)
        part = select(literal(kind).label("kind"), key.label("k"), histogram.c.t,
                      cast(func.sum(histogram.c.c), BigInteger).label("c"))
        parts.append(part.group_by(key, histogram.c.t) if column else part.group_by(histogram.c.t))
    merged = union_all(*parts).subquery()
    group = [merged.c.kind, merged.c.k]
    running = select(
        merged.c.kind, merged.c.k, merged.c.t, merged.c.c,
        cast(func.sum(merged.c.c).over(partition_by=group, order_by=merged.c.t,
                                       rows=(None, 0)), BigInteger).label("cum"),
        # The same window ordering as `cum`, framed over the whole group: one sort for both.
        cast(func.sum(merged.c.c).over(partition_by=group, order_by=merged.c.t,
                                       rows=(None, None)), BigInteger).label("n"),
    ).subquery()
    cum, c, n = running.c.cum, running.c.c, running.c.n
    crossing = [and_(cum - c < (p * n + 99) // 100, cum >= (p * n + 99) // 100) for p in PERCENTS]
    query = select(running.c.kind, running.c.k, running.c.t, cum, c, n).where(
        or_(*crossing, cum == n))
    found: dict[tuple[int, str | None], tuple[int, list[tuple[int, int, int]]]] = {}
    for kind, key, t, total, count, size in connection.execute(query):
        found.setdefault((kind, key), (int(size), []))[1].append((int(total) - int(count) + 1,
                                                                  int(total), int(t)))
    result: dict[str, dict[str | None, Spread]] = {name: {} for name in names}
    for (kind, key), (size, buckets) in found.items():
        at = [_bucket(buckets, rank(50, size)), _bucket(buckets, rank(90, size)), _bucket(buckets, size)]
        result[names[kind]][key] = Spread(size, *at)
    return result


def _bucket(buckets: list[tuple[int, int, int]], position: int) -> int:
    """The value of the histogram bucket holding ranks low..high that contains `position`."""
    return next(t for low, high, t in buckets if low <= position <= high)

