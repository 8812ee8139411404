"""`away` / `back` on /ws/staff: the table stays theirs, `accept` waits for them, displays
that `watch` get `away T` / `back T`, seed displays nothing new; after AWAY_MINUTES the
table is released as if they had sent `unpick`."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from tests.kit.client import new_ticket
from tests.kit.database import rows
from tests.kit.live import LiveServer

SERVER_ENV = {"RATE_LIMITS": "off"}

AWAY = "error accept you are away from your table"
NO_TABLE = "you do not have a table assigned"


def watching(connect):
    display = connect("/ws/display")
    assert display.answer("watch") == "success watch"
    display.sync()
    return display


def test_away_and_back(fresh, connect, desk, kiosk):
    t, _ = new_ticket(kiosk, "a@example.org", "Ada Visitor")
    ada, bob = desk("ada", 3), desk("bob", 4)
    seed, watcher = connect("/ws/display"), watching(connect)
    seed.drain()
    assert ada.answer("away") == "success away"
    assert watcher.sync() == ["away 3"]
    assert seed.sync() == [] and bob.sync() == [] and ada.sync() == []  # seed staff too
    assert ada.answer(f"accept {t['id']}") == AWAY
    assert rows(fresh, "SELECT status FROM tickets") == [("waiting",)]
    assert rows(fresh, "SELECT table_number FROM table_assignments WHERE away_since IS NOT NULL"
                ) == [(3,)]  # still theirs, and away
    assert ada.answer("back") == "success back"
    assert watcher.sync() == ["back 3"]
    assert seed.sync() == [] and bob.sync() == []
    assert ada.answer(f"accept {t['id']}") == f"success claimed {t['id']}"


def test_saying_it_twice_succeeds_and_changes_nothing(fresh, connect, desk):
    ada = desk("ada", 3)
    watcher = watching(connect)
    assert ada.answer("away") == "success away"
    assert ada.answer("away") == "success away"
    assert watcher.sync() == ["away 3"]
    assert ada.answer("back") == "success back"
    assert ada.answer("back") == "success back"
    assert watcher.sync() == ["back 3"]


def test_order_of_checks(fresh, desk, kiosk):
    unbound = desk("nobody")
    for word in ("away", "back"):
        assert unbound.answer(word) == f"error {word} {NO_TABLE}"
    ada = desk("ada", 3)
    assert ada.answer("unpick") == "success unpick"
    for word in ("away", "back"):
        assert ada.answer(word) == f"error {word} {NO_TABLE}"
    assert ada.answer(f"pick 3 {ada.token}") == "success pick 3"
    assert ada.answer("away") == "success away"
    # accept: token, then table, then away, then the ticket's own checks.
    assert unbound.answer("accept 1") == (
        "error accept your session token was found to be invalid. please relogin")
    assert ada.answer("accept 999999") == AWAY
    assert ada.answer("accept abc") == AWAY


def test_a_ticket_being_served_stays_and_can_be_finished_while_away(fresh, connect, desk, kiosk):
    t, _ = new_ticket(kiosk, "s@example.org", "Served Visitor")
    ada = desk("ada", 2)
    assert ada.answer(f"accept {t['id']}") == f"success claimed {t['id']}"
    seed = connect("/ws/display")
    assert [m.split(" ")[0] for m in seed.drain()] == ["pick", "claimed"]
    assert ada.answer("away") == "success away"
    assert seed.sync() == []
    assert rows(fresh, "SELECT status FROM tickets") == [("serving",)]
    assert ada.answer(f"complete {t['id']}") == f"success complete {t['id']}"
    assert seed.sync() == ["complete 2"]


def test_watch_replays_who_is_away_and_unpick_ends_it(fresh, connect, desk):
    ada, bob = desk("ada", 4), desk("bob", 1)
    assert ada.answer("away") == "success away"
    assert bob.answer("away") == "success away"
    display = connect("/ws/display")
    assert display.drain() == ["pick 1", "pick 4"]
    assert display.answer("watch") == "success watch"
    assert display.drain() == ["waiting 0", "tables 50", "away 1", "away 4"]
    assert ada.answer("unpick") == "success unpick"
    assert display.sync() == ["unpick 4"]  # implies back: the card is cleared
    assert ada.answer(f"pick 4 {ada.token}") == "success pick 4"
    assert display.sync() == ["pick 4"]
    late = watching(connect)
    assert "away 4" not in late.sync()


def test_moving_to_another_table_ends_the_absence(fresh, connect, desk):
    ada = desk("ada", 4)
    assert ada.answer("away") == "success away"
    assert ada.answer("pick 6 " + ada.token) == "success pick 6"
    assert rows(fresh, "SELECT table_number, away_since FROM table_assignments") == [(6, None)]


def backdate(server: LiveServer, table: int, minutes: int) -> None:
    """Pretend the staff member at `table` stepped away `minutes` ago."""
    engine = server.engine()
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE table_assignments SET away_since = :t "
                             "WHERE table_number = :n"),
                     {"t": datetime.now(UTC) - timedelta(minutes=minutes), "n": table})
    engine.dispose()


def test_after_away_minutes_the_table_is_released_once(fresh, connect, desk, kiosk):
    t, _ = new_ticket(kiosk, "w@example.org", "Waiting Visitor")
    ada, bob = desk("ada", 5), desk("bob", 6)
    assert bob.answer(f"accept {t['id']}") == f"success claimed {t['id']}"
    assert bob.answer("away") == "success away"
    assert ada.answer("away") == "success away"
    seed, watcher = connect("/ws/display"), watching(connect)
    seed.drain(), ada.sync()
    idle = desk("idle")
    backdate(fresh, 5, 29)  # ada: not yet overdue
    backdate(fresh, 6, 31)  # bob: overdue
    # The sweep runs every few seconds in every worker; exactly one of them frees it.
    assert seed.until(lambda m: m == "unpick 6", timeout=30)[1] == []
    assert bob.until(lambda m: m.startswith("taken"), timeout=10)[0] == "taken 5"
    assert idle.until(lambda m: m.startswith("taken"), timeout=10)[0] == "taken 5"
    assert watcher.until(lambda m: m == "unpick 6", timeout=10)[1] == []
    # As after `unpick`: the ticket stays theirs, accept needs a table again.
    assert rows(fresh, "SELECT status FROM tickets") == [("serving",)]
    assert bob.answer("accept 1") == "error accept you do not have a table chosen"
    time.sleep(6)  # another sweep round in every worker: nothing more happens
    assert seed.sync() == [] and watcher.sync() == []
    assert rows(fresh, "SELECT table_number FROM table_assignments") == [(5,)]
