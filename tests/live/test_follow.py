"""Follow links over the wire: the kiosk's `link`, the page /v/<code>, and a phone on
/ws/visitor that hears its own ticket's position, its call, its outcome, and can leave."""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from tests.kit.client import EPOCH, Client, Desk, new_ticket, silent, ticket
from tests.kit.follow import code_of, follow, next_state, sign_in_with_link, state
from tests.kit.live import LiveServer


def _main(body: str) -> str:
    """The page's <main>: the rest carries a per-request CSRF token."""
    return body[body.index("<main"):body.index("</main>")]


def _ticket_column(server: LiveServer, ticket_id: int, sql: str, **params: object) -> None:
    engine = server.engine()
    with engine.begin() as conn:
        conn.execute(sa.text(sql), {"id": ticket_id, **params})
    engine.dispose()


def test_link_page_and_stored_hash(fresh: LiveServer, connect: Callable[[str], Client]) -> None:
    ticket_id, url = sign_in_with_link(fresh, "ada@example.org", "Ada Lovelace")
    code = code_of(url)
    assert url == f"{fresh.base}/v/{code}"
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", code), code  # 128 random bits
    status, headers, body = fresh.http("GET", f"/v/{code}")
    assert status == 200
    assert f'id="phone-number">{ticket_id}<' in body
    assert "Ada" not in body and "example.org" not in body  # only the number
    assert headers["referrer-policy"] == "no-referrer" and headers["cache-control"] == "no-store"
    status, headers, svg = fresh.http("GET", f"/v/{code}/qr.svg")
    assert status == 200 and headers["content-type"].startswith("image/svg+xml")
    assert "<svg" in svg and "<script" not in svg
    engine = fresh.engine()
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM follow_codes")).mappings().all()
    engine.dispose()
    assert [r["code_hash"] for r in rows] == [hashlib.sha256(code.encode()).hexdigest()]
    assert all(code not in str(value) for row in rows for value in row.values())
    # Only the connection that created a ticket gets its link.
    other = connect("/ws/kiosk")
    assert other.ask(f"link {ticket_id}") == "error link ticket id does not exist"
    assert other.ask("link 7x") == "error link ticket id does not exist"
    assert other.ask(f"link {ticket_id} email") == "error link ticket id does not exist"


def test_unknown_and_expired_links_look_the_same(fresh: LiveServer) -> None:
    ticket_id, url = sign_in_with_link(fresh, "alan@example.org", "Alan Turing")
    unknown = fresh.http("GET", "/v/AAAAAAAAAAAAAAAAAAAAAA")
    malformed = fresh.http("GET", "/v/nope")
    assert unknown[0] == malformed[0] == 404
    assert "This link is no longer valid" in unknown[2]
    assert _main(unknown[2]) == _main(malformed[2])
    # Ended half an hour ago: still shows the outcome.
    ended = datetime.now(UTC) - timedelta(minutes=30)
    _ticket_column(fresh, ticket_id, "UPDATE tickets SET status='completed', ended_at=:t "
                   "WHERE id=:id", t=ended)
    status, _, body = fresh.http("GET", url.removeprefix(fresh.base))
    assert (status == 200
            and '"status": "served"' in body.replace("&#34;", '"').replace("&quot;", '"')
            or status == 200 and "served" in body)
    # Ended more than an hour ago: gone, exactly like an unknown code.
    _ticket_column(fresh, ticket_id, "UPDATE tickets SET ended_at=:t WHERE id=:id",
                   t=datetime.now(UTC) - timedelta(minutes=61))
    expired = fresh.http("GET", url.removeprefix(fresh.base))
    assert expired[0] == 404 and _main(expired[2]) == _main(unknown[2])
    phone = fresh.connect("/ws/visitor")
    try:
        assert phone.ask(f"follow {code_of(url)}") == "error follow this link is no longer valid"
    finally:
        phone.close()


def test_phone_hears_position_call_and_outcome(
    fresh: LiveServer, desk: Callable[..., Desk], connect: Callable[[str], Client],
) -> None:
    ada = desk("ada", 4)
    display = connect("/ws/display")
    kiosk = connect("/ws/kiosk")
    links = [sign_in_with_link(fresh, f"v{i}@example.org", f"Visitor {i}") for i in range(3)]
    ids = [t for t, _ in links]
    phones = []
    for i, (_, url) in enumerate(links):
        phone, first = follow(fresh, url)
        phones.append(phone)
        assert first == {"id": ids[i], "status": "waiting", "ahead": i, "minutes": None,
                         "table": None}
    ada.sync()
    display.sync()
    started = time.monotonic()
    assert ada.answer(f"accept {ids[0]}") == f"success claimed {ids[0]}"
    assert next_state(phones[0]) == {"id": ids[0], "status": "serving", "ahead": None,
                                     "minutes": None, "table": 4}
    assert time.monotonic() - started < 3
    assert next_state(phones[1])["ahead"] == 0
    assert next_state(phones[2])["ahead"] == 1
    assert ada.answer(f"complete {ids[0]}") == f"success complete {ids[0]}"
    assert next_state(phones[0])["status"] == "served"
    silent(phones[1], phones[2])  # completing moves no one in the line
    # Seed clients got exactly the seed messages: nothing of the phones reached them.
    seen = display.sync()
    assert [m.split(" ")[0] for m in seen] == ["claimed", "complete"], seen
    assert kiosk.sync() == []
    for phone in phones:
        phone.close()


