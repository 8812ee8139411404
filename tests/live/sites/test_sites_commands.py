"""Every command at two sites (issue 22, docs/sites.md): `accept`, `complete`, `cancel`,
`requeue` of another site's ticket answer exactly as for a ticket that does not exist;
`query` and `notices` know only what a visitor said at that site; ticket ids are one
sequence; `pick` works only at one's own sites (admins of every site: everywhere) and a
refused one binds nothing; the number of tables is the site's; an unknown site's
websockets answer 404 at the handshake."""

from __future__ import annotations

import pytest
import websocket

from tests.kit.client import new_ticket
from tests.kit.database import rows, status_of
from tests.kit.live import LiveServer, free_port
from tests.kit.mail_server import mail_env
from tests.kit.sites import (
    MAIN,
    OLD,
    B,
    clean_reply,
    heard_nothing,
    new_with_link,
    read_all,
    seat,
    seats,
    serve,
    watching,
    ws,
)

SMTP_PORT = free_port()  # `link ID email` needs mail configured (the `smtp` fixture)
SERVER_ENV = {**mail_env(SMTP_PORT), "RATE_LIMITS": "off"}
NOT_MEMBER = "error pick not a member of this site"
NOT_AVAILABLE = "error pick the chosen table is not available"
TOKEN_INVALID = "error accept your session token was found to be invalid. please relogin"


def tables_of(server: LiveServer) -> list[tuple[str, str, int]]:
    """(staff, site, table) of every table held, by staff name."""
    return rows(server, "SELECT f.username, s.slug, t.table_number FROM table_assignments t "
                        "JOIN sites s ON s.id = t.site_id JOIN staff f ON f.id = t.staff_id "
                        "ORDER BY f.username")


def test_another_sites_ticket_is_a_ticket_that_does_not_exist(server, tokens, connect):
    kiosk_a, kiosk_b = connect(ws(OLD, "kiosk")), connect(ws(B, "kiosk"))
    waiting, served, done = (new_ticket(kiosk_a, f"a{n}@example.org", f"A {n}")[0]
                             for n in range(3))
    b_waiting, b_served = (new_ticket(kiosk_b, f"b{n}@example.org", f"B {n}")[0]
                           for n in range(2))
    ann, amy, bea, ben = seats(connect, tokens, (OLD, "ann", 1), (MAIN, "amy", 2),
                               (B, "bea", 3), (B, "ben", 4))
    serve(ann, served["id"])
    read_all(amy)  # ann's claim
    heard_nothing(bea, ben)
    serve(amy, done["id"])
    assert amy.answer(f"complete {done['id']}") == f"success complete {done['id']}"
    serve(bea, b_served["id"])
    display_a, display_b = connect(ws(OLD, "display")), connect(ws(B, "display"))
    read_all(ann, amy, bea, ben, display_a, display_b)
    before = rows(server, "SELECT id, status, staff_id FROM tickets ORDER BY id")
    missing = b_served["id"] + 1000

    for verb in ("accept", "complete", "cancel", "requeue"):
        nothing = f"error {verb} ticket id does not exist"
        assert clean_reply(ben, f"{verb} {missing}") == nothing  # b, for a ticket of nobody
        for other in (waiting, served, done):  # a's: waiting, in service, finished
            assert clean_reply(ben, f"{verb} {other['id']}") == nothing, (verb, other)
        assert clean_reply(amy, f"{verb} {missing}") == nothing  # and a, for b's
        for other in (b_waiting, b_served):
            assert clean_reply(amy, f"{verb} {other['id']}") == nothing, (verb, other)
    assert rows(server, "SELECT id, status, staff_id FROM tickets ORDER BY id") == before
    heard_nothing(ann, amy, bea, ben, display_a, display_b)


def test_query_answers_only_with_a_name_given_at_that_site(connect):
    kiosk_a, kiosk_main, kiosk_b = (connect(ws(p, "kiosk")) for p in (OLD, MAIN, B))
    new_ticket(kiosk_a, "Pat@Example.org", "Pat at A")
    unknown = "error query visitor email does not exist"
    assert kiosk_b.ask("query pat@example.org") == unknown
    assert kiosk_b.ask("query nobody@example.org") == unknown
    assert kiosk_main.ask("query PAT@example.org") == "success query Pat at A"
    # The same email at b is b's own visitor, with the name given there.
    new_ticket(kiosk_b, "pat@example.org", "Patricia at B")
    assert kiosk_b.ask("query pat@example.org") == "success query Patricia at B"
    assert kiosk_a.ask("query pat@example.org") == "success query Pat at A"


