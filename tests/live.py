"""A real server for tests: gunicorn + gevent in a subprocess, on a free port, with its own
database, and real websocket clients to talk to it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa
import websocket

ROOT = Path(__file__).resolve().parent.parent
QUIET = 0.3  # seconds of silence that count as "nothing more is coming"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Client:
    """A websocket client that reads like the protocol document."""

    def __init__(self, url: str, headers: list[str] | None = None) -> None:
        self.ws = websocket.create_connection(url, timeout=10, header=headers or [])

    def send(self, text: str) -> None:
        self.ws.send(text)

    def send_binary(self, data: bytes) -> None:
        self.ws.send(data, opcode=websocket.ABNF.OPCODE_BINARY)

    def recv(self, timeout: float = 10) -> str:
        self.ws.settimeout(timeout)
        message = self.ws.recv()
        assert isinstance(message, str), f"expected a text frame, got {message!r}"
        return message

    def ask(self, text: str) -> str:
        self.send(text)
        return self.recv()

    def drain(self, quiet: float = QUIET) -> list[str]:
        """Every message until the connection has been quiet for `quiet` seconds."""
        messages = []
        while True:
            try:
                messages.append(self.recv(timeout=quiet))
            except websocket.WebSocketTimeoutException:
                return messages

    def close(self) -> None:
        try:
            self.ws.close()
        except Exception:
            pass
        finally:
            self.ws.shutdown()  # close() gives up without closing the socket if the server left


class LiveServer:
    """One gunicorn process (one gevent worker unless told otherwise) on one database."""

    def __init__(self, workdir: Path, env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.database_url = os.environ.get("TEST_DATABASE_URL") and _fresh_postgres_database()
        self.database_url = self.database_url or f"sqlite:///{workdir / 'queue.sqlite3'}"
        self.env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "SECRET_KEY": "test-secret-" + uuid.uuid4().hex,
            "TABLE_COUNT": "50",
            "BIND": f"127.0.0.1:{self.port}",
            **(env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / "gunicorn.log"
        self.flask("db", "upgrade")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def flask(self, *args: str) -> str:
        """Run `flask --app app ARGS` against this server's database; its stdout."""
        done = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "app", *args],
            cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=60,
        )
        assert done.returncode == 0, f"flask {' '.join(args)} failed:\n{done.stderr}"
        return done.stdout

    def start(self) -> "LiveServer":
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
            except OSError:
                time.sleep(0.1)
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
        if self.database_url.startswith("postgresql"):
            _drop_postgres_database(self.database_url)

    def restart(self, sig: int = signal.SIGTERM) -> None:
        self.stop(sig)
        self.start()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def connect(self, path: str, headers: list[str] | None = None) -> Client:
        return Client(self.url(path), headers)

    def add_staff(self, username: str, password: str = "password123") -> str:
        """Create a staff account and return a fresh session token for it."""
        self.flask("staff", "add", username, "--password", password)
        return self.token(username)

    def token(self, username: str) -> str:
        return self.flask("staff", "token", username).strip().splitlines()[-1]

    def engine(self) -> sa.Engine:
        return sa.create_engine(self.database_url)

    def reset(self) -> None:
        """Empty every table but the schema's, so one test's state cannot leak into the next."""
        engine = self.engine()
        with engine.begin() as conn:
            for table in (
                "tickets", "visitors", "table_assignments", "staff_sessions", "staff", "settings"
            ):
                conn.execute(sa.text(f"DELETE FROM {table}"))
        engine.dispose()


def _fresh_postgres_database() -> str:
    """A new, empty database on the TEST_DATABASE_URL server (dropped by LiveServer.close)."""
    base = os.environ["TEST_DATABASE_URL"]
    name = "tq_" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.rsplit("/", 1)[0] + "/" + name


def _drop_postgres_database(url: str) -> None:
    admin = sa.create_engine(os.environ["TEST_DATABASE_URL"], isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


def clients(server: LiveServer, path: str, n: int) -> Iterator[Client]:
    for _ in range(n):
        yield server.connect(path)
