"""An outbox sender's exit (gunicorn's worker_exit calls Sender.finish) that begins while
the sender's claim is still out: the exit waits for the claim, and the row goes back
unsent, due at once, not held for its lease. In process, on the module server's database;
that server mails nothing (no SMTP_URL), so this sender is the only one claiming.
(lease.Sender, the texts' and webhooks', has the same send_due; test_mail covers a send
cut short once it has begun.)"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from tablequeue.db import transaction
from tablequeue.ops import mail
from tests.kit.client import Client, new_ticket
from tests.kit.database import sqlite_write_lock
from tests.kit.live import LiveServer


@contextmanager
def outbox_locked(server: LiveServer) -> Iterator[None]:
    """Another connection holds what a claim needs, so the claim waits until the block
    ends (SQLite: the write lock, within its 5 s busy timeout; PostgreSQL: the table)."""
    if server.database_url.startswith("sqlite"):
        with sqlite_write_lock(server):
            yield
        return
    engine = server.engine()
    with engine.begin() as conn:
        conn.execute(sa.text("LOCK TABLE mail_outbox IN ACCESS EXCLUSIVE MODE"))
        yield
    engine.dispose()


def _row(server: LiveServer) -> tuple[int, bool, str | None]:
    engine = server.engine()
    with engine.connect() as conn:
        attempts, claimed_until, error = conn.execute(sa.text(
            "SELECT attempts, claimed_until, last_error FROM mail_outbox")).one()
    engine.dispose()
    return int(attempts), claimed_until is not None, error


def test_an_exit_during_a_claim_waits_for_it_and_puts_the_row_back(
        fresh: LiveServer, kiosk: Client) -> None:
    ticket, _ = new_ticket(kiosk, "exit@example.org", "Exit Early")
    app = fresh.app
    with app.app_context(), transaction() as conn:
        conn.execute(sa.insert(mail.OUTBOX).values(
            ticket_id=ticket["id"], kind="signin", recipient="exit@example.org",
            subject="Your ticket", body_text="text", body_html="<p>text</p>"))
    sender = mail.Sender(app)
    ended: dict[str, float] = {}

    def one_round() -> None:
        with app.app_context():
            sender.send_due()
        ended["claim"] = time.monotonic()

    def exit_() -> None:
        sender.finish(wait=10)
        ended["exit"] = time.monotonic()

    claiming, exiting = threading.Thread(target=one_round), threading.Thread(target=exit_)
    with outbox_locked(fresh):
        claiming.start()
        deadline = time.monotonic() + 2
        while sender._idle.is_set() and time.monotonic() < deadline:
            time.sleep(0.01)  # until the sender counts itself busy: its claim is out
        exiting.start()  # the exit begins while the claim waits
        time.sleep(0.2)
    claiming.join(timeout=15)
    exiting.join(timeout=15)
    assert ended["claim"] <= ended["exit"], "the exit ended while the claim was still out"
    assert _row(fresh) == (1, False, None)  # claimed once, put back unsent: due at once
