"""With Redis, a floor change does not wait for the poll: the `flask` command publishes
FloorChanged on the relay and every worker reads the floor at once. The poll is set to 30 s
here, so only the relay can bring the change within the 3 s the issue allows."""

from __future__ import annotations

import time

from tests.kit.live import LiveServer

SERVER_ENV = {"FLOOR_POLL_SECONDS": "30", "RATE_LIMITS": "off"}
KIOSKS = 9  # spread over the server's 3 workers


def test_a_cli_announcement_reaches_every_worker_through_the_relay(fresh: LiveServer, connect):
    kiosks = [connect("/ws/kiosk") for _ in range(KIOSKS)]
    for kiosk in kiosks:
        assert kiosk.answer("watch") == "success watch"
        kiosk.sync()
    fresh.flask("announce", "Fire drill at 11")
    done = time.monotonic()
    for kiosk in kiosks:
        assert kiosk.until(lambda m: m.startswith("announce"), timeout=10)[0] == (
            "announce Fire drill at 11")
    assert time.monotonic() - done < 3.0
    fresh.flask("line", "close")
    done = time.monotonic()
    for kiosk in kiosks:
        assert kiosk.until(lambda m: m.startswith("closed"), timeout=10)[0] == "closed"
        assert kiosk.ask("new a@example.org Ada") == "error new the queue is closed"
    assert time.monotonic() - done < 3.0
    fresh.flask("line", "open")
    fresh.flask("announce", "--clear")
    for kiosk in kiosks:
        assert kiosk.until(lambda m: m == "unannounce", timeout=10)[1] == ["open"]
