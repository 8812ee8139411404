"""/admin/sites over HTTP: an admin of every site adds a site (its screens answer at once,
no restart), changes its name, tables and time zone, and removes it (refused, with the
reason, while anyone waits there; never the default site). The reports of every site, and
a site's CSV with its `site` column."""

from __future__ import annotations

import csv
import io
import re

import pytest

from tests.kit.http_client import WebClient
from tests.kit.live import LiveServer

SERVER_ENV = {"RATE_LIMITS": "off"}
HTMX = {"HX-Request": "true"}


@pytest.fixture
def boss(fresh: LiveServer) -> WebClient:
    fresh.add_staff("boss")  # the first account: admin of every site
    client = WebClient(fresh.port)
    assert client.login("boss").status == 302
    return client


def post(client: WebClient, path: str, **fields: str) -> str:
    reply = client.post(path, {"csrf_token": client.csrf_token("/admin/sites/"), **fields}, HTMX)
    assert reply.status == 200, reply.status
    return reply.body


def message(section: str) -> str:
    found = re.search(r'<p class="(?:notice|error)" role="\w+">(.*?)</p>', section)
    assert found, section
    return found.group(1)


def test_add_change_and_remove_a_site(boss: WebClient, fresh: LiveServer) -> None:
    assert boss.get("/s/annex/kiosk/").status == 404
    added = post(boss, "/admin/sites/", slug="annex", name="The Annex", tables="3",
                 timezone="Asia/Tokyo")
    assert message(added) == "Added The Annex at /s/annex/."
    assert '<tr data-site="annex">' in added
    # The running server serves it at once, and the landing page lists it.
    assert boss.get("/s/annex/kiosk/").status == 200
    assert 'data-site="annex"' in WebClient(fresh.port).get("/").body

    changed = post(boss, "/admin/sites/annex", name="Annex", tables="5",
                   timezone="Europe/Lisbon")
    assert message(changed) == "Saved annex."
    display = boss.get("/s/annex/display/").body
    assert 'data-table-count="5"' in display and 'data-timezone="Europe/Lisbon"' in display

    refused = post(boss, "/admin/sites/annex/remove", confirm="anne")
    assert "type annex to confirm" in message(refused).lower()
    removed = post(boss, "/admin/sites/annex/remove", confirm="annex")
    assert message(removed) == "Removed Annex and everything it kept."
    assert boss.get("/s/annex/kiosk/").status == 404


@pytest.mark.parametrize("fields,reason", [
    ({"slug": "Bad Slug", "name": "X"}, "slug must be"),
    ({"slug": "main", "name": "Again"}, "exists already"),
    ({"slug": "okay", "name": "X", "tables": "two"}, "whole number"),
    ({"slug": "okay", "name": "X", "timezone": "Mars/Olympus"}, "not a time zone"),
    ({"slug": "okay", "name": ""}, "name is 1 to"),
])
def test_a_site_that_cannot_be_added_says_why(boss: WebClient, fields: dict[str, str],
                                              reason: str) -> None:
    assert reason in message(post(boss, "/admin/sites/", **fields))
    assert boss.get("/s/okay/kiosk/").status == 404


def test_the_default_site_cannot_be_removed(boss: WebClient) -> None:
    page = boss.get("/admin/sites/").body
    assert "/admin/sites/main/remove" not in page
    refused = post(boss, "/admin/sites/main/remove", confirm="main")
    assert "default site" in message(refused)
    assert boss.get("/kiosk/").status == 200


def test_a_busy_site_is_not_removed(boss: WebClient, fresh: LiveServer, add_site) -> None:
    add_site("busy", "Busy office")
    waiting = fresh.connect("/s/busy/ws/kiosk")
    try:
        assert waiting.ask("new ada@example.org Ada Lovelace").startswith("success new ")
    finally:
        waiting.close()
    refused = post(boss, "/admin/sites/busy/remove", confirm="busy")
    assert "waiting or being served at busy" in message(refused)
    assert boss.get("/s/busy/kiosk/").status == 200


def test_the_reports_of_every_site(boss: WebClient, fresh: LiveServer, add_site) -> None:
    add_site("annex", "The Annex")
    for path, email in (("/s/annex/ws/kiosk", "a@example.org"), ("/ws/kiosk", "b@example.org"),
                        ("/ws/kiosk", "c@example.org")):
        kiosk = fresh.connect(path)
        try:
            assert kiosk.ask(f"new {email} Visitor").startswith("success new ")
        finally:
            kiosk.close()
    page = boss.get("/admin/sites/reports?period=today").body
    rows = dict(re.findall(r'<tr data-site="([^"]+)">.*?<td data-figure="visitors">(\d+)<',
                           page, re.S))
    assert rows == {"annex": "1", "main": "2"}
    assert 'href="/s/annex/admin/reports?period=today"' in page

    annex = boss.get("/s/annex/admin/reports.csv?from=2000-01-01&to=2099-12-31")
    assert annex.status == 200
    assert 'filename="tablequeue-annex-2000-01-01-to-2099-12-31.csv"' in annex.header(
        "Content-Disposition")
    table = list(csv.reader(io.StringIO(annex.body)))
    assert table[0][-1] == "site" and [row[-1] for row in table[1:]] == ["annex"]
    main = list(csv.reader(io.StringIO(
        boss.get("/admin/reports.csv?from=2000-01-01&to=2099-12-31").body)))
    assert [row[-1] for row in main[1:]] == ["main", "main"]
