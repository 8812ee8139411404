"""Who hears what of the service lines (docs/lines.md): a line-aware console hears only the
tickets of its lines (and its own claims), for every kind of frame (arrival, priority mark,
claim, transfer, put-back, departure, a change of the lines); a seed console hears exactly
the seed frames of every line; priority reasons reach no display, kiosk, phone, seed frame,
email or public page.

Absence is proved by order: every frame of a site goes through one channel in publish
order, so after the last action a marker ticket in each line is what every console waits
for; what a console heard by then is all it will ever hear of the actions before."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.kit.client import Client, Desk, ticket
from tests.kit.follow import follow
from tests.kit.lines import JOINED_KEYS, add_lines, ask_lines, frame_ticket, join, lined
from tests.kit.live import LiveServer, free_port
from tests.kit.mail_server import MailServer, html_of, mail_env, text_of

SMTP_PORT = free_port()
SERVER_ENV = {**mail_env(SMTP_PORT), "RATE_LIMITS": "off"}
REASON = "uses a wheelchair"


class Heard:
    """Everything a client received, read on demand up to a wanted frame."""

    def __init__(self, client: Client | Desk) -> None:
        self.client, self.frames = client, list[str]()

    def upto(self, wanted: Callable[[str], bool]) -> None:
        frame, skipped = self.client.until(wanted)
        self.frames += [*skipped, frame]

    def act(self, command: str) -> str:
        """Send a command; its reply, keeping the broadcasts that came before it."""
        self.client.send(command)
        reply, skipped = self.client.reply()
        self.frames += skipped
        return reply

    def tickets(self, word: str) -> list[dict[str, Any]]:
        return [frame_ticket(f)[1] for f in self.frames if f.startswith(word + " ")]


def has_id(ticket_id: int) -> Callable[[str], bool]:
    return lambda frame: f'"id":{ticket_id},' in frame


def test_each_frame_reaches_the_consoles_of_its_line(
        fresh: LiveServer, connect: Callable[[str], Client], desk: Callable[..., Desk],
        opened: list[Client]) -> None:
    ids = add_lines(fresh, "Aid", "Bursar")
    general, aid, bursar = ids["General"], ids["Aid"], ids["Bursar"]
    kiosk = connect("/ws/kiosk")
    ann, bob, cy, dee = desk("ann", 1), desk("bob", 2), desk("cy", 3), desk("dee", 4)
    assert ann.answer(f"serve {aid}") == f"success serve {aid}"
    assert bob.answer(f"serve {bursar}") == f"success serve {bursar}"
    for console in (ann, bob, dee):
        ask_lines(console)
    heard = {name: Heard(d) for name, d in (("ann", ann), ("bob", bob), ("cy", cy),
                                             ("dee", dee))}
    display = connect("/ws/display")
    display.sync()
    t_a = join(kiosk, aid, "a@example.org", "Ann A")["id"]
    t_b = join(kiosk, bursar, "b@example.org", "Bo B")["id"]
    made = join(kiosk, general, "g@example.org", "Gil G")
    t_g = made["id"]
    link = kiosk.answer(f"link {t_g}")
    phone, _ = follow(fresh, link.split(" ")[3])
    opened.append(phone)
    # A seed console marks it; its own console takes it from outside her lines.
    assert heard["cy"].act(f"priority {t_b} {REASON}") == f"success priority {t_b}"
    assert heard["ann"].act(f"accept {t_b}") == f"success claimed {t_b}"  # outside her lines
    assert heard["ann"].act(f"transfer {t_b} {aid}") == f"success transfer {t_b} {aid}"
    assert phone.answer("leave") == "success leave"
    assert heard["ann"].act("next") == f"success next {t_b}"  # a priority ticket: first in Aid
    assert heard["ann"].act(f"requeue {t_b}") == f"success requeue {t_b}"
    markers = {line: join(kiosk, line, f"m{line}@example.org", "Mark")["id"]
               for line in (general, aid, bursar)}
    for name, lines in (("ann", [aid]), ("bob", [bursar]), ("dee", [general, aid, bursar]),
                        ("cy", [general, aid, bursar])):
        for line in lines:
            heard[name].upto(lambda f, m=markers[line]: f.startswith("new ") and has_id(m)(f))

    def story(name: str) -> list[tuple[str, int, object]]:
        """(word, ticket, line) of each ticket frame, markers left out."""
        told = []
        for frame in heard[name].frames:
            word = frame.split(" ")[0]
            if word in ("new", "claimed"):
                value = lined(frame.split(" ", 1)[1]) if name != "cy" else ticket(
                    frame.split(" ", 1)[1])
                if value["id"] not in markers.values():
                    told.append((word, value["id"], value.get("line")))
        return told

    assert story("ann") == [("new", t_a, aid), ("claimed", t_b, bursar),  # her own claim
                            ("new", t_b, aid), ("claimed", t_b, aid), ("new", t_b, aid)]
    assert story("bob") == [("new", t_b, bursar), ("new", t_b, bursar),  # the mark: an update
                            ("claimed", t_b, bursar)]
    assert story("dee") == [("new", t_a, aid), ("new", t_b, bursar), ("new", t_g, general),
                            ("new", t_b, bursar), ("claimed", t_b, bursar), ("new", t_b, aid),
                            ("claimed", t_g, general), ("claimed", t_b, aid), ("new", t_b, aid)]
    # The seed console: the seed frames of every line, and nothing of the mark.
    assert story("cy") == [("new", t_a, None), ("new", t_b, None), ("new", t_g, None),
                           ("claimed", t_b, None), ("new", t_b, None), ("claimed", t_g, None),
                           ("claimed", t_b, None), ("new", t_b, None)]
    assert [t["priority"] for t in heard["bob"].tickets("new")][1] == REASON
    assert all(REASON not in frame for frame in heard["cy"].frames)
    # Orders: after each change of a line, to the consoles serving it (the put-back: the
    # priority ticket first again).
    assert [f for f in heard["ann"].frames if f.startswith("order ")][-1] == \
        f"order {aid} {t_b} {t_a}"
    shown = display.sync()
    assert "cancel 1" in shown and all(REASON not in frame for frame in shown)


def test_a_change_of_the_lines_reaches_line_aware_screens_only(
        fresh: LiveServer, connect: Callable[[str], Client], desk: Callable[..., Desk]) -> None:
    kiosk, seed_kiosk = connect("/ws/kiosk"), connect("/ws/kiosk")
    general = add_lines(fresh)["General"]
    assert ask_lines(kiosk) == [f'lines [{{"id":{general},"name":"General","open":true}}]']
    ann, cy = desk("ann", 1), desk("cy", 2)
    ask_lines(ann)
    ids = add_lines(fresh, "Aid")  # in another process: the floor poll brings it
    listed = f'lines [{{"id":{ids["General"]},"name":"General","open":true}},' \
             f'{{"id":{ids["Aid"]},"name":"Aid","open":true}}]'
    # A worker's floor poll may first repeat the list it already sent (the first add_lines,
    # noticed late; docs/lines.md: a greeting may come twice): wait for the new one.
    kiosk.until(lambda m: m == listed)
    _, before = ann.until(lambda m: m == f"serve {ids['General']} {ids['Aid']}")
    assert listed in before
    assert seed_kiosk.sync() == [] and cy.sync() == []


def test_priority_reasons_reach_no_public_frame_page_or_email(
        fresh: LiveServer, connect: Callable[[str], Client], desk: Callable[..., Desk],
        mailbox: MailServer, opened: list[Client]) -> None:
    aid = add_lines(fresh, "Aid")["Aid"]
    kiosk, seed_kiosk = connect("/ws/kiosk"), connect("/ws/kiosk")
    ask_lines(kiosk)
    display, watcher = connect("/ws/display"), connect("/ws/display")
    display.sync()
    assert watcher.answer("watch") == "success watch"
    first = join(kiosk, aid, "first@example.org", "First")["id"]
    reply = kiosk.answer(f"join {aid} pat@example.org Pat")
    pat = lined(reply.removeprefix("success join "), JOINED_KEYS)["id"]
    link = kiosk.answer(f"link {pat} email")
    assert link.startswith(f"success link {pat} "), link
    url = link.split(" ")[3]
    phone, _ = follow(fresh, url)
    opened.append(phone)
    ann = desk("ann", 1)
    assert ann.answer(f"priority {pat} {REASON}") == f"success priority {pat}"
    assert ann.answer("next") == f"success next {pat}"  # priority: first
    assert ann.answer(f"requeue {pat}") == f"success requeue {pat}"
    assert ann.answer(f"accept {first}") == f"success claimed {first}"
    assert ann.answer(f"complete {first}") == f"success complete {first}"
    assert ann.answer(f"accept {pat}") == f"success claimed {pat}"
    frames = [*display.sync(), *watcher.sync(), *kiosk.sync(), *seed_kiosk.sync(),
              *phone.drain()]
    assert frames and all(REASON not in frame for frame in frames), frames
    for path in (f"/v/{url.rsplit('/', 1)[1]}", "/display/", "/kiosk/"):
        status, _, body = fresh.http("GET", path)
        assert status == 200 and REASON not in body, path
    # Signed in, called, put back and called again: three messages to Pat.
    mails = mailbox.wait_for(lambda got: len(got) >= 3)
    for mail in mails:
        assert REASON not in text_of(mail) and REASON not in html_of(mail)
        assert REASON not in str(mail["Subject"])


@pytest.mark.parametrize("lines", [1, 2])
def test_the_phone_names_its_line_only_where_there_are_several(
        fresh: LiveServer, lines: int, opened: list[Client]) -> None:
    ids = add_lines(fresh, *(["Aid"] if lines == 2 else []))
    kiosk = fresh.connect("/ws/kiosk")
    opened.append(kiosk)
    made = join(kiosk, ids["General"], "ada@example.org", "Ada")
    link = kiosk.answer(f"link {made['id']}")
    phone, state = follow(fresh, link.split(" ")[3])
    opened.append(phone)
    assert state == {"id": made["id"], "status": "waiting", "ahead": 0, "minutes": None,
                     "table": None, **({"line": "General"} if lines == 2 else {})}


def test_a_priority_mark_that_brings_a_visitor_near_the_front_sends_almost_up(
        fresh: LiveServer, connect: Callable[[str], Client], desk: Callable[..., Desk],
        mailbox: MailServer) -> None:
    kiosk = connect("/ws/kiosk")
    general = add_lines(fresh)["General"]
    for n in range(5):
        join(kiosk, general, f"v{n}@example.org", f"Visitor {n}")
    pat = join(kiosk, general, "pat@example.org", "Pat")["id"]
    assert kiosk.answer(f"link {pat} email").startswith(f"success link {pat} ")
    mailbox.wait_for(lambda got: len(got) == 1)  # signed in, 5 ahead: not yet almost up
    ann = desk("ann", 1)
    assert ann.answer(f"priority {pat} {REASON}") == f"success priority {pat}"
    mails = mailbox.wait_for(lambda got: len(got) == 2)
    assert "almost up" in str(mails[1]["Subject"])
    assert REASON not in text_of(mails[1]) and REASON not in html_of(mails[1])
