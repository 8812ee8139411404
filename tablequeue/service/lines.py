"""A site's service lines (docs/lines.md): adding, renaming, opening, closing, removing and
ordering them (the CLI and /admin), and which of them each staff member serves.

Every site keeps at least one line. A removed line keeps its row (removed_at) so reports
still name it; nothing else sees it. Each change returns LinesChanged for the screens."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from sqlalchemy import ColumnElement, delete, exists, func, select
from sqlalchemy.orm import Session

from tablequeue.models import Line, StaffLine, Ticket, TicketStatus, utcnow
from tablequeue.outcomes import (
    Event,
    LinesChanged,
    LineView,
    Outcome,
    Refusal,
    ServeChanged,
    SiteId,
    refused,
)
from tablequeue.service import floor, line_sql
from tablequeue.service.line_sql import FIRST_LINE

NAME_MAX = 40
_ACTIVE = (TicketStatus.WAITING, TicketStatus.SERVING)


class LineError(ValueError):
    """A line change that cannot be made; the message says why, for people."""


def view(line: Line) -> LineView:
    return LineView(line.id, SiteId(line.site_id), line.name, line.position, line.open)


def _live(site: SiteId) -> tuple[ColumnElement[bool], ...]:
    """A line of this site that was not removed."""
    return Line.site_id == site, Line.removed_at.is_(None)


def all_lines(session: Session, site: SiteId) -> list[LineView]:
    """The site's lines in their order (removed ones left out)."""
    rows = session.scalars(select(Line).where(*_live(site)).order_by(Line.position, Line.id))
    return [view(line) for line in rows]


def open_lines(session: Session, site: SiteId) -> list[LineView]:
    return [line for line in all_lines(session, site) if line.open]


def get(session: Session, site: SiteId, line_id: int) -> LineView | None:
    line = session.scalar(select(Line).where(Line.id == line_id, *_live(site)))
    return view(line) if line else None


def by_name(session: Session, site: SiteId, name: str) -> LineView | None:
    """The line called `name` (or, for a number that names none, the line of that id)."""
    line = session.scalar(select(Line).where(Line.name == name.strip(), *_live(site)))
    if line is None and name.strip().isdigit():
        return get(session, site, int(name.strip()))
    return view(line) if line else None


def invalid_name(name: str) -> str | None:
    """Why `name` cannot be a line's, for people; None when it can."""
    name = name.strip()
    if not name:
        return "a line needs a name"
    if len(name) > NAME_MAX:
        return f"a line name is at most {NAME_MAX} characters"
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") for c in name):
        return "a line name contains characters that cannot be printed"
    return None


def _checked(name: str) -> str:
    reason = invalid_name(name)
    if reason is not None:
        raise LineError(reason)
    return name.strip()


def _taken(session: Session, site: SiteId, name: str, but: int | None = None) -> bool:
    query = select(Line.id).where(Line.name == name, *_live(site))
    if but is not None:
        query = query.where(Line.id != but)
    return session.scalar(query) is not None


def ensure_line(session: Session, site: SiteId) -> LineView:
    """The site's first line, made (FIRST_LINE, open) if it has none: a site always has one."""
    lines = all_lines(session, site)
    if lines:
        return lines[0]
    line = Line(site_id=site, name=FIRST_LINE, position=0, open=True)
    session.add(line)
    session.flush()
    return view(line)


# ---- changes (the CLI and /admin) -------------------------------------------------------


def _changed(session: Session, site: SiteId) -> list[Event]:
    """The screens' news of a change: the event (a page publishes it) and a new revision
    that every worker's floor poll notices (a `flask` command without a relay)."""
    floor.lines_changed(session.connection(), site=site)
    return [LinesChanged(site=site)]


def add(session: Session, site: SiteId, name: str) -> Outcome[LineView]:
    """A new open line, last in the site's order."""
    name = _checked(name)
    if _taken(session, site, name):
        return refused(Refusal.LINE_TAKEN)
    last = session.scalar(select(func.max(Line.position)).where(*_live(site)))
    line = Line(site_id=site, name=name, position=(last if last is not None else -1) + 1,
                open=True)
    session.add(line)
    session.flush()
    return Outcome(view(line), _changed(session, site))


def _line(session: Session, site: SiteId, line_id: int) -> Line | None:
    return session.scalar(select(Line).where(Line.id == line_id, *_live(site)))


def rename(session: Session, site: SiteId, line_id: int, name: str) -> Outcome[LineView]:
    name = _checked(name)
    line = _line(session, site, line_id)
    if line is None:
        return refused(Refusal.NO_LINE)
    if _taken(session, site, name, but=line_id):
        return refused(Refusal.LINE_TAKEN)
    line.name = name
    session.flush()
    return Outcome(view(line), _changed(session, site))


def set_open(session: Session, site: SiteId, line_id: int, is_open: bool) -> Outcome[LineView]:
    """Open or close a line: closing keeps whoever already waits in it."""
    line = _line(session, site, line_id)
    if line is None:
        return refused(Refusal.NO_LINE)
    line.open = is_open
    session.flush()
    return Outcome(view(line), _changed(session, site))


def remove(session: Session, site: SiteId, line_id: int) -> Outcome[None]:
    """Refused while anyone waits in the line or is served from it, and for the last line."""
    line = _line(session, site, line_id)
    if line is None:
        return refused(Refusal.NO_LINE)
    busy = session.scalar(select(exists().where(Ticket.line_id == line_id,
                                                Ticket.status.in_(_ACTIVE))))
    if busy:
        return refused(Refusal.LINE_BUSY)
    if len(all_lines(session, site)) <= 1:
        return refused(Refusal.LINE_LAST)
    line.removed_at = utcnow()
    session.execute(delete(StaffLine).where(StaffLine.line_id == line_id))
    session.flush()
    return Outcome(None, _changed(session, site))


def reorder(session: Session, site: SiteId, line_ids: Sequence[int]) -> Outcome[list[LineView]]:
    """Put the site's lines in this order (every line once)."""
    lines = {line.id: line for line in session.scalars(select(Line).where(*_live(site)))}
    if sorted(line_ids) != sorted(lines):
        return refused(Refusal.NO_LINE)
    for position, line_id in enumerate(line_ids):
        lines[line_id].position = position
    session.flush()
    return Outcome(all_lines(session, site), _changed(session, site))


# ---- who serves which lines ---------------------------------------------------------------


def served(session: Session, staff_id: int, site: SiteId) -> list[int]:
    """The lines this staff member serves at the site, in line order: those chosen that
    still exist, or every line when none are (the default)."""
    return line_sql.served(session.connection(), staff_id, site)


def choose(session: Session, staff_id: int, site: SiteId,
           line_ids: Sequence[int]) -> Outcome[list[int]]:
    """Serve these lines from now on (all of them: the default, new lines included)."""
    every = [line.id for line in all_lines(session, site)]
    if any(line_id not in every for line_id in line_ids):
        return refused(Refusal.NO_LINE)
    if not line_ids:
        return refused(Refusal.NO_LINES_CHOSEN)
    session.execute(delete(StaffLine).where(StaffLine.staff_id == staff_id,
                                            StaffLine.site_id == site))
    chosen = set(line_ids)
    if chosen != set(every):
        session.add_all(StaffLine(staff_id=staff_id, line_id=line_id, site_id=site)
                        for line_id in sorted(chosen))
    session.flush()
    mine = [line_id for line_id in every if line_id in chosen]
    return Outcome(mine, [ServeChanged(staff_id, tuple(mine), site=site)])
