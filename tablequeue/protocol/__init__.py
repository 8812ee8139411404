"""Every wire string of the websocket protocol: parsing client frames (commands.py) and
formatting replies, broadcasts and the ticket JSON (messages.py; the service lines'
extensions in line_messages.py). Nothing else in the code base spells a message; the rest
of it imports this package as `protocol`."""

from tablequeue.protocol.catchup import *  # noqa: F403
from tablequeue.protocol.commands import *  # noqa: F403
from tablequeue.protocol.commands import MAX_NUMBER, Command  # noqa: F401
from tablequeue.protocol.line_messages import *  # noqa: F403
from tablequeue.protocol.messages import *  # noqa: F403
