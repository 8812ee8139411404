"""The floor's settings: the announcement, the opening hours and the switch that closes or
reopens the line at once. Kept in the `settings` table (a restart loses nothing, every
worker and host reads the same), and read back as one `FloorNow`: what every screen should
show at this moment. Changes are picked up by each worker's poll (tablequeue.live.floorwatch),
so a `flask` command in another process reaches open screens with or without a relay."""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, bindparam, delete, select

from tablequeue.db import transaction
from tablequeue.models import Setting, Site, utcnow
from tablequeue.outcomes import SiteId
from tablequeue.service import hours

ANNOUNCEMENT, UNTIL, HOURS, LINE = "announcement", "announcement_until", "hours", "line"
# Bumped by every change of the site's service lines (service.lines): the poll tells the
# line-aware screens, as it tells watchers of a changed announcement (docs/lines.md).
LINES_REV = "lines_rev"
KEYS = (ANNOUNCEMENT, UNTIL, HOURS, LINE, LINES_REV)
ANNOUNCEMENT_MAX = 280
MINUTES_MAX = 7 * 24 * 60
_SETTINGS, _SITES = Setting.__table__, Site.__table__
# Each site's time zone and floor settings, for any number of sites in one statement (the
# floor poll reads every room of the worker at once); a site without settings is one row
# of NULLs.
_READ = (
    select(_SITES.c.id, _SITES.c.timezone, _SETTINGS.c.key, _SETTINGS.c.value)
    .select_from(_SITES.outerjoin(_SETTINGS, (_SETTINGS.c.site_id == _SITES.c.id)
                                  & _SETTINGS.c.key.in_(KEYS)))
    .where(_SITES.c.id.in_(bindparam("sites", expanding=True)))
)
_UTC = ZoneInfo("UTC")


class FloorError(ValueError):
    """A floor setting that cannot be made; the message says why, for people."""


@dataclass(frozen=True)
class FloorNow:
    """What screens show now: the current announcement, and whether the line is closed
    (and, if the hours say, when it opens next, in UTC)."""

    announcement: str | None
    closed: bool
    opens_at: datetime | None
    lines_rev: str | None = None  # changes whenever the site's lines do


@dataclass(frozen=True)
class Settings:
    announcement: str | None
    until: datetime | None
    openings: tuple[hours.Opening, ...]
    specs: tuple[str, ...]
    line: tuple[str, datetime] | None  # ("open" | "closed", since when)
    zone: ZoneInfo = _UTC  # the site's: hours are read on its wall clock
    lines_rev: str | None = None


def _parse(raw: Mapping[str, str], zone: ZoneInfo) -> Settings:
    specs = tuple(raw[HOURS].split("\n")) if raw.get(HOURS) else ()
    line = None
    if raw.get(LINE):
        state, _, since = raw[LINE].partition(" ")
        line = (state, datetime.fromisoformat(since))
    until = datetime.fromisoformat(raw[UNTIL]) if raw.get(UNTIL) else None
    return Settings(raw.get(ANNOUNCEMENT) or None, until, hours.parse(list(specs)), specs, line,
                    zone, raw.get(LINES_REV))


def read_many(connection: Connection, sites: Collection[SiteId]) -> dict[SiteId, Settings]:
    """Each site's settings (sites that do not exist are left out), in one statement."""
    raw: dict[SiteId, dict[str, str]] = {}
    zones: dict[SiteId, str] = {}
    for site, timezone, key, value in connection.execute(_READ, {"sites": list(sites)}):
        zones[site] = timezone
        found = raw.setdefault(site, {})
        if key is not None:
            found[key] = value
    return {site: parsed(found, zones[site]) for site, found in raw.items()}


def parsed(raw: Mapping[str, str], timezone: str | None) -> Settings:
    """Settings from their rows (key → value) and the site's zone (None: no such site)."""
    return _parse(raw, ZoneInfo(timezone) if timezone else _UTC)


