"""The TV at the sizes it is sold for, with the longest content it must show: "First L." for
a 20-character first name and 7-digit ticket numbers, for 1, 10 and 50 tables. The rendered
text is measured against its box in Chromium: shrunk to fit, never cut, never below the
floor (docs/pages.md, "Display")."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from tests.kit.artifacts import ARTIFACTS
from tests.kit.browser import OpenPage, connected, no_scroll, screenshot, set_tables
from tests.kit.live import LiveServer

SIZES = [(1280, 720), (1920, 1080), (3840, 2160), (1080, 1920)]
# Real first names of 20 characters, wide letters first (W, M: the widest in most fonts).
FIRST_NAMES = ["Wilhelmina-Magdalena", "Maximiliano-Wolfgang", "Marie-Madeleine-Anne",
               "Mwajuma-Wanjiru-Mumo", "Christopher-Benjamin", "Muhammad-Abdulrahman"]
assert all(len(first) == 20 for first in FIRST_NAMES)
LONG_NAMES = [f"{first} Wojciechowski" for first in FIRST_NAMES]
FLOOR_VMIN = 1.8  # the display's smallest text: 1.8 % of the screen's shorter side
SITE = "(SELECT id FROM sites WHERE slug = 'main')"  # the default site, whose display it is
FIRST_LINE = (f"(SELECT id FROM lines WHERE site_id = {SITE} AND removed_at IS NULL"
              " ORDER BY position, id LIMIT 1)")  # with one line, every ticket's


def seed_busy(server: LiveServer, tables: int, *, busy_every: int = 1, open_every: int = 1) -> None:
    """`tables` tables; every `open_every`-th held by a staff member, every `busy_every`-th
    of those serving a visitor with a long name and a 7-digit ticket number. Written to the
    database directly: the display learns all of it from the server's replay on connect."""
    server.reset()
    set_tables(server, tables)
    now = datetime.now(UTC)
    engine = server.engine()
    with engine.begin() as conn:
        for table in range(0, tables, open_every):
            staff_id = conn.execute(sa.text(
                "INSERT INTO staff (username, password_hash, is_admin, active, created_at)"
                " VALUES (:u, 'x', false, true, :now) RETURNING id"),
                {"u": f"s{table}", "now": now},
            ).scalar_one()
            conn.execute(sa.text(
                "INSERT INTO table_assignments (site_id, table_number, staff_id, picked_at)"
                f" VALUES ({SITE}, :t, :s, :now)"), {"t": table, "s": staff_id, "now": now})
            if table % (busy_every * open_every):
                continue
            name = LONG_NAMES[table % len(LONG_NAMES)]
            email = f"v{table}@example.org"
            visitor = conn.execute(sa.text(
                "INSERT INTO visitors (site_id, email, name, updated_at)"
                f" VALUES ({SITE}, :e, :n, :now) RETURNING id"),
                {"e": email, "n": name, "now": now}).scalar_one()
            conn.execute(sa.text(
                "INSERT INTO tickets (id, site_id, line_id, visitor_id, email, name, status,"
                " staff_id, table_number, created_at, claimed_at)"
                f" VALUES (:id, {SITE}, {FIRST_LINE}, :v, :e, :n, 'serving', :s, :t, :now,"
                " :now)"),
                {"id": 9999999 - table, "v": visitor, "e": email, "n": name, "s": staff_id,
                 "t": table, "now": now})
    engine.dispose()


# Every text on the TV against its box: cut sideways (wider than its box), cut by its card
# (outside the card's padding box) or below the floor.
MEASURE = """(floorPx) => {
  const problems = [];
  const texts = [...document.querySelectorAll('.table-card p, .display-top p, .display-top h1,'
    + ' .display-bottom p, .display-bottom span')];
  for (const el of texts) {
    if (!el.textContent.trim() || !el.getClientRects().length) continue;
    const card = el.closest('.table-card');
    const what = (card ? card.id : '') + ' .' + el.className + ' "' + el.textContent + '"';
    if (el.scrollWidth > el.clientWidth + 1)
      problems.push(what + ': scrollWidth ' + el.scrollWidth + ' > ' + el.clientWidth);
    const range = document.createRange();
    range.selectNodeContents(el);
    const text = range.getBoundingClientRect();
    const box = (card || document.documentElement).getBoundingClientRect();
    if (text.left < box.left - 1 || text.right > box.right + 1
        || text.top < box.top - 1 || text.bottom > box.bottom + 1)
      problems.push(what + ': text ' + JSON.stringify(text) + ' outside ' + JSON.stringify(box));
    const size = parseFloat(getComputedStyle(el).fontSize);
    if (card && size < floorPx - 0.5) problems.push(what + ': ' + size + 'px < floor ' + floorPx);
  }
  return problems;
}"""


def assert_fits(page: Page, width: int, height: int) -> None:
    floor = FLOOR_VMIN * min(width, height) / 100
    page.set_viewport_size({"width": width, "height": height})
    # The layout follows the size (a ResizeObserver); wait until it has.
    page.wait_for_function("([w, h]) => innerWidth === w && innerHeight === h", arg=[width, height])
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    # display.js marks the size it last fitted for (a page without the mark is measured as is).
    page.wait_for_function(
        "() => { const g = document.getElementById('display-grid');"
        " return !('fitFor' in g.dataset) || g.dataset.fitFor === innerWidth + 'x' + innerHeight; }"
    )
    problems = page.evaluate(MEASURE, floor)
    assert problems == [], f"{width}x{height}: {problems[:6]}"
    assert no_scroll(page)


@pytest.mark.parametrize("tables", [1, 10, 50])
def test_long_names_and_7_digit_tickets_fit_at_every_size(
    server: LiveServer, open_page: OpenPage, tables: int
) -> None:
    seed_busy(server, tables)
    display = open_page("/display/", viewport={"width": 1920, "height": 1080})
    connected(display)
    last = tables - 1
    expect(display.locator(f"#table-{last} .table-ticket")).to_have_text(str(9999999 - last))
    expect(display.locator("#table-0 .table-name")).to_have_text(LONG_NAMES[0].split()[0] + " W.")
    for width, height in SIZES:
        assert_fits(display, width, height)


def test_screenshots_with_long_names(server: LiveServer, open_page: OpenPage) -> None:
    """docs/screenshots/display-long-*.png: 12 tables, 8 open, 4 serving long names."""
    seed_busy(server, 12, open_every=1, busy_every=2)
    engine = server.engine()
    with engine.begin() as conn:  # a few closed tables too
        conn.execute(sa.text("DELETE FROM table_assignments WHERE table_number IN (3, 7, 11)"))
    engine.dispose()
    display = open_page("/display/", viewport={"width": 1920, "height": 1080})
    connected(display)
    expect(display.locator("#table-0 .table-ticket")).to_have_text("9999999")
    for width, height in SIZES:
        display.set_viewport_size({"width": width, "height": height})
        display.wait_for_function("([w, h]) => innerWidth === w && innerHeight === h",
                                  arg=[width, height])
        display.wait_for_timeout(300)  # a frame for the layout to follow
        screenshot(display, f"display-long-{width}x{height}")
    assert (ARTIFACTS / "display-long-1080x1920.png").exists()
