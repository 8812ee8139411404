"""Helpers for the PostgreSQL + Redis tests (tests/scale/) and the fault drill
(bench/drill.py): screens that keep the state their messages describe, the database's
truth to compare them with, two hosts made for one test; and, from tests/kit/breakers.py,
a private Redis and a TCP proxy in front of PostgreSQL that cuts, hangs or trips at a
chosen commit."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from tests.kit.breakers import PostgresProxy as PostgresProxy
from tests.kit.breakers import PrivateRedis as PrivateRedis
from tests.kit.client import Client
from tests.kit.live import LiveServer


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
