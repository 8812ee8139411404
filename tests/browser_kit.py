"""Browser-test fixtures: Debian's Chromium driven by Playwright against the live server.

Import the fixtures into a test module (`from tests.browser_kit import browser, open_page`).
Never `playwright install`: the browser is /usr/bin/chromium from the `chromium` package."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Iterator

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.live import ROOT, Client, LiveServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
ARTIFACTS = ROOT / "test-artifacts"
PASSWORD = "password123"

# Target sizes: a tablet at the door, a staff laptop, a TV.
KIOSK_PORTRAIT = {"width": 800, "height": 1280}
KIOSK_LANDSCAPE = {"width": 1280, "height": 800}
LAPTOP = {"width": 1366, "height": 768}
TV = {"width": 1920, "height": 1080}
SMALL_TV = {"width": 1280, "height": 720}

expect.set_options(timeout=15_000)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


OpenPage = Callable[..., Page]


@pytest.fixture
def open_page(browser: Browser, server: LiveServer) -> Iterator[OpenPage]:
    """open_page("/kiosk/", viewport=...) opens a page in its own context (own cookies).

    Any JavaScript error, CSP refusal or dialog (an XSS alert would be one) fails the test."""
    contexts = []
    problems: list[str] = []

    def open_(path: str, viewport: dict[str, int] = LAPTOP, touch: bool = False,
              csp_probe: bool = False, reduced_motion: str | None = None, **kw: object) -> Page:
        """csp_probe: the test injects script on purpose, so CSP refusals are expected.
        reduced_motion="reduce": the context emulates prefers-reduced-motion."""
        context = browser.new_context(viewport=viewport, has_touch=touch, base_url=server.base,
                                      reduced_motion=reduced_motion)  # type: ignore[arg-type]
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        # The Content-Security-Policy forbids inline script and style: a page that needs
        # either shows up here as a refusal.
        if not csp_probe:
            page.on("console", lambda message: "Content Security Policy" in message.text
                    and problems.append(f"CSP: {message.text}"))
        page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"),
                                          dialog.dismiss()))
        before = kw.get("before")
        if callable(before):
            before(page)
        page.goto(path)
        return page

    yield open_
    for context in contexts:
        context.close()
    assert not problems, problems


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


def set_tables(server: LiveServer, count: int) -> None:
    """As /admin would: the number of tables lives in the settings table."""
    engine = server.engine()
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM settings WHERE key = 'table_count'"))
        conn.execute(
            sa.text("INSERT INTO settings (key, value) VALUES ('table_count', :n)"), {"n": str(count)}
        )
    engine.dispose()


def kiosk_sign_in(server: LiveServer, email: str, name: str) -> dict[str, object]:
    """A visitor signs in over the protocol (for tests whose subject is not the kiosk page)."""
    client: Client = server.connect("/ws/kiosk")
    try:
        reply = client.ask(f"new {email} {name}")
    finally:
        client.close()
    assert reply.startswith("success new "), reply
    return json.loads(reply.removeprefix("success new "))  # type: ignore[no-any-return]


def pick_table(page: Page, table: int) -> None:
    page.click(f"#table-grid button[data-table='{table}']")
    expect(page.locator("#table-number")).to_have_text(str(table))


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def record(name: str, values: dict[str, object]) -> None:
    """Measurements (page weight, reconnect time) for docs/pages.md; never asserted on."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "metrics.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[name] = values
    path.write_text(json.dumps(data, indent=2, sort_keys=True))


def no_scroll(page: Page) -> bool:
    return bool(page.evaluate(
        "() => document.scrollingElement.scrollHeight <= innerHeight"
        " && document.scrollingElement.scrollWidth <= innerWidth"
    ))
