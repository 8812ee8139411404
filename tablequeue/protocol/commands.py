"""Client frames: the command words each route accepts, and parsing a frame into a
command (a typed value, or Unknown)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

_NUMBER = re.compile(r"[0-9]{1,18}", re.ASCII)

STAFF_COMMANDS = frozenset({"pick", "unpick", "accept", "cancel", "complete",
                            # extensions (docs/protocol.md, "Extensions")
                            "requeue", "away", "back", "watch"})
KIOSK_COMMANDS = frozenset({"new", "query", "watch"})  # watch: an extension
# `watch` is an opt-in extension (docs/protocol.md, "Extensions"): a seed client never sends it.
DISPLAY_COMMANDS = frozenset({"watch"})
# Follow links (docs/protocol.md, "Extensions"): the kiosk's opt-in commands, and the
# fourth route, /ws/visitor, for a visitor's phone.
KIOSK_COMMANDS = KIOSK_COMMANDS | {"link", "notices"}
# Service lines (docs/lines.md): opt-in words of the console and of the kiosk.
STAFF_COMMANDS = STAFF_COMMANDS | {"lines", "serve", "next", "priority", "transfer"}
KIOSK_COMMANDS = KIOSK_COMMANDS | {"lines", "join"}
VISITOR_COMMANDS = frozenset({"follow", "refresh", "leave"})


# ---- client frames -------------------------------------------------------------------


@dataclass(frozen=True)
class Pick:
    table: int | None  # None: not a number, so "not available"
    token: str | None  # None: not given; a connection bound at the handshake may omit it


@dataclass(frozen=True)
class Unpick:
    pass


@dataclass(frozen=True)
class Accept:
    ticket_id: int | None  # None: not a number, so "does not exist"


@dataclass(frozen=True)
class Cancel:
    ticket_id: int | None


@dataclass(frozen=True)
class Complete:
    ticket_id: int | None


@dataclass(frozen=True)
class Requeue:
    """Extension: put the ticket one is serving back in line (its original place)."""

    ticket_id: int | None


@dataclass(frozen=True)
class Away:
    """Extension: step away from one's table (it stays one's own)."""


@dataclass(frozen=True)
class Back:
    """Extension: back at one's table."""


@dataclass(frozen=True)
class New:
    email: str
    name: str


@dataclass(frozen=True)
class Query:
    email: str


@dataclass(frozen=True)
class Watch:
    """Extension: a display asks for `waiting N` and `tables N` now and on every change."""


# Follow links (extensions): the kiosk's `link ID [email]` and `notices EMAIL`; a phone's
# `follow CODE`, `refresh` (send the state again now) and `leave` on /ws/visitor.
@dataclass(frozen=True)
class Link:
    ticket_id: int | None
    email: bool  # the visitor ticked "Email me when it's my turn"


@dataclass(frozen=True)
class Notices:
    email: str


@dataclass(frozen=True)
class Follow:
    code: str
    since: int | None = None  # `follow CODE N`: catch up from event N (an extension)


@dataclass(frozen=True)
class Refresh:
    pass


@dataclass(frozen=True)
class Leave:
    pass


# Service lines (extensions, docs/lines.md).
@dataclass(frozen=True)
class Lines:
    """Opt in: the site's lines now and on every change; a console becomes line-aware."""


@dataclass(frozen=True)
class Serve:
    lines: tuple[int | None, ...]  # None: not a number, so "line does not exist"


@dataclass(frozen=True)
class Next:
    """Take the head of one's lines."""


@dataclass(frozen=True)
class Priority:
    ticket_id: int | None
    reason: str


@dataclass(frozen=True)
class Transfer:
    ticket_id: int | None
    line: int | None


@dataclass(frozen=True)
class Join:
    """A kiosk's `new` into a chosen line."""

    line: int | None
    email: str
    name: str


@dataclass(frozen=True)
class Unknown:
    word: str  # "" for an empty frame


Command: TypeAlias = (
    Pick | Unpick | Accept | Cancel | Complete | Requeue | Away | Back | New | Query | Watch
    | Link | Notices | Follow | Refresh | Leave | Lines | Serve | Next | Priority | Transfer
    | Join | Unknown
)


# Ids and tables are bounded: anything larger is "does not exist" / "not available", never a
# value the database column cannot hold (PostgreSQL's integer stops at 2**31 - 1).
MAX_NUMBER = 2**31 - 1


def _number(text: str) -> int | None:
    if not _NUMBER.fullmatch(text):
        return None
    value = int(text)
    return value if value <= MAX_NUMBER else None


_BARE: dict[str, type[Unpick | Watch | Away | Back]] = {
    "unpick": Unpick, "watch": Watch, "away": Away, "back": Back,
}
_BY_ID: dict[str, type[Accept | Cancel | Complete | Requeue]] = {
    "accept": Accept, "cancel": Cancel, "complete": Complete, "requeue": Requeue,
}


def parse(frame: str, allowed: frozenset[str]) -> Command:
    """Parse one text frame; `allowed` is the set of command words of the route."""
    word, _, rest = frame.strip().partition(" ")
    if word not in allowed:
        return Unknown(word)
    if word == "pick":
        table, _, token = rest.partition(" ")
        return Pick(_number(table), token or None)
    if word in _BARE:
        return _BARE[word]()
    if word in _BY_ID:
        return _BY_ID[word](_number(rest))
    if word == "new":
        email, _, name = rest.partition(" ")
        return New(email, name)
    if word in _EXTENSIONS:
        return _EXTENSIONS[word](rest)
    return Query(rest)


def _link(rest: str) -> Link:
    ticket, _, flag = rest.partition(" ")
    return Link(_number(ticket), flag.strip() == "email")


def _priority(rest: str) -> Priority:
    ticket, _, reason = rest.partition(" ")
    return Priority(_number(ticket), reason)


def _transfer(rest: str) -> Transfer:
    ticket, _, line = rest.partition(" ")
    return Transfer(_number(ticket), _number(line))


def _join(rest: str) -> Join:
    line, _, person = rest.partition(" ")
    email, _, name = person.partition(" ")
    return Join(_number(line), email, name)


def _follow(rest: str) -> Follow:
    """`follow CODE` or `follow CODE N`; anything else after the code is part of it (and
    so, as before, no valid code)."""
    code, _, since = rest.partition(" ")
    return Follow(code, int(since)) if _EVENT.fullmatch(since) else Follow(rest)


_EVENT = re.compile(r"[0-9]{1,18}", re.ASCII)  # an event number (docs/protocol.md, "Catching up")


_EXTENSIONS: dict[str, Callable[[str], Command]] = {
    "lines": lambda _rest: Lines(),
    "serve": lambda rest: Serve(tuple(_number(word) for word in rest.split(" ") if word)),
    "next": lambda _rest: Next(),
    "priority": _priority,
    "transfer": _transfer,
    "join": _join,
    "link": _link,
    "notices": lambda rest: Notices(rest),
    "follow": lambda rest: _follow(rest.strip()),
    "refresh": lambda _rest: Refresh(),
    "leave": lambda _rest: Leave(),
}


def command_word(command: Command) -> str:
    if isinstance(command, Unknown):
        return command.word
    return type(command).__name__.lower()
