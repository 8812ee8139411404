"""Websockets: the Origin check at every handshake, device keys, the kiosk throttles, and
sessions that expire or are revoked while a console is connected."""

from __future__ import annotations

import json
import time

import pytest
import sqlalchemy as sa
import websocket

from tests.kit.client import Client
from tests.kit.frames import close_frame_code
from tests.kit.http_client import WebClient
from tests.kit.live import LiveServer

ROUTES = ["/ws/staff", "/ws/kiosk", "/ws/display"]
INVALID = "error accept your session token was found to be invalid. please relogin"


SERVER_ENV = {
    "PROXY_COUNT": "1",
    "ALLOWED_ORIGINS": "https://screens.example",
    "TRUSTED_HOSTS": "127.0.0.1",
    "DEVICE_KEYS": "kiosk,display",
    "LIMIT_QUERY_CONNECTION": "5/2",
    "LIMIT_QUERY_ADDRESS": "8/2",
    "LIMIT_NEW_CONNECTION": "5/2",
    "LIMIT_NEW_ADDRESS": "8/2",
    "SESSION_CHECK_SECONDS": "1",
}


@pytest.fixture(scope="module")
def keys(server: LiveServer) -> dict[str, str]:
    issued = {}
    for kind in ("kiosk", "display"):
        issued[kind] = server.flask("device", "issue", kind, f"{kind}-1").strip().splitlines()[-1]
    return issued


def screen(server: LiveServer, opened: list[Client], keys: dict[str, str], path: str,
           address: str = "10.9.9.9") -> Client:
    """A kiosk, display or console with its device key, seen as coming from `address`."""
    kind = path.rsplit("/", 1)[1]
    headers = [f"X-Forwarded-For: {address}"]
    if kind in keys:
        headers.append(f"X-Device-Key: {keys[kind]}")
    client = server.connect(path, headers)
    opened.append(client)
    return client


def handshake_status(server: LiveServer, path: str, **options: object) -> int:
    """101 if the handshake succeeds, else the HTTP status the server refused it with."""
    try:
        websocket.create_connection(server.url(path), timeout=10, **options).close()
        return 101
    except websocket.WebSocketBadStatusException as refused:
        return refused.status_code


# ---- Origin --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ROUTES)
@pytest.mark.parametrize("origin", ["http://evil.example", "null", "https://127.0.0.1.evil.example"])
def test_cross_origin_handshake_is_refused(server: LiveServer, keys: dict[str, str],
                                           path: str, origin: str) -> None:
    key = [f"X-Device-Key: {keys[k]}" for k in keys if path.endswith(k)]
    assert handshake_status(server, path, origin=origin, header=key) == 403


@pytest.mark.parametrize("path", ROUTES)
def test_own_and_allowed_origins_and_non_browser_clients_connect(
        server: LiveServer, keys: dict[str, str], path: str) -> None:
    key = [f"X-Device-Key: {keys[k]}" for k in keys if path.endswith(k)]
    own = f"http://127.0.0.1:{server.port}"
    assert handshake_status(server, path, origin=own, header=key) == 101
    assert handshake_status(server, path, origin="https://screens.example", header=key) == 101
    assert handshake_status(server, path, suppress_origin=True, header=key) == 101


def test_forwarded_host_cannot_make_a_foreign_origin_our_own(server: LiveServer) -> None:
    evil = ["X-Forwarded-Host: evil.example"]
    assert handshake_status(server, "/ws/staff", origin="http://evil.example", header=evil) == 403


def test_dns_rebinding_is_refused_by_trusted_hosts(server: LiveServer) -> None:
    # A hostile name resolving to us: the browser sends its own name as Host and Origin.
    rebound = f"evil.example:{server.port}"
    assert handshake_status(server, "/ws/staff", host=rebound, origin=f"http://{rebound}") == 400


def test_login_cookie_cannot_bind_a_cross_site_console(fresh: LiveServer) -> None:
    fresh.add_staff("ada")
    web = WebClient(fresh.port)
    assert web.login("ada").status == 302
    cookie = "Cookie: " + "; ".join(f"{k}={v}" for k, v in web.jar.items())
    assert handshake_status(fresh, "/ws/staff", origin="http://evil.example",
                            header=[cookie]) == 403
    own = websocket.create_connection(fresh.url("/ws/staff"), timeout=10, header=[cookie])
    try:
        assert own.recv() == "taken"
        own.send("accept 1")
        assert own.recv() == "error accept you do not have a table chosen"  # bound: ada's
    finally:
        own.close()