def test_notices_answer_only_for_what_was_ticked_at_that_site(connect, smtp):
    kiosk_a, kiosk_b = connect(ws(OLD, "kiosk")), connect(ws(B, "kiosk"))
    new_with_link(kiosk_a, "mia@example.org", "Mia", email_me=True)
    assert kiosk_a.ask("notices mia@example.org") == "success notices on"
    assert kiosk_b.ask("notices mia@example.org") == "success notices off"
    new_with_link(kiosk_b, "mia@example.org", "Mia")
    assert kiosk_b.ask("notices mia@example.org") == "success notices off"
    assert kiosk_a.ask("notices mia@example.org") == "success notices on"


def test_ticket_ids_are_one_sequence_for_the_deployment(server, connect):
    kiosks = [connect(ws(p, "kiosk")) for p in (OLD, B, MAIN, B)]
    ids = [new_ticket(k, f"v{n}@example.org", f"Visitor {n}")[0]["id"]
           for n, k in enumerate(kiosks)]
    assert ids == sorted(set(ids)), ids  # each new id above every earlier one, at any site
    assert rows(server, "SELECT id FROM tickets ORDER BY id") == [(i,) for i in ids]


def test_a_pick_at_a_site_one_is_not_a_member_of_binds_nothing(server, tokens, connect):
    kiosk_b = connect(ws(B, "kiosk"))
    b1, _ = new_ticket(kiosk_b, "b1@example.org", "Waits at B")
    (ann,) = seats(connect, tokens, (OLD, "ann", 1))
    display_a, display_b, unbound_b = (connect(ws(p, r)) for p, r in (
        (OLD, "display"), (B, "display"), (B, "staff")))
    read_all(display_a, display_b, unbound_b)
    for name, prefix in (("ann", B), ("amy", B), ("bea", OLD), ("bea", MAIN), ("bob", OLD)):
        console = seat(connect, prefix, name, tokens[name])
        assert clean_reply(console, f"pick 3 {tokens[name]}") == NOT_MEMBER, (name, prefix)
        # Bound to nobody: no visitor data, commands from nobody.
        assert clean_reply(console, f"accept {b1['id']}") == TOKEN_INVALID
        new_ticket(kiosk_b, f"{name}{prefix[-1:]}@example.org", "Later at B")
        heard_nothing(console)
    assert tables_of(server) == [("ann", "main", 1)]  # ann's table at a is still hers
    heard_nothing(display_a, display_b, unbound_b)
    assert status_of(server, b1["id"])[0] == "waiting"
    # Admins of every site are members of every site; a site's admin, of that site.
    seats(connect, tokens, (B, "root", 0), (B, "bob", 4), (OLD, "cal", 2), (B, "bea", 3))
    assert tables_of(server) == [("ann", "main", 1), ("bea", "b", 3), ("bob", "b", 4),
                                 ("cal", "main", 2), ("root", "b", 0)]


def test_a_login_binds_only_at_the_sites_of_the_account(server, connect):
    _, raw_a = new_ticket(connect(ws(OLD, "kiosk")), "a@example.org", "Waits at A")
    _, raw_b = new_ticket(connect(ws(B, "kiosk")), "b@example.org", "Waits at B")
    cookie = server.login("ann")
    assert cookie
    at_b = connect(ws(B, "staff"), [f"Cookie: {cookie}"])
    assert at_b.sync() == ["taken"]  # not bound: nothing of b's visitors
    assert clean_reply(at_b, "pick 3") == NOT_MEMBER
    assert at_b.sync() == []
    at_a = connect(ws(OLD, "staff"), [f"Cookie: {cookie}"])
    greeting = at_a.sync()
    assert f"new {raw_a}" in greeting and f"new {raw_b}" not in greeting
    assert clean_reply(at_a, "pick 3") == "success pick 3"
    assert tables_of(server) == [("ann", "main", 3)]


def test_the_number_of_tables_is_the_sites_own(server, tokens, connect):
    ann, bea = seats(connect, tokens, (OLD, "ann", None), (B, "bea", None))
    for table in (5, 7, 49):  # b has tables 0-4
        assert clean_reply(bea, f"pick {table} {tokens['bea']}") == NOT_AVAILABLE
    assert clean_reply(ann, f"pick 7 {tokens['ann']}") == "success pick 7"
    assert clean_reply(bea, f"pick 4 {tokens['bea']}") == "success pick 4"
    assert tables_of(server) == [("ann", "main", 7), ("bea", "b", 4)]
    assert watching(connect, B, "display")[1] == ["waiting 0", "tables 5"]
    assert watching(connect, MAIN, "display")[1] == ["waiting 0", "tables 50"]


@pytest.mark.parametrize("prefix", ["/s/nope", "/s/Main", "/s/b_", "/s/" + "x" * 41])
@pytest.mark.parametrize("route", ["kiosk", "staff", "display"])
def test_an_unknown_site_answers_404_at_the_handshake(connect, prefix, route):
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        connect(ws(prefix, route))
    assert refused.value.status_code == 404
