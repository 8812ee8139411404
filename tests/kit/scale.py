"""Helpers for the PostgreSQL + Redis tests (tests/scale/) and the fault drill
(bench/drill.py): screens that keep the state their messages describe, the database's
truth to compare them with, a private Redis, a TCP proxy in front of PostgreSQL that cuts,
hangs or trips at a chosen commit."""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from tests.kit.client import Client
from tests.kit.live import LiveServer, free_port


@dataclass
class Screen:
    """What a client built against the protocol shows, from the messages it received."""

    client: Client
    waiting: dict[int, dict] = field(default_factory=dict)  # staff: tickets to claim
    taken: tuple[int, ...] | None = None  # staff without a table: the last `taken`
    tables: dict[int, int | None] = field(default_factory=dict)  # display: table -> ticket
    log: list[str] = field(default_factory=list)

    def read(self, quiet: float = 0.2) -> None:
        for message in self.client.drain(quiet):
            self.log.append(message)
            self._apply(message)

    def answer(self, text: str) -> str:
        """Send a command; its reply, applying the broadcasts met on the way."""
        self.client.send(text)
        reply, before = self.client.reply()
        self.log += before
        for message in before:
            self._apply(message)
        return reply

    def _apply(self, message: str) -> None:
        word, _, rest = message.partition(" ")
        if word == "new":
            ticket = json.loads(rest)
            self.waiting[ticket["id"]] = ticket
        elif word == "claimed" and rest.startswith("{"):
            self.waiting.pop(json.loads(rest)["id"], None)
        elif word == "claimed":  # display: claimed STAFF TABLE {ticket}
            _, table, ticket = rest.split(" ", 2)
            self.tables[int(table)] = json.loads(ticket)["id"]
        elif word == "taken":
            self.taken = tuple(int(t) for t in rest.split())
        elif word == "pick":
            self.tables.setdefault(int(rest), None)
        elif word == "unpick":
            self.tables.pop(int(rest), None)
        elif word in ("complete", "cancel") and rest.isdigit():
            self.tables[int(rest)] = None


@dataclass(frozen=True)
class Truth:
    waiting: frozenset[int]
    taken: tuple[int, ...]
    at_tables: dict[int, int | None]


def truth(server: LiveServer) -> Truth:
    """The queue as the database has it."""
    engine = server.engine()
    with engine.connect() as conn:
        waiting = conn.execute(sa.text("SELECT id FROM tickets WHERE status = 'waiting'"))
        waiting_ids = frozenset(row[0] for row in waiting)
        rows = conn.execute(sa.text(
            "SELECT a.table_number, t.id FROM table_assignments a LEFT JOIN tickets t"
            " ON t.staff_id = a.staff_id AND t.status = 'serving' ORDER BY a.table_number"
        )).all()
    engine.dispose()
    return Truth(waiting_ids, tuple(r[0] for r in rows), {r[0]: r[1] for r in rows})


def converge(screens: list[Screen], server: LiveServer, *, staff: list[Screen],
             unbound: list[Screen], displays: list[Screen], within: float = 20,
             quiet: float = 0.2) -> Truth:
    """Read until every screen shows the database's truth; fail with the difference."""
    deadline = time.monotonic() + within
    while True:
        for screen in screens:
            screen.read(quiet)
        now = truth(server)
        wrong = [s for s in staff if frozenset(s.waiting) != now.waiting]
        wrong += [s for s in unbound if s.taken != now.taken]
        wrong += [s for s in displays if s.tables != now.at_tables]
        if not wrong:
            return now
        if time.monotonic() > deadline:
            raise AssertionError(f"screens still differ from {now}:\n" + "\n".join(
                f"{s.waiting.keys()} {s.taken} {s.tables} <- {s.log[-8:]}" for s in wrong))


def until_true(server: LiveServer, query: str, within: float = 10) -> None:
    """Poll the database until `query` (one boolean) is true: a commit seen from outside."""
    engine = server.engine()
    deadline = time.monotonic() + within
    try:
        while True:
            with engine.connect() as conn:
                if conn.execute(sa.text(query)).scalar():
                    return
            assert time.monotonic() < deadline, f"never true within {within} s: {query}"
            time.sleep(0.02)
    finally:
        engine.dispose()


