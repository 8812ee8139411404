"""The lines section of a site's /admin over HTTP (docs/lines.md): add, rename, order,
close and open, remove (refused, with the reason, while anyone waits in the line, and for
the last line); each site's page changes that site's lines only; who may post there."""

from __future__ import annotations

import html
import re

import pytest

from tests.kit.database import rows
from tests.kit.http_client import WebClient
from tests.kit.live import LiveServer

SERVER_ENV = {"RATE_LIMITS": "off"}  # many log-ins, faster than a person
HX = {"HX-Request": "true"}


def admin_client(server: LiveServer, username: str = "boss") -> WebClient:
    client = WebClient(server.port)
    assert client.login(username).status == 302
    return client


def post(client: WebClient, path: str, prefix: str = "", **fields: str) -> str:
    """An htmx post of the lines section; the section it answers, unescaped."""
    token = client.csrf_token(f"{prefix}/admin/")
    reply = client.post(f"{prefix}/admin{path}", {"csrf_token": token, **fields}, HX)
    assert reply.status == 200, reply.body[:500]
    assert reply.body.lstrip().startswith('<section class="panel" id="admin-lines"')
    return html.unescape(reply.body)


def lines_of(server: LiveServer, slug: str = "main") -> list[tuple[str, bool]]:
    """(name, open) of the site's lines, in order, removed ones left out."""
    return [(name, bool(is_open)) for name, is_open in rows(
        server, "SELECT l.name, l.open FROM lines l JOIN sites s ON s.id = l.site_id"
        " WHERE s.slug = :slug AND l.removed_at IS NULL ORDER BY l.position, l.id", slug=slug)]


def line_id(server: LiveServer, name: str, slug: str = "main") -> int:
    found = rows(server, "SELECT l.id FROM lines l JOIN sites s ON s.id = l.site_id"
                 " WHERE s.slug = :slug AND l.name = :name AND l.removed_at IS NULL",
                 slug=slug, name=name)
    assert found, name
    return int(found[0][0])


@pytest.fixture
def boss(fresh: LiveServer) -> WebClient:
    fresh.add_staff("boss")  # the first account: admin of every site
    return admin_client(fresh)


def test_add_rename_order_close_open(fresh: LiveServer, boss: WebClient) -> None:
    page = boss.get("/admin/").body
    assert 'id="admin-lines"' in page and "General" in page
    assert "Added the line Financial aid." in post(boss, "/lines", name="Financial aid")
    post(boss, "/lines", name="Transcripts")
    assert lines_of(fresh) == [("General", True), ("Financial aid", True), ("Transcripts", True)]
    aid = line_id(fresh, "Financial aid")

    section = post(boss, "/lines", name="Transcripts")
    assert "A line named 'Transcripts' exists already." in section
    assert "A line name is at most 40 characters." in post(boss, "/lines", name="x" * 41)
    assert "A line needs a name." in post(boss, "/lines", name="   ")

    assert "Renamed Financial aid to Aid." in post(boss, f"/lines/{aid}/rename", name="Aid")
    assert "exists already" in post(boss, f"/lines/{aid}/rename", name="General")
    post(boss, f"/lines/{aid}/move", direction="up")
    assert [n for n, _ in lines_of(fresh)] == ["Aid", "General", "Transcripts"]
    assert "stays where it is" in post(boss, f"/lines/{aid}/move", direction="up")
    post(boss, f"/lines/{aid}/move", direction="down")
    post(boss, f"/lines/{aid}/move", direction="down")
    assert [n for n, _ in lines_of(fresh)] == ["General", "Transcripts", "Aid"]

    section = post(boss, f"/lines/{aid}/open", state="closed")
    assert "Aid is closed" in section
    assert ("Aid", False) in lines_of(fresh)
    row = re.search(rf'<tr data-line="{aid}"[^>]*>(.*?)</tr>', section, re.DOTALL)
    assert row and "Closed" in row.group(1) and ">Open</button>" in row.group(1)
    post(boss, f"/lines/{aid}/open", state="open")
    assert ("Aid", True) in lines_of(fresh)

    # The kiosk's page carries the lines it will offer (the first screen is right at once).
    kiosk = WebClient(fresh.port).get("/kiosk/").body
    assert '"name": "Aid"' in html.unescape(kiosk) or '"name":"Aid"' in html.unescape(kiosk)


def test_remove_is_refused_while_anyone_waits_and_for_the_last_line(
        fresh: LiveServer, boss: WebClient, sign_in_line) -> None:
    post(boss, "/lines", name="Aid")
    aid = line_id(fresh, "Aid")
    ticket = sign_in_line("main", "Aid", "ada@example.org")
    section = post(boss, f"/lines/{aid}/remove")
    assert "People are waiting or being served in Aid" in section
    assert re.search(f'<tr data-line="{aid}"', section)  # still there
    assert ("Aid", True) in lines_of(fresh)

    token = boss.csrf_token("/admin/")
    assert boss.post("/admin/close-day", {"csrf_token": token}, HX).status == 200
    assert rows(fresh, "SELECT status FROM tickets WHERE id = :id", id=ticket) == [("cancelled",)]
    assert "Removed the line Aid" in post(boss, f"/lines/{aid}/remove")
    assert lines_of(fresh) == [("General", True)]
    # The last line has no Remove button, and a forged post is refused with the reason.
    general = line_id(fresh, "General")
    assert "Remove General" not in boss.get("/admin/").body
    assert "only line" in post(boss, f"/lines/{general}/remove")
    assert "does not exist" in post(boss, f"/lines/{aid}/rename", name="Back")


def test_each_sites_page_changes_its_own_lines(fresh: LiveServer, boss: WebClient, add_site,
                                               join) -> None:
    career = add_site("career", "Career office").slug
    fresh.add_staffs("alice", "sam")
    join("alice", career, admin=True)
    join("sam", "main")
    post(boss, "/lines", prefix=f"/s/{career}", name="Internships")
    assert lines_of(fresh, career) == [("General", True), ("Internships", True)]
    assert lines_of(fresh) == [("General", True)]

    # A line of another site is a line that does not exist here.
    main_general = line_id(fresh, "General")
    section = post(boss, f"/lines/{main_general}/rename", prefix=f"/s/{career}", name="Oops")
    assert "does not exist" in section and lines_of(fresh) == [("General", True)]

    alice = admin_client(fresh, "alice")
    post(alice, "/lines", prefix=f"/s/{career}", name="Alumni")
    token = alice.csrf_token(f"/s/{career}/admin/")
    assert alice.post("/admin/lines", {"csrf_token": token, "name": "X"}, HX).status == 403
    sam = admin_client(fresh, "sam")
    token = sam.csrf_token("/staff/")
    assert sam.post("/admin/lines", {"csrf_token": token, "name": "X"}, HX).status == 403
    assert lines_of(fresh) == [("General", True)]
    anonymous = WebClient(fresh.port)
    reply = anonymous.post("/admin/lines", {"name": "X"})
    assert reply.status in (302, 400, 403)
    assert lines_of(fresh) == [("General", True)]


def test_without_javascript_the_form_lands_back_on_the_admin_page(
        fresh: LiveServer, boss: WebClient) -> None:
    token = boss.csrf_token("/admin/")
    reply = boss.post("/admin/lines", {"csrf_token": token, "name": "Aid"})
    assert reply.status == 302 and reply.headers["location"].endswith("/admin/")
    assert "Added the line Aid." in html.unescape(boss.get("/admin/").body)
