"""Membership and admin permissions over HTTP (issue 22, docs/sites.md): a site's admin
pages open to admins of every site and to that site's own admins, 403 to everyone else;
/admin/sites/ lists every site to admins of every site, their own to a site's admin; a
staff console at a site one does not work at says so; an unknown site is 404; a visitor
waiting at one site may sign in at another, and closing the day at one site closes only
its line."""

from __future__ import annotations

import re

import pytest

from tests.kit.client import EPOCH, new_ticket, ticket
from tests.kit.database import status_of
from tests.kit.http_client import WebClient
from tests.kit.live import LiveServer
from tests.kit.sites import (
    MAIN,
    OLD,
    B,
    clear,
    heard_nothing,
    logged_in,
    make_sites,
    post_form,
    read_all,
    seats,
    ws,
)

SERVER_ENV = {"RATE_LIMITS": "off"}
ADMIN_PAGES = ("admin/", "admin/reports", "admin/reports.csv")
# Account -> the sites (by URL prefix) whose admin pages it may open.
ADMINS = {"root": {OLD, MAIN, B}, "bob": {B}, "bea": set(), "ann": set(), "cal": set()}
# Account -> the sites whose staff console it works at.
MEMBERS = {"root": {OLD, MAIN, B}, "bob": {B}, "bea": {B}, "ann": {OLD, MAIN},
           "cal": {OLD, MAIN, B}}


@pytest.fixture(scope="module")
def tokens(server: LiveServer) -> dict[str, str]:
    return make_sites(server)


@pytest.fixture(autouse=True)
def clean(server: LiveServer, tokens: dict[str, str]) -> None:
    clear(server)


@pytest.mark.parametrize("name", sorted(ADMINS))
def test_admin_pages_open_only_to_the_admins_of_their_site(server, name):
    browser = logged_in(server, name)
    for prefix in (OLD, MAIN, B):
        for page in ADMIN_PAGES:
            status = browser.get(f"{prefix}/{page}").status
            assert status == (200 if prefix in ADMINS[name] else 403), (prefix, page, status)
    # The list of sites: every site, and adding one, for admins of every site; a site's
    # admin sees only the sites they administer.
    listing = browser.get("/admin/sites/")
    if not ADMINS[name]:
        assert listing.status == 403
        return
    listed = re.findall(r'<tr data-site="([^"]+)"', listing.body)
    assert (listing.status, listed) == (200, ["b", "main"] if name == "root" else ["b"])
    assert ('id="add-site"' in listing.body) == (name == "root")


@pytest.mark.parametrize("name", sorted(MEMBERS))
def test_a_console_at_a_site_one_does_not_work_at_says_so(server, name):
    browser = logged_in(server, name)
    for prefix in (OLD, MAIN, B):
        reply = browser.get(f"{prefix}/staff/")
        says_so = re.search(r"do not work at|not a member of", reply.body) is not None
        if prefix in MEMBERS[name]:
            assert (reply.status, says_so) == (200, False), prefix
        elif prefix == OLD and reply.status == 302:  # after the login: one's own console
            assert reply.header("Location") == "/s/b/staff/", prefix
        else:
            assert (reply.status, says_so) == (403, True), prefix
            assert "id=\"console\"" not in reply.body  # and no queue to work at


@pytest.mark.parametrize("page", ["kiosk/", "staff/", "display/", "admin/", "admin/reports",
                                  "admin/reports.csv"])
def test_an_unknown_site_is_404(server, page):
    for prefix in ("/s/nope", "/s/Main", "/s/b_"):
        assert server.http("GET", f"{prefix}/{page}")[0] == 404, prefix
    assert logged_in(server, "root").get(f"/s/nope/{page}").status == 404


def waiting_here(server: LiveServer, prefix: str, email: str) -> tuple[int, str]:
    """The kiosk page's "already waiting?" question at a site: (status, body)."""
    kiosk = WebClient(server.port)
    reply = post_form(kiosk, f"{prefix}/kiosk/", f"{prefix}/kiosk/waiting", {"email": email})
    return reply.status, reply.body


def test_one_waiting_ticket_per_visitor_per_site(server, connect):
    first, _ = new_ticket(connect(ws(OLD, "kiosk")), "pat@example.org", "Pat")
    for prefix in (OLD, MAIN):
        status, body = waiting_here(server, prefix, "pat@example.org")
        assert status == 200 and f'id="kiosk-ticket-number">{first["id"]}<' in body
    assert waiting_here(server, B, "pat@example.org")[0] == 204  # welcome at b
    second, _ = new_ticket(connect(ws(B, "kiosk")), "pat@example.org", "Pat")
    status, body = waiting_here(server, B, "PAT@example.org")
    assert status == 200 and f'id="kiosk-ticket-number">{second["id"]}<' in body
    assert "<strong>next</strong> in line" in body  # first in b's line: a's are not in it
    assert status_of(server, first["id"])[0] == "waiting"


def test_closing_the_day_at_one_site_closes_only_its_line(server, tokens, connect):
    a1, _ = new_ticket(connect(ws(OLD, "kiosk")), "a@example.org", "Waits at A")
    kiosk_b = connect(ws(B, "kiosk"))
    b_ids = [new_ticket(kiosk_b, f"b{n}@example.org", f"B {n}")[0]["id"] for n in range(2)]
    ann, bea = seats(connect, tokens, (OLD, "ann", 1), (B, "bea", 3))
    display_a = connect(ws(MAIN, "display"))
    read_all(ann, bea, display_a)
    bob, root = logged_in(server, "bob"), logged_in(server, "root")
    # b's admin cannot close a's day.
    assert post_form(bob, "/s/b/admin/", "/admin/close-day", {}).status == 403
    assert post_form(root, "/admin/", "/s/b/admin/close-day", {}).status == 302
    closed = [ticket(bea.recv().removeprefix("claimed ")) for _ in b_ids]
    assert [t["id"] for t in closed] == b_ids
    assert all(t["staff"] == "" and t["end"] != EPOCH for t in closed)
    heard_nothing(ann, display_a)
    assert status_of(server, a1["id"])[0] == "waiting"
    assert [status_of(server, i)[0] for i in b_ids] == ["cancelled"] * 2
