"""Two sites on one live server, for the isolation tests of docs/sites.md: site `b` beside
the default site `main`, staff accounts with their memberships, each site's websocket
paths, and the queue emptied between tests (the sites and the accounts stay: a module
makes them once).

Absence is proved by order, never by waiting for silence: after an action at one site, a
harmless action at the other whose frame differs from anything the first could have
caused; a screen of the other site must receive that frame with nothing before it."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from tests.kit.client import Client, Desk, new_ticket, ticket
from tests.kit.http_client import Reply, WebClient
from tests.kit.live import LiveServer

PASSWORD = "password123"
B_TABLES = 5  # the default site keeps the test server's TABLE_COUNT (50)
B_ZONE = "Asia/Tokyo"  # UTC+9 all year: hours at b are not hours at the default site (UTC)
# URL prefixes: the default site by today's URLs and by its own, and site b.
OLD, MAIN, B = "", "/s/main", "/s/b"

# Account -> (its sites, admin of every site, admin of site b). The first account is an
# admin of every site whatever it is given, so the admin comes first.
STAFF: dict[str, tuple[tuple[str, ...], bool, bool]] = {
    "root": ((), True, False),  # admin of every site: a member of each without rows
    "ann": (("main",), False, False),  # the default site only
    "amy": (("main",), False, False),
    "bea": (("b",), False, False),  # site b only
    "ben": (("b",), False, False),
    "cal": (("main", "b"), False, False),  # both sites
    "bob": (("b",), False, True),  # site b only, and its admin
}
QUEUE_TABLES = ("mail_outbox", "follow_codes", "tickets", "visitors", "table_assignments",
                "settings")

Connect = Callable[..., Client]


def make_sites(server: LiveServer) -> dict[str, str]:
    """Site b and the accounts of STAFF, through the service functions that `flask site add`,
    `flask staff add --site` and `flask staff admin --site` call (in this process: seven
    accounts would be seven interpreters); a fresh session token for each account. The
    server is already running: the site is one it learns of without a restart."""
    from tablequeue.db import unit_of_work
    from tablequeue.service import identity, sites

    with server.app.app_context():
        with unit_of_work() as session:
            added = sites.add(session, "b", "Site B", tables=B_TABLES, timezone=B_ZONE)
            assert added.refusal is None, added.refusal
            slugs = {site.slug: site.id for site in sites.all_sites(session)}
        for name, (member_of, admin, admin_of_b) in STAFF.items():
            info = identity.add_staff(name, PASSWORD, admin=admin,
                                      sites=[slugs[slug] for slug in member_of])
            if admin_of_b:
                with unit_of_work() as session:
                    sites.set_site_admin(session, info.id, slugs["b"], True)
        return {name: identity.issue_token(name) for name in STAFF}


def clear(server: LiveServer) -> None:
    """Empty every site's queue, tables, floor settings and follow links; sites, accounts
    and their sessions stay."""
    engine = server.engine()
    with engine.begin() as conn:
        for table in QUEUE_TABLES:
            conn.execute(sa.text(f"DELETE FROM {table}"))
    engine.dispose()


def ws(prefix: str, route: str) -> str:
    """The websocket path of `route` (kiosk, staff, display) under a site's prefix."""
    return f"{prefix}/ws/{route}"


def seat(connect: Connect, prefix: str, name: str, token: str,
         table: int | None = None) -> Desk:
    """A staff console at a site: greeted with `taken`, then (with `table`) bound by
    `pick TABLE TOKEN`, its bind replay kept in `desk.replay`."""
    client = connect(ws(prefix, "staff"))
    greeting = client.recv()
    assert greeting.startswith("taken"), greeting
    replay: list[str] = []
    if table is not None:
        client.send(f"pick {table} {token}")
        reply, before = client.reply()
        assert reply == f"success pick {table}", reply
        assert all(m.startswith("taken") for m in before), before
        replay = client.sync()
    return Desk(name, token, client, table, replay)


def seats(connect: Connect, tokens: dict[str, str],
          *where: tuple[str, str, int | None]) -> list[Desk]:
    """seats(connect, tokens, (OLD, "ann", 1), (B, "bea", 3)): a desk for each."""
    return [seat(connect, prefix, name, tokens[name], table) for prefix, name, table in where]


def read_all(*clients: Client | Desk) -> None:
    """Read whatever each client was sent so far (a `sync` round trip each)."""
    for client in clients:
        client.sync()


