"""Signing in with the organisation's account, in Chromium, through the test provider's own
login page (tests/kit/oidc_provider.py, a real process): to a working staff console, then
logging out of tablequeue and of the provider; a refused sign-in's page. Screenshots of
the login page with the provider's button and of the refusal go to docs/screenshots/."""

from __future__ import annotations

import shutil

from playwright.sync_api import Page, expect

from tests.kit.browser import LAPTOP, OpenPage, audit, connected, pick_table, screenshot
from tests.kit.live import ROOT, LiveServer, free_port, kiosk_sign_in
from tests.kit.oidc import PASSWORD, PROVIDER_NAME, Provider, add_account, provider_env

OIDC_PORT = free_port()
SERVER_ENV = {**provider_env(OIDC_PORT), "RATE_LIMITS": "off"}
SHOTS = ROOT / "docs" / "screenshots"


def shot(page: Page, name: str, state: str) -> None:
    shutil.copy(screenshot(page, name), SHOTS / f"{name}.png")
    audit(page, state)


def at_the_provider(page: Page, provider: Provider, user: str) -> None:
    """Press "Sign in with …" and sign in on the provider's own page."""
    page.click("#oidc-sign-in")
    page.wait_for_url(f"{provider.issuer}/authorize?**")
    expect(page.locator("h1")).to_have_text(PROVIDER_NAME)
    page.fill("#provider-username", user)
    page.fill("#provider-password", PASSWORD)
    page.click("#provider-submit")


def test_sign_in_through_the_provider_to_a_working_console_then_log_out(
        idp: Provider, server: LiveServer, open_page: OpenPage) -> None:
    add_account(server, "ada", "ada@example.edu")
    idp.add_user("ada", email="ada@example.edu")
    page = open_page("/login", viewport=LAPTOP)
    expect(page.locator("#oidc-sign-in")).to_have_text(f"Sign in with {PROVIDER_NAME}")
    expect(page.locator("input[name=password]")).to_be_visible()
    shot(page, "login-oidc-1366x768", "login with the provider's button")

    at_the_provider(page, idp, "ada")
    page.wait_for_url("**/staff/")
    connected(page)
    pick_table(page, 2)
    grace = kiosk_sign_in(server, "grace@example.org", "Grace Hopper")
    row = page.locator(f"#waiting-list li[data-ticket='{grace['id']}']")
    row.locator("button.accept").click()
    expect(page.locator("#serving-name")).to_have_text("Grace Hopper")

    # Out of tablequeue, then of the provider (its end_session_endpoint), then back here.
    page.click("#logout")
    page.wait_for_url(f"{server.base}/login")
    ended = idp.log()["end_session"]
    assert len(ended) == 1 and ended[0]["id_token_hint"].count(".") == 2
    page.goto("/staff/")  # logged out here: the console sends us to /login
    page.wait_for_url(f"{server.base}/login")
    page.click("#oidc-sign-in")  # the provider asks again: its session ended too
    expect(page.locator("#provider-username")).to_be_visible()


def test_a_refused_sign_in_says_why(idp: Provider, server: LiveServer,
                                    open_page: OpenPage) -> None:
    idp.add_user("bob", email="bob@example.edu")
    page = open_page("/login", viewport=LAPTOP)
    at_the_provider(page, idp, "bob")
    refused = page.locator("#sign-in-refused")
    expect(refused).to_have_text("There is no staff account for bob@example.edu. Ask an admin "
                                 "to add one with this address.")
    shot(page, "login-oidc-refused-1366x768", "a refused sign-in")
    page.click("text=Back to the log-in page")
    page.wait_for_url("**/login")
    expect(page.locator("#oidc-sign-in")).to_be_visible()
