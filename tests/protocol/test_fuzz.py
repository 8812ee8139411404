"""Fuzz: thousands of generated frames, deterministic (fixed seed), to every websocket
route. Every frame gets exactly one reply and never `internal error`; the connection stays
up (only an oversized frame closes it, with 1009); afterwards the happy path still works
and the database holds only consistent rows."""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
import sqlalchemy as sa

from tests.kit.frames import close_frame_code
from tests.kit.live import LiveServer

# Floods on purpose: the throttles would (rightly) answer most of it.
SERVER_ENV = {"RATE_LIMITS": "off"}
SEED = 20261126
CHUNK = 50  # frames in flight before reading their replies (keeps socket buffers small)
WORDS = ["pick", "unpick", "accept", "cancel", "complete", "new", "query", "", "PICK",
         "taken", "error", "success", "claimed", "new\t", "accept\x00", "ñew", "💥"]
NASTY = ["", " ", "  ", "\x00", "\t", "\n", "\r\n", "\u2028", "\u202e", "\ufeff", "\u200b",
         "<script>alert(1)</script>", "'; DROP TABLE tickets; --", "%s%n", "{}", "{\"id\":1}",
         "-1", "0", "00", "1e9", "0x10", "2147483648", "9" * 18, "9" * 40, "١٢", "³",
         "a@b.org", "A@B.ORG", "@", "a@", "@b.c", "a@b", "a@@b.org", "ü@exämple.org",
         "x" * 100, "x" * 101, "y" * 5000]


def random_text(rng: random.Random) -> str:
    pools = [
        lambda: rng.choice(NASTY),
        lambda: "".join(rng.choice("abc xyz@.-_0123456789") for _ in range(rng.randint(0, 30))),
        lambda: "".join(chr(rng.randint(0x20, 0x2FFF)) for _ in range(rng.randint(1, 20))),
        lambda: "".join(chr(rng.choice([rng.randint(0, 0x1F), rng.randint(0x1F300, 0x1F64F),
                                        rng.randint(0xE000, 0xF8FF)]))
                        for _ in range(rng.randint(1, 10))),
        lambda: str(rng.choice([rng.randint(-5, 60), rng.randint(0, 2**64)])),
    ]
    return rng.choice(pools)()


def frames(rng: random.Random, n: int, tokens: list[str]) -> Iterator[str | bytes]:
    for _ in range(n):
        roll = rng.random()
        if roll < 0.03:
            yield bytes(rng.randrange(256) for _ in range(rng.randint(0, 64)))
        elif roll < 0.15 and tokens:
            yield f"pick {rng.randint(-1, 55)} {rng.choice(tokens + [random_text(rng)])}"
        elif roll < 0.35:
            yield f"{rng.choice(['accept', 'cancel', 'complete'])} {rng.randint(-2, 60)}"
        elif roll < 0.55:
            user = "".join(rng.choice("abcdefgh") for _ in range(rng.randint(1, 8)))
            yield f"new {user}@example.org {random_text(rng)}"
        elif roll < 0.65:
            yield f"query {rng.choice([random_text(rng), 'abc@example.org'])}"
        else:
            parts = [rng.choice(WORDS)] + [random_text(rng) for _ in range(rng.randint(0, 3))]
            yield rng.choice([" ", "  ", "\t"]).join(parts)


def is_reply(message: str) -> bool:
    return message.startswith("error ") or message.startswith("success ") or message in (
        "error unknown command", "success unpick")


def send_all(server: LiveServer, path: str, sequence: list[str | bytes]) -> list[str]:
    """Send every frame on one connection; every frame must get exactly one reply."""
    client = server.connect(path)
    received: list[str] = []
    try:
        for start in range(0, len(sequence), CHUNK):
            chunk = sequence[start:start + CHUNK]
            for frame in chunk:
                client.send_binary(frame) if isinstance(frame, bytes) else client.send(frame)
            replies = 0
            while replies < len(chunk):
                message = client.recv(timeout=30)
                received.append(message)
                replies += is_reply(message)
        assert not [m for m in client.drain() if is_reply(m)], "a frame got two replies"
    finally:
        client.close()
    return received


