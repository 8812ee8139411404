"""A report's period: one site's whole days in the site's time zone, and what they are in UTC.

Stored times are UTC; a person asks about "Tuesday" or "9 to 10" on the wall clock of the
site (its own time zone, Site.timezone). A period is from its first day's local midnight
to the local midnight after its last day, both turned into UTC instants for the WHERE
clause."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tablequeue.outcomes import SiteId

PRESETS = ("today", "yesterday", "7d", "30d")
PRESET_LABELS = {"today": "Today", "yesterday": "Yesterday", "7d": "Last 7 days",
                 "30d": "Last 30 days"}
MAX_DAYS = 366 * 3  # a longer period is refused: nobody reads it, and it costs a full scan


class PeriodError(ValueError):
    """A period the page cannot show; the message says why, for people."""


@dataclass(frozen=True)
class Period:
    first: date  # inclusive, local
    last: date  # inclusive, local
    zone: ZoneInfo
    preset: str | None = None  # "today", ... when chosen from the picker
    site: SiteId = field(kw_only=True)  # whose tickets; `zone` is that site's

    @property
    def start_utc(self) -> datetime:
        return local_midnight(self.first, self.zone)

    @property
    def end_utc(self) -> datetime:
        """Exclusive: the local midnight after the last day."""
        return local_midnight(self.last + timedelta(days=1), self.zone)

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    def label(self) -> str:
        if self.preset:
            return PRESET_LABELS[self.preset]
        if self.first == self.last:
            return self.first.isoformat()
        return f"{self.first.isoformat()} to {self.last.isoformat()}"


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant of the day's first local moment (zoneinfo resolves a skipped
    midnight, as in zones that change clocks at 00:00, to the instant after the gap)."""
    return datetime.combine(day, time(0), zone).astimezone(UTC)


def today(zone: ZoneInfo, now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(zone).date()


def from_preset(preset: str, zone: ZoneInfo, now: datetime | None = None, *,
                site: SiteId) -> Period:
    day = today(zone, now)
    first, last = {
        "today": (day, day),
        "yesterday": (day - timedelta(days=1), day - timedelta(days=1)),
        "7d": (day - timedelta(days=6), day),
        "30d": (day - timedelta(days=29), day),
    }[preset]
    return Period(first, last, zone, preset, site=site)


def from_dates(first: str, last: str, zone: ZoneInfo, *, site: SiteId) -> Period:
    """from=YYYY-MM-DD&to=YYYY-MM-DD, inclusive; either missing means the other (or today)."""
    try:
        start = date.fromisoformat(first) if first else None
        end = date.fromisoformat(last) if last else None
    except ValueError:
        raise PeriodError("dates look like 2026-03-31") from None
    start = start or end or today(zone)
    end = end or start
    if end < start:
        raise PeriodError("the period ends before it starts")
    if (end - start).days >= MAX_DAYS:
        raise PeriodError(f"a period is at most {MAX_DAYS} days")
    return Period(start, end, zone, site=site)


def parse(args: dict[str, str], zone: ZoneInfo, *, site: SiteId) -> Period:
    """The period a request asks for: ?period=7d, or ?from=...&to=..., else today."""
    preset = args.get("period", "")
    if preset in PRESETS:
        return from_preset(preset, zone, site=site)
    if preset not in ("", "range"):
        raise PeriodError(f"the period is one of {', '.join(PRESETS)} or from/to dates")
    if args.get("from") or args.get("to"):
        return from_dates(args.get("from", ""), args.get("to", ""), zone, site=site)
    return from_preset("today", zone, site=site)


def offset_ranges(start: datetime, end: datetime, zone: ZoneInfo) -> list[tuple[datetime, int]]:
    """The zone's UTC offset over [start, end) as (from_utc, offset_seconds) pieces, each
    holding until the next one starts: a year has one to three pieces (DST). Found by
    stepping six hours at a time (no zone changes twice that fast) and bisecting each
    change to the second."""
    pieces = [(start, _offset(start, zone))]
    step, cursor = timedelta(hours=6), start
    while cursor < end:
        following = min(cursor + step, end)
        if _offset(following, zone) != pieces[-1][1]:
            low, high = 0, int((following - cursor).total_seconds())  # old offset, new one
            while high - low > 1:
                middle = (low + high) // 2
                if _offset(cursor + timedelta(seconds=middle), zone) == pieces[-1][1]:
                    low = middle
                else:
                    high = middle
            change = cursor + timedelta(seconds=high)
            pieces.append((change, _offset(change, zone)))
        cursor = following
    return pieces


def _offset(moment: datetime, zone: ZoneInfo) -> int:
    delta = moment.astimezone(zone).utcoffset()
    return int(delta.total_seconds()) if delta is not None else 0
