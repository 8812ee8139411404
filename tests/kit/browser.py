"""Helpers for the browser tests (tests/browser/, whose conftest.py has the `browser` and
`open_page` fixtures): target sizes, logging in, what a page shows, screenshots, the
accessibility audit, a websocket that holds the server's messages."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, WebSocketRoute, expect

from tests.kit.artifacts import ARTIFACTS
from tests.kit.live import LiveServer

PASSWORD = "password123"

# Target sizes: a tablet at the door, a staff laptop, a TV.
KIOSK_PORTRAIT = {"width": 800, "height": 1280}
KIOSK_LANDSCAPE = {"width": 1280, "height": 800}
LAPTOP = {"width": 1366, "height": 768}
TV = {"width": 1920, "height": 1080}
SMALL_TV = {"width": 1280, "height": 720}

OpenPage = Callable[..., Page]


def connected(page: Page) -> None:
    expect(page.locator(".conn").first).to_have_attribute("data-connection", "connected")


def add_staff(server: LiveServer, username: str, *, admin: bool = False) -> None:
    args = ["staff", "add", username, "--password", PASSWORD] + (["--admin"] if admin else [])
    server.flask(*args)


def log_in(page: Page, username: str) -> None:
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/staff/")
    connected(page)


def admin_page(open_page: OpenPage) -> Page:
    """/admin in a new context, logged in as boss (an admin account the test has added)."""
    page = open_page("/admin/", viewport=LAPTOP)
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/")
    return page


def set_tables(server: LiveServer, count: int) -> None:
    """As /admin would: the number of tables is the default site's."""
    engine = server.engine()
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE sites SET tables = :n WHERE slug = :slug"),
                     {"n": count, "slug": server.env.get("DEFAULT_SITE") or "main"})
    engine.dispose()


def pick_table(page: Page, table: int) -> None:
    page.click(f"#table-grid button[data-table='{table}']")
    expect(page.locator("#table-number")).to_have_text(str(table))


def no_scroll(page: Page) -> bool:
    return bool(page.evaluate(
        "() => document.scrollingElement.scrollHeight <= innerHeight"
        " && document.scrollingElement.scrollWidth <= innerWidth"
    ))


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


AXE = Axe()
BLOCKING = ("serious", "critical")


def audit(page: Page, state: str) -> None:
    """axe-core on the page as it is now; every serious or critical violation, explained."""
    results = AXE.run(page, options={"resultTypes": ["violations"]}).response
    found = [
        f"{state}: {v['id']} ({v['impact']}) {v['help']}: "
        + "; ".join(f"{n['target']} {n['failureSummary']}" for n in v["nodes"][:4])
        for v in results["violations"] if v["impact"] in BLOCKING
    ]
    assert found == [], "\n".join(found)
    assert results["testEngine"]["version"].startswith("4."), results["testEngine"]


class HeldSocket:
    """Passes a page's websocket through, but can hold what the server sends to the page:
    the loser then clicks Accept on a list that does not yet know the ticket is taken."""

    def __init__(self) -> None:
        self.holding = False
        self.held: list[str | bytes] = []
        self.page_side: WebSocketRoute | None = None

    def route(self, ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()
        self.page_side = ws
        ws.on_message(server.send)
        server.on_message(self._from_server)

    def _from_server(self, message: str | bytes) -> None:
        if self.holding:
            self.held.append(message)
        else:
            assert self.page_side is not None
            self.page_side.send(message)

    def release(self) -> None:
        assert self.page_side is not None
        self.holding = False
        for message in self.held:
            self.page_side.send(message)
        self.held.clear()


class SocketSwitch:
    """Passes a page's websocket through; `off()` closes it and refuses every reconnection
    (the page shows "Reconnecting…") until `on()`. Keeps the URL of every handshake."""

    def __init__(self) -> None:
        self.away = False
        self.live: list[WebSocketRoute] = []
        self.urls: list[str] = []

    def route(self, ws: WebSocketRoute) -> None:
        self.urls.append(ws.url)
        if self.away:
            ws.close(code=1011, reason="test: server away")
            return
        server = ws.connect_to_server()
        ws.on_message(server.send)
        server.on_message(ws.send)
        self.live.append(ws)

    def off(self) -> None:
        self.away = True
        for ws in self.live:
            ws.close(code=1011, reason="test: server away")
        self.live.clear()

    def on(self) -> None:
        self.away = False
