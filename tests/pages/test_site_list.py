"""/admin/sites over HTTP: an admin of every site adds a site (its screens answer at once,
no restart), changes its name, tables and time zone, and removes it (refused, with the
reason, while anyone waits there; never the default site). The reports of every site, and
a site's CSV with its `site` column."""

from __future__ import annotations

import csv
import io
import re
import time
import uuid
from datetime import date, timedelta

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


def shown(client: WebClient, path: str, text: str) -> str:
    """The page at `path` once it shows `text` (on every worker within a floor poll)."""
    deadline = time.monotonic() + 10
    while text not in (page := client.get(path).body):
        assert time.monotonic() < deadline, f"{path} never showed {text}"
        time.sleep(0.1)
    return page


def message(section: str) -> str:
    found = re.search(r'<p class="(?:notice|error)" role="\w+">(.*?)</p>', section)
    assert found, section
    return found.group(1)


def test_add_change_and_remove_a_site(boss: WebClient, fresh: LiveServer, until) -> None:
    slug = f"annex-{uuid.uuid4().hex[:8]}"  # never a slug a worker may remember
    assert boss.get(f"/s/{slug}/kiosk/").status == 404
    added = post(boss, "/admin/sites/", slug=slug, name="The Annex", tables="3",
                 timezone="Asia/Tokyo")
    assert message(added) == f"Added The Annex at /s/{slug}/."
    assert f'<tr data-site="{slug}">' in added
    # Every worker of the running server serves it (no restart); the landing page lists it.
    until(f"/s/{slug}/kiosk/")
    assert f'data-site="{slug}"' in WebClient(fresh.port).get("/").body

    changed = post(boss, f"/admin/sites/{slug}", name="Annex", tables="5",
                   timezone="Europe/Lisbon")
    assert message(changed) == f"Saved {slug}."
    # Every worker's directory of sites has the change by its next floor poll.
    display = shown(boss, f"/s/{slug}/display/", 'data-timezone="Europe/Lisbon"')
    assert 'data-table-count="5"' in display

    refused = post(boss, f"/admin/sites/{slug}/remove", confirm="annex")
    assert f"type {slug} to confirm" in message(refused).lower()
    removed = post(boss, f"/admin/sites/{slug}/remove", confirm=slug)
    assert message(removed) == "Removed Annex and everything it kept."
    until(f"/s/{slug}/kiosk/", 404)


@pytest.mark.parametrize("fields,reason", [
    ({"slug": "Bad Slug", "name": "X"}, "slug is 1 to 40"),
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


def test_a_busy_site_is_not_removed(boss: WebClient, add_site, sign_in) -> None:
    busy = add_site("busy", "Busy office").slug
    sign_in(busy, "ada@example.org")
    refused = post(boss, f"/admin/sites/{busy}/remove", confirm=busy)
    assert f"waiting or being served at {busy}" in message(refused)
    assert boss.get(f"/s/{busy}/kiosk/").status == 200


def test_the_reports_of_every_site(boss: WebClient, add_site, sign_in) -> None:
    annex = add_site("annex", "The Annex").slug
    for slug, email in ((annex, "a@example.org"), ("main", "b@example.org"),
                        ("main", "c@example.org")):
        sign_in(slug, email)
    page = boss.get("/admin/sites/reports?period=today").body
    rows = dict(re.findall(r'<tr data-site="([^"]+)">.*?<td data-figure="visitors">(\d+)<',
                           page, re.S))
    assert rows == {annex: "1", "main": "2"}
    assert f'href="/s/{annex}/admin/reports?period=today"' in page

    first, last = date.today() - timedelta(days=1), date.today() + timedelta(days=1)
    span = f"from={first.isoformat()}&to={last.isoformat()}"
    reply = boss.get(f"/s/{annex}/admin/reports.csv?{span}")
    assert reply.status == 200
    assert (f'filename="tablequeue-{annex}-{first.isoformat()}-to-{last.isoformat()}.csv"'
            in (reply.header("Content-Disposition") or ""))
    table = list(csv.reader(io.StringIO(reply.body)))
    site = table[0].index("site")  # after the columns of before sites (then the lines')
    assert site == 11 and [row[site] for row in table[1:]] == [annex]
    main = list(csv.reader(io.StringIO(
        boss.get(f"/admin/reports.csv?{span}").body)))
    assert [row[site] for row in main[1:]] == ["main", "main"]
