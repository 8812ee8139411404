"""Median, 90th percentile and longest of a duration, from a histogram of it.

Method: nearest rank. The P-th percentile of n values is the value at rank ceil(P*n/100)
in ascending order, always a value that really occurred (the median of 1, 2, 3, 4 is 2).
Durations are counted in tenths of a minute ((seconds + 3) // 6, rounded half up), the
precision the page and the CSV show. Rounding is monotonic, so the nearest-rank value of
the rounded durations IS the rounded nearest-rank duration: nothing is approximated at
the precision shown, and the page's median equals the nearest-rank median of the CSV's
wait_minutes column.

Why histograms: they add up. The database groups a day's durations by tenths (a few
hundred buckets), finished days keep theirs (rollups.py), and a period's histogram is
the sum of its days': its percentiles are exactly those of all its tickets, without
sorting a year of tickets (ROW_NUMBER() over a million rows took seconds per grouping)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

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
    """The nearest rank, ceil(percent/100 * count), in integers."""
    return (percent * count + 99) // 100


def tenths(seconds: ColumnElement[Any]) -> ColumnElement[int]:
    """Whole seconds to tenths of a minute, half up: 2 s -> 0, 3 s -> 1 (0.1 min)."""
    return (seconds + 3) // 6


def spread(histogram: Mapping[int, int]) -> Spread:
    """The Spread of {tenths: how many}."""
    return spread_sorted(sorted(histogram.items()))


def spread_sorted(buckets: Iterable[tuple[int, int]]) -> Spread:
    """The Spread of (tenths, how many) pairs in ascending order of tenths."""
    pairs = list(buckets)
    size = sum(count for _, count in pairs)
    if not size:
        return Spread()
    wanted = [rank(percent, size) for percent in PERCENTS]
    found: list[int] = []
    seen = 0
    for value, count in pairs:
        seen += count
        while len(found) < len(wanted) and seen >= wanted[len(found)]:
            found.append(value)
    return Spread(size, found[0], found[1], pairs[-1][0])
