"""Sites: adding, changing, listing and removing offices, and who works at which.

A site's slug is its URL and never changes; its name, tables and time zone may. Removing
a site keeps nothing of it (tickets, visitors, follow links, mail, device keys, settings,
kept report days), and is refused while anyone waits or is served there, and for the
default site, which answers today's unprefixed URLs."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app
from sqlalchemy import delete, exists, func, select
from sqlalchemy import update as update_rows
from sqlalchemy.orm import Session

from tablequeue.config import SLUG_PATTERN
from tablequeue.models import (
    DeviceKey,
    ReportDay,
    Setting,
    Site,
    Staff,
    StaffSite,
    TableAssignment,
    Ticket,
    TicketStatus,
    Visitor,
)
from tablequeue.outcomes import (
    Event,
    FloorChanged,
    Outcome,
    Refusal,
    SiteId,
    SiteView,
    TableCountChanged,
    TableUnpicked,
    TicketRequeued,
    refused,
)
from tablequeue.service import eventlog
from tablequeue.service.lines import ensure_line
from tablequeue.service.reports import rollups
from tablequeue.service.views import held_table, serving_ticket, tables_changed, ticket_view

TABLES_MAX = 1000
NAME_MAX = 100
ZONE_MAX = 64  # models.Site.timezone
# No slug needs refusing: every site's screens live under /s/<slug>/, a namespace of their
# own, so no slug can shadow one of the app's own paths.
RESERVED: frozenset[str] = frozenset()
_ACTIVE = (TicketStatus.WAITING, TicketStatus.SERVING)


class SiteError(ValueError):
    """A site change that cannot be made; the message says why, for people."""


def view(site: Site) -> SiteView:
    return SiteView(SiteId(site.id), site.slug, site.name, site.tables, site.timezone)


def all_sites(session: Session) -> list[SiteView]:
    """Every site, by slug."""
    return [view(site) for site in session.scalars(select(Site).order_by(Site.slug))]


def find(session: Session, slug: str) -> SiteView | None:
    site = session.scalar(select(Site).where(Site.slug == slug))
    return view(site) if site else None


def get(session: Session, site: SiteId) -> SiteView | None:
    row = session.get(Site, site)
    return view(row) if row else None


def default_site(session: Session) -> SiteView:
    """The site DEFAULT_SITE names; made from TABLE_COUNT, TIMEZONE and SITE_NAME when
    missing (a database the upgrade made has it; one a DEFAULT_SITE change points
    elsewhere starts a new, empty site)."""
    config = current_app.config
    found = find(session, config["DEFAULT_SITE"])
    if found is not None:
        return found
    site = Site(slug=config["DEFAULT_SITE"], name=config["SITE_NAME"],
                tables=int(config["TABLE_COUNT"]), timezone=config["TIMEZONE"].key)
    session.add(site)
    session.flush()
    ensure_line(session, SiteId(site.id))
    return view(site)


def is_default(site: SiteView) -> bool:
    return site.slug == current_app.config["DEFAULT_SITE"]


def zone(site: SiteView) -> ZoneInfo:
    return ZoneInfo(site.timezone)


# ---- what a person may type ---------------------------------------------------------------


def invalid(slug: str | None = None, name: str | None = None, tables: int | None = None,
            timezone: str | None = None) -> str | None:
    """Why one of these values cannot be a site's, for people; None when all can."""
    if slug is not None and (not SLUG_PATTERN.fullmatch(slug) or slug in RESERVED):
        return "a slug is 1 to 40 of a-z, 0-9 and -"
    if name is not None and (not 1 <= len(name.strip()) <= NAME_MAX or not name.isprintable()):
        return f"a site's name is 1 to {NAME_MAX} printable characters"
    if tables is not None and not 1 <= tables <= TABLES_MAX:
        return f"the number of tables must be between 1 and {TABLES_MAX}"
    if timezone is not None and not _zone_known(timezone):
        return f"{timezone!r} is not a time zone name such as Europe/Berlin"
    return None


