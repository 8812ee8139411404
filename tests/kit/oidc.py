"""The test OpenID Connect provider (tests/kit/oidc_provider.py) as a process the tests start
and steer, and a sign-in through it over plain HTTP, step by step, as a browser makes it."""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import sqlalchemy as sa

from tests.kit.http_client import Reply, WebClient
from tests.kit.live import ROOT, LiveServer
from tests.kit.oidc_state import CLIENT_ID, CLIENT_SECRET

PROVIDER_NAME = "Test University"
PASSWORD = "provider-password"


def provider_env(port: int) -> dict[str, str]:
    """A tablequeue server's settings for the provider on `port`."""
    return {"OIDC_ISSUER": f"http://127.0.0.1:{port}", "OIDC_CLIENT_ID": CLIENT_ID,
            "OIDC_CLIENT_SECRET": CLIENT_SECRET, "OIDC_NAME": PROVIDER_NAME}


class Provider:
    """`python -m tests.kit.oidc_provider PORT`, started and stopped by a test module."""

    def __init__(self, port: int, workdir: Path) -> None:
        self.port = port
        self.log_path = workdir / "provider.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Provider:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.kit.oidc_provider", str(self.port)],
                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log_path.read_text()
            try:
                self._request("GET", "/.well-known/openid-configuration")
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the test provider did not start:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)
            self.process = None

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        try:
            conn.request(method, path, body=json.dumps(body or {}),
                         headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            data = response.read()
            assert response.status == 200, (response.status, data)
            return json.loads(data)
        finally:
            conn.close()

    def reset(self) -> None:
        """No users, no switches, an empty log; every provider session ends."""
        self._request("POST", "/_control/reset")

    def switch(self, **switches: Any) -> None:
        """Misbehave from now on (tests/kit/oidc_provider.py names the switches)."""
        self._request("POST", "/_control/switches", switches)

    def add_user(self, name: str, *, email: str | None = None, email_verified: bool | None = True,
                 groups: list[str] | None = None, sub: str | None = None) -> None:
        """A person at the provider; email_verified=None: the claim is never sent."""
        claims: dict[str, Any] = {"sub": sub or f"sub-{name}", "name": name.title()}
        if email is not None:
            claims["email"] = email
        if email_verified is not None and email is not None:
            claims["email_verified"] = email_verified
        if groups is not None:
            claims["groups"] = groups
        self._request("POST", "/_control/user", {"username": name, "password": PASSWORD,
                                                 **claims})

    def rotate(self) -> None:
        self._request("POST", "/_control/rotate")

    def log(self) -> dict[str, Any]:
        return dict(self._request("GET", "/_control/log"))


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


@dataclass
class SignIn:
    """One sign-in through the provider: the browser's cookies at tablequeue, the callback
    it was sent to (to replay it), and tablequeue's answer to that callback."""

    app: WebClient
    callback: str
    reply: Reply

    @property
    def cookie(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.app.jar.items())

    def message(self) -> str:
        """The refusal page's message, as a person reads it."""
        found = re.search(r'id="sign-in-refused">(.*?)</p>', self.reply.body, re.S)
        assert found, self.reply.body
        return unescape(found.group(1))


def authorize(server: LiveServer, provider: Provider, user: str, next: str | None = None,
              app: WebClient | None = None) -> tuple[WebClient, str]:
    """Press "Sign in with …" and type `user`'s password at the provider: the browser's
    cookies at tablequeue and the callback the provider sends it to (not yet followed)."""
    app = app or WebClient(server.port)
    start = app.get("/login/oidc" + (f"?{urlencode({'next': next})}" if next else ""))
    assert start.status == 302, (start.status, start.body)
    location = start.header("Location") or ""
    assert location.startswith(provider.issuer + "/authorize?"), location
    at_provider = WebClient(provider.port)
    form = at_provider.get(path_of(location))
    assert form.status == 200 and 'id="provider-username"' in form.body, form.body
    back = at_provider.post(path_of(location), {"username": user, "password": PASSWORD})
    assert back.status == 302, (back.status, back.body)
    callback = back.header("Location") or ""
    assert callback.startswith(f"{server.base}/login/oidc/callback?"), callback
    return app, path_of(callback)


def sign_in(server: LiveServer, provider: Provider, user: str, next: str | None = None,
            app: WebClient | None = None) -> SignIn:
    """authorize, then follow the callback back to tablequeue."""
    app, callback = authorize(server, provider, user, next, app)
    return SignIn(app, callback, app.get(callback))


def add_account(server: LiveServer, username: str, email: str | None, *, admin: bool = False,
                password: str = "") -> None:
    """An account as `flask staff add NAME --email ADDRESS [--admin]` makes it (the service
    function the command calls; tests/cli/test_staff.py runs the command itself)."""
    from tablequeue.service import identity

    with server.app.app_context():
        identity.add_staff(username, password, admin=admin, email=email)


Accounts = dict[str, tuple[str | None, str | None, int]]


def accounts(server: LiveServer) -> Accounts:
    """username -> (email, oidc_subject, live sessions), read from the database."""
    engine = server.engine()
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT username, email, oidc_subject, (SELECT count(*) FROM staff_sessions s"
            " WHERE s.staff_id = staff.id AND s.revoked_at IS NULL) FROM staff")).all()
    engine.dispose()
    return {row[0]: (row[1], row[2], row[3]) for row in rows}


def signed_in_nowhere(server: LiveServer, done: SignIn,
                      before: Accounts | None = None) -> None:
    """A refused sign-in logged nobody in: the browser gets no console, and no account got a
    session or a link it did not have `before` (default: none had any)."""
    assert done.app.get("/staff/").status == 302
    now = accounts(server)
    if before is None:
        before = {name: (email, None, 0) for name, (email, _, _) in now.items()}
    assert now == before


def add_site(server: LiveServer, slug: str, name: str) -> None:
    """A second site, as `flask site add SLUG NAME` makes it (the service function, in this
    process), once every worker serves its pages: a worker learns of a site another process
    added at its next re-read of the sites (at a miss, or at the next floor poll)."""
    from tablequeue.db import unit_of_work
    from tablequeue.service import sites

    with server.app.app_context(), unit_of_work() as session:
        added = sites.add(session, slug, name, tables=4, timezone="UTC")
        assert added.refusal is None, added.refusal
    deadline = time.monotonic() + 10
    while server.http("GET", f"/s/{slug}/kiosk/")[0] != 200:
        assert time.monotonic() < deadline, f"the server never served site {slug}"
        time.sleep(0.1)
    if int(server.env.get("WEB_CONCURRENCY") or 1) > 1:  # the other workers' next poll
        time.sleep(float(server.env.get("FLOOR_POLL_SECONDS") or 1) + 0.5)
