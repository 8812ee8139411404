"""Command-line administration of security and privacy: device keys, sessions, visitor data.

`flask --app app visitors purge` is meant for cron (see docs/security.md)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from tablequeue.cli.site_choice import per_site
from tablequeue.outcomes import SiteView
from tablequeue.service import devices, identity, privacy

device_cli = AppGroup("device", help="Device keys for a site's kiosks and displays (see "
                                     "DEVICE_KEYS).")
visitors_cli = AppGroup("visitors", help="Visitor data, at every site: purge old records, "
                                         "erase one visitor.")


@device_cli.command("issue")
@per_site
@click.argument("kind", type=click.Choice(devices.KINDS))
@click.argument("name")
def device_issue(kind: str, name: str, site: SiteView) -> None:
    """Issue a key for the site's kiosk or display NAME (it opens that site's screens
    only); it is printed once, as the last line."""
    try:
        key = devices.issue(kind, name, site=site.id)
    except devices.DeviceError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"device key for {kind} {name} (enter it once at /device on that screen):")
    click.echo(key)


@device_cli.command("revoke")
@per_site
@click.argument("name")
def device_revoke(name: str, site: SiteView) -> None:
    """Revoke NAME's key: that screen can no longer connect."""
    try:
        devices.revoke(name, site=site.id)
    except devices.DeviceError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"revoked the key of {name}")


@device_cli.command("list")
@per_site
def device_list(site: SiteView) -> None:
    """The site's device keys: name, kind, in use or revoked."""
    for info in devices.list_devices(site=site.id):
        state = "revoked" if info.revoked_at else "in use"
        click.echo(f"{info.name}\t{info.kind}\t{state}")


@visitors_cli.command("purge")
@click.option("--days", type=click.IntRange(1), default=None,
              help="Keep this many days (default: VISITOR_RETENTION_DAYS).")
def visitors_purge(days: int | None) -> None:
    """Delete finished tickets and visitors older than the retention period."""
    days = days or current_app.config["VISITOR_RETENTION_DAYS"]
    done = privacy.purge(days)
    click.echo(f"purged {done.tickets} tickets and {done.visitors} visitors older than {days} days")


@visitors_cli.command("delete")
@click.argument("email")
def visitors_delete(email: str) -> None:
    """Erase one visitor and all their tickets."""
    try:
        count = privacy.delete_visitor(email)
    except privacy.PrivacyError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"deleted the visitor and {count} tickets")


@click.command("revoke")
@click.argument("username")
def staff_revoke(username: str) -> None:
    """End every session of USERNAME (their consoles stop receiving visitor data)."""
    try:
        identity.revoke_sessions(username)
    except identity.AccountError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"revoked every session of {username}")
