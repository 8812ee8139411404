"""Median, 90th percentile and longest of a duration, per group, in one SQL query.

SQLite has no percentile function, so both databases run the same window functions:
ROW_NUMBER() and COUNT() over each group, ordered by the value, and keep only the rows at
the wanted ranks. The method is the nearest rank: the P-th percentile of n values is the
value at rank ceil(P/100 * n) in ascending order, always a value that really occurred
(the median of 1, 2, 3, 4 is 2; the 90th percentile of ten values is the 9th)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Hashable

from sqlalchemy import func, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement


@dataclass(frozen=True)
class Spread:
    """A duration's distribution, in seconds; all None when nothing was measured."""

    count: int = 0
    median: float | None = None
    p90: float | None = None
    longest: float | None = None


def rank(percent: int, count: int) -> int:
    """The nearest rank, ceil(percent/100 * count), in integers (what the SQL computes)."""
    return (percent * count + 99) // 100


Groups = dict[str, "ColumnElement[Any] | None"]


def spreads(connection: Connection, value: ColumnElement[Any], groups: Groups,
            where: list[ColumnElement[bool]]) -> dict[str, dict[Hashable, Spread]]:
    """For each named grouping, {group key: Spread} over the rows `where` selects (a
    grouping of None is the whole set, under the key None). One query: the rows and their
    value are computed once, and each grouping is one window over them."""
    names = list(groups)
    keys = [groups[name].label(f"g{i}") for i, name in enumerate(names)  # type: ignore[union-attr]
            if groups[name] is not None]
    rows = select(value.label("x"), *keys).where(*where).subquery()
    windows, wanted = [], []
    for i, name in enumerate(names):
        partition = rows.c[f"g{i}"] if groups[name] is not None else None
        rn = func.row_number().over(partition_by=partition, order_by=rows.c.x).label(f"rn{i}")
        n = func.count().over(partition_by=partition).label(f"n{i}")
        windows += [rn, n]
    ranked = select(rows, *windows).subquery()
    for i in range(len(names)):
        rn, n = ranked.c[f"rn{i}"], ranked.c[f"n{i}"]
        wanted += [rn == (50 * n + 99) // 100, rn == (90 * n + 99) // 100, rn == n]
    found: dict[str, dict[Hashable, tuple[int, dict[int, float]]]] = {name: {} for name in names}
    for row in connection.execute(select(ranked).where(or_(*wanted))).mappings():
        for i, name in enumerate(names):
            count, position = row[f"n{i}"], row[f"rn{i}"]
            if position in (rank(50, count), rank(90, count), count):
                key = row[f"g{i}"] if groups[name] is not None else None
                found[name].setdefault(key, (count, {}))[1][position] = float(row["x"])
    return {
        name: {key: Spread(count, at[rank(50, count)], at[rank(90, count)], at[count])
               for key, (count, at) in per.items()}
        for name, per in found.items()
    }
