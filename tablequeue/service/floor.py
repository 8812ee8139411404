"""The floor's settings: the announcement, the opening hours and the switch that closes or
reopens the line at once. Kept in the `settings` table (a restart loses nothing, every
worker and host reads the same), and read back as one `FloorNow`: what every screen should
show at this moment. Changes are picked up by each worker's poll (tablequeue.live.floorwatch),
so a `flask` command in another process reaches open screens with or without a relay."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Connection, delete, select

from tablequeue.db import transaction
from tablequeue.models import Setting, utcnow
from tablequeue.service import hours

ANNOUNCEMENT, UNTIL, HOURS, LINE = "announcement", "announcement_until", "hours", "line"
KEYS = (ANNOUNCEMENT, UNTIL, HOURS, LINE)
ANNOUNCEMENT_MAX = 280
MINUTES_MAX = 7 * 24 * 60
_SETTINGS = Setting.__table__
_READ = select(_SETTINGS.c.key, _SETTINGS.c.value).where(_SETTINGS.c.key.in_(KEYS))


class FloorError(ValueError):
    """A floor setting that cannot be made; the message says why, for people."""


@dataclass(frozen=True)
class FloorNow:
    """What screens show now: the current announcement, and whether the line is closed
    (and, if the hours say, when it opens next, in UTC)."""

    announcement: str | None
    closed: bool
    opens_at: datetime | None


@dataclass(frozen=True)
class Settings:
    announcement: str | None
    until: datetime | None
    openings: tuple[hours.Opening, ...]
    specs: tuple[str, ...]
    line: tuple[str, datetime] | None  # ("open" | "closed", since when)


def zone() -> ZoneInfo:
    return current_app.config["TIMEZONE"]


def _parse(raw: Mapping[str, str]) -> Settings:
    specs = tuple(raw[HOURS].split("\n")) if raw.get(HOURS) else ()
    line = None
    if raw.get(LINE):
        state, _, since = raw[LINE].partition(" ")
        line = (state, datetime.fromisoformat(since))
    until = datetime.fromisoformat(raw[UNTIL]) if raw.get(UNTIL) else None
    return Settings(raw.get(ANNOUNCEMENT) or None, until, hours.parse(list(specs)), specs, line)


def read(connection: Connection) -> Settings:
    return _parse({key: value for key, value in connection.execute(_READ)})


def current_settings() -> Settings:
    with transaction() as connection:
        return read(connection)


def now_of(settings: Settings, moment: datetime, site: ZoneInfo) -> FloorNow:
    """The floor at `moment`: the schedule, unless the switch overrides it. `line close`
    holds until the next scheduled opening (forever without hours); `line open` until the
    next scheduled closing (so a late evening does not leave the line open all week)."""
    announcement = settings.announcement
    if settings.until is not None and moment >= settings.until:
        announcement = None
    openings = settings.openings
    is_open = not openings or hours.open_at(openings, moment, site)
    if settings.line is not None:
        state, since = settings.line
        if state == "closed":
            ends = hours.next_opening(openings, since, site)
        else:
            ends = hours.next_closing(openings, since, site) if openings else None
        if ends is None or moment < ends:
            is_open = state == "open"
    opens_at = None if is_open else hours.next_opening(openings, moment, site)
    return FloorNow(announcement, not is_open, opens_at)


def floor_now() -> FloorNow:
    return now_of(current_settings(), utcnow(), zone())


def queue_closed(connection: Connection) -> bool:
    """For `new`, inside its transaction: is the line closed right now?"""
    return now_of(read(connection), utcnow(), zone()).closed


# ---- changes (the admin page and the CLI) -------------------------------------------


def _put(connection: Connection, values: Mapping[str, str | None]) -> None:
    connection.execute(delete(_SETTINGS).where(_SETTINGS.c.key.in_(list(values))))
    rows = [{"key": k, "value": v} for k, v in values.items() if v is not None]
    if rows:
        connection.execute(_SETTINGS.insert(), rows)


def announce(text: str, minutes: int | None = None) -> FloorNow:
    text = " ".join(text.split())  # one line: the wire message is `announce TEXT`
    if not text:
        raise FloorError("the announcement is empty")
    if len(text) > ANNOUNCEMENT_MAX:
        raise FloorError(f"an announcement is at most {ANNOUNCEMENT_MAX} characters, "
                         f"this one has {len(text)}")
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in text):
        raise FloorError("the announcement contains characters that cannot be printed")
    if minutes is not None and not 1 <= minutes <= MINUTES_MAX:
        raise FloorError(f"the minutes must be between 1 and {MINUTES_MAX}")
    until = utcnow() + timedelta(minutes=minutes) if minutes else None
    with transaction() as connection:
        _put(connection, {ANNOUNCEMENT: text, UNTIL: until.isoformat() if until else None})
    return floor_now()


def clear_announcement() -> None:
    with transaction() as connection:
        _put(connection, {ANNOUNCEMENT: None, UNTIL: None})


def set_hours(specs: list[str]) -> tuple[str, ...]:
    """Replace the weekly hours; the normalised lines (one per day)."""
    openings = hours.parse(specs)
    if not openings:
        raise FloorError("give at least one line of hours, or clear them")
    with transaction() as connection:
        _put(connection, {HOURS: "\n".join(hours.stored(openings))})
    return tuple(hours.describe(openings))


def clear_hours() -> None:
    with transaction() as connection:
        _put(connection, {HOURS: None})


def set_line(state: str) -> FloorNow:
    """"open" or "closed" from now on, until the schedule next changes (see now_of)."""
    with transaction() as connection:
        _put(connection, {LINE: f"{state} {utcnow().astimezone(UTC).isoformat()}"})
    return floor_now()


def describe_opening(moment: datetime | None) -> str:
    """"Monday at 09:00" in the site's zone, for people (the CLI and /admin)."""
    if moment is None:
        return "when an admin reopens it"
    local = moment.astimezone(zone())
    return f"{local.strftime('%A')} {local.strftime('%d %b')} at {local.strftime('%H:%M')}"
