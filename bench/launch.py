"""Start the server under test: gunicorn + gevent (the repo's gunicorn.conf.py) serving either
the app on a fresh SQLite database or the bare floor relay, on 127.0.0.1 only."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password"


def raise_fd_limit() -> int:
    """Lift this process's open-file limit to the hard limit (thousands of sockets)."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Seed:
    """A migrated database with `staff` accounts s0..sN-1 and one session token each: a
    SQLite file, or (`postgres`) a PostgreSQL database used as a template."""

    path: Path
    tokens: list[str]
    postgres: str | None = None  # the template database's URL


def maintenance_dsn(url: str) -> str:
    """A libpq DSN for `url`'s server's maintenance database (`postgres`)."""
    return _with_database(url, "postgres").replace("postgresql+psycopg://", "postgresql://")


def _admin(url: str, sql: str) -> None:
    """One statement outside a transaction (CREATE/DROP DATABASE) on `url`'s server."""
    import psycopg

    # The maintenance database: one cannot drop the database one is connected to.
    with psycopg.connect(maintenance_dsn(url), autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def drop_database(url: str) -> None:
    """Drop `url`'s scratch database, closing whatever connections are still on it."""
    _admin(url, f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def _with_database(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


def _fresh_postgres(template_url: str) -> str:
    """A copy of the seeded template, for one run (CREATE DATABASE … TEMPLATE is fast)."""
    name = "tqbench_run_" + uuid.uuid4().hex[:10]
    _admin(template_url, f'CREATE DATABASE "{name}" TEMPLATE "{template_url.rsplit("/", 1)[1]}"')
    return _with_database(template_url, name)


def _flask_env(database: Path | str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database if isinstance(database, str) else f"sqlite:///{database}",
        "SECRET_KEY": "bench-" + uuid.uuid4().hex,
        "LOG_LEVEL": "warning",
    }


def seed(workdir: Path, staff: int, postgres: str | None = None,
         seeder: list[str] | None = None) -> Seed:
    """Build the template database once; every run starts from a copy of it. With
    `postgres` (a server URL), the template is a new database on that server. `seeder`:
    the module and arguments that fill it (default: bench.seed's `staff` accounts), which
    print the session tokens as a JSON list on their last line."""
    path = workdir / "template.sqlite3"
    template = None
    if postgres:
        template = _with_database(postgres, "tqbench_seed_" + uuid.uuid4().hex[:10])
        _admin(postgres, f'CREATE DATABASE "{template.rsplit("/", 1)[1]}"')
    # The default site is made with TABLE_COUNT tables when the seeder first asks for it,
    # and keeps them: a table per staff member (the servers' own TABLE_COUNT comes too late).
    env = {**_flask_env(template or path), "TABLE_COUNT": str(max(staff, 10))}
    subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"],
                   cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
    command = seeder or ["bench.seed", str(staff), PASSWORD]
    done = subprocess.run([sys.executable, "-m", *command],
                          cwd=ROOT, env=env, check=True, capture_output=True, text=True,
                          timeout=300)
    return Seed(path, json.loads(done.stdout.strip().splitlines()[-1]), template)


def drop_seed(seeded: Seed) -> None:
    if seeded.postgres:
        _admin(seeded.postgres, f'DROP DATABASE IF EXISTS "{seeded.postgres.rsplit("/", 1)[1]}"')


class Server:
    """One gunicorn arbiter (WEB_CONCURRENCY workers) in its own process group."""

    def __init__(self, workdir: Path, *, floor: bool, seed: Seed | None, tables: int,
                 env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.floor = floor
        self.port = free_port()
        self.env = {
            **os.environ,
            "BIND": f"127.0.0.1:{self.port}",
            "SECRET_KEY": "bench-" + uuid.uuid4().hex,
            "TABLE_COUNT": str(max(tables, 10)),
            # Throttles would refuse a benchmark's traffic; the bench measures fan-out.
            "RATE_LIMITS": "off",
            "LOG_LEVEL": "warning",
            "WEB_CONCURRENCY": "1",
            **(env or {}),
        }
        self.database_url: str | None = None
        if not floor and seed is not None and seed.postgres:
            self.database_url = _fresh_postgres(seed.postgres)
            self.env["DATABASE_URL"] = self.database_url
        elif not floor:
            assert seed is not None
            database = workdir / "queue.sqlite3"
            for suffix in ("", "-wal"):
                if Path(f"{seed.path}{suffix}").exists():
                    shutil.copyfile(f"{seed.path}{suffix}", f"{database}{suffix}")
            self.env["DATABASE_URL"] = f"sqlite:///{database}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / ("floor.log" if floor else "app.log")

    @property
    def base(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> Server:
        target = "bench.floor:app" if self.floor else "wsgi:app"
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", target, "-c", "gunicorn.conf.py"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=raise_fd_limit,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log_path.read_text()}")
            if self._answers() and self.workers():
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn did not start:\n{self.log_path.read_text()}")

    def _answers(self) -> bool:
        """A websocket handshake on /ws/kiosk gets 101: a worker is serving."""
        request = (
            "GET /ws/kiosk HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        )
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                s.sendall(request.encode())
                return s.recv(64).startswith(b"HTTP/1.1 101")
        except OSError:
            return False

    def workers(self) -> list[psutil.Process]:
        if self.process is None:
            return []
        try:
            return psutil.Process(self.process.pid).children()
        except psutil.NoSuchProcess:
            return []

    def worker(self) -> psutil.Process:
        return self.workers()[0]

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None
        if self.database_url:
            drop_database(self.database_url)
            self.database_url = None

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
