"""Catching up (docs/protocol.md, "Extensions"): the handshake query a screen opts in with
(`?since=N`, `&lines=1`), and the two frames only such a screen is ever sent, `mark N`
and `reset`. A seed client sends no query and never sees either."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["RESET", "Handshake", "handshake", "mark", "since_error", "lines_error"]

# Event numbers are per site and only grow; 18 digits like every number of the protocol.
_NUMBER = re.compile(r"[0-9]{1,18}", re.ASCII)
RESET = "reset"  # drop what you show: a full greeting follows


def mark(number: int) -> str:
    """You have everything of this site up to `number`."""
    return f"mark {number}"


def since_error(raw: str) -> str:
    return f"error since not an event number: {raw[:40]}"


def lines_error(raw: str) -> str:
    return f"error lines expected 1 or 0: {raw[:40]}"


@dataclass(frozen=True)
class Handshake:
    """What a screen asked for in its websocket URL's query."""

    marking: bool = False  # sent `since` (a number or not): it gets `mark` and `reset`
    since: int | None = None  # the last number it saw; None: a full greeting
    lines: bool = False  # line-aware from its first frame, as if it sent `lines` first
    errors: tuple[str, ...] = ()  # `error since …` / `error lines …`, sent before the rest


def handshake(query: Mapping[str, str]) -> Handshake:
    """`since=` (no number yet), `since=N`, `lines=1`; a bad `since` still opts in, with
    no number (so a full greeting follows), after its error."""
    errors: list[str] = []
    marking, since = "since" in query, None
    raw = query.get("since", "").strip()
    if raw:
        if _NUMBER.fullmatch(raw):
            since = int(raw)
        else:
            errors.append(since_error(raw))
    lines_raw = query.get("lines", "0").strip()
    if lines_raw not in ("0", "1", ""):
        errors.append(lines_error(lines_raw))
    return Handshake(marking, since, lines_raw == "1", tuple(errors))
