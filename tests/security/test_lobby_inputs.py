"""Inputs an attacker on the lobby network controls (issue 17): redirect targets after login
and after a device key (finding 3), and ids out of range (finding 6)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from tests.kit.client import Client
from tests.kit.http_client import WebClient
from tests.kit.live import LiveServer

# Each of these is another site to a browser (or was a 500): `next` must fall back to our own.
FOREIGN = [
    "/%09/evil.example",       # tab: stripped by the browser, leaving //evil.example
    "/%0a/evil.example",       # newline: was a 500 after the session was issued
    "/%0d/evil.example",       # carriage return: same
    "/%0d%0a/evil.example",
    "%09//evil.example",       # a leading tab
    "%20//evil.example",       # a leading space
    "%00/evil.example",        # a leading NUL (stripped as a C0 control)
    "//evil.example",
    "/%5Cevil.example",        # /\evil.example: a backslash is a slash to a browser
    "%5C%5Cevil.example",
    "/%5C/evil.example",
    "https://evil.example/",
    "https:evil.example",
    "%2F%2Fevil.example",      # decoded once by the server: //evil.example
    "javascript:alert(1)",
    "/%e2%80%ae/evil.example",  # not ASCII: never put in a header
]

def is_local_path(location: str) -> bool:
    """Read `location` as a browser would and say whether it stays on this site."""
    seen = re.sub(r"[\t\n\r]", "", location.strip("".join(map(chr, range(0x21)))))
    seen = seen.replace("\\", "/")
    return seen.startswith("/") and not seen.startswith("//")


def _login(server: LiveServer, query: str) -> tuple[int, str | None]:
    web = WebClient(server.port)
    token = web.csrf_token("/login")
    reply = web.post(f"/login?{query}", {"csrf_token": token, "username": "ada",
                                         "password": "password123"})
    return reply.status, reply.header("Location")


@pytest.fixture(scope="module")
def ada(server: LiveServer) -> str:
    return server.add_staff("ada")


@pytest.mark.parametrize("target", FOREIGN)
def test_login_never_redirects_to_another_site(server: LiveServer, ada: str, target: str) -> None:
    status, location = _login(server, f"next={target}")
    assert status == 302, f"next={target} answered {status}"
    assert location is not None and is_local_path(location), (
        f"next={target} sent the browser to {location!r}")


@pytest.mark.parametrize("target", ["/admin/", "/display/?speech=off", "/kiosk/ticket/3"])
def test_login_still_returns_to_a_page_of_this_site(server: LiveServer, ada: str,
                                                    target: str) -> None:
    status, location = _login(server, f"next={target}")
    assert (status, location) == (302, target)


@pytest.fixture(scope="module")
def device_key(server: LiveServer) -> str:
    return server.flask("device", "issue", "kiosk", "lobby-kiosk").strip().splitlines()[-1]


@pytest.mark.parametrize("target", FOREIGN)
def test_device_page_never_redirects_to_another_site(server: LiveServer, device_key: str,
                                                    target: str) -> None:
    web = WebClient(server.port)
    page = web.get(f"/device?next={target}")
    assert page.status == 200, f"GET /device?next={target} answered {page.status}"
    kept = re.search(r'name="next" value="([^"]*)"', page.body)
    assert kept is not None and (kept.group(1) == "" or is_local_path(kept.group(1))), kept
    token = web.csrf_token("/device")
    reply = web.post(f"/device?next={target}", {"csrf_token": token, "key": device_key})
    assert reply.status == 302, f"next={target} answered {reply.status}"
    location = reply.header("Location") or ""
    assert is_local_path(location), f"next={target} sent the browser to {location!r}"


# ---- ids out of range ------------------------------------------------------------------

HUGE = ["99999999999999999999", str(2**63), str(2**63 - 1), str(2**31), "0" * 40 + "1"]


@pytest.mark.parametrize("number", HUGE)
def test_a_ticket_page_out_of_range_is_not_found(server: LiveServer, number: str) -> None:
    status, _headers, body = server.http("GET", f"/kiosk/ticket/{number}")
    expected = 200 if number.lstrip("0") == "1" else 404
    assert status in (expected, 404), f"/kiosk/ticket/{number} answered {status}"
    assert "Traceback" not in body


@pytest.mark.parametrize("number", HUGE[:4])
@pytest.mark.parametrize("command", ["accept", "cancel", "complete", "requeue"])
def test_a_ticket_command_out_of_range_is_does_not_exist(
        fresh: LiveServer, desk: Callable[..., Client], command: str, number: str) -> None:
    console = desk("ada", 7)
    assert console.answer(f"{command} {number}") == f"error {command} ticket id does not exist"
    assert console.answer("sync") == "error sync unknown command"  # still connected


@pytest.mark.parametrize("number", HUGE[:4])
def test_a_table_out_of_range_is_not_available(
        fresh: LiveServer, connect: Callable[[str], Client], number: str) -> None:
    token = fresh.add_staff("ada")
    console = connect("/ws/staff")
    assert console.recv().startswith("taken")
    reply = console.answer(f"pick {number} {token}")
    assert reply == "error pick the chosen table is not available"


@pytest.mark.parametrize("count", ["99999999999999999999", "9" * 5000, "²", "١٢"])
def test_the_table_count_form_refuses_what_is_not_a_small_number(server: LiveServer,
                                                                  count: str) -> None:
    from tablequeue.service import identity

    with server.app.app_context():
        identity.add_staff(f"root{len(count)}{ord(count[0])}", "password123", admin=True)
    web = WebClient(server.port)
    assert web.login(f"root{len(count)}{ord(count[0])}").status == 302
    token = web.csrf_token("/admin/")
    reply = web.post("/admin/tables", {"csrf_token": token, "count": count},
                     {"HX-Request": "true"})
    assert reply.status < 500, f"count={count[:20]!r} answered {reply.status}"
    assert "whole number" in reply.body or "between 1 and" in reply.body
    reply = web.post("/admin/announcement", {"csrf_token": token, "text": "Back at noon",
                                             "minutes": count}, {"HX-Request": "true"})
    assert reply.status < 500, f"minutes={count[:20]!r} answered {reply.status}"
    assert "whole number" in reply.body or "between 1 and" in reply.body
