"""The log-in pages with an OpenID Connect provider (a real one, in its own process): the
"Sign in with …" button beside the password form, or alone with PASSWORD_LOGIN=off (and
POST /login then 404); the provider down at the start or at the callback (a clear page,
nobody signed in, passwords still work); sessions as a password gives them (revoked from
the CLI and /admin, cut at once or at the next sweep); logging out ends the provider's
session; /admin adds accounts by email; bad settings stop the app with a message naming
them."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from tests.kit.http_client import WebClient
from tests.kit.live import ROOT, LiveServer, free_port
from tests.kit.oidc import (
    PROVIDER_NAME,
    Provider,
    accounts,
    add_account,
    authorize,
    provider_env,
    sign_in,
)
from tests.kit.oidc_state import CLIENT_ID

OIDC_PORT = free_port()
SERVER_ENV = {**provider_env(OIDC_PORT), "RATE_LIMITS": "off", "SESSION_CHECK_SECONDS": "1",
              "SESSION_HOURS": "5"}


@pytest.fixture(scope="module")
def no_passwords_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer(Path(tmp_path_factory.mktemp("no-passwords")),
                      {**SERVER_ENV, "PASSWORD_LOGIN": "off"}).start()
    yield live
    live.close()


@pytest.fixture
def no_passwords(no_passwords_server: LiveServer, idp: Provider) -> LiveServer:
    no_passwords_server.reset()
    return no_passwords_server


@pytest.fixture
def ada(idp: Provider, server: LiveServer) -> Provider:
    add_account(server, "ada", "ada@example.edu", admin=True)
    idp.add_user("ada", email="ada@example.edu")
    return idp


# ---- /login -----------------------------------------------------------------------------


def test_the_login_page_offers_the_provider_and_the_password_form(fresh):
    page = WebClient(fresh.port).get("/login?next=/admin/").body
    assert f'href="/login/oidc?next=/admin/">Sign in with {PROVIDER_NAME}</a>' in page
    assert 'name="password"' in page and "Or with a tablequeue password" in page


def test_without_passwords_only_the_provider_signs_in(no_passwords, idp):
    browser = WebClient(no_passwords.port)
    page = browser.get("/login").body
    assert f"Sign in with {PROVIDER_NAME}" in page and 'name="password"' not in page
    token = browser.csrf_token("/login")
    reply = browser.post("/login", {"csrf_token": token, "username": "boss",
                                    "password": "password123"})
    assert reply.status == 404
    # The first admin is made with the CLI, without a password, and signs in.
    assert no_passwords.flask("staff", "add", "boss", "--email", "boss@example.edu",
                              "--admin") == "created boss (admin of every site)\n"
    idp.add_user("boss", email="boss@example.edu")
    done = sign_in(no_passwords, idp, "boss", next="/admin/")
    assert done.reply.header("Location") == "/admin/"
    assert done.app.get("/admin/").status == 200


def test_the_provider_down_is_a_clear_page_and_passwords_still_work(idp, server):
    server.add_staff("carol")
    idp.stop()
    reply = WebClient(server.port).get("/login/oidc")
    assert reply.status == 503
    assert (f"Signing in with {PROVIDER_NAME} is not possible right now: the sign-in service "
            "cannot be reached. Try again in a few minutes or log in with your tablequeue "
            "password.") in reply.body
    assert server.login("carol") is not None


def test_the_provider_down_at_the_callback_is_a_clear_page_and_signs_nobody_in(ada, server):
    """The person typed their password at the provider, which then went down before
    tablequeue could exchange the code: the same page as at the start, nobody signed in."""
    app, callback = authorize(server, ada, "ada")
    ada.stop()
    reply = app.get(callback)
    assert reply.status == 503
    assert (f"Signing in with {PROVIDER_NAME} is not possible right now: the sign-in service "
            "cannot be reached.") in reply.body
    assert app.get("/staff/").status == 302
    assert accounts(server) == {"ada": ("ada@example.edu", None, 0)}  # no session, no link


def test_the_provider_down_without_passwords_offers_no_password(no_passwords, idp):
    idp.stop()
    reply = WebClient(no_passwords.port).get("/login/oidc")
    assert reply.status == 503 and "Try again in a few minutes." in reply.body


# ---- the session it gives -----------------------------------------------------------------


def test_the_session_is_a_staff_session_like_a_password_gives(ada, server, connect):
    done = sign_in(server, ada, "ada")
    engine = server.engine()
    with engine.connect() as conn:
        created, expires = conn.execute(sa.text(
            "SELECT created_at, expires_at FROM staff_sessions")).one()
    engine.dispose()
    if isinstance(created, str):  # SQLite hands back text
        created, expires = datetime.fromisoformat(created), datetime.fromisoformat(expires)
    assert timedelta(hours=5) <= expires - created <= timedelta(hours=5, seconds=1)
    console = connect("/ws/staff", [f"Cookie: {done.cookie}"])
    assert console.sync() == ["taken"]
    assert console.answer("pick 3") == "success pick 3"
    server.flask("staff", "revoke", "ada")  # another process: the session sweep notices it
    assert console.recv(timeout=10) == "taken 3"
    assert done.app.get("/staff/").status == 302


def test_revoking_at_admin_cuts_the_console_at_once(ada, server, connect):
    add_account(server, "bob", "bob@example.edu")
    ada.add_user("bob", email="bob@example.edu")
    boss, bob = sign_in(server, ada, "ada"), sign_in(server, ada, "bob")
    console = connect("/ws/staff", [f"Cookie: {bob.cookie}"])
    assert console.sync() == ["taken"] and console.answer("pick 4") == "success pick 4"
    token = boss.app.csrf_token("/admin/")
    assert boss.app.post("/admin/staff/bob/revoke", {"csrf_token": token}).status == 302
    assert console.recv() == "taken 4"


def test_logout_ends_the_providers_session_too(ada, server):
    done = sign_in(server, ada, "ada")
    token = done.app.csrf_token("/staff/")
    reply = done.app.post("/logout", {"csrf_token": token})
    assert reply.status == 302
    location = urlsplit(reply.header("Location") or "")
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{ada.issuer}/logout"
    asked = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert asked["client_id"] == CLIENT_ID
    assert asked["post_logout_redirect_uri"] == f"{server.base}/login"
    assert asked["id_token_hint"].count(".") == 2
    assert done.app.get("/staff/").status == 302  # logged out here already
    at_provider = WebClient(ada.port).get(f"{location.path}?{location.query}")
    assert at_provider.status == 302 and at_provider.header("Location") == f"{server.base}/login"
    assert ada.log()["end_session"][-1]["id_token_hint"] == asked["id_token_hint"]


def test_logout_stays_here_when_the_provider_has_no_end_session(ada, server):
    ada.switch(no_end_session=True)
    done = sign_in(server, ada, "ada")
    reply = done.app.post("/logout", {"csrf_token": done.app.csrf_token("/staff/")})
    assert reply.status == 302 and reply.header("Location") == "/login"


def test_a_password_logout_never_visits_the_provider(ada, server):
    server.add_staff("carol")
    web = WebClient(server.port)
    assert web.login("carol").status == 302
    reply = web.post("/logout", {"csrf_token": web.csrf_token("/staff/")})
    assert reply.status == 302 and reply.header("Location") == "/login"


# ---- /admin ---------------------------------------------------------------------------------


def test_admin_adds_an_account_by_email_without_a_password(ada, server):
    boss = sign_in(server, ada, "ada")
    page = boss.app.get("/admin/").body
    assert 'name="email"' in page
    token = boss.app.csrf_token("/admin/")
    reply = boss.app.post("/admin/staff", {"csrf_token": token, "username": "dana",
                                           "password": "", "email": "Dana@Example.edu"})
    assert reply.status == 302
    assert "dana@example.edu" in boss.app.get("/admin/").body
    ada.add_user("dana", email="dana@example.edu")
    assert sign_in(server, ada, "dana").reply.header("Location") == "/staff/"


# ---- settings ---------------------------------------------------------------------------------

OIDC_NAMES = ("OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET", "OIDC_NAME")
BAD_SETTINGS = [
    ({"OIDC_ISSUER": "ftp://login.example.edu"}, "OIDC_ISSUER looks like https://"),
    ({"OIDC_ISSUER": "http://login.example.edu"}, "OIDC_ISSUER looks like https://"),
    ({"OIDC_ISSUER": "https://login.example.edu", "OIDC_CLIENT_ID": "tq"},
     "OIDC_ISSUER is set, so OIDC_CLIENT_SECRET is needed too"),
    ({"OIDC_ADMIN_GROUP": "tq-admins"}, "OIDC_ADMIN_GROUP set without OIDC_ISSUER"),
    ({"PASSWORD_LOGIN": "off"}, "PASSWORD_LOGIN=off needs OIDC_ISSUER"),
    ({**provider_env(OIDC_PORT), "OIDC_ALLOWED_DOMAINS": "example.edu, not a domain"},
     "OIDC_ALLOWED_DOMAINS lists domains like example.edu, got 'not a domain'"),
    ({**provider_env(OIDC_PORT), "OIDC_TRUST_EMAIL": "maybe"},
     "OIDC_TRUST_EMAIL must be on or off"),
]


@pytest.mark.parametrize("settings,says", BAD_SETTINGS)
def test_bad_settings_stop_the_app_with_a_message(server, settings, says):
    env = {k: v for k, v in server.env.items() if k not in OIDC_NAMES}
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "staff", "list"],
                          cwd=ROOT, env={**env, **settings}, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode != 0 and says in done.stderr, done.stderr
