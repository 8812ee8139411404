"""`flask --app app staff ...`: staff accounts and session tokens."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from tablequeue.service import identity, oidc

staff_cli = AppGroup("staff", help="Staff accounts and session tokens.")


def _fail(error: identity.AccountError) -> None:
    raise click.ClickException(str(error))


@staff_cli.command("add")
@click.argument("username")
@click.option("--password", help="Asked for when omitted, unless --email is given.")
@click.option("--email", help="Signs in through the OIDC provider with this address.")
@click.option("--admin", is_flag=True, help="May open /admin (the first account always is).")
def add(username: str, password: str | None, email: str | None, admin: bool) -> None:
    """Create a staff account (with --email and no --password: no password at all)."""
    if password is None and not email:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        info = identity.add_staff(username, password or "", admin=admin, email=email)
    except identity.AccountError as error:
        _fail(error)
    click.echo(f"created {info.username}" + (" (admin)" if info.is_admin else ""))


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
    """List staff accounts with their table."""
    for info in identity.list_staff():
        flags = [f for f, on in (("admin", info.is_admin), ("inactive", not info.active)) if on]
        table = "-" if info.table is None else str(info.table)
        address = f"\t{info.email}" if info.email else ""
        click.echo(f"{info.username}\ttable {table}{address}\t{' '.join(flags)}".rstrip())


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
