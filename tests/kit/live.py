"""A real server for tests: gunicorn + gevent in a subprocess, on a free port, with its own
database (tests/kit/database.py); its clients are in tests/kit/client.py."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
import websocket
from flask import Flask
from sqlalchemy.pool import NullPool

from tests.kit.client import Client
from tests.kit.database import (
    drop_postgres_database,
    empty_but_the_default_site,
    fresh_postgres_database,
)

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """One gunicorn process (one gevent worker unless told otherwise) on one database."""

    def __init__(
        self, workdir: Path, env: dict[str, str] | None = None, database_url: str | None = None
    ) -> None:
        """`database_url`: share another server's database (it is neither migrated afresh
        nor dropped by this one). TEST_DATABASE_URL / TEST_REDIS_URL select PostgreSQL and a
        Redis relay (then TEST_WEB_CONCURRENCY workers, default 3, on a private channel)."""
        self.workdir = workdir
        self.port = free_port()
        self.owns_database = database_url is None
        self.database_url = database_url or (
            os.environ.get("TEST_DATABASE_URL") and fresh_postgres_database()
        )
        self.database_url = self.database_url or f"sqlite:///{workdir / 'queue.sqlite3'}"
        self.env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "SECRET_KEY": "test-secret-" + uuid.uuid4().hex,
            "TABLE_COUNT": "50",
            "BIND": f"127.0.0.1:{self.port}",
            # Every event published must have been sealed into the event log (issue 27).
            "EVENT_LOG_STRICT": "on",
            **_relay_env(),
            **(env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / "gunicorn.log"
        self._app: Flask | None = None
        if self.owns_database:
            self.flask("db", "upgrade")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def flask(self, *args: str) -> str:
        """Run `flask --app app ARGS` against this server's database; its stdout."""
        done = self.flask_run(*args)
        assert done.returncode == 0, f"flask {' '.join(args)} failed:\n{done.stderr}"
        return done.stdout

    def flask_run(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run `flask --app app ARGS` and return the finished process, failed or not."""
        return subprocess.run(
            [sys.executable, "-m", "flask", "--app", "app", *args],
            cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=60,
            input=input, stdin=None if input is not None else subprocess.DEVNULL,
        )

    @property
    def app(self) -> Flask:
        """The application, in this process, on this server's database and configuration:
        what the CLI runs, without paying for a new interpreter per account."""
        if self._app is None:
            from app import create_app

            with _environment(self.env):
                self._app = create_app()
        return self._app

    def start(self) -> LiveServer:
        with open(self.log_path, "ab") as log:  # the child keeps its own copy of the fd
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "wsgi:app", "-c", "gunicorn.conf.py"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so a crash can take all of it
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"gunicorn exited:\n{self.log()}"
            try:
                self.connect("/ws/kiosk").close()
                return self
            except websocket.WebSocketBadStatusException:
                return self  # it answered: a server requiring device keys refuses the probe
            except (OSError, websocket.WebSocketException):  # workers still booting
                time.sleep(0.1)
        self.stop(signal.SIGKILL)  # a failed start must not leave workers behind
        raise RuntimeError(f"gunicorn did not start:\n{self.log()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """SIGTERM: a graceful stop. SIGKILL: a crash of the arbiter and every worker."""
        if self.process is None:
            return
        if sig == signal.SIGKILL:
            os.killpg(self.process.pid, signal.SIGKILL)
        elif self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None

    def close(self) -> None:
        """Stop the server and drop its PostgreSQL database, if it had one."""
        self.stop()
        if self._app is not None:
            from tablequeue.extensions import db

            with self._app.app_context():
                db.engine.dispose()
        if self.owns_database and self.database_url.startswith("postgresql"):
            drop_postgres_database(self.database_url)

    def restart(self, sig: int = signal.SIGTERM) -> None:
        self.stop(sig)
        self.start()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def connect(self, path: str, headers: list[str] | None = None) -> Client:
        return Client(self.url(path), headers)

    def add_staff(self, username: str, password: str = "password123") -> str:
        """Create a staff account and return a fresh session token for it (the service
        functions `flask staff add` and `flask staff token` call; tests/cli/test_staff.py runs
        the commands themselves)."""
        from tablequeue.service import identity

        with self.app.app_context():
            identity.add_staff(username, password)
            return identity.issue_token(username)

    def add_staffs(self, *usernames: str) -> list[str]:
        """Several accounts at once; their tokens in the same order."""
        return [self.add_staff(name) for name in usernames]

    def token(self, username: str) -> str:
        from tablequeue.service import identity

        with self.app.app_context():
            return identity.issue_token(username)

    def http(self, method: str, path: str, form: dict[str, str] | None = None,
             cookie: str | None = None) -> tuple[int, dict[str, str], str]:
        """One HTTP request; the status, the headers (lower-cased names) and the body."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            headers = {"Cookie": cookie} if cookie else {}
            body = None
            if form is not None:
                body = urllib.parse.urlencode(form)
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
            return response.status, {k.lower(): v for k, v in response.getheaders()}, text
        finally:
            conn.close()

    def login(self, username: str, password: str = "password123") -> str | None:
        """Log in through the /login form (with its CSRF token); the `Cookie` header value
        to send from now on, None if the login was refused."""
        from tests.kit.http_client import WebClient

        browser = WebClient(self.port)
        reply = browser.login(username, password)
        if reply.status != 302:
            return None
        return "; ".join(f"{k}={v}" for k, v in browser.jar.items())

    def session_token(self, cookie: str) -> str | None:
        """The session token a login put in this (signed, not encrypted) session cookie."""
        from flask.sessions import SecureCookieSessionInterface

        value = dict(part.split("=", 1) for part in cookie.split("; ")).get("session")
        serializer = SecureCookieSessionInterface().get_signing_serializer(self.app)
        assert serializer is not None and value
        token = serializer.loads(value).get("token")
        return token if isinstance(token, str) else None

    def logout(self, cookie: str) -> None:
        """Press the staff page's log-out button."""
        from tests.kit.http_client import WebClient

        browser = WebClient(self.port)
        browser.jar = dict(part.split("=", 1) for part in cookie.split("; "))
        reply = browser.post("/logout", {"csrf_token": browser.csrf_token("/staff/")})
        assert reply.status == 302, f"logout answered {reply.status}: {reply.body}"

    def engine(self) -> sa.Engine:
        """An engine on the server's database that keeps no connection open between uses:
        a pooled psycopg connection left for the garbage collector would raise a
        ResourceWarning (an error here) inside whichever test happens to be running."""
        return sa.create_engine(self.database_url, poolclass=NullPool)

    def reset(self) -> None:
        """Empty every table but the schema's, so one test's state cannot leak into the next;
        only the default site is left, as the server's configuration makes it. The event
        log goes, as the app lets it go: a site's numbers never go back (docs/design-27.md)."""
        engine = self.engine()
        with engine.begin() as conn:
            empty_but_the_default_site(conn, self.env)
        engine.dispose()


@contextmanager
def _environment(env: dict[str, str]) -> Iterator[None]:
    """os.environ is `env` inside the block (the app reads its configuration from there)."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _relay_env() -> dict[str, str]:
    """With TEST_REDIS_URL: a Redis relay on a channel of its own, and several workers."""
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        return {}
    return {
        "REDIS_URL": url,
        "REDIS_CHANNEL": "tq-test-" + uuid.uuid4().hex[:12],
        "WEB_CONCURRENCY": os.environ.get("TEST_WEB_CONCURRENCY", "3"),
    }


def clients(server: LiveServer, path: str, n: int) -> Iterator[Client]:
    for _ in range(n):
        yield server.connect(path)


def kiosk_sign_in(server: LiveServer, email: str, name: str) -> dict[str, object]:
    """A visitor signs in over the protocol (for tests whose subject is not the kiosk page)."""
    client: Client = server.connect("/ws/kiosk")
    try:
        reply = client.ask(f"new {email} {name}")
    finally:
        client.close()
    assert reply.startswith("success new "), reply
    return json.loads(reply.removeprefix("success new "))  # type: ignore[no-any-return]
