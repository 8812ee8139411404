"""A site's /admin, the lines section: add, rename, reorder, close and open, remove the
site's service lines (docs/lines.md). Same rules as the rest of the site's admin page (its
admins; htmx posts get the section back). Every change goes to the site's open screens
through the live layer's one door (kiosks redraw their buttons, consoles their boxes).

Its own blueprint under admin's URL prefix, like admin_floor.py: admin.py shows this
section on its page (lines_context), and the import goes one way only."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import current_app, request
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from tablequeue.db import unit_of_work
from tablequeue.live.registry import registry_of
from tablequeue.models import Ticket, TicketStatus
from tablequeue.outcomes import Event, LineView, Outcome, Refusal
from tablequeue.pages import access, sections
from tablequeue.pages.sitectx import SiteBlueprint, current_site
from tablequeue.service import lines
from tablequeue.service.eventlog import seal

bp = SiteBlueprint("admin_lines", __name__, prefix="/admin")
T = TypeVar("T")


class LineRefused(Exception):
    """An admin's change of a line that the service refused, in a person's words."""


def _waiting(session: Session, site: int) -> dict[int, int]:
    """How many wait in each line of the site (the admin sees who a removal would strand)."""
    rows = session.execute(
        select(Ticket.line_id, func.count()).where(
            Ticket.site_id == site, Ticket.status == TicketStatus.WAITING,
        ).group_by(Ticket.line_id))
    return {line: n for line, n in rows}


def lines_context() -> dict[str, object]:
    site = current_site().id
    with unit_of_work() as session:
        return {"lines": lines.all_lines(session, site),
                "line_waiting": _waiting(session, site)}


def _answer(action: sections.Action) -> str | Response:
    return sections.answer("admin/_lines.html", action, (LineRefused, lines.LineError),
                           lines_context)


def _line(session: Session, line_id: int) -> LineView:
    found = lines.get(session, current_site().id, line_id)
    if found is None:
        raise LineRefused("that line does not exist (any more)")
    return found


def _done(outcome: Outcome[T], name: str, events: list[Event]) -> T:
    """Its value and (into `events`, published after the commit) what changed; or why
    nothing did."""
    reasons = {
        Refusal.LINE_TAKEN: f"a line named {name!r} exists already",
        Refusal.LINE_BUSY: f"people are waiting or being served in {name}: serve them or "
                           "transfer them to another line first, then remove it",
        Refusal.LINE_LAST: f"{name} is the site's only line: a site keeps one line at least",
        Refusal.NO_LINE: "that line does not exist (any more)",
    }
    if outcome.refusal is not None:
        raise LineRefused(reasons.get(outcome.refusal, f"{name}: {outcome.refusal.value}"))
    events.extend(outcome.events)
    return outcome.value


def _act(change: Callable[[Session, list[Event]], str]) -> str | Response:
    """One transaction for the change; its events go out once it committed."""
    def act() -> str:
        changed: list[Event] = []
        with unit_of_work() as session:
            message = change(session, changed)
            events = seal(session, changed)
        registry_of(current_app).publish(events)
        return message

    return _answer(act)


def _with_line(line_id: int,
               change: Callable[[Session, LineView, list[Event]], str]) -> str | Response:
    return _act(lambda session, events: change(session, _line(session, line_id), events))


@bp.post("/lines")
@access.site_admin_required
def add() -> str | Response:
    def add_(session: Session, events: list[Event]) -> str:
        name = request.form.get("name", "").strip()
        _done(lines.add(session, current_site().id, name), name, events)
        return f"Added the line {name}."

    return _act(add_)


@bp.post("/lines/<int:line_id>/rename")
@access.site_admin_required
def rename(line_id: int) -> str | Response:
    def rename_(session: Session, line: LineView, events: list[Event]) -> str:
        name = request.form.get("name", "").strip()
        _done(lines.rename(session, line.site, line.id, name), name, events)
        return f"Renamed {line.name} to {name}."

    return _with_line(line_id, rename_)


@bp.post("/lines/<int:line_id>/open")
@access.site_admin_required
def set_open(line_id: int) -> str | Response:
    def switch(session: Session, line: LineView, events: list[Event]) -> str:
        opening = request.form.get("state") == "open"
        _done(lines.set_open(session, line.site, line.id, opening), line.name, events)
        return (f"{line.name} is open: the kiosk offers it again." if opening else
                f"{line.name} is closed: the kiosk no longer offers it; whoever waits in it "
                "is still served.")

    return _with_line(line_id, switch)


@bp.post("/lines/<int:line_id>/move")
@access.site_admin_required
def move(line_id: int) -> str | Response:
    def move_(session: Session, line: LineView, events: list[Event]) -> str:
        order = [each.id for each in lines.all_lines(session, line.site)]
        here = order.index(line.id)
        there = here - 1 if request.form.get("direction") == "up" else here + 1
        if not 0 <= there < len(order):
            return f"{line.name} stays where it is."
        order[here], order[there] = order[there], order[here]
        _done(lines.reorder(session, line.site, order), line.name, events)
        return f"Moved {line.name} {'up' if there < here else 'down'}."

    return _with_line(line_id, move_)


@bp.post("/lines/<int:line_id>/remove")
@access.site_admin_required
def remove(line_id: int) -> str | Response:
    def remove_(session: Session, line: LineView, events: list[Event]) -> str:
        _done(lines.remove(session, line.site, line.id), line.name, events)
        return f"Removed the line {line.name}; reports still name it."

    return _with_line(line_id, remove_)
