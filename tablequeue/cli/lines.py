"""`flask --app app lines ...`: a site's service lines (docs/lines.md) from the command
line (`--site SLUG`, default: the default site). A line is named by its name or its id.
Open screens hear of a change through the relay when there is one, else within a few
seconds from every worker's floor poll."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.orm import Session

from tablequeue.cli.site_choice import per_site
from tablequeue.db import unit_of_work
from tablequeue.live.relay import floornotice
from tablequeue.outcomes import LineView, Outcome, Refusal, SiteView
from tablequeue.service import lines
from tablequeue.service.eventlog import seal

lines_cli = AppGroup("lines", help="A site's service lines: what visitors choose at the kiosk.")


def _fail(reason: str) -> NoReturn:
    raise click.ClickException(reason)


_REASONS = {
    Refusal.LINE_TAKEN: "a line with this name exists already",
    Refusal.LINE_BUSY: "someone is waiting or being served in this line "
                       "(serve them, or transfer them to another line, first)",
    Refusal.LINE_LAST: "a site keeps at least one line",
    Refusal.NO_LINE: "no such line",
}


def _reason(refusal: Refusal) -> str:
    return _REASONS.get(refusal, refusal.value)


def _line(session: Session, site: SiteView, name: str) -> LineView:
    found = lines.by_name(session, site.id, name)
    if found is None:
        _fail(f"no line {name!r} at {site.slug} (see `flask --app app lines list`)")
    return found


def _change(site: SiteView, name: str | None,
            act: Callable[[Session, LineView | None], Outcome[Any]]) -> object:
    """Run one change in one transaction; a refusal or a bad name is the command's error.
    Screens are told (floornotice) once it committed."""
    try:
        with unit_of_work() as session:
            line = _line(session, site, name) if name is not None else None
            outcome = act(session, line)
            if outcome.refusal is not None:
                _fail(_reason(outcome.refusal))
            seal(session, outcome.events)  # in the log: every worker's poll reads them
    except lines.LineError as error:
        _fail(str(error))
    floornotice.from_command(current_app, site=site.id)
    return outcome.value


def _described(line: LineView) -> str:
    return f"{line.id}\t{line.name}\t{'open' if line.open else 'closed'}"


@lines_cli.command("list")
@per_site
def list_(site: SiteView) -> None:
    """The site's lines in their order: id, name, open or closed."""
    with unit_of_work() as session:
        for line in lines.all_lines(session, site.id):
            click.echo(_described(line))


@lines_cli.command("add")
@per_site
@click.argument("name")
def add(name: str, site: SiteView) -> None:
    """A new open line, last in the order (NAME: at most 40 characters)."""
    made = _change(site, None, lambda session, _: lines.add(session, site.id, name))
    assert isinstance(made, LineView)
    click.echo(f"line added: {_described(made)}")


@lines_cli.command("rename")
@per_site
@click.argument("line")
@click.argument("name")
def rename(line: str, name: str, site: SiteView) -> None:
    """Give LINE (its name or id) the name NAME."""
    _change(site, line, lambda session, found: lines.rename(session, site.id, _id(found), name))
    click.echo(f"line renamed: {name.strip()}")


@lines_cli.command("close")
@per_site
@click.argument("line")
def close(line: str, site: SiteView) -> None:
    """No new tickets in LINE; those already waiting in it are still served."""
    _change(site, line, lambda session, found: lines.set_open(session, site.id, _id(found), False))
    click.echo(f"line closed: {line}")


@lines_cli.command("open")
@per_site
@click.argument("line")
def open_(line: str, site: SiteView) -> None:
    """LINE takes new tickets again."""
    _change(site, line, lambda session, found: lines.set_open(session, site.id, _id(found), True))
    click.echo(f"line opened: {line}")


@lines_cli.command("remove")
@per_site
@click.argument("line")
def remove(line: str, site: SiteView) -> None:
    """Remove LINE: refused while anyone waits in it or is served from it, and for the
    site's last line. Reports still name it."""
    _change(site, line, lambda session, found: lines.remove(session, site.id, _id(found)))
    click.echo(f"line removed: {line}")


def _id(line: LineView | None) -> int:
    assert line is not None  # every command but `add` names a line, found or failed
    return line.id
