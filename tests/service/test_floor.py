"""Announcements and opening hours: `flask` commands in their own process reach every
watching screen within 3 s (the floor poll: with and without a Redis relay); seed clients
see nothing new; a closed line refuses `new` and nothing else."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.kit.artifacts import record
from tests.kit.client import new_ticket
from tests.kit.database import rows
from tests.kit.live import LiveServer

SERVER_ENV = {"RATE_LIMITS": "off"}
BOUND = 3.0  # seconds from the command's exit to the screen, as the issue requires
CLOSED = "error new the queue is closed"


@pytest.fixture
def screens(fresh: LiveServer, connect, desk):
    """Watchers on all three routes, and seed clients (that never sent `watch`) beside them."""
    ada = desk("ada", 1)
    seed = {"display": connect("/ws/display"), "kiosk": connect("/ws/kiosk"), "staff": ada}
    watchers = {}
    for route in ("display", "kiosk", "staff"):
        client = connect(f"/ws/{route}")
        if route == "staff":
            client.recv()  # taken
        assert client.answer("watch") == "success watch"
        client.sync()
        watchers[route] = client
    for client in seed.values():
        client.sync()
    return watchers, seed


def arrives(client, wanted: str, since: float) -> float:
    _, skipped = client.until(lambda m: m == wanted, timeout=10)
    delay = time.monotonic() - since
    assert delay < BOUND, f"{wanted!r} took {delay:.2f} s"
    assert skipped == [], skipped
    return delay


def test_an_announcement_from_the_cli_reaches_every_watcher_and_no_seed_client(fresh, screens):
    watchers, seed = screens
    text = "The printer is down — bring a paper copy, please"
    fresh.flask("announce", text)
    done = time.monotonic()
    delays = [arrives(c, f"announce {text}", done) for c in watchers.values()]
    fresh.flask("announce", "--clear")
    done = time.monotonic()
    delays += [arrives(c, "unannounce", done) for c in watchers.values()]
    for client in seed.values():
        assert client.sync() == []
    record("floor-cli-to-screen" + ("-redis" if "REDIS_URL" in fresh.env else "-sqlite"),
           {"max_seconds": round(max(delays), 2), "samples": len(delays)})


def test_an_announcement_shows_again_after_a_reconnect_and_ends_on_time(fresh, connect):
    fresh.flask("announce", "Back at 2pm", "--minutes", "30")
    display = connect("/ws/display")
    display.drain()
    assert display.answer("watch") == "success watch"
    assert display.drain() == ["waiting 0", "tables 50", "announce Back at 2pm"]
    kiosk = connect("/ws/kiosk")
    assert kiosk.answer("watch") == "success watch"
    assert kiosk.drain() == ["announce Back at 2pm"]
    # Its end time comes (moved close, instead of waiting half an hour).
    engine = fresh.engine()
    with engine.begin() as conn:
        soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
        conn.execute(sa.text("UPDATE settings SET value = :v WHERE key = 'announcement_until'"),
                     {"v": soon})
    engine.dispose()
    assert display.until(lambda m: m == "unannounce", timeout=10)[1] == []
    assert kiosk.until(lambda m: m == "unannounce", timeout=10)[1] == []
    late = connect("/ws/kiosk")
    assert late.answer("watch") == "success watch"
    assert late.drain() == []


def test_bad_announcements_are_refused_by_the_cli(fresh):
    for args, error in [
        (("announce", "x" * 281), "at most 280 characters"),
        (("announce", "   "), "the announcement is empty"),
        (("announce", "ok", "--minutes", "0"), "the minutes must be between"),
        (("announce", "ok", "--clear"), "--clear takes no text"),
    ]:
        done = fresh.flask_run(*args)
        assert done.returncode != 0 and error in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
    assert fresh.flask_run("announce", "x" * 280).returncode == 0


def test_closing_the_line_refuses_new_and_nothing_else(fresh, connect, desk):
    kiosk, watcher = connect("/ws/kiosk"), connect("/ws/kiosk")
    assert watcher.answer("watch") == "success watch"
    t, _ = new_ticket(kiosk, "early@example.org", "Early Bird")
    ada = desk("ada", 2)
    fresh.flask("line", "close")
    done = time.monotonic()
    arrives(watcher, "closed", done)  # no hours: closed until someone reopens it
    # Closed first: before the email and name checks.
    for frame in ("new x@example.org Late Comer", "new not-an-email Late", "new"):
        assert kiosk.ask(frame) == CLOSED
    assert kiosk.ask("query early@example.org") == "success query Early Bird"
    assert rows(fresh, "SELECT status FROM tickets") == [("waiting",)]  # nobody cancelled
    assert ada.answer(f"accept {t['id']}") == f"success claimed {t['id']}"  # staff keep serving
    fresh.flask("line", "open")
    arrives(watcher, "open", time.monotonic())
    assert kiosk.ask("new x@example.org Late Comer").startswith("success new ")


def test_opening_hours_close_the_line_and_say_when_it_opens(fresh, connect):
    watcher = connect("/ws/kiosk")
    assert watcher.answer("watch") == "success watch"
    now = datetime.now(UTC)  # the test server runs in TIMEZONE=UTC
    # A daily half hour that starts 1-2 h from now (tomorrow, if that is past midnight).
    opens = (now + timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    fresh.flask("hours", "set", f"daily {opens:%H}:00-{opens:%H}:30")
    expected = f"closed {opens:%Y-%m-%dT%H:%M:%SZ}"
    arrives(watcher, expected, time.monotonic())
    assert connect("/ws/kiosk").ask("new a@example.org Ada") == CLOSED
    assert "daily" not in fresh.flask("hours", "show")
    fresh.flask("line", "open")  # open now, until the schedule next closes
    arrives(watcher, "open", time.monotonic())
    fresh.flask("line", "close")
    arrives(watcher, expected, time.monotonic())
    fresh.flask("hours", "clear")  # no hours, and the manual close ends with them
    arrives(watcher, "open", time.monotonic())
    fresh.flask("line", "close")  # no hours: the close switch alone decides
    arrives(watcher, "closed", time.monotonic())
    fresh.flask("line", "open")
    arrives(watcher, "open", time.monotonic())


def test_new_hours_end_a_manual_open(fresh, connect):
    """`line open` late in the evening, then hours that are closed now: the new schedule
    holds at once (it used to leave the line open until its next closing, the kiosk taking
    people all night)."""
    watcher = connect("/ws/kiosk")
    assert watcher.answer("watch") == "success watch"
    fresh.flask("line", "open")
    later = (datetime.now(UTC) + timedelta(hours=12)).replace(minute=0, second=0, microsecond=0)
    fresh.flask("hours", "set", f"daily {later:%H}:00-{later:%H}:01")
    arrives(watcher, f"closed {later:%Y-%m-%dT%H:%M:%SZ}", time.monotonic())
    assert connect("/ws/kiosk").ask("new a@example.org Ada") == CLOSED


def test_hours_that_make_no_sense_are_refused(fresh):
    for spec, error in [("mon-xx 09:00-17:00", "is not a day"),
                        ("fri-mon 09:00-17:00", "runs forward"),
                        ("mon 17:00-09:00", "closing must come after opening"),
                        ("mon 09:00-25:00", "is not a time of day"),
                        ("monday", 'write hours like')]:
        done = fresh.flask_run("hours", "set", spec)
        assert done.returncode != 0 and error in done.stderr, (spec, done.stderr)
        assert "Traceback" not in done.stderr


def test_watch_twice_greets_again_and_keeps_working(fresh, connect):
    fresh.flask("announce", "Hello")
    kiosk = connect("/ws/kiosk")
    assert kiosk.answer("watch") == "success watch"
    assert kiosk.answer("watch") == "success watch"
    assert kiosk.drain() == ["announce Hello"]
    fresh.flask("announce", "--clear")
    assert kiosk.until(lambda m: m == "unannounce", timeout=10)[1] == []


def test_the_new_events_cross_the_relay_intact() -> None:
    """The relay's JSON carries the events this issue added (tablequeue.live.relay.codec)."""
    from tablequeue.live.relay import codec
    from tablequeue.outcomes import FloorChanged, SiteId, TableAway, TicketRequeued, TicketView

    ticket = TicketView(7, "a@b.org", "Vera", "", datetime(2026, 12, 5, 9, tzinfo=UTC),
                        None, "waiting")
    site = SiteId(1)
    events = [TicketRequeued(ticket, table=3, site=site), TicketRequeued(ticket, site=site),
              TableAway(4, True, site=site), TableAway(4, False, site=SiteId(2)),
              FloorChanged(site=site)]
    assert codec.decode(codec.encode(events, origin="x")) == ("x", 0, events)
