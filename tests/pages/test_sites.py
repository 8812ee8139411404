"""A site's pages over HTTP: every screen at /s/<slug>/ and the default site's at today's
URLs too, 404 for a slug no site has, links that stay in their site, the landing page of
sites, and who may open which admin page (docs/sites.md, "URLs" and "Staff")."""

from __future__ import annotations

import re

import pytest

from tests.kit.http_client import WebClient
from tests.kit.live import LiveServer

SERVER_ENV = {"RATE_LIMITS": "off"}  # many log-ins, faster than a person

# Every per-site page and htmx endpoint, as (method, path after the site's prefix).
PER_SITE = [
    ("GET", "/kiosk/"), ("GET", "/kiosk/ticket/1"), ("POST", "/kiosk/waiting"),
    ("GET", "/display/"), ("GET", "/staff/"),
    ("GET", "/admin/"), ("POST", "/admin/tables"), ("POST", "/admin/close-day"),
    ("POST", "/admin/staff"), ("POST", "/admin/staff/ada/password"),
    ("POST", "/admin/staff/ada/active"), ("POST", "/admin/staff/ada/revoke"),
    ("POST", "/admin/staff/ada/sites"), ("POST", "/admin/announcement"),
    ("POST", "/admin/hours"), ("POST", "/admin/line"),
    ("GET", "/admin/reports"), ("GET", "/admin/reports.csv"),
    ("POST", "/admin/lines"), ("POST", "/admin/lines/1/rename"), ("POST", "/admin/lines/1/open"),
    ("POST", "/admin/lines/1/move"), ("POST", "/admin/lines/1/remove"),
]


@pytest.fixture
def career(fresh: LiveServer, add_site, join) -> str:
    """A second site beside main (the default), under a slug of its own (career-…); boss
    is admin of every site, alice admin of career only, sam works at main, carol at
    career. The slug."""
    slug = add_site("career", "Career office", tables=4, timezone="America/New_York").slug
    fresh.add_staffs("boss", "alice", "sam", "carol")  # the first account: admin of all
    join("alice", slug, admin=True)
    join("sam", "main")
    join("carol", slug)
    return slug


@pytest.fixture
def two_sites(fresh: LiveServer, career: str) -> LiveServer:
    return fresh


def browser(server: LiveServer, username: str | None = None) -> WebClient:
    client = WebClient(server.port)
    if username is not None:
        assert client.login(username).status == 302
    return client


def form(client: WebClient, page: str, **fields: str) -> dict[str, str]:
    return {"csrf_token": client.csrf_token(page), **fields}


# ---- URLs -----------------------------------------------------------------------------


@pytest.mark.parametrize("slug", ["nowhere", "Career", "a" * 41, "career%2Fx"])
def test_a_slug_no_site_has_is_404_on_every_page(
        two_sites: LiveServer, slug: str, career: str
) -> None:
    # Before anything else: no login asked for, no CSRF token checked.
    client = WebClient(two_sites.port)
    statuses = {(method, path): (client.get(f"/s/{slug}{path}") if method == "GET"
                                 else client.post(f"/s/{slug}{path}", {})).status
                for method, path in PER_SITE}
    assert set(statuses.values()) == {404}, statuses
    assert client.get(f"/s/{career}/kiosk/").status == 200


def test_a_slug_no_site_has_is_404_at_the_websocket_handshake(two_sites: LiveServer) -> None:
    for role in ("kiosk", "staff", "display"):
        status, _, _ = two_sites.http("GET", f"/s/nowhere/ws/{role}")
        assert status == 404


@pytest.mark.parametrize("prefix", ["", "/s/main"])
def test_the_default_site_answers_both_urls(two_sites: LiveServer, prefix: str) -> None:
    boss = browser(two_sites, "boss")
    for screen, role in (("kiosk", "kiosk"), ("display", "display"), ("staff", "staff")):
        reply = boss.get(f"{prefix}/{screen}/")
        assert reply.status == 200, screen
        # The page opens its own site's websocket, in the same URL form as the page.
        assert f'data-socket="{prefix}/ws/{role}"' in reply.body
    kiosk = boss.get(f"{prefix}/kiosk/").body
    assert f'data-ticket-url="{prefix}/kiosk/ticket/0"' in kiosk
    assert f'data-waiting-url="{prefix}/kiosk/waiting"' in kiosk
    admin = boss.get(f"{prefix}/admin/")
    assert admin.status == 200
    # Every form of the admin page posts to the same site, in the same form.
    actions = set(re.findall(r'action="([^"]+)"', admin.body)) - {"/logout"}
    assert actions and all(a.startswith(f"{prefix}/admin/") for a in actions), actions
    assert boss.get(f"{prefix}/admin/reports").status == 200