# ---- device keys ---------------------------------------------------------------------


def test_screens_need_their_own_valid_device_key(server: LiveServer, keys: dict[str, str]) -> None:
    assert handshake_status(server, "/ws/kiosk") == 403
    assert handshake_status(server, "/ws/display") == 403
    assert handshake_status(server, "/ws/kiosk", header=[f"X-Device-Key: {keys['display']}"]) == 403
    assert handshake_status(server, "/ws/kiosk", header=["X-Device-Key: made-up"]) == 403
    assert handshake_status(server, "/ws/kiosk", header=[f"X-Device-Key: {keys['kiosk']}"]) == 101
    assert handshake_status(server, "/ws/staff") == 101  # staff log in instead


def test_a_revoked_device_key_closes_its_screen_and_no_longer_opens_it(server: LiveServer) -> None:
    key = server.flask("device", "issue", "kiosk", "lobby-2").strip().splitlines()[-1]
    header = [f"X-Device-Key: {key}"]
    live = server.connect("/ws/kiosk", header)
    try:
        assert live.ask("query nobody@example.org") == "error query visitor email does not exist"
        server.flask("device", "revoke", "lobby-2")
        assert close_frame_code(live) == 1008  # policy violation: the sweep closed it
    finally:
        live.close()
    assert handshake_status(server, "/ws/kiosk", header=header) == 403


def test_a_browser_screen_stores_its_key_in_a_cookie(server: LiveServer,
                                                     keys: dict[str, str]) -> None:
    web = WebClient(server.port)
    for path in ("/display/", "/kiosk/", "/kiosk/ticket/1"):
        page = web.get(path)
        assert page.status == 302 and "/device" in (page.header("Location") or ""), path
    token = web.csrf_token("/device?next=/display")
    assert web.post("/device",
                    {"csrf_token": token, "key": "wrong", "next": "/display"}).status == 403
    saved = web.post("/device", {"csrf_token": token, "key": keys["display"], "next": "/display"})
    assert saved.status == 302 and saved.header("Location") == "/display"
    cookie = [c for c in saved.cookies() if c.startswith("tq_device=")][0]
    assert "HttpOnly" in cookie
    header = [f"Cookie: tq_device={web.jar['tq_device']}"]
    assert handshake_status(server, "/ws/display", header=header) == 101
    evil = web.post("/device",
                    {"csrf_token": token, "key": keys["display"], "next": "//evil.example/"})
    assert evil.header("Location") == "/"  # never an open redirect


def test_the_kiosk_waiting_check_needs_the_kiosk_key(
    server: LiveServer, keys: dict[str, str]
) -> None:
    web = WebClient(server.port)
    token = web.csrf_token("/device?next=/kiosk")
    form = {"csrf_token": token, "email": "someone@example.org"}
    refused = web.post("/kiosk/waiting", form)
    assert refused.status == 302 and "/device" in (refused.header("Location") or "")
    assert web.post("/kiosk/waiting", form, {"X-Device-Key": keys["display"]}).status == 302
    assert web.post("/kiosk/waiting", form, {"X-Device-Key": keys["kiosk"]}).status == 204


# ---- throttles -----------------------------------------------------------------------


def _flood(client: Client, frame: str, times: int) -> list[str]:
    return [client.ask(frame) for _ in range(times)]


@pytest.mark.parametrize("frame,word", [("query someone@example.org", "query"),
                                        ("new flood@example.org Flo Od", "new")])
def test_a_flooding_kiosk_connection_is_throttled_then_recovers(
        fresh: LiveServer, opened: list[Client], keys: dict[str, str], frame: str,
        word: str) -> None:
    kiosk = screen(fresh, opened, keys, "/ws/kiosk", address=f"10.20.{len(word)}.1")
    replies = _flood(kiosk, frame, 20)  # limit 5 per 2 s: at most 10 pass in any 2 windows
    refusal = f"error {word} too many requests, wait a moment and try again"
    assert replies.count(refusal) >= 10
    assert all(r == refusal or not r.startswith("error " + word + " too") for r in replies)
    deadline = time.monotonic() + 10
    while kiosk.ask(frame) == refusal:
        assert time.monotonic() < deadline, "the throttle never let the kiosk through again"
        time.sleep(0.2)


