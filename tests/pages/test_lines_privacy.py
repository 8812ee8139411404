"""A priority reason is staff's (docs/lines.md): marked on a waiting visitor, it is on no
public page (the kiosk's ticket and "already waiting?" partials, the phone's /v/<code>,
the display), in no email, in no frame of a phone, a display or a seed staff console,
while a line-aware console does get it. The kiosk's ticket names its line, and only while
the site has several."""

from __future__ import annotations

from collections.abc import Callable

from tests.kit.client import Client, Desk
from tests.kit.follow import code_of
from tests.kit.http_client import WebClient
from tests.kit.lines import add_lines
from tests.kit.live import LiveServer, free_port
from tests.kit.mail_server import MailServer, html_of, mail_env, text_of

SMTP_PORT = free_port()  # the `smtp` fixture (tests/conftest.py) listens there
SERVER_ENV = {**mail_env(SMTP_PORT), "RATE_LIMITS": "off"}
SECRET = "SECRET-wheelchair"


def join(kiosk: Client, line: int, email: str, *, link: str = "") -> tuple[int, str]:
    """A visitor joins `line` at the kiosk; (ticket id, follow URL if `link` asked one)."""
    reply = kiosk.answer(f"join {line} {email} Visitor Person")
    assert reply.startswith("success join "), reply
    ticket = int(reply.split('"id":', 1)[1].split(",", 1)[0])
    if not link:
        return ticket, ""
    answer = kiosk.answer(f"link {ticket} {link}".strip())
    assert answer.startswith(f"success link {ticket} "), answer
    return ticket, answer.split(" ")[3]


def test_a_priority_reason_stays_with_staff(mailbox: MailServer, fresh: LiveServer,
                                            desk: Callable[..., Desk],
                                            connect: Callable[[str], Client]) -> None:
    ids = add_lines(fresh, "Financial aid")
    aid = ids["Financial aid"]
    ada = desk("ada", 4)  # a seed console: every line, the seed's frames
    watcher = connect("/ws/staff")
    watcher.recv()  # taken
    assert watcher.answer(f"pick 5 {fresh.add_staff('bob')}") == "success pick 5"
    assert watcher.answer("lines") == "success lines"  # line-aware
    display = connect("/ws/display")
    kiosk = connect("/ws/kiosk")
    ahead = [join(kiosk, aid, f"a{i}@example.org")[0] for i in range(3)]
    grace, link = join(kiosk, aid, "grace@example.org", link="email")
    phone = connect("/ws/visitor")
    assert phone.answer(f"follow {code_of(link)}") == "success follow"
    mailbox.wait_for(lambda got: len(got) == 1)  # signed in

    assert ada.answer(f"priority {grace} {SECRET}") == f"success priority {grace}"
    _, seen = watcher.until(lambda m: SECRET in m)  # a line-aware console hears why
    assert all(SECRET not in m for m in seen)

    # Public pages: the kiosk's partials, the phone's page, the display.
    web = WebClient(fresh.port)
    partial = web.get(f"/kiosk/ticket/{grace}").body
    assert "Financial aid" in partial and "next" in partial and SECRET not in partial
    token = web.csrf_token("/kiosk/")
    already = web.post("/kiosk/waiting", {"csrf_token": token, "email": "grace@example.org"})
    assert already.status == 200 and "Financial aid" in already.body
    for page in (already.body, web.get(link.split(str(fresh.port), 1)[1]).body,
                 web.get("/display/").body, web.get("/kiosk/").body):
        assert SECRET not in page

    # Called: the phone, the display and the seed console hear it; nobody hears why.
    assert ada.answer(f"accept {grace}") == f"success claimed {grace}"
    mailbox.wait_for(lambda got: any("Go to table 4" in str(m["Subject"]) for m in got))
    for message in mailbox.received():
        assert SECRET not in text_of(message) and SECRET not in html_of(message)
    for client in (phone, display, ada.client, kiosk):
        frames = client.drain()
        assert all(SECRET not in f for f in frames), frames
    assert ahead  # they waited in the same line, passed by the priority visitor


def test_the_kiosk_ticket_names_its_line_only_with_several(fresh: LiveServer,
                                                          connect: Callable[[str], Client]
                                                          ) -> None:
    kiosk = connect("/ws/kiosk")
    web = WebClient(fresh.port)
    reply = kiosk.answer("new one@example.org One Visitor")
    one = int(reply.split('"id":', 1)[1].split(",", 1)[0])
    assert 'id="kiosk-ticket-line"' not in web.get(f"/kiosk/ticket/{one}").body
    add_lines(fresh, "Transcripts")
    assert 'id="kiosk-ticket-line">General<' in web.get(f"/kiosk/ticket/{one}").body
    assert web.get(f"/s/main/kiosk/ticket/{one}").status == 200
