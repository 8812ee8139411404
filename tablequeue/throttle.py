"""Rate limits: fixed-window counters for login attempts (see tablequeue.pages.login_guard) and
kiosk commands.

Per-connection counters live with the connection (a connection lives in one worker).
Per-address and per-account counters must hold across workers: they live in Redis when
REDIS_URL is set (the only way to run more than one worker, see gunicorn.conf.py), else
in this process. If Redis fails, a counter fails open: a throttle is a brake, not a gate,
and must not stop the kiosk when the relay is down.

`RATE_LIMITS=off` turns every throttle off (load benchmarks)."""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
import weakref
from typing import Any, Protocol

from flask import Flask, current_app, request

from tablequeue.extensions import Slot

log = logging.getLogger(__name__)

Rate = tuple[int, int]  # (count, seconds): at most `count` in one window of `seconds`


class Counter(Protocol):
    def count(self, key: str, seconds: int) -> int: ...
    def hit(self, key: str, seconds: int) -> int: ...
    def give_back(self, key: str, seconds: int) -> None: ...
    def clear(self, key: str, seconds: int) -> None: ...


def _window(seconds: int, now: float | None = None) -> int:
    return int((time.time() if now is None else now) // seconds)


class MemoryCounter:
    """Counters in this process, pruned of past windows so they cannot grow without end."""

    def __init__(self) -> None:
        self._counts: dict[str, tuple[float, int]] = {}  # key -> (window ends at, count)
        self._lock = threading.Lock()

    def count(self, key: str, seconds: int) -> int:
        ends, count = self._counts.get(key, (0.0, 0))
        return count if time.time() < ends else 0

    def hit(self, key: str, seconds: int) -> int:
        now = time.time()
        with self._lock:
            ends, count = self._counts.get(key, (0.0, 0))
            if now >= ends:
                ends, count = (_window(seconds, now) + 1) * seconds, 0
            self._counts[key] = (ends, count + 1)
            if len(self._counts) > 10_000:
                self._counts = {k: v for k, v in self._counts.items() if v[0] > now}
        return count + 1

    def give_back(self, key: str, seconds: int) -> None:
        with self._lock:
            ends, count = self._counts.get(key, (0.0, 0))
            if count > 0 and time.time() < ends:
                self._counts[key] = (ends, count - 1)

    def clear(self, key: str, seconds: int) -> None:
        with self._lock:
            self._counts.pop(key, None)


# DECR, but never below zero nor for a window that has ended (the key is gone then).
_GIVE_BACK = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then return redis.call('DECR', KEYS[1]) end
return 0
"""


class RedisCounter:
    """Counters shared by every worker: INCR on a key per window, expiring with it."""

    def __init__(self, url: str, namespace: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._namespace = namespace

    def _key(self, key: str, seconds: int) -> str:
        return f"tablequeue:throttle:{self._namespace}:{key}:{_window(seconds)}"

    def count(self, key: str, seconds: int) -> int:
        try:
            return int(self._redis.get(self._key(key, seconds)) or 0)
        except Exception:
            log.warning("throttle: Redis unavailable, not counting", exc_info=True)
            return 0

    def hit(self, key: str, seconds: int) -> int:
        name = self._key(key, seconds)
        try:
            with self._redis.pipeline() as pipe:
                pipe.incr(name)
                pipe.expire(name, seconds + 1)
                count, _ = pipe.execute()
            return int(count)
        except Exception:
            log.warning("throttle: Redis unavailable, not counting", exc_info=True)
            return 0

    def give_back(self, key: str, seconds: int) -> None:
        try:
            self._redis.eval(_GIVE_BACK, 1, self._key(key, seconds))
        except Exception:
            log.warning("throttle: Redis unavailable, not giving back", exc_info=True)

    def clear(self, key: str, seconds: int) -> None:
        try:
            self._redis.delete(self._key(key, seconds))
        except Exception:
            log.warning("throttle: Redis unavailable, not clearing", exc_info=True)


class Limiter:
    """The app's throttles (`limiter()`)."""

    def __init__(self, config: Any) -> None:
        self.enabled: bool = config["RATE_LIMITS"]
        self.config = config
        url = config.get("REDIS_URL")
        self.shared: Counter = RedisCounter(url, _namespace(config)) if url else MemoryCounter()
        # Per-connection counters die with their connection.
        self._per_connection: weakref.WeakKeyDictionary[object, MemoryCounter] = (
            weakref.WeakKeyDictionary()
        )

    def rate(self, name: str) -> Rate:
        return self.config[f"LIMIT_{name.upper()}"]

    def command_allowed(self, conn: object, word: str, address: str) -> bool:
        """Count one `word` command of `conn`; False when this connection or address is over."""
        if not self.enabled:
            return True
        per_connection = self._per_connection.setdefault(conn, MemoryCounter())
        limit, seconds = self.rate(f"{word}_connection")
        if per_connection.hit(word, seconds) > limit:
            return False
        limit, seconds = self.rate(f"{word}_address")
        return self.shared.hit(f"{word}:{address}", seconds) <= limit

    def address_allowed(self, word: str, address: str) -> bool:
        """Count one `word` from an address that has no connection (an HTTP request); it
        shares the address budget of the websocket command of that name."""
        if not self.enabled:
            return True
        limit, seconds = self.rate(f"{word}_address")
        return self.shared.hit(f"{word}:{address}", seconds) <= limit

    def message_rate(self) -> Rate | None:
        """Frames one websocket connection may send per window; None: unlimited."""
        return self.config["WS_MESSAGE_RATE"] if self.enabled else None

    def reserve(self, places: list[tuple[str, str]]) -> int:
        """Take one place in each (rate setting, key) counter, in order, atomically each;
        seconds until the first full one frees up (its window ends), 0 when none is full.
        A refused reservation takes no place in the counters after the full one."""
        if not self.enabled:
            return 0
        for name, key in places:
            limit, seconds = self.rate(name)
            if self.shared.hit(key, seconds) > limit:
                return math.ceil(seconds - time.time() % seconds)
        return 0

    def release(self, places: list[tuple[str, str]]) -> None:
        """A success: the first counter forgets its window (a successful login forgives
        the failures before it), the others get back the place it took."""
        if self.enabled and places:
            (name, key), *rest = places
            self.shared.clear(key, self.rate(name)[1])
            for name, key in rest:
                self.shared.give_back(key, self.rate(name)[1])


def _namespace(config: Any) -> str:
    """One deployment's counters apart from another's on a shared Redis: same database and
    relay channel, same counters."""
    name = f"{config['SQLALCHEMY_DATABASE_URI']}|{config.get('REDIS_CHANNEL', '')}"
    return hashlib.sha256(name.encode()).hexdigest()[:12]


_LIMITER: Slot[Limiter] = Slot("tablequeue.throttle")


def limiter() -> Limiter:
    """The current app's throttles."""
    return _LIMITER.of(current_app)


def client_address() -> str:
    """The peer's address (the proxy's client address when PROXY_COUNT is set)."""
    return request.remote_addr or "unknown"


def init_app(app: Flask) -> None:
    _LIMITER.put(app, Limiter(app.config))
