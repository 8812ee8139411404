"""Each process's cache of the sites, by slug and by id: every request and handshake looks
its site up here, not in the database.

A site added, changed or removed anywhere (another worker, a `flask site` command) is
seen without a restart: a lookup that misses waits for a read of the sites begun after
the miss (reads caused by misses are shared, at most one every MISS_INTERVAL), and the
floor poll (tablequeue.live.floorwatch) calls `refresh` every few seconds."""

from __future__ import annotations

import threading
import time

from flask import Flask

from tablequeue.db import unit_of_work
from tablequeue.extensions import Slot
from tablequeue.outcomes import SiteId, SiteView
from tablequeue.service import sites

MISS_INTERVAL = 0.5  # seconds between two re-reads caused by a miss
MISS_WAIT = 3.0  # a miss gives up waiting for a fresh read after this (a stuck database)


class SiteDirectory:
    def __init__(self, app: Flask) -> None:
        self._app = app
        self._lock = threading.Lock()
        self._by_slug: dict[str, SiteView] = {}
        self._by_id: dict[SiteId, SiteView] = {}
        self._began: float | None = None  # monotonic start of the newest read begun
        self._read_at: float | None = None  # monotonic start of the newest read finished

    def by_slug(self, slug: str) -> SiteView | None:
        found = self._by_slug.get(slug)
        if found is None:
            self._read_since(time.monotonic())
            found = self._by_slug.get(slug)
        return found

    def by_id(self, site: SiteId) -> SiteView | None:
        found = self._by_id.get(site)
        if found is None:
            self._read_since(time.monotonic())
            found = self._by_id.get(site)
        return found

    def default(self) -> SiteView:
        """The site today's unprefixed URLs serve (made if the database lacks it)."""
        found = self._by_slug.get(self._app.config["DEFAULT_SITE"])
        if found is not None:
            return found
        with self._app.app_context(), unit_of_work() as session:
            made = sites.default_site(session)
        self.refresh()
        return made

    def all(self) -> list[SiteView]:
        """Every site, by slug."""
        if self._read_at is None:
            self.refresh()
        return sorted(self._by_id.values(), key=lambda site: site.slug)

    def current(self) -> list[SiteView]:
        """Every site, by slug, as read at most MISS_INTERVAL ago (the landing page, which
        must list a site added on another worker a moment ago)."""
        read_at = self._read_at
        if read_at is None or time.monotonic() - read_at >= MISS_INTERVAL:
            self._read_since(time.monotonic())
        return self.all()

    def refresh(self) -> None:
        """Read every site now (the floor poll)."""
        with self._lock:
            began = self._began = time.monotonic()
        self._read(began)

    def _read(self, began: float) -> None:
        with self._app.app_context(), unit_of_work() as session:
            found = sites.all_sites(session)
        by_slug = {site.slug: site for site in found}
        by_id = {site.id: site for site in found}
        with self._lock:
            if self._read_at is not None and self._read_at > began:
                return  # a read begun later finished first: keep its newer answer
            # Whole dictionaries swapped in: a reader sees the old set or the new one.
            self._by_slug, self._by_id, self._read_at = by_slug, by_id, began

    def _read_since(self, missed_at: float) -> None:
        """Return once a read that began after `missed_at` has finished.

        A miss is answered from the database, never from the cache it missed: a site
        added a moment ago on another worker is found, not a 404. Misses share reads,
        at most one per MISS_INTERVAL, so a stream of unknown slugs costs one read per
        interval and each of them waits at most about that long for its 404."""
        deadline = missed_at + MISS_WAIT
        while time.monotonic() < deadline:
            with self._lock:
                if self._read_at is not None and self._read_at >= missed_at:
                    return
                now = time.monotonic()
                began = self._began
                # No read under way for this miss, and none begun within the interval.
                mine = began is None or (began < missed_at and now - began >= MISS_INTERVAL)
                if mine:
                    self._began = now
            if mine:
                self._read(now)
                return
            time.sleep(MISS_INTERVAL / 10)  # gevent's: other greenlets run meanwhile


_DIRECTORY: Slot[SiteDirectory] = Slot("tablequeue.service.directory")


def directory_of(app: Flask) -> SiteDirectory:
    """The app's directory, made on first use (a `flask` command's app as well)."""
    return _DIRECTORY.find(app) or _DIRECTORY.put(app, SiteDirectory(app))
