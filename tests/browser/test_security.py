"""In Chromium: a script in a visitor's name stays text on every page, the pages run with
no Content-Security-Policy violation of their own, and the CSP blocks injected script."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.kit.browser import KIOSK_PORTRAIT, TV, OpenPage, add_staff, connected, log_in, pick_table
from tests.kit.live import LiveServer, kiosk_sign_in

SCRIPT_NAME = "<script>window.__pwned='name'</script>"
WATCH_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
    (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
"""
INJECT = """
() => new Promise((resolve) => {
  const script = document.createElement('script');
  script.textContent = "window.__pwned = 'inline script'";
  document.body.appendChild(script);
  const holder = document.createElement('div');
  holder.innerHTML = '<img src="/no-such-image.png" onerror="window.__pwned = \\'handler\\'">';
  document.body.appendChild(holder);
  setTimeout(() => resolve({pwned: window.__pwned || null, violations: window.__violations}), 1000);
})
"""


def watched(open_page: OpenPage, path: str, **kw: object) -> Page:
    return open_page(path, before=lambda page: page.add_init_script(WATCH_VIOLATIONS),
                     csp_probe=True, **kw)


def assert_csp_holds(page: Page) -> None:
    assert page.evaluate("window.__violations") == [], "the page itself breaks its CSP"
    assert page.evaluate("window.__pwned || null") is None, "a name ran as script"
    result = page.evaluate(INJECT)
    assert result["pwned"] is None, f"injected script ran: {result}"
    directives = " ".join(result["violations"])
    assert "script-src" in directives, result


def test_script_in_a_name_is_text_and_the_csp_blocks_injected_script(
        fresh: LiveServer, open_page: OpenPage) -> None:
    add_staff(fresh, "grace", admin=True)
    kiosk_sign_in(fresh, "returning@example.org", SCRIPT_NAME)
    kiosk_sign_in(fresh, "waiting@example.org", SCRIPT_NAME)
    display = watched(open_page, "/display/", viewport=TV)
    staff = watched(open_page, "/staff/")
    log_in(staff, "grace")
    pick_table(staff, 1)
    rows = staff.locator("#waiting-list .row-name")
    expect(rows.first).to_have_text(SCRIPT_NAME)
    staff.locator("#waiting-list button.accept").first.click()
    expect(staff.locator("#serving-name")).to_have_text(SCRIPT_NAME)
    expect(display.locator("#table-1 .table-name")).to_contain_text("<script")
    kiosk = watched(open_page, "/kiosk/", viewport=KIOSK_PORTRAIT, touch=True)
    connected(kiosk)
    kiosk.locator("#kiosk-email").press_sequentially("returning@example.org", delay=10)
    expect(kiosk.locator("#kiosk-name")).to_have_value(SCRIPT_NAME)
    admin = watched(open_page, "/login")
    log_in(admin, "grace")
    admin.goto("/admin/")
    login = watched(open_page, "/login")
    for page in (display, staff, kiosk, admin, login):
        assert_csp_holds(page)