def test_a_sites_pages_stay_in_the_site(two_sites: LiveServer, career: str) -> None:
    boss = browser(two_sites, "boss")
    kiosk = boss.get(f"/s/{career}/kiosk/").body
    assert f'data-socket="/s/{career}/ws/kiosk"' in kiosk
    assert f'data-ticket-url="/s/{career}/kiosk/ticket/0"' in kiosk
    assert "Career office" in kiosk
    display = boss.get(f"/s/{career}/display/").body
    assert f'data-socket="/s/{career}/ws/display"' in display
    assert 'data-table-count="4"' in display
    assert 'data-timezone="America/New_York"' in display
    admin = boss.get(f"/s/{career}/admin/").body
    actions = set(re.findall(r'action="([^"]+)"', admin)) - {"/logout"}
    assert actions and all(a.startswith(f"/s/{career}/admin/") for a in actions), actions
    report = boss.get(f"/s/{career}/admin/reports").body
    assert f'href="/s/{career}/admin/reports.csv?' in report
    assert "times in America/New_York" in report


def test_login_stays_global_and_brings_a_site_page_back(two_sites: LiveServer, career: str) -> None:
    client = WebClient(two_sites.port)
    reply = client.get(f"/s/{career}/admin/reports?period=7d")
    assert reply.status == 302
    assert reply.header("Location") == f"/login?next=/s/{career}/admin/reports?period%3D7d"
    assert client.get(f"/s/{career}/login").status == 404


# ---- the landing page ------------------------------------------------------------------


def test_the_landing_page_lists_every_site_and_its_screens(
        two_sites: LiveServer, career: str
) -> None:
    page = WebClient(two_sites.port).get("/").body
    slugs = re.findall(r'<li class="site-card" data-site="([^"]+)"', page)
    assert slugs == [career, "main"]
    assert "Career office" in page
    for slug in slugs:
        for screen in ("kiosk", "display", "staff", "admin"):
            assert f'href="/s/{slug}/{screen}/"' in page


# ---- who may open what -----------------------------------------------------------------


ADMIN_PAGES = ["/admin/", "/s/main/admin/", "/s/{career}/admin/", "/admin/reports",
               "/s/{career}/admin/reports", "/s/{career}/admin/reports.csv", "/admin/sites/",
               "/admin/sites/reports"]
MATRIX = {
    # admin of every site: everything
    "boss": [200, 200, 200, 200, 200, 200, 200, 200],
    # admin of career only: career's pages and the list of their own sites
    "alice": [403, 403, 200, 403, 200, 200, 200, 403],
    # staff at main, admin of nothing
    "sam": [403, 403, 403, 403, 403, 403, 403, 403],
}


@pytest.mark.parametrize("username", sorted(MATRIX))
def test_admin_pages_by_role(two_sites: LiveServer, username: str, career: str) -> None:
    client = browser(two_sites, username)
    pages = [path.format(career=career) for path in ADMIN_PAGES]
    statuses = [client.get(path).status for path in pages]
    assert statuses == MATRIX[username], list(zip(pages, statuses, strict=True))


def test_admin_pages_send_anonymous_visitors_to_login(two_sites: LiveServer, career: str) -> None:
    client = WebClient(two_sites.port)
    for path in (path.format(career=career) for path in ADMIN_PAGES):
        reply = client.get(path)
        assert reply.status == 302 and reply.header("Location").startswith("/login"), path


def test_a_site_admin_is_refused_elsewhere_with_their_own_sites(
        two_sites: LiveServer, career: str
) -> None:
    alice = browser(two_sites, "alice")
    reply = alice.get("/admin/")
    assert reply.status == 403
    assert "You are not an admin of" in reply.body
    assert f'href="/s/{career}/admin/"' in reply.body
    assert "waiting" not in reply.body.lower()
    # A post to another site's admin page changes nothing there.
    token = alice.csrf_token(f"/s/{career}/admin/")
    assert alice.post("/admin/tables", {"csrf_token": token, "count": "3"}).status == 403
    add = {"csrf_token": token, "slug": "x", "name": "X"}
    assert alice.post("/admin/sites/", add).status == 403
    assert two_sites.http("GET", "/display/")[2].count('data-table-count="50"') == 1


def test_a_site_admin_changes_their_site_only(two_sites: LiveServer, career: str) -> None:
    alice = browser(two_sites, "alice")
    reply = alice.post(f"/s/{career}/admin/tables",
                       form(alice, f"/s/{career}/admin/", count="6"))
    assert reply.status == 302 and reply.header("Location") == f"/s/{career}/admin/"
    assert 'data-table-count="6"' in alice.get(f"/s/{career}/display/").body
    assert 'data-table-count="50"' in alice.get("/display/").body