def test_thousands_of_generated_frames_then_the_happy_path(fresh: LiveServer) -> None:
    rng = random.Random(SEED)
    tokens = [fresh.add_staff("ada"), fresh.add_staff("bob")]
    received = []
    for path, count in (("/ws/kiosk", 1200), ("/ws/staff", 1500), ("/ws/display", 500),
                        ("/ws/staff", 800)):
        sequence = list(frames(rng, count, tokens))
        received += send_all(fresh, path, sequence)
    assert len(received) >= 4000
    assert not [m for m in received if "internal error" in m or "Traceback" in m]
    assert "Traceback" not in fresh.log()
    assert_consistent(fresh)
    happy_path(fresh, fresh.add_staff("happy"))
    assert_consistent(fresh)


@pytest.mark.parametrize("path", ["/ws/staff", "/ws/kiosk", "/ws/display"])
def test_only_an_oversized_frame_closes_the_connection(fresh: LiveServer, path: str) -> None:
    client = fresh.connect(path)
    try:
        client.drain()
        client.send("x" * 4096)  # at least 4 KiB must pass
        assert client.recv().startswith("error ")
        client.send("x" * 64 * 1024)
        assert close_frame_code(client, timeout=10) == 1009
    finally:
        client.close()
    after = fresh.connect(path)
    after.drain()
    assert after.ask("nonsense").startswith("error nonsense")
    after.close()


def happy_path(server: LiveServer, token: str) -> None:
    staff, display, kiosk = (server.connect(p) for p in ("/ws/staff", "/ws/display", "/ws/kiosk"))
    try:
        staff.drain(), display.drain()
        assert staff.ask(f"pick 49 {token}") == "success pick 49"
        reply = kiosk.ask("new happy@example.org Happy Path")
        assert reply.startswith("success new ")
        ticket_id = int(reply.split('"id":', 1)[1].split(",", 1)[0])
        staff.drain()
        for command, answer in ((f"accept {ticket_id}", f"success claimed {ticket_id}"),
                                (f"complete {ticket_id}", f"success complete {ticket_id}")):
            staff.send(command)
            assert answer in staff.drain(1.0)
        display_messages = display.drain(1.0)
        assert "complete 49" in display_messages
    finally:
        for client in (staff, display, kiosk):
            client.close()


def assert_consistent(server: LiveServer) -> None:
    """Invariants the service promises, read straight from the database."""
    engine = server.engine()
    with engine.connect() as conn:
        def q(sql: str) -> Sequence[sa.Row[Any]]:
            return conn.execute(sa.text(sql)).all()

        assert q("SELECT id FROM tickets WHERE status NOT IN "
                 "('waiting','serving','completed','cancelled')") == []
        assert q("SELECT id FROM tickets WHERE status = 'waiting' AND "
                 "(staff_id IS NOT NULL OR claimed_at IS NOT NULL OR ended_at IS NOT NULL)") == []
        assert q("SELECT id FROM tickets WHERE status = 'serving' AND "
                 "(staff_id IS NULL OR claimed_at IS NULL OR ended_at IS NOT NULL)") == []
        assert q("SELECT id FROM tickets WHERE status IN ('completed','cancelled') AND "
                 "(staff_id IS NULL OR claimed_at IS NULL OR ended_at IS NULL)") == []
        assert q("SELECT staff_id FROM tickets WHERE status = 'serving' "
                 "GROUP BY staff_id HAVING COUNT(*) > 1") == []
        assert q("SELECT t.id FROM tickets t LEFT JOIN visitors v ON v.id = t.visitor_id "
                 "WHERE v.id IS NULL OR v.email <> LOWER(t.email)") == []
        assert q("SELECT table_number FROM table_assignments "
                 "WHERE table_number < 0 OR table_number >= 50") == []
        for email, name in q("SELECT email, name FROM tickets UNION ALL "
                             "SELECT email, name FROM visitors"):
            assert 0 < len(name) <= 100 and name == name.strip(), name
            assert not {unicodedata.category(c) for c in name} & {"Cc", "Cs", "Zl", "Zp"}
            assert email.count("@") == 1 and len(email) <= 254 and " " not in email
    engine.dispose()