def watching(connect: Connect, prefix: str, route: str,
             headers: list[str] | None = None) -> tuple[Client, list[str]]:
    """A client of `route` at a site that sent `watch`; what followed `success watch`."""
    client = connect(ws(prefix, route), headers)
    if route == "staff":
        greeting = client.recv()
        assert greeting.startswith("taken"), greeting
    else:
        client.sync()  # a display's greeting
    reply = client.answer("watch")
    assert reply == "success watch", reply
    return client, client.sync()


def quiet_until(client: Client, frame: str, timeout: float = 10) -> None:
    """`frame` arrives, and nothing arrived before it."""
    _, before = client.until(lambda m: m == frame, timeout)
    assert before == [], f"received {before!r} before {frame!r}"


def heard_nothing(*clients: Client | Desk) -> None:
    """None of `clients` was sent anything it has not read (a `sync` round trip each)."""
    heard = [client.sync() for client in clients]
    assert heard == [[]] * len(clients), heard


def clean_reply(client: Client | Desk, command: str) -> str:
    """Send a command; its reply, asserting that nothing (of another site) came before it."""
    client.send(command)
    reply, before = client.reply()
    assert before == [], f"received {before!r} before the reply to {command!r}"
    return reply


def serve(desk: Desk, ticket_id: int) -> None:
    """The desk accepts the ticket; its own broadcasts read."""
    reply = clean_reply(desk, f"accept {ticket_id}")
    assert reply == f"success claimed {ticket_id}", reply  # the kit is not assert-rewritten
    desk.sync()


def shown(frame: str) -> tuple[str, int, int]:
    """A display's `claimed STAFF T {ticket}`: (staff, table, ticket id)."""
    word, staff, table, raw = frame.split(" ", 3)
    assert word == "claimed", frame  # (the kit's asserts say what they saw: not rewritten)
    return staff, int(table), int(ticket(raw)["id"])


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def as_claimed(raw: str, staff: str) -> str:
    """The staff frame `claimed {ticket}` for a ticket (its JSON as the kiosk got it)."""
    return "claimed " + _json({**json.loads(raw), "staff": staff})


def on_display(raw: str, staff: str, table: int) -> str:
    """The display frame `claimed STAFF T {ticket}` (the email blanked, as on every display)."""
    return f"claimed {staff} {table} " + _json({**json.loads(raw), "email": "", "staff": staff})


def new_with_link(kiosk: Client, email: str, name: str,
                  email_me: bool = False) -> tuple[int, str]:
    """A visitor signs in at this kiosk and asks for the follow link: (ticket id, code)."""
    value, _ = new_ticket(kiosk, email, name)
    reply = kiosk.ask(f"link {value['id']}" + (" email" if email_me else ""))
    assert reply.startswith(f"success link {value['id']} "), reply
    return int(value["id"]), reply.split(" ")[3].rsplit("/", 1)[1]


@dataclass
class Screens:
    """A site's screens that only watch: its kiosks, seed displays (that never sent
    `watch`), a display that sent `watch`, and a staff console bound to nobody (`taken`)."""

    kiosks: list[Client]
    displays: list[Client]
    watcher: Client
    unbound: Client

    @property
    def kiosk(self) -> Client:
        return self.kiosks[0]

    def observers(self) -> list[Client]:
        return [*self.displays, self.watcher, self.unbound]


def screens(connect: Connect, *prefixes: str) -> Screens:
    """One of each screen under every prefix given (the default site: OLD and MAIN, which
    must hear exactly the same), their greetings read."""
    kiosks = [connect(ws(p, "kiosk")) for p in prefixes]
    displays = [connect(ws(p, "display")) for p in prefixes]
    for display in displays:
        display.sync()
    watcher, _ = watching(connect, prefixes[-1], "display")
    unbound = connect(ws(prefixes[0], "staff"))
    greeting = unbound.recv()
    assert greeting.startswith("taken"), greeting
    return Screens(kiosks, displays, watcher, unbound)


def logged_in(server: LiveServer, name: str) -> WebClient:
    """A browser logged in at /login as `name`."""
    browser = WebClient(server.port)
    reply = browser.login(name, PASSWORD)
    assert reply.status == 302, f"login of {name} answered {reply.status}"
    return browser


def post_form(browser: WebClient, page: str, path: str, form: dict[str, str]) -> Reply:
    """Post `form` to `path` with the CSRF token of a form on `page` (one the account may
    open), as the page's button would without JavaScript."""
    return browser.post(path, {"csrf_token": browser.csrf_token(page), **form})