@pytest.mark.parametrize("frame,word", [("query someone@example.org", "query"),
                                        ("new flood@example.org Flo Od", "new")])
def test_many_connections_from_one_address_are_throttled_together(
        fresh: LiveServer, opened: list[Client], keys: dict[str, str], frame: str,
        word: str) -> None:
    address = f"10.21.{len(word)}.1"
    kiosks = [screen(fresh, opened, keys, "/ws/kiosk", address=address) for _ in range(5)]
    # 5 each: never per-connection.
    replies = [r for kiosk in kiosks for r in _flood(kiosk, frame, 5)]
    refusal = f"error {word} too many requests, wait a moment and try again"
    assert replies.count(refusal) >= 25 - 16
    other = screen(fresh, opened, keys, "/ws/kiosk", address="10.21.99.1")
    assert other.ask(frame) != refusal  # another address is not affected


# ---- sessions ------------------------------------------------------------------------


def _expire(server: LiveServer, token_hash_of: str) -> None:
    import hashlib

    engine = server.engine()
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE staff_sessions SET expires_at = :past WHERE token_hash = :h"),
                     {"past": "2000-01-01 00:00:00+00:00",
                      "h": hashlib.sha256(token_hash_of.encode()).hexdigest()})
    engine.dispose()


def _console(server: LiveServer, opened: list[Client], token: str, table: int) -> Client:
    console = screen(server, opened, {}, "/ws/staff")
    assert console.recv().startswith("taken")
    assert console.ask(f"pick {table} {token}") == f"success pick {table}"
    return console


def test_an_expired_token_is_refused(fresh: LiveServer, opened: list[Client]) -> None:
    token = fresh.add_staff("ada")
    console = _console(fresh, opened, token, 1)
    _expire(fresh, token)
    assert console.answer("accept 1") == INVALID  # the sweep may send `taken` first
    late = screen(fresh, opened, {}, "/ws/staff")
    late.recv()
    assert (late.ask(f"pick 2 {token}")
            == "error pick the provided token does not belong to any staff member")


def test_a_revoked_token_is_refused_and_its_console_stops_receiving(
        fresh: LiveServer, opened: list[Client], keys: dict[str, str]) -> None:
    token = fresh.add_staff("ada")
    console = _console(fresh, opened, token, 1)
    kiosk = screen(fresh, opened, keys, "/ws/kiosk", address="10.30.0.1")
    assert kiosk.ask("new one@example.org One").startswith("success new")
    assert console.recv().startswith("new ")
    fresh.flask("staff", "revoke", "ada")  # another process: the sweep notices it
    assert console.recv(timeout=10) == "taken 1"  # unbound: a console like any other
    assert console.ask("accept 1") == INVALID
    assert kiosk.ask("new two@example.org Two").startswith("success new")
    assert [m for m in console.drain(1.0) if "@" in m] == []


def test_logout_unbinds_the_consoles_of_that_session(
        fresh: LiveServer, opened: list[Client], keys: dict[str, str]) -> None:
    fresh.add_staff("ada")
    web = WebClient(fresh.port)
    assert web.login("ada").status == 302
    cookie = "Cookie: " + "; ".join(f"{k}={v}" for k, v in web.jar.items())
    console = screen(fresh, opened, {}, "/ws/staff")
    bound = Client(fresh.url("/ws/staff"), [cookie])
    opened.append(bound)
    assert bound.recv() == "taken"
    console.recv()
    token = web.csrf_token("/staff/")
    assert web.post("/logout", {"csrf_token": token}).status == 302
    assert bound.recv(timeout=10) == "taken"
    kiosk = screen(fresh, opened, keys, "/ws/kiosk", address="10.31.0.1")
    reply = kiosk.ask("new three@example.org Three")
    ticket = json.loads(reply.removeprefix("success new "))
    assert [m for m in bound.drain(1.0) if "@" in m] == []
    assert bound.ask(f"accept {ticket['id']}") == INVALID