@contextmanager
def two_hosts(workdir: Path, first: dict[str, str] | None = None,
              both: dict[str, str] | None = None, proxy: PostgresProxy | None = None,
              ) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Two servers ("hosts") of three workers on one database and one Redis channel, made
    for one test: `first` is host 1's own settings (say FAULT_HOLD_PUBLISH_SECONDS), which
    the test may kill (`one.stop(signal.SIGKILL)`: arbiter and workers at once); with
    `proxy`, host 1 reaches the database through it."""
    shared = {"REDIS_CHANNEL": "tq-hosts-" + uuid.uuid4().hex[:12], "WEB_CONCURRENCY": "3",
              **(both or {})}
    for name in ("h1", "h2", "owner"):
        (workdir / name).mkdir(exist_ok=True)
    owner = LiveServer(workdir / "owner")  # creates and migrates the database; never started
    url = owner.database_url
    if proxy is not None:
        url = url.replace("@127.0.0.1:5432/", f"@127.0.0.1:{proxy.port}/")
    one = LiveServer(workdir / "h1", env={**shared, **(first or {})}, database_url=url)
    two = LiveServer(workdir / "h2", env=shared, database_url=owner.database_url)
    try:
        one.start()
        two.start()
        yield one, two
    finally:
        two.close()
        one.close()
        owner.close()  # drops the database


def staff_tokens(server: LiveServer, usernames: list[str]) -> list[str]:
    """Staff accounts with a session token each, written straight to the database: the
    same rows `flask staff add` / `staff token` write, without a process per call."""
    tokens = [secrets.token_urlsafe(24) for _ in usernames]
    engine = server.engine()
    with engine.begin() as conn:
        for username, token in zip(usernames, tokens, strict=True):
            staff_id = conn.execute(sa.text(
                "INSERT INTO staff (username, password_hash, is_admin, active, created_at)"
                " VALUES (:u, 'x', false, true, now()) RETURNING id"), {"u": username}).scalar()
            conn.execute(sa.text(  # a member of the default site, as `staff add` makes it
                "INSERT INTO staff_sites (staff_id, site_id, is_admin)"
                " SELECT :s, id, false FROM sites WHERE slug = 'main'"), {"s": staff_id})
            conn.execute(sa.text(
                "INSERT INTO staff_sessions (staff_id, token_hash, created_at, expires_at)"
                " VALUES (:s, :h, now(), now() + interval '1 day')"),
                {"s": staff_id, "h": hashlib.sha256(token.encode()).hexdigest()})
    engine.dispose()
    return tokens


def console(server: LiveServer, opened: list[Client], token: str, table: int) -> Client:
    """A staff console on `server` that has picked `table` with `token` (closed by `opened`)."""
    client = server.connect("/ws/staff")
    opened.append(client)
    assert client.recv().startswith("taken")
    assert client.ask(f"pick {table} {token}") == f"success pick {table}"
    return client


class PrivateRedis:
    """A redis-server of our own on a free port, to stop and start during a test."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()  # a crash, not a goodbye: subscribers learn it from the socket
            self.process.wait(timeout=10)
            self.process = None


class PostgresProxy:
    """A TCP forwarder to PostgreSQL that a test breaks on purpose, three ways:

    - `cut()` drops every connection and refuses new ones (accept, then close) until
      `restore()`;
    - `hang()` is a network that drops every packet (open connections wait, new ones are
      accepted but get no answer) until `flow()` lets everything through, held bytes first;
    - with `trip_after` (say b"INSERT INTO table_assignments"), once `arm()`ed, it cuts by
      itself at one precise moment: right after PostgreSQL acknowledges the COMMIT of a
      transaction whose statements contained those bytes. The server has its commit; its
      next statement finds the database gone. `before_ack` is run instead of cutting,
      before the acknowledgement is forwarded (say, SIGKILL the worker waiting for it:
      committed, never published). `tripped` is set once either has happened."""

    def __init__(self, target_port: int = 5432, *, trip_after: bytes | None = None,
                 before_ack: Callable[[], None] | None = None) -> None:
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open = True
        self.flowing = threading.Event()
        self.flowing.set()
        self.trip_after = trip_after
        self.before_ack = before_ack
        self.armed = False
        self.tripped = threading.Event()
        self._wrote: set[socket.socket] = set()  # upstream sockets that carried `trip_after`
        self._socks: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self) -> None:
        self.open = False
        with self._lock:
            socks, self._socks = self._socks, set()
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def restore(self) -> None:
        self.open = True

    def hang(self) -> None:
        self.flowing.clear()

    def flow(self) -> None:
        self.flowing.set()

    def arm(self) -> None:
        assert self.trip_after is not None, "arm() needs trip_after"
        self.tripped.clear()
        self.armed = True

    def close(self) -> None:
        self._closed = True
        self.flowing.set()
        self.cut()
        self.listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            if not self.open:
                conn.close()
                continue
            threading.Thread(target=self._join, args=(conn,), daemon=True).start()

    def _join(self, conn: socket.socket) -> None:
        self.flowing.wait()
        try:
            upstream = socket.create_connection(self.target)
        except OSError:
            conn.close()
            return
        with self._lock:
            if not self.open:  # cut while this connection was joining
                conn.close()
                upstream.close()
                return
            self._socks |= {conn, upstream}
        for a, b in ((conn, upstream), (upstream, conn)):
            threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                self.flowing.wait()
                if self.armed and self.trip_after is not None and self.trip_after in data:
                    self._wrote.add(dst)  # client -> PostgreSQL
                acknowledged = self.armed and src in self._wrote and b"COMMIT\x00" in data
                if acknowledged and self.before_ack is not None:
                    self.armed = False
                    self.before_ack()
                    self.tripped.set()
                    return
                dst.sendall(data)
                if acknowledged:
                    self.armed = False
                    self.cut()
                    self.tripped.set()
                    return
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