def test_only_phones_whose_position_changed_hear_of_it(
    fresh: LiveServer, desk: Callable[..., Desk],
) -> None:
    grace = desk("grace", 1)
    links = [sign_in_with_link(fresh, f"w{i}@example.org", f"W {i}") for i in range(3)]
    phones = [follow(fresh, url)[0] for _, url in links[:2]]
    try:
        # The last in line is served first: nobody ahead of the two phones moved.
        assert grace.answer(f"accept {links[2][0]}") == f"success claimed {links[2][0]}"
        silent(*phones, quiet=1.5)  # past a flush
        assert grace.answer(f"complete {links[2][0]}").startswith("success")
        assert grace.answer(f"accept {links[0][0]}").startswith("success")
        assert next_state(phones[0])["status"] == "serving"
        assert next_state(phones[1])["ahead"] == 0
    finally:
        for phone in phones:
            phone.close()


def test_leave_the_line(fresh: LiveServer, desk: Callable[..., Desk],
                        connect: Callable[[str], Client]) -> None:
    alan = desk("alan", 2)
    display = connect("/ws/display")
    assert display.answer("watch") == "success watch"
    display.drain()
    first, url = sign_in_with_link(fresh, "first@example.org", "First")
    second, url2 = sign_in_with_link(fresh, "second@example.org", "Second")
    phone, _ = follow(fresh, url)
    behind, before = follow(fresh, url2)
    assert before["ahead"] == 1
    alan.sync()
    display.sync()
    assert phone.ask("leave") == "success leave"
    assert next_state(phone) == {"id": first, "status": "left", "ahead": None, "minutes": None,
                                 "table": None}
    assert next_state(behind)["ahead"] == 0
    # Staff consoles drop it as a ticket closed at the end of the day: `claimed`, no staff.
    dropped = [m for m in alan.sync() if m.startswith("claimed ")]
    assert len(dropped) == 1
    left = ticket(dropped[0].removeprefix("claimed "))
    assert left["id"] == first and left["staff"] == "" and left["end"] != EPOCH
    assert display.sync() == ["waiting 1"]
    engine = fresh.engine()
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT status FROM tickets WHERE id=:id"),
                            {"id": first}).scalar() == "left"
    engine.dispose()
    assert phone.ask("leave") == "error leave you are no longer waiting in line"
    assert alan.answer(f"accept {first}") == (
        "error accept the ticket has already been completed or cancelled")
    # The link still shows the outcome (for an hour).
    status, _, body = fresh.http("GET", url.removeprefix(fresh.base))
    assert status == 200
    phone.close()
    behind.close()


