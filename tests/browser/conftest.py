"""Chromium for the browser tests: Debian's /usr/bin/chromium (from the `chromium`
package; never `playwright install`) driven by Playwright against the module's live
server. Helpers the tests call are in tests/kit/browser.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.kit.browser import LAPTOP, OpenPage
from tests.kit.live import LiveServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]

expect.set_options(timeout=15_000)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


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
