"""The floor is per site (issue 22, docs/sites.md): the number of tables (set at the site's
/admin), announcements, the line switch and the opening hours (read in the site's own time
zone; set with `flask … --site`) reach only that site's watchers (display, kiosk, staff).
A change reaches screens through the floor poll or the relay, not by the order of a
command's replies, so each absence is proved by the other site's next change arriving
with nothing before it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.kit.client import Client, new_ticket
from tests.kit.sites import (
    B_ZONE,
    MAIN,
    OLD,
    B,
    clean_reply,
    logged_in,
    post_form,
    quiet_until,
    seats,
    watching,
    ws,
)

SERVER_ENV = {"RATE_LIMITS": "off"}
CLOSED = "error new the queue is closed"
ROUTES = ("display", "kiosk", "staff")


def watchers(connect, *prefixes: str) -> list[Client]:
    """A display, a kiosk and a staff console that watch, under each prefix."""
    return [watching(connect, prefix, route)[0] for prefix in prefixes for route in ROUTES]


def all_quiet_until(clients: list[Client], frame: str) -> None:
    for client in clients:
        quiet_until(client, frame)


def test_a_change_of_tables_reaches_only_its_sites_displays(server, tokens, connect):
    at_a = [watching(connect, p, "display")[0] for p in (OLD, MAIN)]
    at_b = watching(connect, B, "display")[0]
    bob, root = logged_in(server, "bob"), logged_in(server, "root")  # b's admin; everyone's
    try:
        assert post_form(bob, "/s/b/admin/", "/s/b/admin/tables", {"count": "7"}).status == 302
        quiet_until(at_b, "tables 7")
        assert post_form(bob, "/s/b/admin/", "/admin/tables", {"count": "3"}).status == 403
        assert post_form(root, "/admin/", "/admin/tables", {"count": "48"}).status == 302
        all_quiet_until(at_a, "tables 48")  # b's `tables 7` did not come first
        (bea,) = seats(connect, tokens, (B, "bea", None))
        assert clean_reply(bea, f"pick 6 {tokens['bea']}") == "success pick 6"
        assert clean_reply(bea, "unpick") == "success unpick"
        quiet_until(at_b, "pick 6")  # a's `tables 48` did not come first
        quiet_until(at_b, "unpick 6")
        assert post_form(root, "/admin/", "/s/b/admin/tables", {"count": "5"}).status == 302
        quiet_until(at_b, "tables 5")
        assert post_form(root, "/admin/", "/s/main/admin/tables", {"count": "50"}).status == 302
        all_quiet_until(at_a, "tables 50")
    finally:  # the module's other tests count on 50 and 5
        server.flask_run("site", "set", "b", "--tables", "5")
        server.flask_run("site", "set", "main", "--tables", "50")


def test_announcements_reach_only_their_sites_watchers(server, connect):
    at_a, at_b = watchers(connect, OLD, MAIN), watchers(connect, B)
    server.flask("announce", "--site", "b", "Printer down at B")
    all_quiet_until(at_b, "announce Printer down at B")
    server.flask("announce", "Coffee at A")
    all_quiet_until(at_a, "announce Coffee at A")
    # A screen that connects now is greeted with its own site's announcement.
    assert watching(connect, B, "kiosk")[1] == ["announce Printer down at B"]
    assert watching(connect, MAIN, "kiosk")[1] == ["announce Coffee at A"]
    server.flask("announce", "--site", "b", "--clear")
    all_quiet_until(at_b, "unannounce")
    server.flask("announce", "Coffee is gone")
    all_quiet_until(at_a, "announce Coffee is gone")


def test_the_line_is_closed_only_at_its_site(server, connect):
    at_a, at_b = watchers(connect, OLD, MAIN), watchers(connect, B)
    kiosk_a, kiosk_main, kiosk_b = (connect(ws(p, "kiosk")) for p in (OLD, MAIN, B))
    server.flask("line", "close", "--site", "b")
    all_quiet_until(at_b, "closed")
    assert kiosk_b.ask("new x@example.org Late at B") == CLOSED
    for n, kiosk in enumerate((kiosk_a, kiosk_main), 1):
        new_ticket(kiosk, f"a{n}@example.org", "Welcome at A")
        for display in at_a[::len(ROUTES)]:  # the displays count them; b's `closed` not first
            quiet_until(display, f"waiting {n}")
    server.flask("announce", "A stays open")
    all_quiet_until(at_a, "announce A stays open")  # b's `closed` did not come first
    server.flask("line", "open", "--site", "b")
    all_quiet_until(at_b, "open")
    new_ticket(kiosk_b, "x@example.org", "Welcome at B")


def _stamp(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


def test_opening_hours_are_read_in_the_sites_time_zone(server, connect):
    now = datetime.now(UTC)
    # A daily half hour starting 1-2 h from now at b, in b's zone.
    opens_b = (now.astimezone(ZoneInfo(B_ZONE)) + timedelta(hours=2)).replace(
        minute=0, second=0, microsecond=0)
    spec = f"daily {opens_b:%H}:00-{opens_b:%H}:30"
    # The same words at the default site (UTC) mean another hour, nine hours off.
    opens_a = now.replace(hour=opens_b.hour, minute=0, second=0, microsecond=0)
    opens_a += timedelta(days=1) if opens_a <= now else timedelta()
    at_a, at_b = watching(connect, OLD, "kiosk")[0], watching(connect, B, "kiosk")[0]
    server.flask("hours", "set", "--site", "b", spec)
    quiet_until(at_b, f"closed {_stamp(opens_b)}")
    assert connect(ws(B, "kiosk")).ask("new x@example.org Late at B") == CLOSED
    new_ticket(connect(ws(OLD, "kiosk")), "a@example.org", "Welcome at A")
    server.flask("hours", "set", spec)
    quiet_until(at_a, f"closed {_stamp(opens_a)}")
    server.flask("hours", "clear", "--site", "b")
    quiet_until(at_b, "open")  # a's `closed …` did not come first
    new_ticket(connect(ws(B, "kiosk")), "b@example.org", "Welcome at B")
    assert connect(ws(MAIN, "kiosk")).ask("new y@example.org Late at A") == CLOSED
