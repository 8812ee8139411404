"""Admin of every site through OIDC_ADMIN_GROUP lasts only while the setting does
(Staff.admin_everywhere, migration 0010_admin_group), through a real provider process and
the real server, restarted with other settings: a group unset or renamed, or no provider
at all, ends it at once for every session; a password login ends it (only the provider
vouches for the group) until the next sign-in through the provider; an admin made with
the CLI stays one throughout."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.kit.http_client import WebClient
from tests.kit.live import LiveServer, free_port
from tests.kit.oidc import Provider, add_account, provider_env, sign_in

OIDC_PORT = free_port()
GROUP = "tq-admins"
SERVER_ENV = {**provider_env(OIDC_PORT), "RATE_LIMITS": "off", "OIDC_ADMIN_GROUP": GROUP}
THROUGH_GROUP = "admin through OIDC_ADMIN_GROUP"
CHANGES: dict[str, dict[str, str | None]] = {
    "group unset": {"OIDC_ADMIN_GROUP": None},
    "group renamed": {"OIDC_ADMIN_GROUP": "other-admins"},
    "no provider": {name: None for name in SERVER_ENV if name.startswith("OIDC_")},
}


@contextmanager
def _restarted(server: LiveServer, changes: dict[str, str | None]) -> Iterator[None]:
    """The server (and its CLI) restarted with these settings (None: unset), then restarted
    as it was. Same port, database and SECRET_KEY: the browsers' sessions carry over."""
    kept = dict(server.env)
    for name, value in changes.items():
        if value is None:
            server.env.pop(name, None)
        else:
            server.env[name] = value
    server.restart()
    try:
        yield
    finally:
        server.env.clear()
        server.env.update(kept)
        server.restart()


def _admin(app: WebClient) -> bool:
    status = app.get("/admin/").status
    assert status in (200, 403), status
    return status == 200


@pytest.fixture
def people(idp: Provider, server: LiveServer) -> Provider:
    """boss: admin by the CLI, with a password; carol: a password too; ada: none. All three
    are in the group at the provider."""
    add_account(server, "boss", "boss@example.edu", admin=True, password="password123")
    add_account(server, "carol", "carol@example.edu", password="password123")
    add_account(server, "ada", "ada@example.edu")
    for name in ("boss", "carol", "ada"):
        idp.add_user(name, email=f"{name}@example.edu", groups=["staff", GROUP])
    return idp


def _password(server: LiveServer, username: str) -> WebClient:
    browser = WebClient(server.port)
    assert browser.login(username).status == 302
    return browser


@pytest.mark.parametrize("case", CHANGES)
def test_a_group_admin_is_none_once_the_setting_changes(people, server, case):
    ada = sign_in(server, people, "ada").app
    assert _admin(ada) and THROUGH_GROUP in server.flask("staff", "list")
    with _restarted(server, CHANGES[case]):
        assert not _admin(ada)  # her session, without a sign-in since
        assert ada.get("/staff/").status == 200  # still staff of her site
        assert THROUGH_GROUP not in server.flask("staff", "list")
    # The setting back: the group her last sign-in found her in is the setting again.
    assert _admin(ada)


def test_a_password_login_ends_admin_through_the_group(people, server):
    provider = sign_in(server, people, "carol").app
    assert _admin(provider)
    password = _password(server, "carol")
    assert not _admin(password)
    assert not _admin(provider)  # the account is no group admin now, whichever session
    assert THROUGH_GROUP not in server.flask("staff", "list")
    assert _admin(sign_in(server, people, "carol").app)  # the provider vouches again


def test_an_admin_made_with_the_cli_stays_one_throughout(people, server):
    provider = sign_in(server, people, "boss").app
    assert _admin(provider) and _admin(_password(server, "boss"))
    with _restarted(server, CHANGES["no provider"]):
        assert _admin(provider) and _admin(_password(server, "boss"))
    people.add_user("boss", email="boss@example.edu", groups=["staff"])  # left the group
    assert _admin(sign_in(server, people, "boss").app) and _admin(provider)
    assert "boss\ttable -\tsites all\tboss@example.edu\tadmin" in server.flask(
        "staff", "list").splitlines()