def _zone_known(name: str) -> bool:
    if not name or len(name) > ZONE_MAX:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # ValueError: not a key (a path, "..")
        return False
    return True


def _check(slug: str | None = None, name: str | None = None, tables: int | None = None,
           timezone: str | None = None) -> None:
    reason = invalid(slug, name, tables, timezone)
    if reason is not None:
        raise SiteError(reason)


# ---- changes -------------------------------------------------------------------------


def add(session: Session, slug: str, name: str, *, tables: int,
        timezone: str) -> Outcome[SiteView]:
    """A new, empty site (SiteError for a value `invalid` refuses)."""
    _check(slug=slug, name=name, tables=tables, timezone=timezone)
    if session.scalar(select(Site.id).where(Site.slug == slug)) is not None:
        return refused(Refusal.SITE_TAKEN)
    site = Site(slug=slug, name=name.strip(), tables=tables, timezone=timezone)
    session.add(site)
    session.flush()
    ensure_line(session, SiteId(site.id))  # every site has a line (docs/lines.md)
    return Outcome(view(site))


def update(session: Session, site: SiteId, *, name: str | None = None,
           tables: int | None = None, timezone: str | None = None) -> Outcome[SiteView]:
    """Rename a site, change its tables (SiteError while a table that would vanish is
    held) or its time zone; screens hear of what changed."""
    _check(name=name, tables=tables, timezone=timezone)
    row = session.get(Site, site)
    if row is None:
        raise SiteError("no such site")
    events: list[Event] = []
    if tables is not None and tables != row.tables:
        resize(session, site, tables)
        events.append(TableCountChanged(tables, site=site))
    if name is not None:
        row.name = name.strip()
    if timezone is not None and timezone != row.timezone:
        row.timezone = timezone  # opening hours are read in it: the floor may change
        events.append(FloorChanged(site=site))
    session.flush()
    return Outcome(view(row), events)


def resize(session: Session, site: SiteId, count: int) -> None:
    """The site's tables become 0..count-1; SiteError while a table that would go is held."""
    if not 1 <= count <= TABLES_MAX:
        raise SiteError(f"the number of tables must be between 1 and {TABLES_MAX}")
    highest = session.scalar(select(func.max(TableAssignment.table_number))
                             .where(TableAssignment.site_id == site))
    if highest is not None and highest >= count:
        raise SiteError(f"table {highest} is in use: ask its staff member to leave it first")
    session.execute(update_rows(Site).where(Site.id == site).values(tables=count))


def remove(session: Session, site: SiteId) -> Outcome[None]:
    """Delete the site and everything of it. Other sites' kept report days stay: the
    epoch is bumped (a report counting this site's days now keeps none of them)."""
    found = get(session, site)
    if found is None:
        return Outcome(None)
    if is_default(found):
        return refused(Refusal.SITE_DEFAULT)
    busy = exists().where(Ticket.site_id == site, Ticket.status.in_(_ACTIVE))
    if session.scalar(select(busy)):
        return refused(Refusal.SITE_BUSY)
    rollups.forget_site(session, site)
    eventlog.forget(session, [site])  # before its rows cascade: its number is kept
    # Tickets take their follow codes and unsent mail with them (ON DELETE CASCADE).
    for model in (Ticket, Visitor, Setting, DeviceKey, ReportDay, StaffSite, TableAssignment):
        session.execute(delete(model).where(model.site_id == site)
                        .execution_options(synchronize_session=False))
    session.execute(delete(Site).where(Site.id == site))
    return Outcome(None)


# ---- membership -----------------------------------------------------------------------


def _admin_everywhere(session: Session, staff_id: int) -> bool:
    """Staff.admin_everywhere: by is_admin or by OIDC_ADMIN_GROUP, a member of every site."""
    return bool(session.scalar(select(Staff.admin_everywhere).where(Staff.id == staff_id)))


