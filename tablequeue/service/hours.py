"""Weekly opening hours in the site's time zone: parsing what an admin types
("mon-fri 09:00-17:00", "sat 10:00-13:00") and answering "open now?" and "when next?".

Pure functions over aware datetimes; times are compared in the site's zone (so a DST
change moves nothing people read), and handed back in UTC."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPEC = re.compile(r"(?P<days>[a-z,\-]+)\s+(?P<start>\d{1,2}:\d{2})-(?P<end>\d{1,2}:\d{2})")
SPEC_HELP = 'write hours like "mon-fri 09:00-17:00" or "sat,sun 10:00-13:00"'


class HoursError(ValueError):
    """What an admin typed is not a set of opening hours; the message says why."""


@dataclass(frozen=True, order=True)
class Opening:
    weekday: int  # 0 = Monday
    start: int  # minutes after midnight
    end: int  # minutes after midnight, up to 24 * 60


def _minutes(text: str) -> int:
    hours, minutes = (int(part) for part in text.split(":"))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise HoursError(f"{text} is not a time of day")
    return hours * 60 + minutes


def _days(text: str) -> list[int]:
    days: list[int] = []
    for part in text.split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise HoursError(f"{part!r} is not a day or a range of days; {SPEC_HELP}")
        a, b = DAYS.index(first), DAYS.index(last or first)
        if b < a:
            raise HoursError(f"{part!r}: a range of days runs forward, like mon-fri")
        days.extend(range(a, b + 1))
    return days


def parse(specs: list[str]) -> tuple[Opening, ...]:
    """Every opening the specs describe, sorted; "daily" means mon-sun."""
    openings: set[Opening] = set()
    for spec in specs:
        text = " ".join(spec.lower().split()).replace("daily", "mon-sun")
        match = _SPEC.fullmatch(text)
        if not match:
            raise HoursError(f"{spec!r}: {SPEC_HELP}")
        start, end = _minutes(match["start"]), _minutes(match["end"])
        if end <= start:
            raise HoursError(f"{spec!r}: closing must come after opening (no overnight hours)")
        openings.update(Opening(day, start, end) for day in _days(match["days"]))
    return tuple(sorted(openings))


def describe(openings: tuple[Opening, ...]) -> list[str]:
    """One line per day, for `hours show` and /admin: "mon 09:00-17:00"."""
    lines = []
    for day in range(7):
        spans = [f"{_clock(o.start)}-{_clock(o.end)}" for o in openings if o.weekday == day]
        if spans:
            lines.append(f"{DAYS[day]} {', '.join(spans)}")
    return lines


def stored(openings: tuple[Opening, ...]) -> list[str]:
    """One spec per opening, as `parse` reads them back (the settings row)."""
    return [f"{DAYS[o.weekday]} {_clock(o.start)}-{_clock(o.end)}" for o in openings]


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _at(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    """The wall-clock time `minutes` after midnight of `day` in the site's zone."""
    return (datetime.combine(day, time(0)) + timedelta(minutes=minutes)).replace(tzinfo=zone)


def open_at(openings: tuple[Opening, ...], moment: datetime, zone: ZoneInfo) -> bool:
    local = moment.astimezone(zone)
    now = local.hour * 60 + local.minute + local.second / 60
    return any(o.weekday == local.weekday() and o.start <= now < o.end for o in openings)


def _edges(openings: tuple[Opening, ...], moment: datetime, zone: ZoneInfo,
           opening: bool) -> datetime | None:
    """The first opening (or closing) strictly after `moment`, in UTC; None if there is
    none. An edge where one span ends and the next begins is no edge at all."""
    local_day = moment.astimezone(zone).date()
    for offset in range(8):
        day = local_day + timedelta(days=offset)
        spans = [o for o in openings if o.weekday == day.weekday()]
        for o in spans:
            edge = o.start if opening else o.end
            joined = any((p.end if opening else p.start) == edge for p in spans)
            at = _at(day, edge, zone)
            if not joined and at > moment:
                return at.astimezone(UTC)
    return None


def next_opening(openings: tuple[Opening, ...], moment: datetime,
                 zone: ZoneInfo) -> datetime | None:
    return _edges(openings, moment, zone, opening=True)


def next_closing(openings: tuple[Opening, ...], moment: datetime,
                 zone: ZoneInfo) -> datetime | None:
    return _edges(openings, moment, zone, opening=False)
