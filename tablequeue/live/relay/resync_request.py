"""Asking every worker to resync, from gunicorn's arbiter: a process that must stay light
(it forks the workers, so it imports nothing that gevent would need to have patched
first), hence a bare RESP `PUBLISH` on a plain socket instead of the redis client."""

from __future__ import annotations

import logging
import socket
from urllib.parse import unquote, urlsplit

log = logging.getLogger(__name__)

RESYNC = '{"v":1,"resync":true}'  # the relay's message meaning "every worker: resync"


def events_channel(base: str) -> str:
    """The relay's channel for REDIS_CHANNEL `base`."""
    return f"{base}:events"


def _command(*words: str) -> bytes:
    encoded = [w.encode() for w in words]
    return f"*{len(encoded)}\r\n".encode() + b"".join(
        b"$%d\r\n%s\r\n" % (len(w), w) for w in encoded)


def request(url: str, channel: str, timeout: float = 2.0) -> bool:
    """Publish the resync request on `channel`; False (logged) if Redis did not take it."""
    parts = urlsplit(url)
    if parts.scheme != "redis":  # TLS (rediss) is not spoken here: the relay's backoff covers it
        return False
    commands = []
    if parts.password:
        user = [unquote(parts.username)] if parts.username else []
        commands.append(_command("AUTH", *user, unquote(parts.password)))
    commands.append(_command("PUBLISH", channel, RESYNC))
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379),
                                      timeout=timeout) as conn:
            conn.sendall(b"".join(commands))
            replies = b""
            while replies.count(b"\r\n") < len(commands):
                data = conn.recv(4096)
                if not data:
                    break
                replies += data
    except OSError as exc:
        log.warning("asking the workers to resync failed: %s", exc)
        return False
    ok = replies.count(b"\r\n") >= len(commands) and b"-" not in replies[:1]
    if not ok:
        log.warning("asking the workers to resync failed: %r", replies[:200])
    return ok
