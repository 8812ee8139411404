"""Pages: security headers and CSP, no server banner, cookie flags, CSRF on forms (htmx
header included), login throttling per account and per address."""

from __future__ import annotations

import socket

import pytest

from tests.kit.http_client import WebClient
from tests.kit.live import LiveServer

# PROXY_COUNT=1: X-Forwarded-For names the client, so each test can be its own address.
SERVER_ENV = {
    "PROXY_COUNT": "1",
    "LIMIT_LOGIN_ACCOUNT": "3/900",
    "LIMIT_LOGIN_ADDRESS": "6/900",
}


def web(server: LiveServer, address: str) -> WebClient:
    return WebClient(server.port, {"X-Forwarded-For": address})


@pytest.mark.parametrize("path", ["/", "/login", "/staff/", "/no-such-page"])
def test_every_page_carries_the_security_headers(server: LiveServer, path: str) -> None:
    reply = web(server, "10.1.0.1").get(path)
    csp = reply.header("Content-Security-Policy") or ""
    directives = dict((d.strip().split(" ", 1) + [""])[:2] for d in csp.split(";"))
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert reply.header("Referrer-Policy") == "same-origin"
    assert reply.header("X-Content-Type-Options") == "nosniff"
    assert reply.header("X-Frame-Options") == "DENY"
    assert reply.header("Server") is None


def test_websocket_handshake_has_no_server_banner(server: LiveServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        raw.sendall(
            b"GET /ws/display HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n"
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = raw.recv(4096)
            assert chunk, "the server closed before answering"
            head += chunk
    status, *lines = head.split(b"\r\n\r\n")[0].decode().split("\r\n")
    assert " 101 " in status
    assert not [line for line in lines if line.lower().startswith("server:")]


def _session_cookie(cookies: list[str]) -> str:
    found = [c for c in cookies if c.startswith("session=")]
    assert found, f"no session cookie in {cookies}"
    return found[-1]


def test_session_cookie_is_httponly_samesite_and_secure_over_https(fresh: LiveServer) -> None:
    fresh.add_staff("ada")
    plain = _session_cookie(web(fresh, "10.2.0.1").login("ada").cookies())
    assert "HttpOnly" in plain and "SameSite=Lax" in plain
    assert "Secure" not in plain  # plain http (make run on a laptop) must still log in
    https = web(fresh, "10.2.0.2")
    https.extra["X-Forwarded-Proto"] = "https"  # what a TLS-terminating proxy sends
    # Over HTTPS Flask-WTF also wants a same-origin Referer, which browsers send for us.
    https.extra["Referer"] = f"https://127.0.0.1:{fresh.port}/login"
    secure = https.login("ada")
    assert secure.status == 302
    cookie = _session_cookie(secure.cookies())
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert secure.header("Strict-Transport-Security")


def test_login_form_without_csrf_token_is_refused(fresh: LiveServer) -> None:
    fresh.add_staff("ada")
    client = web(fresh, "10.3.0.1")
    client.get("/login")
    missing = client.post("/login", {"username": "ada", "password": "password123"})
    assert missing.status == 400 and "security token" in missing.body
    forged = client.post("/login", {"csrf_token": "forged", "username": "ada",
                                    "password": "password123"})
    assert forged.status == 400
    assert client.get("/staff/").status == 302  # still not logged in
    assert client.login("ada").status == 302
    assert client.get("/staff/").status == 200


def test_logout_needs_the_csrf_token_in_the_form_or_the_htmx_header(fresh: LiveServer) -> None:
    fresh.add_staff("ada")
    client = web(fresh, "10.3.0.2")
    client.login("ada")
    token = client.csrf_token("/staff/")
    assert client.post("/logout", {}).status == 400  # a cross-site form cannot log us out
    assert client.get("/logout").status == 405  # nor can a link or an <img>
    assert client.get("/staff/").status == 200
    assert client.post("/logout", {}, {"X-CSRFToken": token}).status == 302
    assert client.get("/staff/").status == 302  # logged out


def test_login_is_throttled_per_account(fresh: LiveServer) -> None:
    fresh.add_staff("ada")
    fresh.flask("staff", "add", "bob", "--password", "password123")
    attacker = web(fresh, "10.4.0.1")
    for _ in range(3):
        assert attacker.login("ada", "wrong-password").status == 200
    refused = attacker.login("ada")  # the right password, but too late
    assert refused.status == 429
    assert "Too many failed log-ins" in refused.body and "try again" in refused.body
    # The guesser is locked out, not the account: its owner elsewhere, and other accounts,
    # still log in (tests/security/test_login_throttle.py has the rest of the rules).
    assert web(fresh, "10.4.0.2").login("ada").status == 302
    assert web(fresh, "10.4.0.3").login("bob").status == 302


def test_login_is_throttled_per_address(fresh: LiveServer) -> None:
    fresh.add_staff("carol")
    sprayer = web(fresh, "10.5.0.1")
    for n in range(6):
        assert sprayer.login(f"guess{n}", "wrong-password").status == 200
    assert sprayer.login("carol").status == 429
    assert web(fresh, "10.5.0.2").login("carol").status == 302


def test_successful_login_forgives_the_accounts_failures(fresh: LiveServer) -> None:
    fresh.add_staff("dora")
    client = web(fresh, "10.6.0.1")
    for _ in range(2):
        client.login("dora", "wrong-password")
    assert client.login("dora").status == 302
    for _ in range(2):
        assert web(fresh, "10.6.0.2").login("dora", "wrong-password").status == 200
    assert web(fresh, "10.6.0.3").login("dora").status == 302
