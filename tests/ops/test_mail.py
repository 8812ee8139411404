"""Email against a real SMTP server (aiosmtpd): the three messages, a dead mail server
that delays nothing, a restart that loses nothing, and each message sent once (three
workers in the PostgreSQL + Redis run)."""

from __future__ import annotations

import re
import socket
import time
from collections import Counter
from collections.abc import Callable

import sqlalchemy as sa

from tests.kit.client import Client, Desk, new_ticket
from tests.kit.follow import sign_in_with_link
from tests.kit.live import LiveServer, free_port
from tests.kit.mail_server import MailServer, html_of, mail_env, text_of

SMTP_PORT = free_port()  # the `smtp` fixture (tests/conftest.py) listens there
SERVER_ENV = mail_env(SMTP_PORT)


def _count(server: LiveServer, table: str) -> int:
    engine = server.engine()
    with engine.connect() as conn:
        value = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
    engine.dispose()
    return int(value)


def _subjects(box: MailServer) -> list[str]:
    return [str(m["Subject"]) for m in box.received()]


def test_the_three_messages(mailbox: MailServer, fresh: LiveServer, desk: Callable[..., Desk],
                            connect: Callable[[str], Client]) -> None:
    ada = desk("ada", 6)
    before = [sign_in_with_link(fresh, f"a{i}@example.org", f"A {i}")[0] for i in range(3)]
    ticket_id, link = sign_in_with_link(fresh, "grace@example.org", "Grace Hopper", email_me=True)
    [signin] = mailbox.wait_for(lambda got: len(got) == 1)
    assert signin["Subject"] == f"Your ticket {ticket_id} at Help Desk"
    assert signin["From"] == "Help Desk <desk@example.org>"
    assert signin["To"] == "grace@example.org"
    assert link in text_of(signin) and f"is {ticket_id}." in text_of(signin)
    assert f'href="{link}"' in html_of(signin)
    assert "3 people are ahead of you" in text_of(signin)
    assert "<img" not in html_of(signin)  # no tracking pixel, no remote content
    # The kiosk ticks the box for her next time, and not for a visitor who did not.
    kiosk = connect("/ws/kiosk")
    assert kiosk.ask("notices Grace@Example.org") == "success notices on"
    assert kiosk.ask("notices a0@example.org") == "success notices off"

    assert ada.answer(f"accept {before[0]}").startswith("success")  # 2 ahead now
    got = mailbox.wait_for(lambda got: len(got) == 2)
    assert got[1]["Subject"] == f"You're almost up (ticket {ticket_id})"
    assert "2 people are ahead of you" in text_of(got[1])
    for done, following in zip(before, before[1:] + [ticket_id], strict=True):
        assert ada.answer(f"complete {done}").startswith("success")
        assert ada.answer(f"accept {following}").startswith("success")
    got = mailbox.wait_for(lambda got: len(got) == 3)
    assert got[2]["Subject"] == f"Go to table 6 (ticket {ticket_id})"
    assert "Go to table 6." in text_of(got[2]) and "Go to table 6." in html_of(got[2])
    time.sleep(1.5)  # a sender round or two: nothing else is on its way
    assert len(mailbox.received()) == 3
    assert _count(fresh, "mail_outbox") == 0  # sent mail is not kept


def test_a_dead_mail_server_delays_nothing(mailbox: MailServer, fresh: LiveServer,
                                           desk: Callable[..., Desk]) -> None:
    bob = desk("bob", 3)
    mailbox.stop()
    started = time.monotonic()
    ticket_id, _ = sign_in_with_link(fresh, "dead@example.org", "Dead Server", email_me=True)
    assert bob.answer(f"accept {ticket_id}") == f"success claimed {ticket_id}"
    assert time.monotonic() - started < 2  # sign-in, link and call answered at once
    assert _count(fresh, "mail_outbox") == 2
    time.sleep(1.5)  # the sender has tried and failed meanwhile
    mailbox.start()
    got = mailbox.wait_for(lambda got: len(got) == 2, timeout=30)
    assert sorted(_subjects(mailbox)) == sorted([
        f"Go to table 3 (ticket {ticket_id})", f"Your ticket {ticket_id} at Help Desk"])
    assert len(got) == 2


def test_a_restart_loses_no_mail(mailbox: MailServer, fresh: LiveServer) -> None:
    mailbox.stop()
    ticket_id, _ = sign_in_with_link(fresh, "restart@example.org", "Re Start", email_me=True)
    fresh.stop()  # the server goes down with the message unsent
    assert _count(fresh, "mail_outbox") == 1
    mailbox.start()
    fresh.start()
    mailbox.wait_for(lambda got: _subjects(mailbox) == [f"Your ticket {ticket_id} at Help Desk"])


