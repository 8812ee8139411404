"""Service lines for tests (docs/lines.md): lines made through the service functions the
CLI calls (in this process), consoles and kiosks that opted in with `lines`, and the
extended ticket JSON read exactly (the seed's six keys, then the extension's)."""

from __future__ import annotations

import json
from typing import Any

from tests.kit.client import Client, Desk, ticket
from tests.kit.live import LiveServer

LINED_KEYS = ("id", "email", "name", "staff", "start", "end", "line", "priority")
JOINED_KEYS = ("id", "email", "name", "staff", "start", "end", "line")


def add_lines(server: LiveServer, *names: str, site: str = "main") -> dict[str, int]:
    """Add these lines to the site (after its first, `General`); every line's id by name."""
    from tablequeue.db import unit_of_work
    from tablequeue.service import lines, sites

    with server.app.app_context(), unit_of_work() as session:
        found = sites.find(session, site)
        assert found is not None, site
        for name in names:
            made = lines.add(session, found.id, name)
            assert made.refusal is None, made.refusal
        return {line.name: line.id for line in lines.all_lines(session, found.id)}


def set_open(server: LiveServer, line: int, is_open: bool, site: str = "main") -> None:
    from tablequeue.db import unit_of_work
    from tablequeue.service import lines, sites

    with server.app.app_context(), unit_of_work() as session:
        found = sites.find(session, site)
        assert found is not None, site
        assert lines.set_open(session, found.id, line, is_open).refusal is None


def lined(raw: str, keys: tuple[str, ...] = LINED_KEYS) -> dict[str, Any]:
    """Extended ticket JSON: the seed's six keys exactly as `ticket` reads them, then the
    extension's keys, compact, in order."""
    pairs = json.loads(raw, object_pairs_hook=lambda items: items)
    assert tuple(k for k, _ in pairs) == keys, raw
    value = dict(pairs)
    six = {k: value[k] for k in keys[:6]}
    ticket(json.dumps(six, separators=(",", ":"), ensure_ascii=False))
    assert json.dumps(value, separators=(",", ":"), ensure_ascii=False) == raw, raw
    return value


def frame_ticket(frame: str) -> tuple[str, dict[str, Any]]:
    """A line-aware console's `new {…}` / `claimed {…}`: (word, ticket)."""
    word, raw = frame.split(" ", 1)
    return word, lined(raw)


def join(kiosk: Client, line: int, email: str, name: str) -> dict[str, Any]:
    """A visitor signs in into a chosen line (the kiosk's `join`)."""
    reply = kiosk.answer(f"join {line} {email} {name}")
    assert reply.startswith("success join "), reply
    return lined(reply.removeprefix("success join "), JOINED_KEYS)


def ask_lines(client: Client | Desk) -> list[str]:
    """Send `lines` (opt in); everything that followed `success lines`: its `lines [...]`,
    and for a bound console its greeting."""
    client.send("lines")
    reply, before = client.until(lambda m: m.startswith(("success ", "error ")))
    assert reply == "success lines", reply
    return client.sync()


def lines_list(frames: list[str]) -> list[dict[str, Any]]:
    """The last `lines [...]` among frames."""
    found = [f for f in frames if f.startswith("lines ")]
    assert found, frames
    return json.loads(found[-1].removeprefix("lines "))  # type: ignore[no-any-return]


def orders(frames: list[str]) -> dict[int, list[int]]:
    """Each line's latest `order LINE ID …` among frames."""
    found: dict[int, list[int]] = {}
    for frame in frames:
        if frame.startswith("order "):
            numbers = [int(word) for word in frame.split(" ")[1:]]
            found[numbers[0]] = numbers[1:]
    return found


def greeting(frames: list[str]) -> tuple[list[int], list[dict[str, Any]], dict[int, list[int]]]:
    """A line-aware console's greeting: its lines (`serve`), the `new`s after the last
    `serve` (its waiting list), and the orders."""
    served = [i for i, f in enumerate(frames) if f == "serve" or f.startswith("serve ")]
    assert served, frames
    last = served[-1]
    lines = [int(word) for word in frames[last].split(" ")[1:]]
    waiting = [frame_ticket(f)[1] for f in frames[last + 1:] if f.startswith("new ")]
    return lines, waiting, orders(frames[last:])
