"""The load of the sites bench (bench/sites.py): every connection of every site, on the
lean client (bench/lean.py), in one asyncio loop. Kiosks send `new` on a fixed open-loop
schedule; each ticket's name says its site and which of the site's staff takes it (accept
as soon as its `new` arrives, complete as soon as `success claimed` does, one at a time).

Every frame each connection receives is counted and attributed to a site: a ticket's by
the `p<site>` in its name, a display's `pick`/`unpick`/`complete`/`cancel T` by its table
(site i's staff sit at tables 3i, 3i+1, 3i+2, so a table number names its site). A frame
of another site than the connection's own is *foreign*: there must be none."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import deque
from dataclasses import dataclass, field

from bench.lean import LeanClient, open_lean

now = time.monotonic
STAFF_PER_SITE = 3
PICKS_AT_ONCE = 10
_SITE_IN_NAME = re.compile(rb'"name":"b\w+ p(\d+) ')


@dataclass
class Layout:
    """Who connects where: `sites` sites, each with STAFF_PER_SITE staff and `displays`
    displays; `senders` kiosks in all (spread over the sites, round robin) send tickets,
    `idle` more kiosks (at site 0) only hold a connection, so that every layout has the same
    number of connections."""

    sites: int
    displays: int  # per site
    senders: int
    idle: int
    tokens: list[str]  # STAFF_PER_SITE per site, site by site

    @property
    def connections(self) -> int:
        return self.sites * (STAFF_PER_SITE + self.displays) + self.senders + self.idle


@dataclass
class Tally:
    """What the connections received, and what the kiosks sent."""

    frames: int = 0  # every frame, every connection
    foreign: int = 0  # frames about another site than the connection's own
    unattributed: int = 0  # frames that name no site (`taken` before the picks, errors)
    errors: list[str] = field(default_factory=list)
    sent: dict[str, float] = field(default_factory=dict)  # ticket name -> when `new` went
    created: set[str] = field(default_factory=set)
    heard: dict[str, int] = field(default_factory=dict)  # ticket name -> ticket frames heard

    def site_of(self, payload: bytes) -> int | None:
        found = _SITE_IN_NAME.search(payload)
        if found is not None:
            return int(found.group(1))
        word, _, rest = payload.partition(b" ")
        if word in (b"pick", b"unpick", b"complete", b"cancel") and rest.isdigit():
            return int(rest) // STAFF_PER_SITE
        return None

    def note(self, site: int, payload: bytes) -> None:
        self.frames += 1
        if payload.startswith(b"error"):
            self.errors.append(payload.decode(errors="replace"))
        owner = self.site_of(payload)
        if owner is None:
            self.unattributed += 1
        elif owner != site:
            self.foreign += 1
        name = _name(payload)
        if name is not None:
            self.heard[name] = self.heard.get(name, 0) + 1


def _name(payload: bytes) -> str | None:
    start = payload.find(b'"name":"')
    if start < 0:
        return None
    start += 8
    return payload[start: payload.index(b'"', start)].decode()


def ticket_name(tag: str, site: int, kiosk: int, seq: int, staff: int) -> str:
    return f"{tag} p{site} k{kiosk} n{seq} s{staff}"


class Staff:
    """One staff connection: takes its own tickets, one at a time."""

    def __init__(self, site: int, number: int, tally: Tally) -> None:
        self.site, self.suffix, self.tally = site, f" s{number}", tally
        self.mine: deque[int] = deque()
        self.busy = False
        self.client: LeanClient | None = None
        self.picked: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def send(self, text: str) -> None:
        assert self.client is not None
        self.client.send_text(text)

    def take_next(self) -> None:
        self.busy = bool(self.mine)
        if self.mine:
            self.send(f"accept {self.mine.popleft()}")

    def on_text(self, payload: bytes, _t: float) -> None:
        if not self.picked.done():
            if payload.startswith(b"success pick"):
                self.picked.set_result(None)
            elif payload.startswith(b"error"):
                self.picked.set_exception(RuntimeError(payload.decode()))
            return  # the greeting (`taken`) and the pick are set-up, not counted
        self.tally.note(self.site, payload)
        if payload.startswith(b"new "):
            ticket = json.loads(payload[4:])
            if ticket["name"].endswith(self.suffix):
                self.mine.append(ticket["id"])
                if not self.busy:
                    self.take_next()
        elif payload.startswith(b"success claimed "):
            self.send(f"complete {int(payload[16:])}")
        elif payload.startswith((b"success complete ", b"error")):
            self.take_next()


async def connect_all(base: str, layout: Layout, tally: Tally,
                      gate: asyncio.Semaphore) -> list[LeanClient]:
    """Every connection, the staff bound at their tables; the kiosks that send first."""
    async def opened(path: str, on_text: object) -> LeanClient:
        async with gate:
            return await open_lean(base, path, False, on_text)  # type: ignore[arg-type]

    def counted(site: int) -> object:
        return lambda payload, _t: tally.note(site, payload)

    def kiosk_of(site: int) -> object:
        def on_text(payload: bytes, _t: float) -> None:
            tally.note(site, payload)
            if payload.startswith(b"success new "):
                tally.created.add(json.loads(payload[12:])["name"])
        return on_text

    staff = [Staff(s, n, tally) for s in range(layout.sites) for n in range(STAFF_PER_SITE)]
    clients = await asyncio.gather(*(opened(f"/s/{_slug(m.site)}/ws/staff", m.on_text)
                                     for m in staff))
    for member, client in zip(staff, clients, strict=True):
        member.client = client
    tokens = dict(zip(staff, layout.tokens, strict=True))
    for at in range(0, len(staff), PICKS_AT_ONCE):  # a few at a time: each is a transaction
        batch = staff[at:at + PICKS_AT_ONCE]
        for member in batch:
            table = member.site * STAFF_PER_SITE + int(member.suffix[2:])
            member.send(f"pick {table} {tokens[member]}")
        await asyncio.wait_for(asyncio.gather(*(m.picked for m in batch)), 120)
    kiosks = await asyncio.gather(*(opened(f"/s/{_slug(k % layout.sites)}/ws/kiosk",
                                           kiosk_of(k % layout.sites))
                                    for k in range(layout.senders)))
    others = await asyncio.gather(
        *(opened(f"/s/{_slug(s)}/ws/display", counted(s))
          for s in range(layout.sites) for _ in range(layout.displays)),
        *(opened(f"/s/{_slug(0)}/ws/kiosk", counted(0)) for _ in range(layout.idle)))
    return [*kiosks, *clients, *others]


def _slug(site: int) -> str:
    from bench.sites_seed import slug

    return slug(site)


async def send_tickets(kiosks: list[LeanClient], layout: Layout, rate: float, duration: float,
                       tag: str, tally: Tally) -> None:
    """Open loop: kiosk k (at site k % sites) sends on its own schedule, `rate` in all."""
    period, start = len(kiosks) / rate, now() + 0.2

    async def one(kiosk: int, client: LeanClient) -> None:
        site, seq = kiosk % layout.sites, 0
        while (at := start + kiosk / rate + seq * period) < start + duration:
            await asyncio.sleep(max(0.0, at - now()))
            staff = (kiosk // layout.sites + seq) % STAFF_PER_SITE
            name = ticket_name(tag, site, kiosk, seq, staff)
            tally.sent[name] = now()
            client.send_text(f"new k{kiosk}n{seq}@bench.example {name}")
            seq += 1

    await asyncio.gather(*(one(k, c) for k, c in enumerate(kiosks)))