def member_sites(session: Session, staff_id: int) -> list[SiteId]:
    """The sites this account works at (every site for an admin of every site), by id."""
    if _admin_everywhere(session, staff_id):
        return [SiteId(i) for i in session.scalars(select(Site.id).order_by(Site.id))]
    return [SiteId(i) for i in session.scalars(
        select(StaffSite.site_id).where(StaffSite.staff_id == staff_id)
        .order_by(StaffSite.site_id))]


def is_member(session: Session, staff_id: int, site: SiteId) -> bool:
    row = session.execute(
        select(Staff.admin_everywhere, select(StaffSite.site_id).where(
            StaffSite.staff_id == staff_id, StaffSite.site_id == site).exists())
        .where(Staff.id == staff_id)).first()
    return row is not None and bool(row[0] or row[1])


def administers(session: Session, staff_id: int, site: SiteId) -> bool:
    row = session.execute(
        select(Staff.admin_everywhere, select(StaffSite.site_id).where(
            StaffSite.staff_id == staff_id, StaffSite.site_id == site,
            StaffSite.is_admin.is_(True)).exists())
        .where(Staff.id == staff_id)).first()
    return row is not None and bool(row[0] or row[1])


def administered_sites(session: Session, staff_id: int) -> list[SiteId]:
    """The sites this account administers (every site for an admin of every site)."""
    if _admin_everywhere(session, staff_id):
        return member_sites(session, staff_id)
    return [SiteId(i) for i in session.scalars(
        select(StaffSite.site_id).where(StaffSite.staff_id == staff_id,
                                        StaffSite.is_admin.is_(True))
        .order_by(StaffSite.site_id))]


def set_sites(session: Session, staff_id: int, sites: Sequence[SiteId]) -> list[Event]:
    """The account works at exactly these sites from now on (it stays admin of those it
    administered and keeps). At a site it leaves it can no longer work: its table there
    is freed and its visitor there goes back to the line; the events say so."""
    wanted = set(sites)
    current = {site for site, in session.execute(
        select(StaffSite.site_id).where(StaffSite.staff_id == staff_id))}
    gone = [site for site in current if site not in wanted]  # with their admin flag
    if gone:
        session.execute(delete(StaffSite).where(StaffSite.staff_id == staff_id,
                                                StaffSite.site_id.in_(gone)))
    for site in sorted(wanted - current):
        session.add(StaffSite(staff_id=staff_id, site_id=site, is_admin=False))
    session.flush()
    if not gone or _admin_everywhere(session, staff_id):
        return []
    return leave(session, staff_id, {SiteId(site) for site in gone})


def leave(session: Session, staff_id: int, gone: set[SiteId]) -> list[Event]:
    """Free the staff member's table and requeue their ticket at the sites in `gone` (sites
    left; for service.oidc, sites no longer theirs when OIDC_ADMIN_GROUP is left)."""
    events: list[Event] = []
    held = held_table(session, staff_id)
    if held is not None and held[0] in gone:
        session.execute(delete(TableAssignment).where(TableAssignment.staff_id == staff_id))
        events.append(TableUnpicked(held[1], site=held[0]))
    ticket = serving_ticket(session, staff_id)
    if ticket is not None and ticket.site_id in gone:
        # Waiting again with its original id and start time: it keeps its place in line.
        ticket.status, ticket.staff_id, ticket.claimed_at = TicketStatus.WAITING, None, None
        table, ticket.table_number = ticket.table_number, None
        session.flush()
        events.append(TicketRequeued(ticket_view(ticket, None), table=table,
                                     site=SiteId(ticket.site_id)))
    if held is not None and held[0] in gone:
        events.append(tables_changed(session, site=held[0]))
    return events


def set_site_admin(session: Session, staff_id: int, site: SiteId, admin: bool) -> None:
    """Make the account admin of this one site (a member of it too), or no longer."""
    row = session.get(StaffSite, (staff_id, site))
    if row is None:
        if not admin:
            return
        session.add(StaffSite(staff_id=staff_id, site_id=site, is_admin=True))
    else:
        row.is_admin = admin
    session.flush()
