"""`flask --app app staff ...`: staff accounts, the sites they work at and administer, and
session tokens."""

from __future__ import annotations

from typing import NoReturn

import click
from flask.cli import AppGroup

from tablequeue.cli.site_choice import site_named, sites_named
from tablequeue.outcomes import SiteView
from tablequeue.service import identity, oidc, staffing

staff_cli = AppGroup("staff", help="Staff accounts, their sites and session tokens.")


def _fail(error: ValueError) -> NoReturn:
    raise click.ClickException(str(error))


def _slugs(sites: tuple[SiteView, ...] | list[SiteView]) -> str:
    return ", ".join(site.slug for site in sites)


@staff_cli.command("add")
@click.argument("username")
@click.option("--password", help="Asked for when omitted, unless --email is given.")
@click.option("--email", help="Signs in through the OIDC provider with this address.")
@click.option("--admin", is_flag=True,
              help="Admin of every site (the first account always is).")
@click.option("--site", "slugs", multiple=True, metavar="SLUG",
              help="A site the account works at; repeat for several (default: the default "
                   "site).")
def add(username: str, password: str | None, email: str | None, admin: bool,
        slugs: tuple[str, ...]) -> None:
    """Create a staff account (with --email and no --password: no password at all)."""
    sites = sites_named(slugs) if slugs else [site_named(None)]  # before asking: fail first
    if password is None and not email:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        info = identity.add_staff(username, password or "", admin=admin, email=email,
                                  sites=[site.id for site in sites])
    except identity.AccountError as error:
        _fail(error)
    if info.is_admin:
        click.echo(f"created {info.username} (admin of every site)")
    else:
        click.echo(f"created {info.username} (sites: {_slugs(sites)})")


@staff_cli.command("email")
@click.argument("username")
@click.argument("address", required=False)
def email(username: str, address: str | None) -> None:
    """Set (or, without ADDRESS, clear) the email the next OIDC sign-in is matched by; the
    account is unlinked from the provider's account until then."""
    try:
        oidc.set_email(username, address)
    except identity.AccountError as error:
        _fail(error)
    click.echo(f"{username} now signs in through the provider as {address}" if address
               else f"{username} has no email: it cannot sign in through the provider")


@staff_cli.command("token")
@click.argument("username")
def token(username: str) -> None:
    """Issue a fresh session token; it is printed as the last line."""
    try:
        value = identity.issue_token(username)
    except identity.AccountError as error:
        _fail(error)
    click.echo(f"session token for {username} (use it in `pick TABLE TOKEN`):")
    click.echo(value)


@staff_cli.command("list")
def list_() -> None:
    """One line per account: its table and where, its sites, its admin rights."""
    for account in staffing.roster():
        table = "-" if account.table is None else (
            f"{account.table[1]} at {account.table[0].slug}")
        sites = "all" if account.admin_everywhere else _slugs(account.sites) or "none"
        address = f"\t{account.email}" if account.email else ""
        flags = ["admin through OIDC_ADMIN_GROUP" if account.through_group else
                 "admin" if account.admin_everywhere else
                 f"admin of {_slugs(account.administers)}" if account.administers else "",
                 "" if account.active else "inactive"]
        click.echo(f"{account.username}\ttable {table}\tsites {sites}{address}\t"
                   f"{'; '.join(f for f in flags if f)}".rstrip())


@staff_cli.command("sites")
@click.argument("username")
@click.argument("slugs", nargs=-1, required=True, metavar="SLUG [SLUG ...]")
def sites_(username: str, slugs: tuple[str, ...]) -> None:
    """The account works at exactly these sites from now on. A table it holds at a site
    it leaves is freed, and the visitor it was serving there waits again, first in line."""
    sites = sites_named(slugs)
    try:
        events = staffing.work_at(username, [site.id for site in sites])
    except staffing.StaffingError as error:
        _fail(error)
    freed = " (its table there was freed)" if events else ""
    click.echo(f"{username} works at {_slugs(sites)}{freed}")


@staff_cli.command("admin")
@click.argument("username")
@click.option("--site", "slugs", multiple=True, metavar="SLUG",
              help="Admin of this site only; repeat for several.")
@click.option("--every-site", is_flag=True, help="Admin of every site.")
@click.option("--none", "no_site", is_flag=True, help="Admin of no site.")
def admin(username: str, slugs: tuple[str, ...], every_site: bool, no_site: bool) -> None:
    """Set what the account administers: --site SLUG (that site only, and it works
    there), --every-site, or --none. Its other sites' membership stays."""
    if (bool(slugs) + every_site + no_site) != 1:
        raise click.UsageError("give --site SLUG (repeatable), --every-site or --none")
    sites = sites_named(slugs)
    try:
        by_group = staffing.set_admin_scope(username, everywhere=every_site,
                                            only=[site.id for site in sites])
    except staffing.StaffingError as error:
        _fail(error)
    scope = "every site" if every_site else f"{_slugs(sites)} only" if sites else "no site"
    click.echo(f"{username} is admin of {scope}" + (
        "; still admin of every site through OIDC_ADMIN_GROUP until a sign-in outside it"
        " or a password login"
        if by_group else ""))


@staff_cli.command("remove")
@click.argument("username")
def remove(username: str) -> None:
    """Delete a staff account, its sessions and its table."""
    try:
        identity.remove_staff(username)
    except identity.AccountError as error:
        _fail(error)
    click.echo(f"removed {username}")


@staff_cli.command("password")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def password(username: str, password: str) -> None:
    """Set a new password; every session of the account is revoked."""
    try:
        identity.set_password(username, password)
    except identity.AccountError as error:
        _fail(error)
    click.echo(f"password changed for {username}; their sessions were revoked")
