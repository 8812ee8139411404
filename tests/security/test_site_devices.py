"""Device keys with several sites: a key opens the screens of the site it was issued at and
no other site's (pages, websocket handshakes and the page that stores the key), whichever
URL form the screen is opened with; a screen at a slug no site has is a 404, not a request
for a key (docs/sites.md; tablequeue/security.py)."""

from __future__ import annotations

import time

import pytest
import websocket

from tests.kit.http_client import WebClient
from tests.kit.live import LiveServer

SERVER_ENV = {"DEVICE_KEYS": "kiosk,display"}


def issue(server: LiveServer, slug: str, kind: str, name: str) -> str:
    from tablequeue.db import unit_of_work
    from tablequeue.service import devices, sites

    with server.app.app_context():
        with unit_of_work() as session:
            site = sites.find(session, slug)
            if site is None:
                site = sites.add(session, slug, slug.title(), tables=4, timezone="UTC").value
        return devices.issue(kind, name, site=site.id)


@pytest.fixture(scope="module")
def keys(server: LiveServer) -> dict[str, str]:
    """A kiosk key and a display key at main (the default site) and at annex."""
    found = {f"{slug}-{kind}": issue(server, slug, kind, f"{kind}-{slug}")
             for slug in ("main", "annex") for kind in ("kiosk", "display")}
    deadline = time.monotonic() + 10  # until the server has read the new site
    while server.http("GET", "/s/annex/kiosk/")[0] == 404:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    return found


def status(server: LiveServer, path: str, key: str | None) -> int:
    headers = {"X-Device-Key": key} if key else {}
    return WebClient(server.port).get(path, headers).status


@pytest.mark.parametrize("screen", ["kiosk", "display"])
def test_a_key_opens_its_own_sites_screens_only(server: LiveServer, keys: dict[str, str],
                                                screen: str) -> None:
    main, annex = keys[f"main-{screen}"], keys[f"annex-{screen}"]
    for path in (f"/{screen}/", f"/s/main/{screen}/"):  # the default site, both forms
        assert status(server, path, main) == 200
        assert status(server, path, annex) == 302  # to /device: not this site's key
    assert status(server, f"/s/annex/{screen}/", annex) == 200
    assert status(server, f"/s/annex/{screen}/", main) == 302
    assert status(server, f"/s/annex/{screen}/", None) == 302


def handshake(server: LiveServer, path: str, key: str) -> int:
    """The status a websocket handshake with this key is refused with (101: accepted)."""
    try:
        websocket.create_connection(server.url(path), timeout=10,
                                    header=[f"X-Device-Key: {key}"]).close()
        return 101
    except websocket.WebSocketBadStatusException as refused:
        return refused.status_code


def test_the_websocket_handshake_checks_the_sites_key(server: LiveServer,
                                                      keys: dict[str, str]) -> None:
    for path, wrong in (("/ws/kiosk", "annex-kiosk"), ("/s/main/ws/kiosk", "annex-kiosk"),
                        ("/s/annex/ws/kiosk", "main-kiosk"),
                        ("/s/annex/ws/display", "main-display")):
        assert handshake(server, path, keys[wrong]) == 403, path
    for path, right in (("/ws/kiosk", "main-kiosk"), ("/s/main/ws/kiosk", "main-kiosk"),
                        ("/s/annex/ws/kiosk", "annex-kiosk"),
                        ("/s/annex/ws/display", "annex-display")):
        assert handshake(server, path, keys[right]) == 101, path


def test_a_screen_at_no_site_is_a_404_not_a_request_for_a_key(server: LiveServer,
                                                              keys: dict[str, str]) -> None:
    for path in ("/s/nowhere/kiosk/", "/s/nowhere/display/", "/s/nowhere/ws/kiosk"):
        assert status(server, path, None) == 404


def test_the_device_page_takes_a_key_for_the_screen_it_opens(server: LiveServer,
                                                             keys: dict[str, str]) -> None:
    client = WebClient(server.port)
    token = client.csrf_token("/device?next=/s/annex/kiosk/")

    def store(key: str, target: str) -> int:
        return client.post("/device", {"csrf_token": token, "key": key, "next": target}).status

    assert store(keys["main-kiosk"], "/s/annex/kiosk/") == 403
    assert store(keys["annex-kiosk"], "/kiosk/") == 403
    assert store(keys["annex-kiosk"], "/s/annex/kiosk/") == 302
    assert client.get("/s/annex/kiosk/").status == 200  # the cookie now carries it