def test_a_site_admin_lists_their_sites_only(two_sites: LiveServer, career: str) -> None:
    alice = browser(two_sites, "alice").get("/admin/sites/").body
    assert re.findall(r'<tr data-site="([^"]+)"', alice) == [career]
    assert 'id="add-site"' not in alice and "/remove" not in alice
    boss = browser(two_sites, "boss").get("/admin/sites/").body
    assert re.findall(r'<tr data-site="([^"]+)"', boss) == [career, "main"]
    assert 'id="add-site"' in boss


def test_the_staff_console_at_a_site_one_does_not_work_at(
        two_sites: LiveServer, career: str
) -> None:
    sam = browser(two_sites, "sam")
    reply = sam.get(f"/s/{career}/staff/")
    assert reply.status == 403
    assert "You do not work at Career office" in reply.body
    assert 'id="console"' not in reply.body and "data-socket" not in reply.body
    assert 'href="/s/main/staff/"' in reply.body
    assert sam.get("/staff/").status == 200
    # carol works at career only: today's /staff/ takes her to her one site's console.
    carol = browser(two_sites, "carol")
    reply = carol.get("/staff/")
    assert reply.status == 302 and reply.header("Location") == f"/s/{career}/staff/"
    assert carol.get(f"/s/{career}/staff/").status == 200
    assert carol.get("/s/main/staff/").status == 403


def test_the_staff_section_shows_each_accounts_sites(two_sites: LiveServer, career: str) -> None:
    boss = browser(two_sites, "boss").get(f"/s/{career}/admin/").body
    rows = dict(re.findall(r'<tr data-staff="([^"]+)".*?<td class="staff-sites">(.*?)</td>',
                           boss, re.S))
    assert set(rows) == {"alice", "boss", "carol", "sam"}  # every account, for boss
    assert "every site" in rows["boss"]
    assert f'data-site="{career}">{career} (admin)' in rows["alice"]
    assert 'data-site="main">main<' in rows["sam"]
    alice = browser(two_sites, "alice").get(f"/s/{career}/admin/").body
    # A site admin sees the accounts of their site; boss (of every site) is not theirs to change.
    shown = re.findall(r'<tr data-staff="([^"]+)"', alice)
    assert shown == ["alice", "boss", "carol"]
    assert "/admin/staff/boss/password" not in alice
    assert f"/s/{career}/admin/staff/carol/password" in alice


def test_a_site_admin_cannot_change_an_account_of_another_site(two_sites: LiveServer,
                                                               join, career: str) -> None:
    join("carol", career, "main")
    alice = browser(two_sites, "alice")
    reply = alice.post(f"/s/{career}/admin/staff/carol/password",
                       {**form(alice, f"/s/{career}/admin/", password="new-password-1")},
                       {"HX-Request": "true"})
    assert reply.status == 200 and "Only an admin of every site can change carol" in reply.body
    assert two_sites.login("carol") is not None  # the old password still works


def test_sites_of_an_account_are_set_among_the_admins_own(
        two_sites: LiveServer, career: str
) -> None:
    boss = browser(two_sites, "boss")
    reply = boss.post("/admin/staff/sam/sites",
                      form(boss, "/admin/", **{"site-main": "staff", f"site-{career}": "admin"}))
    assert reply.status == 302
    page = boss.get("/admin/").body
    cell = re.search(r'data-staff="sam".*?<td class="staff-sites">(.*?)</td>', page, re.S)
    assert cell and re.findall(r'data-site="[^"]+">([^<]+)<', cell.group(1)) == [
        f"{career} (admin)", "main"]
    assert browser(two_sites, "sam").get(f"/s/{career}/admin/").status == 200


def test_an_account_added_at_a_site_works_there(two_sites: LiveServer, career: str) -> None:
    alice = browser(two_sites, "alice")
    reply = alice.post(f"/s/{career}/admin/staff", form(
        alice, f"/s/{career}/admin/", username="dan", password="password123", admin="on"))
    assert reply.status == 302
    dan = browser(two_sites, "dan")
    assert dan.get(f"/s/{career}/staff/").status == 200
    assert dan.get("/s/main/staff/").status == 403
    assert dan.get("/admin/sites/").status == 403  # a site admin cannot make an admin of all


def test_leaving_the_site_of_ones_table_frees_it(two_sites: LiveServer, connect,
                                                 career: str) -> None:
    display = connect("/ws/display")
    display.sync()
    sam = connect("/ws/staff")
    assert sam.recv().startswith("taken")
    assert sam.answer(f"pick 3 {two_sites.token('sam')}") == "success pick 3"
    display.until(lambda m: m == "pick 3")
    boss = browser(two_sites, "boss")
    reply = boss.post("/admin/staff/sam/sites", form(
        boss, "/admin/", **{"site-main": "", f"site-{career}": "staff"}))
    assert reply.status == 302
    display.until(lambda m: m == "unpick 3")  # main's screens hear the table freed
    row = re.search(r'<tr data-staff="sam".*?</tr>', boss.get("/admin/").body, re.S)
    assert row and "at main" not in row.group(0)