def read(connection: Connection, *, site: SiteId) -> Settings:
    """The site's settings; a site that is gone reads as one without any."""
    return read_many(connection, (site,)).get(site) or _parse({}, _UTC)


def current_settings(*, site: SiteId) -> Settings:
    with transaction() as connection:
        return read(connection, site=site)


def zone(*, site: SiteId) -> ZoneInfo:
    """The site's time zone (opening hours, "we open at", reports)."""
    return current_settings(site=site).zone


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
    return FloorNow(announcement, not is_open, opens_at, settings.lines_rev)


def floor_now(*, site: SiteId) -> FloorNow:
    settings = current_settings(site=site)
    return now_of(settings, utcnow(), settings.zone)


def floors_now(sites: Collection[SiteId]) -> dict[SiteId, FloorNow]:
    """Each of these sites' floor now, from one statement (sites that are gone left out)."""
    if not sites:
        return {}
    with transaction() as connection:
        found = read_many(connection, sites)
    moment = utcnow()
    return {site: now_of(settings, moment, settings.zone) for site, settings in found.items()}


def closed_now(settings: Settings) -> bool:
    """For `new`, from the settings its transaction read: is the site's line closed now?"""
    return now_of(settings, utcnow(), settings.zone).closed


# ---- changes (the admin page and the CLI) -------------------------------------------


def _put(connection: Connection, site: SiteId, values: Mapping[str, str | None]) -> None:
    connection.execute(delete(_SETTINGS).where(_SETTINGS.c.site_id == site,
                                               _SETTINGS.c.key.in_(list(values))))
    rows = [{"site_id": site, "key": k, "value": v} for k, v in values.items() if v is not None]
    if rows:
        connection.execute(_SETTINGS.insert(), rows)


def lines_changed(connection: Connection, *, site: SiteId) -> None:
    """The site's lines changed (service.lines): a new revision for the floor poll."""
    _put(connection, site, {LINES_REV: secrets.token_hex(8)})


def announce(text: str, minutes: int | None = None, *, site: SiteId) -> FloorNow:
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
        _put(connection, site, {ANNOUNCEMENT: text, UNTIL: until.isoformat() if until else None})
    return floor_now(site=site)


def clear_announcement(*, site: SiteId) -> None:
    with transaction() as connection:
        _put(connection, site, {ANNOUNCEMENT: None, UNTIL: None})


def set_hours(specs: list[str], *, site: SiteId) -> tuple[str, ...]:
    """Replace the site's weekly hours; the normalised lines (one per day). New hours end
    a manual `line open`/`line close`: the schedule just set is what holds from now on
    (an override kept would hold until the new schedule's next edge, maybe days away)."""
    openings = hours.parse(specs)
    if not openings:
        raise FloorError("give at least one line of hours, or clear them")
    with transaction() as connection:
        _put(connection, site, {HOURS: "\n".join(hours.stored(openings)), LINE: None})
    return tuple(hours.describe(openings))


def clear_hours(*, site: SiteId) -> None:
    """No hours at the site (open unless closed by hand); ends a manual override too."""
    with transaction() as connection:
        _put(connection, site, {HOURS: None, LINE: None})


def set_line(state: str, *, site: SiteId) -> FloorNow:
    """"open" or "closed" from now on, until the schedule next changes (see now_of)."""
    with transaction() as connection:
        _put(connection, site, {LINE: f"{state} {utcnow().astimezone(UTC).isoformat()}"})
    return floor_now(site=site)


def describe_opening(moment: datetime | None, *, site: SiteId) -> str:
    """"Monday at 09:00" in the site's zone, for people (the CLI and /admin)."""
    if moment is None:
        return "when an admin reopens it"
    local = moment.astimezone(zone(site=site))
    return f"{local.strftime('%A')} {local.strftime('%d %b')} at {local.strftime('%H:%M')}"
