"""What one phone follows, kept on its connection (`Connection.follow`), so it goes when the
phone hangs up. Its own module: the registry types the field, the hub fills it in."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Following:
    """What one phone follows and what it was last sent."""

    ticket_id: int
    code: str  # what the phone followed: `refresh` and `leave` use it
    sent: str = ""
    rank: int = 0
    told: int = 0  # the hub's event batch that last said this ticket's own state