def _at_once(commands: dict[str, tuple[Client | Desk, str]]) -> dict[str, str]:
    """Each client's command sent at the same moment (a thread each, behind one barrier);
    the replies by the same keys."""
    replies: dict[str, str] = {}
    go = threading.Barrier(len(commands))

    def send(key: str, client: Client | Desk, text: str) -> None:
        go.wait()
        replies[key] = client.answer(text)

    threads = [threading.Thread(target=send, args=(key, client, text))
               for key, (client, text) in commands.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return replies


def test_leave_races_accept(fresh: LiveServer, desk: Callable[..., Desk]) -> None:
    """Leaving and being called at the same moment: exactly one of them happens."""
    staff = desk("race", 7)
    outcomes = []
    for round_ in range(8):
        ticket_id, url = sign_in_with_link(fresh, f"r{round_}@example.org", "Racer")
        phone, _ = follow(fresh, url)
        replies = _at_once({"leave": (phone, "leave"), "accept": (staff, f"accept {ticket_id}")})
        won = (replies["leave"] == "success leave", replies["accept"].startswith("success"))
        assert sum(won) == 1, replies
        outcomes.append(won)
        if won[1]:
            assert staff.answer(f"complete {ticket_id}").startswith("success")
        phone.close()
        staff.drain(0.05)
    engine = fresh.engine()
    with engine.connect() as conn:
        statuses = conn.execute(sa.text("SELECT status FROM tickets")).scalars().all()
    engine.dispose()
    assert sorted(set(statuses)) <= ["completed", "left"] and len(statuses) == 8


def test_position_updates_are_coalesced(fresh: LiveServer, desk: Callable[..., Desk]) -> None:
    """Five claims in a burst: the phone behind them hears at most about one a second."""
    desks = [desk(f"d{i}", 10 + i) for i in range(5)]
    links = [sign_in_with_link(fresh, f"c{i}@example.org", f"C {i}") for i in range(6)]
    phone, first = follow(fresh, links[5][1])
    assert first["ahead"] == 5
    try:
        for d, (ticket_id, _) in zip(desks, links, strict=False):
            d.send(f"accept {ticket_id}")
        for d in desks:
            assert d.reply()[0].startswith("success claimed")
        stamps, aheads = [], []
        while not aheads or aheads[-1] != 0:
            aheads.append(next_state(phone)["ahead"])
            stamps.append(time.monotonic())
        assert aheads[-1] == 0 and len(aheads) <= 3, aheads
        gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
        assert all(gap > 0.7 for gap in gaps), gaps
    finally:
        phone.close()


def test_visitor_route_bad_input(fresh: LiveServer, connect: Callable[[str], Client]) -> None:
    phone = connect("/ws/visitor")
    assert phone.ask("leave") == "error leave send follow CODE first"
    assert phone.ask("refresh") == "error refresh send follow CODE first"
    assert phone.ask("follow") == "error follow this link is no longer valid"
    assert phone.ask("follow ../../etc") == "error follow this link is no longer valid"
    assert phone.ask("accept 1") == "error accept unknown command"
    assert phone.ask("") == "error unknown command"
    phone.send_binary(b"\x00")
    assert phone.recv() == "error binary frames are not part of the protocol, send text"
    ticket_id, url = sign_in_with_link(fresh, "b@example.org", "B")
    assert phone.ask(f"follow {code_of(url)}") == "success follow"
    assert state(phone.recv())["id"] == ticket_id
    assert phone.ask("refresh") == "success refresh"
    assert state(phone.recv())["ahead"] == 0
    # The kiosk's new commands are opt-in: the seed `new` answers exactly as before.
    kiosk = connect("/ws/kiosk")
    _, raw = new_ticket(kiosk, "c@example.org", "C")
    assert kiosk.ask("notices c@example.org") == "success notices off"
    assert kiosk.ask("notices nope") == "error notices email is not a valid address"
    assert kiosk.ask("link 1 email") in ("error link email is not configured here",
                                         "error link ticket id does not exist")


def test_no_show_requeue_and_closing_the_day(fresh: LiveServer, desk: Callable[..., Desk]) -> None:
    from tests.kit.http_client import WebClient

    fresh.add_staff("boss")  # the first account: an admin
    ada = desk("ada", 2)
    links = [sign_in_with_link(fresh, f"n{i}@example.org", f"N {i}") for i in range(3)]
    phones = [follow(fresh, url)[0] for _, url in links]
    try:
        first, second, third = (t for t, _ in links)
        assert ada.answer(f"accept {first}").startswith("success")
        assert next_state(phones[0])["status"] == "serving"
        assert ada.answer(f"cancel {first}").startswith("success")
        assert next_state(phones[0])["status"] == "no-show"
        assert ada.answer(f"accept {second}").startswith("success")
        seen = state(phones[1].until(lambda m: '"serving"' in m)[0])
        assert seen == {"id": second, "status": "serving", "ahead": None, "minutes": None,
                        "table": 2}
        admin = WebClient(fresh.port)
        assert admin.login("boss").status == 302
        token = admin.csrf_token("/admin/")
        # Ada's account is deactivated while serving: her visitor waits again, first in line.
        assert admin.post("/admin/staff/ada/active",
                          {"csrf_token": token}).status in (200, 302, 303)
        # Not "minutes": a worker re-reads the estimate's inputs once a minute
        # (BASIS_SECONDS), so it may still hold a basis read before this test's reset.
        requeued = next_state(phones[1])
        assert {k: v for k, v in requeued.items() if k != "minutes"} == {
            "id": second, "status": "waiting", "ahead": 0, "table": None}
        # The end of the day closes both waiting tickets.
        assert admin.post("/admin/close-day", {"csrf_token": token}).status in (200, 302, 303)
        assert next_state(phones[1])["status"] == "closed"
        states = [state(m) for m in phones[2].drain(1.5)]
        assert states[-1] == {"id": third, "status": "closed", "ahead": None, "minutes": None,
                              "table": None}
    finally:
        for phone in phones:
            phone.close()