def _claim(server: LiveServer) -> tuple[int, bool]:
    """The outbox's one row: its attempts, and whether a worker holds it."""
    engine = server.engine()
    with engine.connect() as conn:
        attempts, claimed_until = conn.execute(
            sa.text("SELECT attempts, claimed_until FROM mail_outbox")).one()
    engine.dispose()
    return int(attempts), claimed_until is not None


def test_a_send_cut_short_by_a_restart_is_put_back(mailbox: MailServer,
                                                   fresh: LiveServer) -> None:
    """A mail server that takes the connection and never answers holds the send until
    the worker exits: the exiting worker puts the row back rather than leaving it held for
    its whole lease, and the next server sends it at once."""
    mailbox.stop()
    silent = socket.create_server(("127.0.0.1", SMTP_PORT))  # the kernel accepts; no greeting
    try:
        ticket_id, _ = sign_in_with_link(fresh, "cut@example.org", "Cut Short", email_me=True)
        deadline = time.monotonic() + 10
        while _claim(fresh) != (1, True):  # the sender waits for the greeting now
            assert time.monotonic() < deadline, _claim(fresh)
            time.sleep(0.1)
        fresh.stop()
        assert _claim(fresh) == (1, False), fresh.log()[-4000:]  # what the exit did
    finally:
        silent.close()
    mailbox.start()
    fresh.start()
    mailbox.wait_for(lambda got: _subjects(mailbox) == [f"Your ticket {ticket_id} at Help Desk"])


def test_each_message_is_sent_once(mailbox: MailServer, fresh: LiveServer,
                                   desk: Callable[..., Desk]) -> None:
    carl = desk("carl", 9)
    ids = [sign_in_with_link(fresh, f"m{i}@example.org", f"M {i}", email_me=True)[0]
           for i in range(12)]
    for ticket_id in ids[:4]:
        assert carl.answer(f"accept {ticket_id}").startswith("success")
        assert carl.answer(f"complete {ticket_id}").startswith("success")
    # 12 sign-ins, 4 calls, and "almost up" for the tickets the line brought near.
    mailbox.wait_for(lambda got: len(got) >= 16 and _count(fresh, "mail_outbox") == 0)
    time.sleep(2)
    subjects = Counter(_subjects(mailbox))
    assert all(n == 1 for n in subjects.values()), subjects
    assert sum(1 for s in subjects if s.startswith("Your ticket")) == 12
    assert sum(1 for s in subjects if s.startswith("Go to table 9")) == 4
    almost = sorted(int(re.findall(r"\d+", s)[0]) for s in subjects if "almost" in s)
    assert almost == ids[3:7], (almost, ids)


def test_purge_takes_codes_and_outbox_with_the_visitor(mailbox: MailServer,
                                                       fresh: LiveServer) -> None:
    mailbox.stop()
    ticket_id, _ = sign_in_with_link(fresh, "gone@example.org", "Gone Soon", email_me=True)
    engine = fresh.engine()
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE tickets SET status='completed', claimed_at=created_at, "
                             "ended_at=:t, created_at=:t WHERE id=:id"),
                     {"t": "2000-01-01 00:00:00+00:00", "id": ticket_id})
        conn.execute(sa.text("UPDATE visitors SET updated_at=:t"),
                     {"t": "2000-01-01 00:00:00+00:00"})
    engine.dispose()
    assert _count(fresh, "follow_codes") == 1 and _count(fresh, "mail_outbox") == 1
    fresh.flask("visitors", "purge", "--days", "30")
    assert _count(fresh, "follow_codes") == 0 and _count(fresh, "mail_outbox") == 0
    assert _count(fresh, "visitors") == 0


def test_email_is_off_unless_configured(mailbox: MailServer, connect: Callable[[str], Client],
                                        fresh: LiveServer) -> None:
    """This module's server has email on; the default server (tests/live/test_follow.py) does
    not: there `link ID email` is refused. Here it is accepted, and the kiosk page shows
    the checkbox."""
    kiosk = connect("/ws/kiosk")
    ticket, _ = new_ticket(kiosk, "box@example.org", "Box")
    assert kiosk.ask(f"link {ticket['id']} email").startswith(f"success link {ticket['id']} ")
    mailbox.wait_for(lambda got: len(got) == 1)  # sent now, not during the next test
    assert "Email me when it&#39;s my turn" in fresh.http("GET", "/kiosk/")[2] or \
        "Email me when it's my turn" in fresh.http("GET", "/kiosk/")[2]
